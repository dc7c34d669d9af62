// doc_get_many(ids): a table-valued function returning one row per id of a
// JSON array, in the array's order, with the document as doc_get returns it.
//
//   SELECT id, doc FROM doc_get_many('[3, 1, 99]');
//   3   {"id":3,...}
//   1   {"id":1,...}
//   99  NULL            -- no such document
//
// The array is parsed here rather than with json_each(), which SQLCipher 3.4
// does not have. Only integers are accepted; anything else is an error that
// says what and at which byte. A NULL argument gives no rows.
#include "doc_get_many.h"

#include <string>
#include <vector>

#include "connection_state.h"
#include "json_text.h"
#include "sql_values.h"

namespace docstore {
namespace {

enum ManyColumn { kId, kDoc, kIds };

struct ManyTable {
  sqlite3_vtab base;  // must be first
  ConnectionState* state;
};

struct ManyCursor {
  sqlite3_vtab_cursor base;  // must be first
  std::vector<int64_t> ids;
  size_t row = 0;
  bool found = false;
  std::string json;
};

int ManyConnect(sqlite3* db, void* aux, int, const char* const*, sqlite3_vtab** out, char**) {
  const int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(id INTEGER, doc TEXT, ids HIDDEN)");
  if (rc != SQLITE_OK) return rc;
  auto* table = new ManyTable{};
  table->state = static_cast<ConnectionState*>(aux);
  *out = &table->base;
  return SQLITE_OK;
}

int ManyDisconnect(sqlite3_vtab* vtab) {
  sqlite3_free(vtab->zErrMsg);
  delete reinterpret_cast<ManyTable*>(vtab);
  return SQLITE_OK;
}

// The one plan needs ids = ?, supplied by the doc_get_many('[...]') syntax.
// Without it the plan costs enormously (SQLite 3.15 cannot be told "no
// plan") and xFilter explains what is missing.
int ManyBestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
  for (int i = 0; i < info->nConstraint; ++i) {
    const auto& c = info->aConstraint[i];
    if (c.iColumn == kIds && c.op == SQLITE_INDEX_CONSTRAINT_EQ && c.usable) {
      info->aConstraintUsage[i].argvIndex = 1;
      info->aConstraintUsage[i].omit = 1;
      info->idxNum = 1;
      info->estimatedCost = 100;
      info->estimatedRows = 10;
      return SQLITE_OK;
    }
  }
  info->idxNum = 0;
  info->estimatedCost = 1e300;
  return SQLITE_OK;
}

int ManyOpen(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
  *out = &(new ManyCursor{})->base;
  return SQLITE_OK;
}

int ManyClose(sqlite3_vtab_cursor* base) {
  delete reinterpret_cast<ManyCursor*>(base);
  return SQLITE_OK;
}

// Reads the document of the current row, if there is a current row.
int LoadRow(ManyCursor* cursor) {
  if (cursor->row >= cursor->ids.size()) return SQLITE_OK;
  auto* table = reinterpret_cast<ManyTable*>(cursor->base.pVtab);
  const int64_t id = cursor->ids[cursor->row];
  Status status = table->state->LoadDocument(id, &cursor->json);
  cursor->found = status.ok();
  if (status.IsNotFound()) return SQLITE_OK;
  if (status.ok()) status = table->state->cache().RecordAccess(id);
  if (status.ok()) return SQLITE_OK;
  SetVtabError(cursor->base.pVtab, "doc_get_many", status);
  return SQLITE_ERROR;
}

int ManyFilter(sqlite3_vtab_cursor* base, int idx_num, const char*, int argc,
               sqlite3_value** argv) {
  auto* cursor = reinterpret_cast<ManyCursor*>(base);
  cursor->ids.clear();
  cursor->row = 0;
  if (idx_num != 1 || argc != 1) {
    SetVtabError(base->pVtab, "doc_get_many",
                 Status::InvalidArgument("no ids given; call it as SELECT * FROM doc_get_many('[1, 2, 3]')"));
    return SQLITE_ERROR;
  }
  const int type = sqlite3_value_type(argv[0]);
  if (type == SQLITE_NULL) return SQLITE_OK;
  if (type != SQLITE_TEXT) {
    SetVtabError(base->pVtab, "doc_get_many", Status::InvalidArgument("expected a JSON array of integer ids as text"));
    return SQLITE_ERROR;
  }
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  const Status status =
      ParseJsonIdArray(std::string_view(text, static_cast<size_t>(sqlite3_value_bytes(argv[0]))), &cursor->ids);
  if (!status.ok()) {
    SetVtabError(base->pVtab, "doc_get_many", status.WithContext("malformed id array"));
    return SQLITE_ERROR;
  }
  return LoadRow(cursor);
}

int ManyNext(sqlite3_vtab_cursor* base) {
  auto* cursor = reinterpret_cast<ManyCursor*>(base);
  ++cursor->row;
  return LoadRow(cursor);
}

int ManyEof(sqlite3_vtab_cursor* base) {
  auto* cursor = reinterpret_cast<ManyCursor*>(base);
  return cursor->row >= cursor->ids.size();
}

int ManyColumnValue(sqlite3_vtab_cursor* base, sqlite3_context* ctx, int column) {
  auto* cursor = reinterpret_cast<ManyCursor*>(base);
  if (column == kId) {
    sqlite3_result_int64(ctx, cursor->ids[cursor->row]);
  } else if (column == kDoc && cursor->found) {
    sqlite3_result_text(ctx, cursor->json.data(), static_cast<int>(cursor->json.size()),
                        SQLITE_TRANSIENT);
  }
  return SQLITE_OK;
}

int ManyRowid(sqlite3_vtab_cursor* base, sqlite3_int64* rowid) {
  *rowid = static_cast<sqlite3_int64>(reinterpret_cast<ManyCursor*>(base)->row);
  return SQLITE_OK;
}

sqlite3_module MakeManyModule() {
  sqlite3_module m{};
  m.xConnect = ManyConnect;  // xCreate stays null: eponymous only
  m.xBestIndex = ManyBestIndex;
  m.xDisconnect = ManyDisconnect;
  m.xOpen = ManyOpen;
  m.xClose = ManyClose;
  m.xFilter = ManyFilter;
  m.xNext = ManyNext;
  m.xEof = ManyEof;
  m.xColumn = ManyColumnValue;
  m.xRowid = ManyRowid;
  return m;
}

const sqlite3_module kManyModule = MakeManyModule();

}  // namespace

int RegisterDocGetMany(sqlite3* db, ConnectionState* state) {
  state->Retain();
  return sqlite3_create_module_v2(db, "doc_get_many", &kManyModule, state,
                                  ConnectionState::Release);
}

}  // namespace docstore
