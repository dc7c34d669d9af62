#include "connection_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "access_flusher.h"
#include "info_vtab.h"

namespace docstore {
namespace {

// access_count and last_accessed come from document_access, which the
// sidecar writes without touching the document row.
constexpr const char* kStatementSql[] = {
    /* kDocumentById */
    "SELECT d.id, d.title, d.content, d.metadata, d.content_type, d.created_at,"
    " d.updated_at, d.version, a.access_count, a.last_accessed,"
    " (SELECT value FROM main.docstore_clock WHERE id = 1)"
    " FROM main.documents AS d LEFT JOIN main.document_access AS a ON a.doc_id = d.id"
    " WHERE d.id = ?1",
};
static_assert(std::size(kStatementSql) == static_cast<size_t>(CachedStatement::kCount));

}  // namespace

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
  return n != static_cast<ssize_t>(sizeof header) ||
         std::memcmp(header, "SQLite format 3", sizeof header) != 0;
}


void ConnectionState::Release(void* state) {
  auto* self = static_cast<ConnectionState*>(state);
  if (--self->references_ == 0) delete self;
}

sqlite3_stmt* ConnectionState::Statement(CachedStatement which, std::string* error) {
  sqlite3_stmt*& slot = statements_[static_cast<size_t>(which)];
  if (slot != nullptr) {
    // Only a nested call could find it running; resetting it would pull the
    // rows out from under the outer caller, so refuse instead.
    if (sqlite3_stmt_busy(slot)) {
      *error = "docstore: a cached statement is already running (nested call)";
      return nullptr;
    }
    return slot;
  }
  if (sqlite3_prepare_v2(db_, kStatementSql[static_cast<size_t>(which)], -1, &slot, nullptr) !=
      SQLITE_OK) {
    *error = sqlite3_errmsg(db_);
    if (MainDatabaseId().empty()) *error += " (the main database has no docstore schema: run SELECT docstore_init())";
    sqlite3_finalize(slot);
    slot = nullptr;
    return nullptr;
  }
  // A statement is cached only while something will finalize it at close.
  if (!close_anchor_connected_ && !ConnectCloseAnchor(db_)) {
    *error = "docstore: could not connect docstore_info, its close hook: ";
    *error += sqlite3_errmsg(db_);
    sqlite3_finalize(slot);
    slot = nullptr;
    return nullptr;
  }
  return slot;
}

// A text value of the main database's docstore_meta, "" when there is none.
std::string ConnectionState::MainMeta(const char* key) {
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

const std::string& ConnectionState::MainDatabaseId() {
  if (main_database_id_.empty()) main_database_id_ = MainMeta("database_id");
  return main_database_id_;
}

DocumentCache* ConnectionState::AttachCache() {
  if (cache_attach_final_) return nullptr;
  const char* path = sqlite3_db_filename(db_, "main");
  if (path == nullptr || *path == '\0') {
    cache_unavailable_ = "off: an in-memory or temporary database has nothing to share";
    cache_attach_final_ = writes_safe_uncached_ = true;
    return nullptr;
  }
  const std::string& database_id = MainDatabaseId();
  if (database_id.empty()) {
    // Before docstore_init(): try again on the next call.
    cache_unavailable_ = "off: no docstore_meta.database_id yet (run SELECT docstore_init())";
    return nullptr;
  }
  DocumentCache::AttachFailure failure;
  // DESIGN.md invariant 6: no plaintext of a keyed database in /dev/shm: its
  // entries are sealed under the cache key kept inside the database.
  const bool encrypted = DatabaseIsEncrypted(db_, path);
  std::string cache_key = encrypted ? MainMeta("cache_key") : std::string();
  cache_ = DocumentCache::ForDatabase(path, database_id, encrypted, cache_key, &failure);
  std::fill(cache_key.begin(), cache_key.end(), '\0');
  if (cache_ == nullptr) {
    cache_unavailable_ = "off: " + failure.reason;
    cache_attach_final_ = !failure.retry;
    writes_safe_uncached_ = !failure.refuse_writes;
    return nullptr;
  }
  cache_unavailable_.clear();
  // A segment this process just created starts with every fence at 0: no
  // reader may fill from a snapshot older than what is committed now.
  sqlite3_stmt* clock = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT value FROM docstore_clock WHERE id = 1", -1, &clock, nullptr) == SQLITE_OK &&
      sqlite3_step(clock) == SQLITE_ROW) {
    cache_->segment()->RaiseFences(static_cast<uint64_t>(sqlite3_column_int64(clock, 0)));
  }
  sqlite3_finalize(clock);
  return cache_.get();
}

bool ConnectionState::RecordAccess(int64_t id, std::string* error) {
  DocumentCache* cache = Cache();
  if (cache == nullptr) return true;  // no segment: accesses are not tracked (README)
  if (cache->RecordAccess(id) == shmcache::Status::kOk) return true;
  // The table is full: flush it from here rather than drop the access.
  shmcache::Segment* segment = cache->segment();
  AddSegmentCounter(segment, SegmentCounter::kInlineFlushes, 1);
  FlushResult result;
  std::string flush_error;
  if (!FlushPendingAccesses(db_, cache, kFlushLockWaitMs, &result, &flush_error)) {
    *error = "cannot record the access: the pending-access table is full and flushing it failed (" +
             flush_error + "); run docstore-sidecar or SELECT doc_flush() outside a transaction";
    return false;
  }
  if (result.busy) {
    *error = "cannot record the access: the pending-access table is full and another process has been"
             " flushing it for over " + std::to_string(kFlushLockWaitMs / 1000) + " s";
    return false;
  }
  if (cache->RecordAccess(id) == shmcache::Status::kOk) return true;
  *error = "cannot record the access: the pending-access table is still full after a flush";
  return false;
}

bool ConnectionState::CanFill() const {
#if SQLITE_VERSION_NUMBER >= 3034000
  return sqlite3_txn_state(db_, "main") != SQLITE_TXN_WRITE;
#else
  // SQLite 3.15 (SQLCipher 3) has no sqlite3_txn_state: fill only outside
  // explicit transactions and while no statement that writes is running.
  return sqlite3_get_autocommit(db_) && !WriteStatementRunning(db_);
#endif
}

bool ConnectionState::Invalidate(int64_t id, int64_t clock, const std::string* database_id,
                                 std::string* error) {
  if (database_id != nullptr && *database_id != MainDatabaseId()) {
    *error = "refusing to write documents of a database that is not this connection's main database:"
             " docstore keeps only the main database's shared cache coherent; open that database as"
             " the main one to write to it";
    return false;
  }
  if (DocumentCache* cache = Cache()) {
    cache->Invalidate(id, clock);
    return true;
  }
  if (writes_safe_uncached_) return true;
  *error = "refusing to write documents: the shared cache cannot be used (" + cache_unavailable_ +
           "), and other processes could keep serving the old document; remove or fix the segment"
           " (see docstore_stats), then reconnect";
  return false;
}

void ConnectionState::FinalizeStatements() {
  for (sqlite3_stmt*& stmt : statements_) {
    sqlite3_finalize(stmt);
    stmt = nullptr;
  }
}

}  // namespace docstore
