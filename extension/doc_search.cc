// doc_search(query): a table-valued function over the full-text index.
//
//   SELECT id, title, snippet, rank FROM doc_search('sqlite AND cache') LIMIT 10;
//
// Rows come best first: rank is FTS5's bm25() where the index is FTS5, and an
// Okapi BM25 computed from matchinfo() where it is FTS4 (SQLCipher 3.4), both
// negative, smaller is better. snippet
// marks matches with [ and ]. The query language is the one of the index
// underneath (FTS5's or FTS4's); a malformed query is an error that quotes the
// query and the full-text engine's complaint.
#include "doc_search.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "schema.h"
#include "sql_values.h"

namespace docstore {
namespace {

enum SearchColumn { kId, kTitle, kSnippet, kRank, kQuery };

constexpr const char* kFts5Sql =
    "SELECT rowid, title, snippet(documents_fts, -1, '[', ']', '...', 12), rank"
    " FROM documents_fts WHERE documents_fts MATCH ?1 ORDER BY rank";
constexpr const char* kFts4Sql =
    "SELECT docid, title, snippet(documents_fts, '[', ']', '...', -1, 12),"
    " docstore_fts4_rank(matchinfo(documents_fts, 'pcnalx')) AS rank"
    " FROM documents_fts WHERE documents_fts MATCH ?1 ORDER BY rank";

struct SearchTable {
  sqlite3_vtab base;  // must be first
  sqlite3* db;
};

struct SearchCursor {
  sqlite3_vtab_cursor base;  // must be first
  sqlite3_stmt* stmt = nullptr;
  bool eof = true;
};

int SearchConnect(sqlite3* db, void*, int, const char* const*, sqlite3_vtab** out, char**) {
  const int rc = sqlite3_declare_vtab(
      db, "CREATE TABLE x(id INTEGER, title TEXT, snippet TEXT, rank REAL, query HIDDEN)");
  if (rc != SQLITE_OK) return rc;
  auto* table = new SearchTable{};
  table->db = db;
  *out = &table->base;
  return SQLITE_OK;
}

int SearchDisconnect(sqlite3_vtab* vtab) {
  auto* table = reinterpret_cast<SearchTable*>(vtab);
  sqlite3_free(table->base.zErrMsg);
  delete table;
  return SQLITE_OK;
}

// The only plan is "run the full-text query": it needs query = ?, which the
// table-valued function syntax doc_search('...') supplies. Without it the plan
// is given an enormous cost (not refused, which SQLite 3.15 cannot express) and
// xFilter reports the missing argument. Results are produced in rank order, so
// an ORDER BY rank (ascending) costs nothing.
int SearchBestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
  int query_constraint = -1;
  for (int i = 0; i < info->nConstraint; ++i) {
    const auto& c = info->aConstraint[i];
    if (c.iColumn == kQuery && c.op == SQLITE_INDEX_CONSTRAINT_EQ && c.usable) {
      query_constraint = i;
      break;
    }
  }
  if (query_constraint < 0) {
    info->idxNum = 0;
    info->estimatedCost = 1e300;
    return SQLITE_OK;
  }
  info->idxNum = 1;
  info->aConstraintUsage[query_constraint].argvIndex = 1;
  info->aConstraintUsage[query_constraint].omit = 1;
  info->estimatedCost = 1000;
  info->estimatedRows = 100;
  if (info->nOrderBy == 1 && info->aOrderBy[0].iColumn == kRank && !info->aOrderBy[0].desc) {
    info->orderByConsumed = 1;
  }
  return SQLITE_OK;
}

int SearchOpen(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
  *out = &(new SearchCursor{})->base;
  return SQLITE_OK;
}

int SearchClose(sqlite3_vtab_cursor* base) {
  auto* cursor = reinterpret_cast<SearchCursor*>(base);
  sqlite3_finalize(cursor->stmt);
  delete cursor;
  return SQLITE_OK;
}

int StepCursor(SearchCursor* cursor, const char* query) {
  const int rc = sqlite3_step(cursor->stmt);
  if (rc == SQLITE_ROW) {
    cursor->eof = false;
    return SQLITE_OK;
  }
  cursor->eof = true;
  if (rc == SQLITE_DONE) return SQLITE_OK;
  auto* table = reinterpret_cast<SearchTable*>(cursor->base.pVtab);
  Status error = Status::Error(sqlite3_errmsg(table->db));
  if (query != nullptr) error = error.WithContext(std::string("cannot run full-text query '") + query + "'");
  SetVtabError(cursor->base.pVtab, "doc_search", error);
  return rc;
}

int SearchFilter(sqlite3_vtab_cursor* base, int idx_num, const char*, int argc,
                 sqlite3_value** argv) {
  auto* cursor = reinterpret_cast<SearchCursor*>(base);
  auto* table = reinterpret_cast<SearchTable*>(base->pVtab);
  sqlite3_finalize(cursor->stmt);
  cursor->stmt = nullptr;
  cursor->eof = true;
  if (idx_num != 1 || argc != 1) {
    SetVtabError(base->pVtab, "doc_search",
                 Status::InvalidArgument("no query given; call it as SELECT * FROM doc_search('words')"));
    return SQLITE_ERROR;
  }
  const unsigned char* raw = sqlite3_value_type(argv[0]) == SQLITE_TEXT
                                 ? sqlite3_value_text(argv[0])
                                 : nullptr;
  const char* query = reinterpret_cast<const char*>(raw);
  if (query == nullptr || std::string_view(query).find_first_not_of(" \t\r\n") ==
                              std::string_view::npos) {
    SetVtabError(base->pVtab, "doc_search", Status::InvalidArgument("the query must be non-empty text"));
    return SQLITE_ERROR;
  }
  const std::string module = FulltextModule(table->db);
  if (module.empty()) {
    SetVtabError(base->pVtab, "doc_search",
                 Status::Error("this database has no full-text index; run SELECT docstore_init()"));
    return SQLITE_ERROR;
  }
  const char* sql = module == "fts5" ? kFts5Sql : kFts4Sql;
  if (sqlite3_prepare_v2(table->db, sql, -1, &cursor->stmt, nullptr) != SQLITE_OK) {
    SetVtabError(base->pVtab, "doc_search", Status::Error(sqlite3_errmsg(table->db)));
    return SQLITE_ERROR;
  }
  sqlite3_bind_value(cursor->stmt, 1, argv[0]);
  return StepCursor(cursor, query);
}

int SearchNext(sqlite3_vtab_cursor* base) {
  return StepCursor(reinterpret_cast<SearchCursor*>(base), nullptr);
}

int SearchEof(sqlite3_vtab_cursor* base) { return reinterpret_cast<SearchCursor*>(base)->eof; }

int SearchColumnValue(sqlite3_vtab_cursor* base, sqlite3_context* ctx, int column) {
  auto* cursor = reinterpret_cast<SearchCursor*>(base);
  if (column >= kId && column <= kRank) {
    sqlite3_result_value(ctx, sqlite3_column_value(cursor->stmt, column));
  }
  return SQLITE_OK;
}

int SearchRowid(sqlite3_vtab_cursor* base, sqlite3_int64* rowid) {
  *rowid = sqlite3_column_int64(reinterpret_cast<SearchCursor*>(base)->stmt, kId);
  return SQLITE_OK;
}

sqlite3_module MakeSearchModule() {
  sqlite3_module m{};
  m.xConnect = SearchConnect;  // xCreate stays null: eponymous only
  m.xBestIndex = SearchBestIndex;
  m.xDisconnect = SearchDisconnect;
  m.xOpen = SearchOpen;
  m.xClose = SearchClose;
  m.xFilter = SearchFilter;
  m.xNext = SearchNext;
  m.xEof = SearchEof;
  m.xColumn = SearchColumnValue;
  m.xRowid = SearchRowid;
  return m;
}

const sqlite3_module kSearchModule = MakeSearchModule();

// docstore_fts4_rank(matchinfo(t, 'pcnalx')): -BM25 with FTS5's constants
// (k1 = 1.2, b = 0.75), summed over phrases and columns, so that ranks sort the
// same way on either index. The blob comes from FTS4, but its layout is checked
// before any of it is read.
void Fts4Rank(sqlite3_context* ctx, int, sqlite3_value** argv) {
  constexpr double kK1 = 1.2;
  constexpr double kB = 0.75;
  const auto* blob = static_cast<const unsigned char*>(sqlite3_value_blob(argv[0]));
  const size_t bytes = static_cast<size_t>(sqlite3_value_bytes(argv[0]));
  const size_t count = bytes / sizeof(uint32_t);
  const auto at = [&](size_t i) {
    uint32_t v;
    std::memcpy(&v, blob + i * sizeof v, sizeof v);
    return static_cast<double>(v);
  };
  if (blob == nullptr || bytes % sizeof(uint32_t) != 0 || count < 3) {
    sqlite3_result_error(ctx, "docstore_fts4_rank: expected matchinfo(t, 'pcnalx')", -1);
    return;
  }
  const size_t phrases = static_cast<size_t>(at(0));
  const size_t columns = static_cast<size_t>(at(1));
  if (columns == 0 || count != 3 + 2 * columns + 3 * phrases * columns) {
    sqlite3_result_error(ctx, "docstore_fts4_rank: expected matchinfo(t, 'pcnalx')", -1);
    return;
  }
  const double rows = at(2);
  const size_t avg_at = 3, len_at = 3 + columns, hits_at = 3 + 2 * columns;
  double score = 0;
  for (size_t p = 0; p < phrases; ++p) {
    for (size_t c = 0; c < columns; ++c) {
      const size_t x = hits_at + 3 * (p * columns + c);
      const double tf = at(x);
      if (tf == 0) continue;
      const double docs_with_hit = at(x + 2);
      const double idf = std::max(1e-6, std::log((rows - docs_with_hit + 0.5) / (docs_with_hit + 0.5)));
      const double avg_len = std::max(1.0, at(avg_at + c));
      const double len = at(len_at + c);
      score += idf * tf * (kK1 + 1) / (tf + kK1 * (1 - kB + kB * len / avg_len));
    }
  }
  sqlite3_result_double(ctx, -score);
}

}  // namespace

int RegisterDocSearch(sqlite3* db) {
  int rc = sqlite3_create_module_v2(db, "doc_search", &kSearchModule, nullptr, nullptr);
  if (rc != SQLITE_OK) return rc;
  return sqlite3_create_function_v2(db, "docstore_fts4_rank", 1,
                                    SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, Fts4Rank, nullptr,
                                    nullptr, nullptr);
}

}  // namespace docstore
