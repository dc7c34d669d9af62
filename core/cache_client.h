// One connection's use of its database's shared cache: the attach rules
// (which databases get a segment, when writes must be refused without one),
// the fill rule as it applies to a connection, invalidation from the write
// triggers, and access recording that never drops an access. The extension
// holds one per connection; document_cache.h states the protocol this
// follows.
#ifndef DOCSTORE_CORE_CACHE_CLIENT_H_
#define DOCSTORE_CORE_CACHE_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "access_flusher.h"
#include "document_cache.h"
#include "sqlite_api.h"
#include "status.h"

namespace docstore {

// Whether the database file at `path`, open on `db`, is encrypted: keyed by
// SQLCipher (it names a cipher provider only for a keyed database), or a file
// that does not start like a plain SQLite database. Found per database at
// run time, whichever build and runtime.
bool DatabaseIsEncrypted(sqlite3* db, const char* path);

class CacheClient {
 public:
  explicit CacheClient(sqlite3* db) : db_(db) {}
  CacheClient(const CacheClient&) = delete;
  CacheClient& operator=(const CacheClient&) = delete;

  // The main database's cache, attached on first use once the schema exists.
  // nullptr when there is none; unavailable() says why.
  DocumentCache* Cache() { return cache_ != nullptr ? cache_.get() : Attach(); }
  const std::string& unavailable() const { return unavailable_; }

  // The main database's docstore_meta database_id, "" before docstore_init.
  const std::string& MainDatabaseId();

  // Reads document `id` with `by_id` (kDocumentByIdSql, prepared on this
  // connection) into *json, and caches it when the fill rule allows.
  // kNotFound when there is no such document.
  Status ReadThrough(sqlite3_stmt* by_id, int64_t id, std::string* json);

  // Counts one access to document `id` (flushed later) in `cache`, what
  // Cache() gave (nullptr: nothing is counted). A full pending table is
  // flushed from here first; an access is never dropped silently.
  Status RecordAccess(DocumentCache* cache, int64_t id) {
    if (cache == nullptr || cache->RecordAccess(id)) return Status::Ok();
    return FlushThenRecord(cache, id);
  }
  Status RecordAccess(int64_t id) { return RecordAccess(Cache(), id); }
  // Flushes pending accesses through this connection (doc_flush).
  Status Flush(FlushResult* result);

  // Called by the schema's triggers for every document write, before it
  // commits, in the database whose docstore_meta id is `database_id`
  // (nullptr from triggers older than migration 5). An error refuses the
  // write: other processes' caches could not be kept correct.
  Status Invalidate(int64_t id, int64_t clock, const std::string* database_id);

 private:
  Status FlushThenRecord(DocumentCache* cache, int64_t id);
  DocumentCache* Attach();
  // A row this connection reads now may go into the cache: it has no write
  // transaction open, so it cannot be seeing uncommitted data.
  bool MayFill() const;
  std::string MainMeta(const char* key);

  sqlite3* const db_;
  std::shared_ptr<DocumentCache> cache_;
  std::string main_database_id_;
  // The fences this connection raised and has not brought down yet (one
  // mark per shard, the latest): lowered on the first read through outside
  // a write transaction (document_cache.h, "Rollbacks").
  std::vector<shmcache::FenceMark> raised_;
  bool attach_final_ = false;         // a failure retrying cannot fix
  bool writes_safe_uncached_ = false; // no segment can exist that writes must invalidate
  std::string unavailable_ = "not attached yet";
};

}  // namespace docstore

#endif  // DOCSTORE_CORE_CACHE_CLIENT_H_
