/*
** docstore: a document store inside SQLite.
**
**   .load ./build/docstore                  -- sqlite3 shell (SQLite >= 3.40)
**   .load ./build/docstore_sqlcipher        -- sqlcipher shell (SQLCipher 3.4)
**
**   SELECT docstore_init();                 -- create or migrate the schema
**   SELECT docstore_tune();                 -- WAL, page cache, busy timeout, mmap; cipher settings
**   INSERT INTO documents(title, content, metadata)
**     VALUES ('Hello', 'first words', '{"lang":"en"}');
**   SELECT doc_get(1);                      -- the document as JSON, or NULL
**   SELECT id, doc FROM doc_get_many('[1, 2, 3]');
**   SELECT id, title, snippet, rank FROM doc_search('first') LIMIT 10;
**   SELECT * FROM docstore_info;            -- build, runtime, schema version
**   SELECT * FROM docstore_stats;           -- the shared cache's counters
**   SELECT * FROM docstore_cache WHERE id = 1;  -- one cached entry
**   SELECT doc_touch(1);                    -- count an access without reading
**   SELECT doc_flush();                     -- write pending accesses now
**   SELECT * FROM docstore_pending;         -- accesses not yet written
**   SELECT docstore_cache_warm(20000);      -- load the most accessed documents
**   SELECT * FROM docstore_verify;          -- cached entries that differ: none
**
** Writes are plain SQL on the documents table; triggers keep the version, the
** audit log, the full-text index and the shared cache in step (see sql/ and
** core/document_cache.h). doc_get is served from a shared-memory cache that every
** process opening the same database file shares.
**
** Each build refuses, at load, a runtime older than the SQLite headers it was
** compiled against: an extension calls SQLite through a table of function
** pointers that only grows, and calling past the end of an older runtime's
** table crashes.
*/
#include <mutex>
#include <unordered_set>

#include "access_functions.h"
#include "build_info.h"
#include "cache_admin.h"
#include "cache_vtab.h"
#include "cache_warm_function.h"
#include "connection_state.h"
#include "doc_get.h"
#include "doc_get_many.h"
#include "doc_search.h"
#include "docstore_tune.h"
#include "info_vtab.h"
#include "json_valid_fallback.h"
#include "schema.h"
#include "verify_vtab.h"
#include "sqlite_api.h"

SQLITE_EXTENSION_INIT1

namespace docstore {
namespace {

// Connections that have docstore registered. Loading it again on one of
// them keeps the first registration: SQLite 3.15 cannot replace a module
// (SQLITE_MISUSE), and one state per connection is simpler to reason about.
std::mutex loaded_connections_mutex;
std::unordered_set<sqlite3*> loaded_connections;

void ForgetConnection(sqlite3* db) {
  std::lock_guard lock(loaded_connections_mutex);
  loaded_connections.erase(db);
}

// Registration touches no table: on a keyed database it may run before
// PRAGMA key, when the schema cannot be read yet.
int RegisterAll(sqlite3* db, char** error) {
  {
    std::lock_guard lock(loaded_connections_mutex);
    if (!loaded_connections.insert(db).second) return SQLITE_OK;
  }
  auto* state = new ConnectionState(db, ForgetConnection);
  state->Retain();  // held until the end of this function
  int rc = RegisterInfoModule(db, state);
  if (rc == SQLITE_OK) rc = RegisterSchemaFunctions(db);
  if (rc == SQLITE_OK) rc = RegisterJsonValidIfMissing(db);
  if (rc == SQLITE_OK) rc = RegisterDocGet(db, state);
  if (rc == SQLITE_OK) rc = RegisterDocGetMany(db, state);
  if (rc == SQLITE_OK) rc = RegisterDocSearch(db);
  if (rc == SQLITE_OK) rc = RegisterCacheAdmin(db, state);
  if (rc == SQLITE_OK) rc = RegisterCacheTables(db, state);
  if (rc == SQLITE_OK) rc = RegisterCacheWarm(db, state);
  if (rc == SQLITE_OK) rc = RegisterVerifyTable(db, state);
  if (rc == SQLITE_OK) rc = RegisterAccessFunctions(db, state);
  if (rc == SQLITE_OK) rc = RegisterDocstoreTune(db);
  if (rc != SQLITE_OK) {
    *error = sqlite3_mprintf("docstore: registration failed: %s (%s)", sqlite3_errstr(rc),
                             sqlite3_errmsg(db));
    ForgetConnection(db);  // a later load may try again
  }
  ConnectionState::Release(state);
  return rc;
}

int Init(sqlite3* db, char** error, const sqlite3_api_routines* api) {
  SQLITE_EXTENSION_INIT2(api);
  // libversion_number sits near the start of the routine table, so reading it
  // is safe on any runtime; everything after this check may not be.
  const int runtime = sqlite3_libversion_number();
  if (runtime < kMinimumRuntimeVersion) {
    *error = sqlite3_mprintf(
        "docstore: this build (%s) was compiled against SQLite %s and needs a runtime >= %d.%d.0,"
        " but it was loaded into SQLite %s; load docstore_sqlcipher instead for SQLCipher 3.x",
        kBuildVariant, kBuiltAgainstVersion, kMinimumRuntimeVersion / 1000000,
        kMinimumRuntimeVersion / 1000 % 1000, sqlite3_libversion());
    return SQLITE_ERROR;
  }
  return RegisterAll(db, error);
}

}  // namespace
}  // namespace docstore

// SQLite derives the entry point from the file name: sqlite3_docstore_init for
// docstore.so, sqlite3_docstoresqlcipher_init for docstore_sqlcipher.so.
extern "C" __attribute__((visibility("default"))) int sqlite3_docstore_init(
    sqlite3* db, char** error, const sqlite3_api_routines* api) {
  return docstore::Init(db, error, api);
}

extern "C" __attribute__((visibility("default"))) int sqlite3_docstoresqlcipher_init(
    sqlite3* db, char** error, const sqlite3_api_routines* api) {
  return docstore::Init(db, error, api);
}
