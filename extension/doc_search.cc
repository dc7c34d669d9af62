// doc_search(query [, mode]): a table-valued function over the full-text index.
//
//   SELECT id, title, snippet, rank FROM doc_search('sqlite AND cache') LIMIT 10;
//   SELECT id, title FROM doc_search('e-mail c++ don''t', 'plain');
//   SELECT count(*) FROM doc_search('memory');
//
// Rows come best first: rank is FTS5's bm25() where the index is FTS5, and an
// Okapi BM25 computed from matchinfo() where it is FTS4 (SQLCipher 3.4), both
// negative, smaller is better. snippet is a dozen words of the title or the
// content around the matches, which are marked with [ and ]
// (core/search_snippet.h).
//
// Modes (the second argument, hidden column `mode`):
//   'fts'    the default: the query language of the index underneath (FTS5's
//            or FTS4's: AND, OR, NOT, NEAR, "phrases", prefix*, column:).
//            A malformed query is an error that quotes it, gives the engine's
//            complaint and points at 'plain'.
//   'plain'  the user's words as they are, for a search box: every
//            whitespace-separated word must occur (as a phrase: e-mail finds
//            "e mail"); quotes, operators and punctuation are just text, so
//            e-mail, don't, c++, ", AND and NEAR( never raise an error. The
//            same on FTS5 and FTS4 (core/search_query.h).
//
// Limits, so that no call costs without bound:
//   - a query of at most kMaxSearchQueryBytes bytes (4096) and
//     kMaxSearchQueryWords words (32, operators included), refused before it
//     runs with an error naming the limit: the engines' cost grows with the
//     square of the phrases (8,000 words took 33 s; see search_query.h);
//   - the snippet is made only when the column is asked for (colUsed in
//     xBestIndex), only for the rows SQLite reads it from (xColumn, after
//     WHERE and LIMIT have had their say), and from at most the first
//     kSnippetScanChars characters of title and content, in time linear in
//     them: FTS5's snippet() grows with the square of a document's matches
//     (over ten minutes for one 5 MB document) and was made for every row;
//   - title is read only when asked for, by id, for the rows read.
// What remains is the index's own work, the same as a ranked
// `documents_fts MATCH ... ORDER BY rank`: finding and ranking the matches,
// linear in the data, bounded in the query by the limits above. Best-first
// order needs every match ranked, so a cap on rows ranked would return wrong
// "best" rows; sqlite3_progress_handler() and sqlite3_interrupt() belong to
// the connection (the caller's own handler would be replaced, its other
// statements interrupted), so neither is used.
#include "doc_search.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema.h"
#include "search_query.h"
#include "search_snippet.h"
#include "sql_values.h"

