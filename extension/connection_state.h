// Per-connection state shared by docstore's SQL functions and virtual tables.
#ifndef DOCSTORE_EXTENSION_CONNECTION_STATE_H_
#define DOCSTORE_EXTENSION_CONNECTION_STATE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "document_cache.h"
#include "sqlite_api.h"

namespace docstore {

// Whether the database file at `path`, open on `db`, is encrypted: keyed by
// SQLCipher (it names a cipher provider only for a keyed database), or a file
// that does not start like a plain SQLite database. Found per database at
// run time, whichever build and runtime.
bool DatabaseIsEncrypted(sqlite3* db, const char* path);

// The statements docstore keeps prepared for the life of a connection.
enum class CachedStatement {
  kDocumentById,
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
  ConnectionState(sqlite3* db, void (*on_destroy)(sqlite3*)) : db_(db), on_destroy_(on_destroy) {}
  ConnectionState(const ConnectionState&) = delete;
  ConnectionState& operator=(const ConnectionState&) = delete;

  void Retain() { ++references_; }
  static void Release(void* state);

  sqlite3* db() const { return db_; }

  // The cached statement, ready to bind (see StatementUse), prepared on
  // first use. nullptr when it cannot be prepared; `error` then says why.
  sqlite3_stmt* Statement(CachedStatement which, std::string* error);
  void FinalizeStatements();

  void set_close_anchor_connected(bool connected) { close_anchor_connected_ = connected; }

  // The database's shared cache, attached on first use once the schema
  // exists. nullptr when there is none; cache_unavailable() says why.
  DocumentCache* Cache() { return cache_ != nullptr ? cache_.get() : AttachCache(); }
  const std::string& cache_unavailable() const { return cache_unavailable_; }

  // Counts one access to document `id` in the segment (flushed later). A
  // full pending table is flushed from here first. False, with *error, when
  // the access could not be recorded; never drops one silently.
  bool RecordAccess(int64_t id, std::string* error);

  // True when a row this connection reads now may go into the cache: it has
  // no write transaction open, so it cannot be seeing uncommitted data.
  bool CanFill() const;

  // Called by the schema's triggers for every document write, before it
  // commits. False, with *error, when the write must be refused because
  // other processes' caches could not be kept correct.
  // `database_id`: the docstore_meta id of the trigger's own database
  // (migration 5), nullptr from older triggers.
  bool Invalidate(int64_t id, int64_t clock, const std::string* database_id, std::string* error);

  // The main database's docstore_meta database_id, "" before docstore_init.
  const std::string& MainDatabaseId();

  // A buffer reused across calls to build results in, to avoid an allocation
  // per call.
  std::string& scratch() { return scratch_; }

 private:
  ~ConnectionState() {
    FinalizeStatements();
    on_destroy_(db_);
  }

  DocumentCache* AttachCache();
  std::string MainMeta(const char* key);

  sqlite3* const db_;
  void (*const on_destroy_)(sqlite3*);
  int references_ = 0;
  bool close_anchor_connected_ = false;
  std::array<sqlite3_stmt*, static_cast<size_t>(CachedStatement::kCount)> statements_{};
  std::string scratch_;

  std::shared_ptr<DocumentCache> cache_;
  std::string main_database_id_;
  bool cache_attach_final_ = false;   // a failure retrying cannot fix
  bool writes_safe_uncached_ = false; // no segment can exist that writes must invalidate
  std::string cache_unavailable_ = "not attached yet";
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
