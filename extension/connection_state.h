// Per-connection state shared by docstore's SQL functions and virtual tables:
// the connection's use of the shared cache (core's CacheClient) and the
// statements docstore keeps prepared.
#ifndef DOCSTORE_EXTENSION_CONNECTION_STATE_H_
#define DOCSTORE_EXTENSION_CONNECTION_STATE_H_

#include <array>
#include <cstdint>
#include <string>

#include "cache_client.h"
#include "sqlite_api.h"
#include "status.h"

namespace docstore {

// The statements docstore keeps prepared for the life of a connection.
enum class CachedStatement {
  kDocumentById,  // document_entry.h's kDocumentByIdSql
  kCount,
};

// One per connection that loaded docstore. Every function and module
// registration holds a reference (Retain in the registration, Release in its
// destructor callback), so the state lives exactly as long as the last
// registration that can reach it — also when the extension is loaded twice
// and the first set of registrations is replaced.
//
// Cached statements would make sqlite3_close() fail with SQLITE_BUSY
// ("unfinalized statements"), and function destructors only run after that
// check. Eponymous virtual tables, however, are disconnected before it, so
// docstore_info (see info_vtab.cc) finalizes them from its xDisconnect; the
// anchor is connected again on the next Statement() call if it was dropped.
class ConnectionState {
 public:
  // `on_destroy` runs when the last registration is gone (the connection is
  // closing).
  ConnectionState(sqlite3* db, void (*on_destroy)(sqlite3*)) : db_(db), on_destroy_(on_destroy), cache_(db) {}
  ConnectionState(const ConnectionState&) = delete;
  ConnectionState& operator=(const ConnectionState&) = delete;

  void Retain() { ++references_; }
  static void Release(void* state);

  sqlite3* db() const { return db_; }
  CacheClient& cache() { return cache_; }

  // Ok when the main database has docstore's schema; else why not, as a user
  // can act on it: a database SQLCipher cannot read (a wrong key, or not a
  // database at all), or one that docstore_init() has not set up.
  Status CheckSchema();

  // The cached statement in *stmt, ready to bind (see StatementUse),
  // prepared on first use.
  Status Statement(CachedStatement which, sqlite3_stmt** stmt);
  void FinalizeStatements();

  void set_close_anchor_connected(bool connected) { close_anchor_connected_ = connected; }

  // Document `id` as doc_get's JSON: from the shared cache, else read through
  // this connection (and filled). kNotFound when there is no such document.
  Status LoadDocument(int64_t id, std::string* json);
  // The same, never from the cache (after a miss).
  Status ReadDocument(int64_t id, std::string* json);

  // A buffer reused across calls to build results in, to avoid an allocation
  // per call.
  std::string& scratch() { return scratch_; }

 private:
  ~ConnectionState() {
    FinalizeStatements();
    on_destroy_(db_);
  }

  sqlite3* const db_;
  void (*const on_destroy_)(sqlite3*);
  int references_ = 0;
  bool close_anchor_connected_ = false;
  std::array<sqlite3_stmt*, static_cast<size_t>(CachedStatement::kCount)> statements_{};
  std::string scratch_;
  CacheClient cache_;
};

// Resets a cached statement and clears its bindings when the caller is done,
// so no statement stays mid-step (holding a read transaction) between calls.
class StatementUse {
 public:
  explicit StatementUse(sqlite3_stmt* stmt) : stmt_(stmt) {}
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;
  ~StatementUse() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  sqlite3_stmt* const stmt_;
};

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_CONNECTION_STATE_H_