namespace docstore {
namespace {

enum SearchColumn { kId, kTitle, kSnippet, kRank, kQuery, kMode };

// The plan (idxNum): which arguments xFilter gets, and what it reads per row.
constexpr int kPlanQuery = 1;     // argv[0] is the query
constexpr int kPlanMode = 2;      // argv[1] is the mode
constexpr int kPlanTitle = 4;     // title is read
constexpr int kPlanSnippet = 8;   // snippet is made
constexpr int kPlanRank = 16;     // rank is read

// The matches, best first; nothing else is read from the index. FTS5 computes
// bm25() once more (a %_docsize lookup) for each row whose rank is read after
// it sorted by rank, so rank is read only when asked for.
constexpr const char* kFts5Sql =
    "SELECT rowid, rank FROM main.documents_fts WHERE documents_fts MATCH ?1 ORDER BY rank";
constexpr const char* kFts5UnreadRankSql =
    "SELECT rowid FROM main.documents_fts WHERE documents_fts MATCH ?1 ORDER BY rank";
constexpr const char* kFts4Sql =
    "SELECT docid, docstore_fts4_rank(matchinfo(documents_fts, 'pcnalx')) AS rank"
    " FROM main.documents_fts WHERE documents_fts MATCH ?1 ORDER BY rank";
// Per row read, by id: the title, or the prefixes a snippet looks at.
constexpr const char* kTitleSql = "SELECT title FROM main.documents WHERE id = ?1";
constexpr const char* kSnippetSql =
    "SELECT substr(title, 1, ?2), length(title) > ?2, substr(content, 1, ?2), length(content) > ?2"
    " FROM main.documents WHERE id = ?1";

struct SearchTable {
  sqlite3_vtab base;  // must be first
  sqlite3* db;
};

struct SearchCursor {
  sqlite3_vtab_cursor base;  // must be first
  sqlite3_stmt* matches = nullptr;
  sqlite3_stmt* title = nullptr;    // with kPlanTitle
  sqlite3_stmt* snippet = nullptr;  // with kPlanSnippet
  std::vector<SearchTerm> terms;    // what the snippet marks
  bool eof = true;
};

void FinalizeAll(SearchCursor* cursor) {
  for (sqlite3_stmt** stmt : {&cursor->matches, &cursor->title, &cursor->snippet}) {
    sqlite3_finalize(*stmt);
    *stmt = nullptr;
  }
}

int SearchConnect(sqlite3* db, void*, int, const char* const*, sqlite3_vtab** out, char**) {
  const int rc = sqlite3_declare_vtab(
      db, "CREATE TABLE x(id INTEGER, title TEXT, snippet TEXT, rank REAL, query HIDDEN, mode HIDDEN)");
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
// table-valued function syntax doc_search('...') supplies (and mode = ? from a
// second argument). Without it the plan is given an enormous cost (not
// refused, which SQLite 3.15 cannot express) and xFilter reports the missing
// argument. What else the plan does follows colUsed (SQLite >= 3.10): rank,
// title and snippet are read per row only when the statement uses them, so
// count(*) or SELECT id costs what the index's ranked MATCH costs. The
// matches are ranked even then: a statement may read rowid, which colUsed
// does not show, and expect the best first. Results come in rank order, so an
// ORDER BY rank (ascending) costs nothing.
int SearchBestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
  int query_constraint = -1;
  int mode_constraint = -1;
  for (int i = 0; i < info->nConstraint; ++i) {
    const auto& c = info->aConstraint[i];
    if (c.op != SQLITE_INDEX_CONSTRAINT_EQ || !c.usable) continue;
    if (c.iColumn == kQuery && query_constraint < 0) query_constraint = i;
    if (c.iColumn == kMode && mode_constraint < 0) mode_constraint = i;
  }
  if (query_constraint < 0) {
    info->idxNum = 0;
    info->estimatedCost = 1e300;
    return SQLITE_OK;
  }
  int plan = kPlanQuery;
  info->aConstraintUsage[query_constraint].argvIndex = 1;
  info->aConstraintUsage[query_constraint].omit = 1;
  if (mode_constraint >= 0) {
    plan |= kPlanMode;
    info->aConstraintUsage[mode_constraint].argvIndex = 2;
    info->aConstraintUsage[mode_constraint].omit = 1;
  }
  // idxStr names the plan in EXPLAIN QUERY PLAN.
  std::string name = "ranked matches";
  const auto read_if_used = [&](int column, int step, const char* what) {
    if ((info->colUsed & (sqlite3_uint64{1} << column)) == 0) return;
    plan |= step;
    name = name + ", " + what;
  };
  read_if_used(kRank, kPlanRank, "rank");
  read_if_used(kTitle, kPlanTitle, "title");
  read_if_used(kSnippet, kPlanSnippet, "snippet");
  info->idxNum = plan;
  info->idxStr = sqlite3_mprintf("%s", name.c_str());
  info->needToFreeIdxStr = 1;
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
  FinalizeAll(cursor);
  delete cursor;
  return SQLITE_OK;
}

int Fail(sqlite3_vtab_cursor* base, const Status& status) {
  SetVtabError(base->pVtab, "doc_search", status);
  return SQLITE_ERROR;
}

// On the first step, where the index parses the query, an error is told in
// `context` and followed by `hint`.
int StepCursor(SearchCursor* cursor, const std::string& context, std::string_view hint) {
  const int rc = sqlite3_step(cursor->matches);
  if (rc == SQLITE_ROW) {
    cursor->eof = false;
    return SQLITE_OK;
  }
  cursor->eof = true;
  if (rc == SQLITE_DONE) return SQLITE_OK;
  auto* table = reinterpret_cast<SearchTable*>(cursor->base.pVtab);
  Status error = Status::Error(sqlite3_errmsg(table->db) + std::string(hint));
  if (!context.empty()) error = error.WithContext(context);
  SetVtabError(cursor->base.pVtab, "doc_search", error);
  return rc;
}

// The text of a TEXT argument; nullopt for any other type.
std::optional<std::string_view> TextArgument(sqlite3_value* value) {
  if (sqlite3_value_type(value) != SQLITE_TEXT) return std::nullopt;
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(value));
  if (text == nullptr) return std::nullopt;
  return std::string_view(text, static_cast<size_t>(sqlite3_value_bytes(value)));
}

int SearchFilter(sqlite3_vtab_cursor* base, int plan, const char*, int argc, sqlite3_value** argv) {
  auto* cursor = reinterpret_cast<SearchCursor*>(base);
  auto* table = reinterpret_cast<SearchTable*>(base->pVtab);
  FinalizeAll(cursor);
  cursor->eof = true;
  if ((plan & kPlanQuery) == 0 || argc < 1) {
    return Fail(base, Status::InvalidArgument("no query given; call it as SELECT * FROM doc_search('words')"));
  }
  const std::optional<std::string_view> query = TextArgument(argv[0]);
  if (!query) return Fail(base, Status::InvalidArgument("the query must be non-empty text"));
  SearchMode mode = SearchMode::kFts;
  if (plan & kPlanMode) {
    const std::optional<std::string_view> mode_name = argc > 1 ? TextArgument(argv[1]) : std::nullopt;
    if (!mode_name) return Fail(base, Status::InvalidArgument("the mode must be text: 'fts' or 'plain'"));
    if (Status status = ParseSearchMode(*mode_name, &mode); !status.ok()) return Fail(base, status);
  }
  if (Status status = CheckSearchQuery(*query); !status.ok()) return Fail(base, status);
  std::string index_query;
  if (Status status = IndexQuery(*query, mode, &index_query); !status.ok()) return Fail(base, status);
  const std::string module = FulltextModule(table->db);
  if (module.empty()) {
    return Fail(base, Status::Error("this database has no full-text index; run SELECT docstore_init()"));
  }
  const auto prepare = [&](const char* sql, sqlite3_stmt** stmt) {
    return sqlite3_prepare_v2(table->db, sql, -1, stmt, nullptr) == SQLITE_OK;
  };
  const char* matches_sql = module == "fts4" ? kFts4Sql : (plan & kPlanRank) ? kFts5Sql : kFts5UnreadRankSql;
  if (!prepare(matches_sql, &cursor->matches) ||
      ((plan & kPlanTitle) && !prepare(kTitleSql, &cursor->title)) ||
      ((plan & kPlanSnippet) && !prepare(kSnippetSql, &cursor->snippet))) {
    const Status error = Status::Error(sqlite3_errmsg(table->db));
    FinalizeAll(cursor);
    return Fail(base, error);
  }
  sqlite3_bind_text(cursor->matches, 1, index_query.data(), static_cast<int>(index_query.size()),
                    SQLITE_TRANSIENT);
  if (cursor->snippet != nullptr) {
    sqlite3_bind_int64(cursor->snippet, 2, static_cast<sqlite3_int64>(kSnippetScanChars));
    cursor->terms = SearchTerms(*query, mode);
  }
  const std::string context = "cannot run full-text query '" + std::string(*query) + "'";
  const std::string hint = mode == SearchMode::kFts
                               ? "; to search for the words as they are, call doc_search(query, 'plain')"
                               : " (as the index query '" + index_query + "')";
  return StepCursor(cursor, context, hint);
}

int SearchNext(sqlite3_vtab_cursor* base) {
  return StepCursor(reinterpret_cast<SearchCursor*>(base), std::string(), std::string_view());
}

int SearchEof(sqlite3_vtab_cursor* base) { return reinterpret_cast<SearchCursor*>(base)->eof; }

std::string_view ColumnText(sqlite3_stmt* stmt, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  return text == nullptr ? std::string_view() : std::string_view(text, static_cast<size_t>(sqlite3_column_bytes(stmt, column)));
}

// Runs the per-row statement `stmt` for the current row's id, then `use` on
// its row; a document gone meanwhile gives NULL.
template <typename Use>
void WithDocumentRow(SearchCursor* cursor, sqlite3_context* ctx, sqlite3_stmt* stmt, Use use) {
  sqlite3_bind_int64(stmt, 1, sqlite3_column_int64(cursor->matches, 0));
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    use(stmt);
  } else if (rc != SQLITE_DONE) {
    auto* table = reinterpret_cast<SearchTable*>(cursor->base.pVtab);
    const std::string message = std::string("doc_search: ") + sqlite3_errmsg(table->db);
    sqlite3_result_error(ctx, message.c_str(), -1);
  }
  sqlite3_reset(stmt);
}

