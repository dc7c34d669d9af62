#include "cache_client.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "cache_settings.h"
#include "sqlite_util.h"

namespace docstore {

bool DatabaseIsEncrypted(sqlite3* db, const char* path) {
  sqlite3_stmt* stmt = nullptr;
  bool keyed = false;
  if (sqlite3_prepare_v2(db, "PRAGMA cipher_provider", -1, &stmt, nullptr) == SQLITE_OK) {
    keyed = sqlite3_step(stmt) == SQLITE_ROW;
  }
  sqlite3_finalize(stmt);
  if (keyed) return true;
  char header[16] = {};
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  const ssize_t n = fd >= 0 ? pread(fd, header, sizeof header, 0) : -1;
  if (fd >= 0) close(fd);
  return n != static_cast<ssize_t>(sizeof header) || std::memcmp(header, "SQLite format 3", sizeof header) != 0;
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
  if (attach_final_) return nullptr;
  const char* path = sqlite3_db_filename(db_, "main");
  if (path == nullptr || *path == '\0') {
    unavailable_ = "off: an in-memory or temporary database has nothing to share";
    attach_final_ = writes_safe_uncached_ = true;
    return nullptr;
  }
  const std::string& database_id = MainDatabaseId();
  if (database_id.empty()) {
    // Before docstore_init(): try again on the next call.
    unavailable_ = "off: no docstore_meta.database_id yet (run SELECT docstore_init())";
    return nullptr;
  }
  // DESIGN.md invariant 6: no plaintext of a keyed database in /dev/shm: its
  // entries are sealed under the cache key kept inside the database.
  std::string reads_off;
  std::unique_ptr<EntryCipher> cipher;
  if (DatabaseIsEncrypted(db_, path)) {
    std::string cache_key = MainMeta("cache_key");
    cipher = EntryCipher::FromHexKey(cache_key);
    std::fill(cache_key.begin(), cache_key.end(), '\0');
    if (cipher == nullptr) {
      reads_off = "documents not cached: the database is encrypted and has no cache key yet (run SELECT docstore_init())";
    }
  }
  if (reads_off.empty() && !CurrentCacheSettings().enabled) reads_off = "reads off (DOCSTORE_CACHE=off)";
  const Status status = DocumentCache::Attach(path, database_id, DocumentCache::AttachMode::kOpenOrCreate,
                                              EntryCodec(std::move(cipher)), std::move(reads_off), &cache_);
  if (!status.ok()) {
    unavailable_ = "off: " + status.message();
    // No segment exists: writes are safe, and creating one may work later.
    attach_final_ = !status.IsUnavailable();
    writes_safe_uncached_ = status.IsUnavailable();
    return nullptr;
  }
  unavailable_.clear();
  // A segment this process just created starts with every fence at 0: no
  // reader may fill from a snapshot older than what is committed now.
  sqlite3_stmt* clock = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT value FROM docstore_clock WHERE id = 1", -1, &clock, nullptr) == SQLITE_OK &&
      sqlite3_step(clock) == SQLITE_ROW) {
    cache_->RaiseFences(sqlite3_column_int64(clock, 0));
  }
  sqlite3_finalize(clock);
  return cache_.get();
}

bool CacheClient::MayFill() const {
#if SQLITE_VERSION_NUMBER >= 3034000
  return sqlite3_txn_state(db_, "main") != SQLITE_TXN_WRITE;
#else
  // SQLite 3.15 (SQLCipher 3) has no sqlite3_txn_state: fill only outside
  // explicit transactions and while no statement that writes is running.
  return sqlite3_get_autocommit(db_) && !WriteStatementRunning(db_);
#endif
}

Status CacheClient::ReadThrough(sqlite3_stmt* by_id, int64_t id, std::string* json) {
  sqlite3_bind_int64(by_id, 1, id);
  const int rc = sqlite3_step(by_id);
  if (rc == SQLITE_DONE) return Status::NotFound();
  if (rc != SQLITE_ROW) return Status::Error(sqlite3_errmsg(db_));
  const DocumentRow row = RenderDocument(by_id, json);
  DocumentCache* cache = Cache();
  if (cache == nullptr) return Status::Ok();
  // Asked once: on SQLite 3.15 it walks the connection's statements.
  const bool may_fill = MayFill();
  if (may_fill) {
    // Fences raised by a transaction of this connection that has ended: a
    // commit's are at or below this snapshot's clock already; a rollback's
    // come down to it.
    for (const shmcache::FenceMark& mark : raised_) cache->LowerFence(mark, row.snapshot_clock);
    raised_.clear();
  }
  if (cache->reads_enabled()) {
    if (may_fill) {
      cache->Fill(id, *json, row);
    } else {
      cache->NoteFillSkipped();
    }
  }
  return Status::Ok();
}

Status CacheClient::Flush(FlushResult* result) {
  *result = FlushResult{};
  DocumentCache* cache = Cache();
  if (cache == nullptr) return Status::Ok();  // no segment: nothing was counted
  cache->NoteInlineFlush();
  return FlushPendingAccesses(db_, cache, kFlushLockWaitMs, result);
}

// The table is full: flush it from here rather than drop the access.
Status CacheClient::FlushThenRecord(DocumentCache* cache, int64_t id) {
  FlushResult result;
  Status status = Flush(&result);
  if (status.IsBusy()) {
    return Status::Busy("cannot record the access: the pending-access table is full and " + status.message());
  }
  if (!status.ok()) {
    return Status::Error("cannot record the access: the pending-access table is full and flushing it failed (" +
                         status.message() + "); run docstore-sidecar or SELECT doc_flush() outside a transaction");
  }
  if (cache->RecordAccess(id)) return Status::Ok();
  return Status::Error("cannot record the access: the pending-access table is still full after a flush");
}

Status CacheClient::Invalidate(int64_t id, int64_t clock, const std::string* database_id) {
  if (database_id != nullptr && *database_id != MainDatabaseId()) {
    return Status::Error(
        "refusing to write documents of a database that is not this connection's main database:"
        " docstore keeps only the main database's shared cache coherent; open that database as"
        " the main one to write to it");
  }
  if (DocumentCache* cache = Cache()) {
    const shmcache::FenceMark mark = cache->Invalidate(id, clock);
    auto same_shard = [&mark](const shmcache::FenceMark& m) { return m.shard == mark.shard; };
    if (auto it = std::find_if(raised_.begin(), raised_.end(), same_shard); it != raised_.end()) {
      *it = mark;
    } else {
      raised_.push_back(mark);
    }
    return Status::Ok();
  }
  if (writes_safe_uncached_) return Status::Ok();
  return Status::Error("refusing to write documents: the shared cache cannot be used (" + unavailable_ +
                       "), and other processes could keep serving the old document; remove or fix the segment"
                       " (see docstore_stats), then reconnect");
}

}  // namespace docstore
