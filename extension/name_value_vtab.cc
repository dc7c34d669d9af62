#include "name_value_vtab.h"

namespace docstore {
namespace {

struct Source {
  ConnectionState* state;
  NameValueRowsFunction rows;
  bool close_anchor;
};

void DestroySource(void* aux) {
  auto* source = static_cast<Source*>(aux);
  ConnectionState::Release(source->state);
  delete source;
}

struct Table {
  sqlite3_vtab base;  // must be first: SQLite sees only this
  Source* source;
};

struct Cursor {
  sqlite3_vtab_cursor base;  // must be first
  NameValueRows rows;
  size_t row = 0;
};

int Connect(sqlite3* db, void* aux, int, const char* const*, sqlite3_vtab** out, char**) {
  const int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(name TEXT, value)");
  if (rc != SQLITE_OK) return rc;
  auto* table = new Table{};
  table->source = static_cast<Source*>(aux);
  if (table->source->close_anchor) table->source->state->set_close_anchor_connected(true);
  *out = &table->base;
  return SQLITE_OK;
}

// For the close anchor this runs when the connection closes, before
// sqlite3_close checks for unfinalized statements (and when the module is
// replaced).
int Disconnect(sqlite3_vtab* vtab) {
  auto* table = reinterpret_cast<Table*>(vtab);
  if (table->source->close_anchor) {
    table->source->state->FinalizeStatements();
    table->source->state->set_close_anchor_connected(false);
  }
  delete table;
  return SQLITE_OK;
}

int BestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
  // A few dozen rows made in one go: a scan is the only plan.
  info->estimatedCost = 10;
  return SQLITE_OK;
}

int Open(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
  *out = &(new Cursor{})->base;
  return SQLITE_OK;
}

int Close(sqlite3_vtab_cursor* cursor) {
  delete reinterpret_cast<Cursor*>(cursor);
  return SQLITE_OK;
}

int Filter(sqlite3_vtab_cursor* base, int, const char*, int, sqlite3_value**) {
  auto* cursor = reinterpret_cast<Cursor*>(base);
  const Source* source = reinterpret_cast<Table*>(base->pVtab)->source;
  cursor->rows = source->rows(source->state);
  cursor->row = 0;
  return SQLITE_OK;
}

int Next(sqlite3_vtab_cursor* base) {
  ++reinterpret_cast<Cursor*>(base)->row;
  return SQLITE_OK;
}

int Eof(sqlite3_vtab_cursor* base) {
  auto* cursor = reinterpret_cast<Cursor*>(base);
  return cursor->row >= cursor->rows.size();
}

int Column(sqlite3_vtab_cursor* base, sqlite3_context* ctx, int column) {
  auto* cursor = reinterpret_cast<Cursor*>(base);
  const auto& [name, value] = cursor->rows[cursor->row];
  if (column == 0) {
    sqlite3_result_text(ctx, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
  } else if (const auto* integer = std::get_if<int64_t>(&value)) {
    sqlite3_result_int64(ctx, *integer);
  } else if (const auto* real = std::get_if<double>(&value)) {
    sqlite3_result_double(ctx, *real);
  } else if (const auto* text = std::get_if<std::string>(&value)) {
    sqlite3_result_text(ctx, text->data(), static_cast<int>(text->size()), SQLITE_TRANSIENT);
  } else {
    sqlite3_result_null(ctx);
  }
  return SQLITE_OK;
}

int Rowid(sqlite3_vtab_cursor* base, sqlite3_int64* rowid) {
  *rowid = static_cast<sqlite3_int64>(reinterpret_cast<Cursor*>(base)->row);
  return SQLITE_OK;
}

sqlite3_module MakeModule() {
  sqlite3_module m{};
  m.xConnect = Connect;  // xCreate stays null: eponymous only
  m.xBestIndex = BestIndex;
  m.xDisconnect = Disconnect;
  m.xOpen = Open;
  m.xClose = Close;
  m.xFilter = Filter;
  m.xNext = Next;
  m.xEof = Eof;
  m.xColumn = Column;
  m.xRowid = Rowid;
  return m;
}

const sqlite3_module kModule = MakeModule();

}  // namespace

int RegisterNameValueTable(sqlite3* db, const char* name, ConnectionState* state,
                           NameValueRowsFunction rows, bool close_anchor) {
  state->Retain();
  return sqlite3_create_module_v2(db, name, &kModule, new Source{state, rows, close_anchor},
                                  DestroySource);
}

}  // namespace docstore
