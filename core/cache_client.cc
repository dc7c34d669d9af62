#include "cache_client.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

#include "cache_settings.h"
#include "change_log.h"
#include "sqlite_util.h"

namespace docstore {

bool DatabaseIsEncrypted(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  bool keyed = false;
  if (sqlite3_prepare_v2(db, "PRAGMA cipher_provider", -1, &stmt, nullptr) == SQLITE_OK) {
    keyed = sqlite3_step(stmt) == SQLITE_ROW;
  }
  sqlite3_finalize(stmt);
  if (keyed) return true;
  // Read through the connection's own file: opening and closing the file
  // with open(2) would drop every POSIX lock this process holds on it,
  // SQLite's included.
  sqlite3_file* file = nullptr;
  char header[16] = {};
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK || file == nullptr ||
      file->pMethods == nullptr || file->pMethods->xRead(file, header, sizeof header, 0) != SQLITE_OK) {
    return true;
  }
  return std::memcmp(header, "SQLite format 3", sizeof header) != 0;
}

// A text value of the main database's docstore_meta, "" when there is none.
std::string CacheClient::MainMeta(const char* key) {
  sqlite3_stmt* stmt = nullptr;
  std::string value;
  if (sqlite3_prepare_v2(db_, "SELECT value FROM main.docstore_meta WHERE key = ?1", -1, &stmt, nullptr) ==
      SQLITE_OK) {
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_type(stmt, 0) == SQLITE_TEXT) {
      value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
  }
  sqlite3_finalize(stmt);
  return value;
}

const std::string& CacheClient::MainDatabaseId() {
  if (main_database_id_.empty()) main_database_id_ = MainMeta("database_id");
  return main_database_id_;
}

DocumentCache* CacheClient::Attach() {
  if (attach_final_ || std::chrono::steady_clock::now() < retry_attach_at_) return nullptr;
  const char* path = sqlite3_db_filename(db_, "main");
  if (path == nullptr || *path == '\0') {
    unavailable_ = "off: an in-memory or temporary database has nothing to share";
    attach_final_ = true;
    return nullptr;
  }
  const std::string& database_id = MainDatabaseId();
  if (database_id.empty() || QueryText(db_, "SELECT 1 FROM main.sqlite_master WHERE name = 'docstore_changes'") != "1") {
    // Before docstore_init(), or a schema from before the change log: try
    // again on the next call.
    main_database_id_.clear();
    unavailable_ = "off: the schema has no docstore_changes yet (run SELECT docstore_init())";
    return nullptr;
  }
  // DESIGN.md invariant 6: no plaintext of a keyed database in /dev/shm: its
  // entries are sealed under the cache key kept inside the database.
  std::string reads_off;
  std::unique_ptr<EntryCipher> cipher;
  if (DatabaseIsEncrypted(db_)) {
    std::string cache_key = MainMeta("cache_key");
    cipher = EntryCipher::FromHexKey(cache_key);
    std::fill(cache_key.begin(), cache_key.end(), '\0');
    if (cipher == nullptr) {
      reads_off = "documents not cached: the database is encrypted and has no cache key yet (run SELECT docstore_init())";
    }
  }
  if (reads_off.empty() && !CurrentCacheSettings().enabled) reads_off = "reads off (DOCSTORE_CACHE=off)";
  // Hits need the watch; where this process serves none, it is not made.
  // The connection has read the database (above), so in WAL mode its -shm
  // is there and held open.
  if (reads_off.empty()) {
    if (Status status = FileWatch::Open(db_, &watch_); !status.ok()) {
      watch_off_ = "reads off on this connection: " + status.message();
    }
  }
  const Status status = DocumentCache::Attach(path, database_id, DocumentCache::AttachMode::kOpenOrCreate,
                                              EntryCodec(std::move(cipher)), std::move(reads_off), &cache_);
  if (!status.ok()) {
    unavailable_ = "off: " + status.message();
    // What stood in the way (no /dev/shm, no room, an untrusted or damaged
    // segment) may be gone later: look again, but not on every read.
    retry_attach_at_ = std::chrono::steady_clock::now() + kAttachRetryInterval;
    return nullptr;
  }
  unavailable_.clear();
  caught_up_ = false;
  skip_detection_ = BenchSkipsDetection();
  // Where the database cannot be written here, flushes could never write
  // the counts: counting them would only fill the table.
  counting_disabled_ = sqlite3_db_readonly(db_, "main") == 1;
  counting_off_ = counting_disabled_ ? "off: the database is read-only on this connection (mode=ro, immutable, "
                                       "file permissions or a read-only replica); accesses are not counted"
                                     : "";
  return cache_.get();
}

void CacheClient::Detach(std::string why) {
  cache_.reset();
  watch_.reset();
  watch_off_.clear();
  main_database_id_.clear();
  caught_up_ = false;
  unavailable_ = std::move(why);
}