int SearchColumnValue(sqlite3_vtab_cursor* base, sqlite3_context* ctx, int column) {
  auto* cursor = reinterpret_cast<SearchCursor*>(base);
  switch (column) {
    case kId:
      sqlite3_result_value(ctx, sqlite3_column_value(cursor->matches, 0));
      break;
    case kRank:
      if (sqlite3_column_count(cursor->matches) > 1) {
        sqlite3_result_value(ctx, sqlite3_column_value(cursor->matches, 1));
      }
      break;
    case kTitle:
      if (cursor->title == nullptr) break;  // not in the plan: never read
      WithDocumentRow(cursor, ctx, cursor->title,
                      [&](sqlite3_stmt* row) { sqlite3_result_value(ctx, sqlite3_column_value(row, 0)); });
      break;
    case kSnippet:
      if (cursor->snippet == nullptr) break;
      WithDocumentRow(cursor, ctx, cursor->snippet, [&](sqlite3_stmt* row) {
        const std::string snippet =
            MakeSnippet({ColumnText(row, 0), sqlite3_column_int(row, 1) != 0},
                        {ColumnText(row, 2), sqlite3_column_int(row, 3) != 0}, cursor->terms);
        sqlite3_result_text(ctx, snippet.data(), static_cast<int>(snippet.size()), SQLITE_TRANSIENT);
      });
      break;
    default:
      break;  // query and mode: their values are not kept
  }
  return SQLITE_OK;
}

int SearchRowid(sqlite3_vtab_cursor* base, sqlite3_int64* rowid) {
  *rowid = sqlite3_column_int64(reinterpret_cast<SearchCursor*>(base)->matches, 0);
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
