// The divergence audit: cached entries that differ from their rows.
//
//   SELECT * FROM docstore_verify;              -- empty in a healthy system
//   SELECT count(*) FROM docstore_verify;       -- what to alert on: not 0
//
//   id  cached_version  database_version  reason
//   --  --------------  ----------------  ------------
//   7   3               4                 stale
//   9   1               NULL              deleted
//
// Every entry of this database's cache is compared with its row in one read
// transaction (the statement's); an entry that a commit made out of date but
// whose invalidation is still to come (no hit is served from it meanwhile),
// or one filled from a snapshot newer than the audit's, is not a divergence
// (core/cache_verify.h says exactly when one is reported). While writes go
// on, nothing can be proved and nothing is listed; run it at rest, after a
// read (any doc_get) has caught the cache up with the last commit. reason is one of
// 'stale' (an older version than the row's), 'deleted' (no such row),
// 'newer than the row', 'bytes differ' (same version, another document)
// and 'undecodable' (tampered with or sealed under another key; dropped).
// Any row means the cache was changed behind the protocol's back (the file
// written with the triggers off, a forged entry) or a bug: clear the cache
// (SELECT docstore_cache_clear()) and report it.
// An error when this process cannot read the entries (DOCSTORE_CACHE=off, an
// encrypted database without its cache key).
#include "verify_vtab.h"

#include <vector>

#include "cache_verify.h"
#include "sql_values.h"

namespace docstore {
namespace {

enum VerifyColumn { kId, kCachedVersion, kDatabaseVersion, kReason };

struct VerifyTable {
  sqlite3_vtab base;  // must be first
  ConnectionState* state;
};

struct VerifyCursor {
  sqlite3_vtab_cursor base;  // must be first
  std::vector<Divergence> rows;
  size_t row = 0;
};

int VerifyConnect(sqlite3* db, void* aux, int, const char* const*, sqlite3_vtab** out, char**) {
  const int rc = sqlite3_declare_vtab(
      db, "CREATE TABLE x(id INTEGER, cached_version INTEGER, database_version INTEGER, reason TEXT)");
  if (rc != SQLITE_OK) return rc;
  auto* table = new VerifyTable{};
  table->state = static_cast<ConnectionState*>(aux);
  *out = &table->base;
  return SQLITE_OK;
}

int VerifyDisconnect(sqlite3_vtab* vtab) {
  delete reinterpret_cast<VerifyTable*>(vtab);
  return SQLITE_OK;
}

// One plan, a full audit, whatever the constraints (SQLite applies them to
// the rows after): the audit must compare every entry in one snapshot to
// say anything, and costs one point read per entry, which no constraint
// shortens. Its cost is that of reading every cached document.
int VerifyBestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
  info->estimatedCost = 1e6;
  info->estimatedRows = 10;
  return SQLITE_OK;
}

int VerifyOpen(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
  *out = &(new VerifyCursor{})->base;
  return SQLITE_OK;
}

int VerifyClose(sqlite3_vtab_cursor* cursor) {
  delete reinterpret_cast<VerifyCursor*>(cursor);
  return SQLITE_OK;
}

int VerifyFilter(sqlite3_vtab_cursor* base, int, const char*, int, sqlite3_value**) {
  auto* cursor = reinterpret_cast<VerifyCursor*>(base);
  cursor->row = 0;
  if (Status status = VerifyCache(&reinterpret_cast<VerifyTable*>(base->pVtab)->state->cache(), &cursor->rows);
      !status.ok()) {
    SetVtabError(base->pVtab, "docstore_verify", status);
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

int VerifyNext(sqlite3_vtab_cursor* base) {
  ++reinterpret_cast<VerifyCursor*>(base)->row;
  return SQLITE_OK;
}

int VerifyEof(sqlite3_vtab_cursor* base) {
  auto* cursor = reinterpret_cast<VerifyCursor*>(base);
  return cursor->row >= cursor->rows.size();
}

int VerifyColumnValue(sqlite3_vtab_cursor* base, sqlite3_context* ctx, int column) {
  auto* cursor = reinterpret_cast<VerifyCursor*>(base);
  const Divergence& d = cursor->rows[cursor->row];
  switch (column) {
    case kId:
      sqlite3_result_int64(ctx, d.id);
      break;
    case kCachedVersion:
      sqlite3_result_int64(ctx, static_cast<sqlite3_int64>(d.cached_version));
      break;
    case kDatabaseVersion:
      if (d.database_version) sqlite3_result_int64(ctx, *d.database_version);
      break;  // else NULL
    case kReason:
      sqlite3_result_text(ctx, d.reason, -1, SQLITE_STATIC);
      break;
  }
  return SQLITE_OK;
}

int VerifyRowid(sqlite3_vtab_cursor* base, sqlite3_int64* rowid) {
  *rowid = static_cast<sqlite3_int64>(reinterpret_cast<VerifyCursor*>(base)->row);
  return SQLITE_OK;
}

sqlite3_module MakeVerifyModule() {
  sqlite3_module m{};
  m.xConnect = VerifyConnect;  // eponymous only
  m.xBestIndex = VerifyBestIndex;
  m.xDisconnect = VerifyDisconnect;
  m.xOpen = VerifyOpen;
  m.xClose = VerifyClose;
  m.xFilter = VerifyFilter;
  m.xNext = VerifyNext;
  m.xEof = VerifyEof;
  m.xColumn = VerifyColumnValue;
  m.xRowid = VerifyRowid;
  return m;
}

const sqlite3_module kVerifyModule = MakeVerifyModule();

}  // namespace

int RegisterVerifyTable(sqlite3* db, ConnectionState* state) {
  state->Retain();
  return sqlite3_create_module_v2(db, "docstore_verify", &kVerifyModule, state, ConnectionState::Release);
}

}  // namespace docstore
