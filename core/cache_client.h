// One connection's use of its database's shared cache: the attach rules
// (which databases get a segment, and how it is read), when a hit may be
// served (caught up with the file, see document_cache.h), the fill rule as
// it applies to a connection, and access recording that never drops an
// access. The extension holds one per connection. Writes never depend on the
// cache: the schema's triggers log them in the file (sql/007_change_log.sql).
#ifndef DOCSTORE_CORE_CACHE_CLIENT_H_
#define DOCSTORE_CORE_CACHE_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "access_flusher.h"
#include "document_cache.h"
#include "file_watch.h"
#include "sqlite_api.h"
#include "sqlite_util.h"
#include "status.h"

namespace docstore {

// Whether the main database of `db` is encrypted: keyed by SQLCipher (it
// names a cipher provider only for a keyed database), or a file that does not
// start like a plain SQLite database. Found per database at run time,
// whichever build and runtime.
bool DatabaseIsEncrypted(sqlite3* db);

// How long a reader waits for another process that is catching the cache
// up (it reads from the database instead after that).
inline constexpr uint32_t kSourceSyncWaitMs = 2000;
// How often a connection without a cache looks for one again, and one kept
// from catching up by a lock that a live process does not let go of tries
// again (it reads from the database meanwhile).
inline constexpr std::chrono::seconds kAttachRetryInterval{1};
inline constexpr std::chrono::seconds kCatchUpRetryInterval{1};
// How long a reader that finds the pending table full waits for another
// flusher before it looks for room again (and then flushes itself).
inline constexpr uint32_t kFullTableFlushWaitMs = 100;

class CacheClient {
 public:
  explicit CacheClient(sqlite3* db) : db_(db) {}
  CacheClient(const CacheClient&) = delete;
  CacheClient& operator=(const CacheClient&) = delete;

  // The main database's cache, attached on first use once the schema exists.
  // nullptr when there is none; unavailable() says why.
  DocumentCache* Cache() { return cache_ != nullptr ? cache_.get() : Attach(); }
  const std::string& unavailable() const { return unavailable_; }
  // Why this connection serves no hits although the process has the cache
  // ("" when it does).
  const std::string& watch_off() const { return watch_off_; }
  // Why accesses are not counted here ("" when they are).
  const std::string& counting_off() const { return counting_off_; }
  // Why CacheForHit() gives nullptr now: for callers that need the cache
  // caught up and say why they cannot go on (cache_warm.h).
  std::string WhyNoHits();
  // Whether the cache has applied every document change committed to the
  // file now, the last at `clock`: its published position is the file's
  // state now (no commit since the last catch-up) at that clock.
  bool CaughtUpNowAt(int64_t clock) {
    DocumentCache* cache = Cache();
    if (cache == nullptr || watch_ == nullptr || !cache->SourceIs(watch_->Observe())) return false;
    const shmcache::SourcePosition position = cache->Source();
    return position.clock != 0 && position.clock == static_cast<uint64_t>(clock);
  }
  sqlite3* db() const { return db_; }

  // The cache, if a hit may be served from it now: reads are on, this
  // connection has no write transaction open, and the cache has caught up
  // with everything committed to the file (catching up first if needed).
  // nullptr: read from the database.
  DocumentCache* CacheForHit() {
    DocumentCache* cache = Cache();
    if (cache == nullptr || watch_ == nullptr || !cache->reads_enabled() || InWriteTransaction(db_)) return nullptr;
    if (caught_up_ && (skip_detection_ || cache->SourceIs(watch_->Observe()))) return cache;
    return CatchUp();
  }

  // The main database's docstore_meta database_id, "" before docstore_init.
  const std::string& MainDatabaseId();

  // Reads document `id` with `by_id` (kDocumentByIdSql, prepared on this
  // connection) into *json, and caches it when the fill rule allows
  // (*cached, if given, says whether it did). kNotFound when there is no
  // such document.
  Status ReadThrough(sqlite3_stmt* by_id, int64_t id, std::string* json, bool* cached = nullptr);

  // Counts one access to document `id` (flushed later) in `cache`, what
  // Cache() gave (nullptr: nothing is counted). A full pending table is
  // flushed from here first; an access is never dropped silently. Not
  // counted at all where counting is off (a read-only database).
  Status RecordAccess(DocumentCache* cache, int64_t id) {
    if (cache == nullptr || counting_disabled_ || cache->RecordAccess(id)) return Status::Ok();
    return FlushThenRecord(cache, id);
  }
  Status RecordAccess(int64_t id) { return RecordAccess(Cache(), id); }
  // Flushes pending accesses through this connection (doc_flush), waiting at
  // most `wait_ms` for another flusher.
  Status Flush(FlushResult* result, uint32_t wait_ms = kFlushLockWaitMs);

 private:
  Status FlushThenRecord(DocumentCache* cache, int64_t id);
  DocumentCache* Attach();
  // Brings the cache up to date with the file (document_cache.h, "Catching
  // up"); the cache to serve hits from, or nullptr.
  DocumentCache* CatchUp();
  // Forgets the segment: the next Cache() attaches to the current one.
  void Detach(std::string why);
  std::string MainMeta(const char* key);

  sqlite3* const db_;
  std::shared_ptr<DocumentCache> cache_;
  std::unique_ptr<FileWatch> watch_;
  std::string main_database_id_;
  bool caught_up_ = false;  // this connection has caught up (or seen it done) since it attached
  bool attach_final_ = false;  // a failure retrying cannot fix
  // After a failure retrying may fix: when to try again.
  std::chrono::steady_clock::time_point retry_attach_at_{};
  // After a catch-up kept out by a lock: when to try again.
  std::chrono::steady_clock::time_point retry_catch_up_at_{};
  bool counting_disabled_ = false;
  bool skip_detection_ = false;  // bench only: cache_settings.h, BenchSkipsDetection
  std::string unavailable_ = "not attached yet";
  std::string watch_off_;
  std::string counting_off_;
};

}  // namespace docstore

#endif  // DOCSTORE_CORE_CACHE_CLIENT_H_
