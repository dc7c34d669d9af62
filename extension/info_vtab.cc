// docstore_info: what is loaded, and into what.
//
//   SELECT * FROM docstore_info;
//   name             value
//   ---------------  ----------------
//   extension        0.1.0
//   build            sqlite | sqlcipher
//   built_against    3.40.1
//   runtime          3.40.1
//   schema_version   2          (PRAGMA user_version; 0 before docstore_init)
//   schema_latest    2          (what docstore_init() migrates to)
//   fulltext         fts5 | fts4 | none
#include "info_vtab.h"

#include <string>
#include <utility>
#include <vector>

#include "build_info.h"
#include "schema.h"

namespace docstore {
namespace {

struct InfoTable {
  sqlite3_vtab base;  // must be first: SQLite sees only this
  ConnectionState* state;
};

struct InfoCursor {
  sqlite3_vtab_cursor base;  // must be first
  std::vector<std::pair<std::string, std::string>> rows;
  size_t row = 0;
};

int InfoConnect(sqlite3* db, void* aux, int, const char* const*, sqlite3_vtab** out, char**) {
  const int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(name TEXT, value TEXT)");
  if (rc != SQLITE_OK) return rc;
  auto* table = new InfoTable{};
  table->state = static_cast<ConnectionState*>(aux);
  table->state->set_close_anchor_connected(true);
  *out = &table->base;
  return SQLITE_OK;
}

// Runs when the connection closes (before sqlite3_close checks for unfinalized
// statements), and when the module is replaced.
int InfoDisconnect(sqlite3_vtab* vtab) {
  auto* table = reinterpret_cast<InfoTable*>(vtab);
  table->state->FinalizeStatements();
  table->state->set_close_anchor_connected(false);
  delete table;
  return SQLITE_OK;
}

int InfoBestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
  // A handful of rows: a scan is the only plan.
  info->estimatedCost = 10;
  return SQLITE_OK;
}

int InfoOpen(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
  *out = &(new InfoCursor{})->base;
  return SQLITE_OK;
}

int InfoClose(sqlite3_vtab_cursor* cursor) {
  delete reinterpret_cast<InfoCursor*>(cursor);
  return SQLITE_OK;
}

int InfoFilter(sqlite3_vtab_cursor* base, int, const char*, int, sqlite3_value**) {
  auto* cursor = reinterpret_cast<InfoCursor*>(base);
  auto* table = reinterpret_cast<InfoTable*>(base->pVtab);
  sqlite3* db = table->state->db();
  int schema_version = 0;
  const std::string version_text =
      ReadSchemaVersion(db, &schema_version) ? std::to_string(schema_version) : "unreadable";
  const std::string fulltext = FulltextModule(db);
  cursor->rows = {
      {"extension", kExtensionVersion},
      {"build", kBuildVariant},
      {"built_against", kBuiltAgainstVersion},
      {"runtime", sqlite3_libversion()},
      {"schema_version", version_text},
      {"schema_latest", std::to_string(LatestSchemaVersion())},
      {"fulltext", fulltext.empty() ? "none" : fulltext},
  };
  cursor->row = 0;
  return SQLITE_OK;
}

int InfoNext(sqlite3_vtab_cursor* base) {
  ++reinterpret_cast<InfoCursor*>(base)->row;
  return SQLITE_OK;
}

int InfoEof(sqlite3_vtab_cursor* base) {
  auto* cursor = reinterpret_cast<InfoCursor*>(base);
  return cursor->row >= cursor->rows.size();
}

int InfoColumn(sqlite3_vtab_cursor* base, sqlite3_context* ctx, int column) {
  auto* cursor = reinterpret_cast<InfoCursor*>(base);
  const auto& [name, value] = cursor->rows[cursor->row];
  const std::string& text = column == 0 ? name : value;
  sqlite3_result_text(ctx, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return SQLITE_OK;
}

int InfoRowid(sqlite3_vtab_cursor* base, sqlite3_int64* rowid) {
  *rowid = static_cast<sqlite3_int64>(reinterpret_cast<InfoCursor*>(base)->row);
  return SQLITE_OK;
}

sqlite3_module MakeInfoModule() {
  sqlite3_module m{};
  m.xConnect = InfoConnect;  // xCreate stays null: eponymous only
  m.xBestIndex = InfoBestIndex;
  m.xDisconnect = InfoDisconnect;
  m.xOpen = InfoOpen;
  m.xClose = InfoClose;
  m.xFilter = InfoFilter;
  m.xNext = InfoNext;
  m.xEof = InfoEof;
  m.xColumn = InfoColumn;
  m.xRowid = InfoRowid;
  return m;
}

const sqlite3_module kInfoModule = MakeInfoModule();

}  // namespace

int RegisterInfoModule(sqlite3* db, ConnectionState* state) {
  state->Retain();
  return sqlite3_create_module_v2(db, "docstore_info", &kInfoModule, state,
                                  ConnectionState::Release);
}

bool ConnectCloseAnchor(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db, "SELECT name FROM docstore_info", -1, &stmt, nullptr);
  sqlite3_finalize(stmt);
  return rc == SQLITE_OK;
}

}  // namespace docstore