DocumentCache* CacheClient::CatchUp() {
  // Only a snapshot that starts now holds every commit the file shows.
  if (ReadTransactionMayBeOpen(db_)) return nullptr;
  // A catch-up that could not get a lock lately: read from the database
  // rather than wait again on every read.
  if (std::chrono::steady_clock::now() < retry_catch_up_at_) return nullptr;
  auto sync = cache_->BeginSourceSync(kSourceSyncWaitMs);
  if (sync == nullptr) {
    retry_catch_up_at_ = std::chrono::steady_clock::now() + kCatchUpRetryInterval;
    return nullptr;
  }
  // The connection may have changed its journal mode since the watch began.
  if ((QueryText(db_, "PRAGMA main.journal_mode") == "wal") != watch_->wal()) {
    if (Status status = FileWatch::Open(db_, &watch_); !status.ok()) {
      watch_off_ = "reads off on this connection: " + status.message();
      return nullptr;
    }
  }
  const FileWatch::State observed = watch_->Observe();
  if (caught_up_ && cache_->SourceIs(observed)) return cache_.get();  // another process did it
  const Status status = docstore::CatchUp(db_, cache_.get(), sync.get(), observed, MainDatabaseId());
  sync.reset();
  if (status.IsUnavailable() || !cache_->StillCurrent()) {
    // Another database in this file now, or the segment's name was removed
    // or made anew: move to the current segment.
    Detach("not attached: " + (status.ok() ? std::string("the segment was removed") : status.message()));
    return nullptr;
  }
  if (status.IsBusy()) retry_catch_up_at_ = std::chrono::steady_clock::now() + kCatchUpRetryInterval;
  if (!status.ok()) return nullptr;
  caught_up_ = true;
  return cache_.get();
}

std::string CacheClient::WhyNoHits() {
  DocumentCache* cache = Cache();
  if (cache == nullptr) return "no shared cache for this database: " + unavailable_;
  if (!cache->reads_enabled()) return cache->Stats().reads_off;
  if (!watch_off_.empty()) return watch_off_;
  if (InWriteTransaction(db_) || ReadTransactionMayBeOpen(db_)) {
    return "this connection has a transaction open, so the cache cannot catch up with the database from it; run it "
           "outside a transaction";
  }
  return "another process holds the cache's catch-up lock and did not let go; try again";
}

Status CacheClient::ReadThrough(sqlite3_stmt* by_id, int64_t id, std::string* json, bool* cached) {
  if (cached != nullptr) *cached = false;
  sqlite3_bind_int64(by_id, 1, id);
  const int rc = sqlite3_step(by_id);
  if (rc == SQLITE_DONE) return Status::NotFound();
  if (rc != SQLITE_ROW) return Status::Error(sqlite3_errmsg(db_));
  const DocumentRow row = RenderDocument(by_id, json);
  DocumentCache* cache = Cache();
  if (cache == nullptr || !cache->reads_enabled()) return Status::Ok();
  // A row read in a write transaction may be this connection's own
  // uncommitted write.
  if (InWriteTransaction(db_)) {
    cache->NoteFillSkipped();
  } else {
    const bool filled = cache->Fill(id, *json, row);
    if (cached != nullptr) *cached = filled;
  }
  return Status::Ok();
}

Status CacheClient::Flush(FlushResult* result, uint32_t wait_ms) {
  *result = FlushResult{};
  DocumentCache* cache = Cache();
  if (cache == nullptr || counting_disabled_) return Status::Ok();  // nothing was counted
  const Status status = FlushPendingAccesses(db_, cache, wait_ms, result);
  if (status.ok()) cache->NoteInlineFlush();
  return status;
}

// The table is full: flush it from here rather than drop the access, or,
// while another process flushes, wait for the room its flush makes. Other
// processes keep recording meanwhile and may fill the table a flush switched
// to before this access gets in: then again (back-pressure), for as long as
// flushes keep committing. It fails only when none has committed for
// kFlushLockWaitMs (a flusher that is stuck, a database that refuses the
// writes): a read is slowed by an overloaded flusher, never failed by one.
Status CacheClient::FlushThenRecord(DocumentCache* cache, int64_t id) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kFlushLockWaitMs);
  uint64_t committed = cache->FlushesCommitted();
  for (;;) {
    FlushResult result;
    const Status status = Flush(&result, kFullTableFlushWaitMs);
    if (!status.ok() && !status.IsBusy()) {
      return Status::Error("cannot record the access: the pending-access table is full and flushing it failed (" +
                           status.message() + "); run docstore-sidecar or SELECT doc_flush() outside a transaction");
    }
    if (cache->RecordAccess(id)) return Status::Ok();
    const auto now = std::chrono::steady_clock::now();
    if (const uint64_t now_committed = cache->FlushesCommitted(); now_committed != committed) {
      committed = now_committed;
      deadline = now + std::chrono::milliseconds(kFlushLockWaitMs);
    } else if (now >= deadline) {
      return Status::Busy("cannot record the access: the pending-access table is full and no flush has committed for " +
                          std::to_string(kFlushLockWaitMs / 1000) + " s (" + status.message() + ")");
    }
  }
}

}  // namespace docstore
