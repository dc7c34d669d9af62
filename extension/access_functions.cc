// Deferred access counting.
//
//   SELECT doc_touch(42);     -- counts one access to document 42; 1, or 0
//                             -- where nothing is tracked (in-memory database,
//                             -- no cache); an error without docstore's schema
//   SELECT doc_flush();       -- writes pending accesses now; how many it wrote
//   SELECT id, count, last_accessed FROM docstore_pending;
//
// An access is counted in the database's shared-memory segment and reaches
// document_access when docstore-sidecar (or doc_flush, or a client that finds
// the pending table full) flushes it: a read never opens a write
// transaction. doc_touch reads no document: an access to an id that has no
// document is dropped when it is flushed.
#include "access_functions.h"

#include <optional>
#include <vector>

#include "access_flusher.h"
#include "clock.h"
#include "sql_values.h"

namespace docstore {
namespace {

void DocTouch(sqlite3_context* ctx, int, sqlite3_value** argv) {
  auto* state = static_cast<ConnectionState*>(sqlite3_user_data(ctx));
  std::optional<int64_t> id;
  if (Status status = ReadDocumentId(argv[0], &id); !status.ok()) return ResultError(ctx, "doc_touch", status);
  if (!id || *id <= 0) return;  // NULL; no document can have such an id: NULL, as doc_get gives
  DocumentCache* cache = state->cache().Cache();
  if (cache == nullptr) {
    // Nothing is tracked here; say so as doc_get would when that is because
    // the database is not docstore's (or not readable).
    if (Status status = state->CheckSchema(); !status.ok()) return ResultError(ctx, "doc_touch", status);
  }
  if (Status status = state->cache().RecordAccess(cache, *id); !status.ok()) {
    return ResultError(ctx, "doc_touch", status);
  }
  sqlite3_result_int(ctx, cache != nullptr ? 1 : 0);
}

void DocFlush(sqlite3_context* ctx, int, sqlite3_value**) {
  auto* state = static_cast<ConnectionState*>(sqlite3_user_data(ctx));
  if (Status status = state->CheckSchema(); !status.ok()) return ResultError(ctx, "doc_flush", status);
  FlushResult result;
  if (Status status = state->cache().Flush(&result); !status.ok()) {
    return ResultError(ctx, "doc_flush", Status::Error(status.message() + "; the accesses stay pending"));
  }
  sqlite3_result_int64(ctx, static_cast<sqlite3_int64>(result.accesses));
}

// --- docstore_pending --------------------------------------------------------

struct PendingVtab {
  sqlite3_vtab base;  // must be first
  ConnectionState* state;
};

struct PendingCursor {
  sqlite3_vtab_cursor base;  // must be first
  std::vector<shmcache::PendingAccess> rows;
  size_t row = 0;
};

int PendingConnect(sqlite3* db, void* aux, int, const char* const*, sqlite3_vtab** out, char**) {
  const int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(id INTEGER, count INTEGER, last_accessed TEXT)");
  if (rc != SQLITE_OK) return rc;
  auto* table = new PendingVtab{};
  table->state = static_cast<ConnectionState*>(aux);
  *out = &table->base;
  return SQLITE_OK;
}

int PendingDisconnect(sqlite3_vtab* vtab) {
  delete reinterpret_cast<PendingVtab*>(vtab);
  return SQLITE_OK;
}

int PendingBestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
  // The segment keeps no index SQL could use: every plan is a scan of it.
  info->estimatedCost = 1e5;
  return SQLITE_OK;
}

int PendingOpen(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
  *out = &(new PendingCursor{})->base;
  return SQLITE_OK;
}

int PendingClose(sqlite3_vtab_cursor* cursor) {
  delete reinterpret_cast<PendingCursor*>(cursor);
  return SQLITE_OK;
}

int PendingFilter(sqlite3_vtab_cursor* base, int, const char*, int, sqlite3_value**) {
  auto* cursor = reinterpret_cast<PendingCursor*>(base);
  cursor->rows.clear();
  cursor->row = 0;
  DocumentCache* cache = reinterpret_cast<PendingVtab*>(base->pVtab)->state->cache().Cache();
  if (cache == nullptr) return SQLITE_OK;
  cache->ForEachPending([cursor](const shmcache::PendingAccess& a) { cursor->rows.push_back(a); });
  return SQLITE_OK;
}

int PendingNext(sqlite3_vtab_cursor* base) {
  ++reinterpret_cast<PendingCursor*>(base)->row;
  return SQLITE_OK;
}

int PendingEof(sqlite3_vtab_cursor* base) {
  auto* cursor = reinterpret_cast<PendingCursor*>(base);
  return cursor->row >= cursor->rows.size();
}

int PendingColumn(sqlite3_vtab_cursor* base, sqlite3_context* ctx, int column) {
  auto* cursor = reinterpret_cast<PendingCursor*>(base);
  const shmcache::PendingAccess& a = cursor->rows[cursor->row];
  if (column == 0) {
    sqlite3_result_int64(ctx, static_cast<sqlite3_int64>(a.key));
  } else if (column == 1) {
    sqlite3_result_int64(ctx, static_cast<sqlite3_int64>(a.count));
  } else {
    const std::string at = IsoTime(a.last_ms);
    sqlite3_result_text(ctx, at.c_str(), -1, SQLITE_TRANSIENT);
  }
  return SQLITE_OK;
}

int PendingRowid(sqlite3_vtab_cursor* base, sqlite3_int64* rowid) {
  *rowid = static_cast<sqlite3_int64>(reinterpret_cast<PendingCursor*>(base)->row);
  return SQLITE_OK;
}

sqlite3_module MakePendingModule() {
  sqlite3_module m{};
  m.xConnect = PendingConnect;  // eponymous only
  m.xBestIndex = PendingBestIndex;
  m.xDisconnect = PendingDisconnect;
  m.xOpen = PendingOpen;
  m.xClose = PendingClose;
  m.xFilter = PendingFilter;
  m.xNext = PendingNext;
  m.xEof = PendingEof;
  m.xColumn = PendingColumn;
  m.xRowid = PendingRowid;
  return m;
}

const sqlite3_module kPendingModule = MakePendingModule();

}  // namespace

int RegisterAccessFunctions(sqlite3* db, ConnectionState* state) {
  state->Retain();
  int rc = sqlite3_create_function_v2(db, "doc_touch", 1, SQLITE_UTF8, state, DocTouch, nullptr, nullptr,
                                      ConnectionState::Release);
  if (rc != SQLITE_OK) return rc;
  state->Retain();
  rc = sqlite3_create_function_v2(db, "doc_flush", 0, kDirectOnlyFunction, state, DocFlush, nullptr, nullptr,
                                  ConnectionState::Release);
  if (rc != SQLITE_OK) return rc;
  state->Retain();
  return sqlite3_create_module_v2(db, "docstore_pending", &kPendingModule, state, ConnectionState::Release);
}

}  // namespace docstore
