#include "access_flusher.h"

#include <string>
#include <vector>

#include "clock.h"
#include "sqlite_util.h"

namespace docstore {
namespace {

// Finalizes its statements whatever happens.
class Statements {
 public:
  explicit Statements(sqlite3* db) : db_(db) {}
  ~Statements() {
    for (sqlite3_stmt* stmt : owned_) sqlite3_finalize(stmt);
  }
  Status Prepare(const char* sql, sqlite3_stmt** stmt) {
    *stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, stmt, nullptr) != SQLITE_OK) {
      sqlite3_finalize(*stmt);
      *stmt = nullptr;
      return Status::Error(sqlite3_errmsg(db_));
    }
    owned_.push_back(*stmt);
    return Status::Ok();
  }

 private:
  sqlite3* db_;
  std::vector<sqlite3_stmt*> owned_;
};

// Steps a write statement to completion; resets it.
Status Run(sqlite3* db, sqlite3_stmt* stmt) {
  const int rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  return rc == SQLITE_DONE ? Status::Ok() : Status::Error(sqlite3_errmsg(db));
}

// A document's access fields after the flush, for the cached copy.
struct FlushedRow {
  int64_t id;
  int64_t count;
  bool has_last;
  std::string last;
};

// Writes the batches and reads back each row's new values; an error leaves
// the transaction to roll back.
Status WriteBatches(sqlite3* db, const std::vector<shmcache::PendingBatch>& batches, uint64_t instance,
                    FlushResult* result, std::vector<FlushedRow>* rows) {
  Statements statements(db);
  sqlite3_stmt *applied, *update, *insert, *mark, *read_back;
  Status status = statements.Prepare(
      "SELECT 1 FROM docstore_access_flushes WHERE shard = ?1 AND instance = ?2 AND seq >= ?3", &applied);
  if (status.ok()) {
    status = statements.Prepare(
        "UPDATE document_access SET access_count = access_count + ?2,"
        " last_accessed = CASE WHEN last_accessed IS NULL OR last_accessed < ?3 THEN ?3"
        " ELSE last_accessed END WHERE doc_id = ?1",
        &update);
  }
  // No UPSERT in SQLite 3.15 (SQLCipher 3): update, else insert. A document
  // deleted since its accesses were counted gets no row.
  if (status.ok()) {
    status = statements.Prepare(
        "INSERT INTO document_access(doc_id, access_count, last_accessed)"
        " SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM documents WHERE id = ?1)",
        &insert);
  }
  if (status.ok()) {
    status = statements.Prepare(
        "INSERT OR REPLACE INTO docstore_access_flushes(shard, instance, seq) VALUES (?1, ?2, ?3)", &mark);
  }
  if (status.ok()) {
    status = statements.Prepare("SELECT access_count, last_accessed FROM document_access WHERE doc_id = ?1",
                                &read_back);
  }
  if (!status.ok()) return status;
  const auto instance_value = static_cast<sqlite3_int64>(instance);
  for (const shmcache::PendingBatch& batch : batches) {
    sqlite3_bind_int64(applied, 1, batch.shard);
    sqlite3_bind_int64(applied, 2, instance_value);
    sqlite3_bind_int64(applied, 3, static_cast<sqlite3_int64>(batch.seq));
    const int rc = sqlite3_step(applied);
    sqlite3_reset(applied);
    if (rc == SQLITE_ROW) continue;  // a flush that committed, then died before releasing
    if (rc != SQLITE_DONE) return Status::Error(sqlite3_errmsg(db));
    for (const shmcache::PendingAccess& access : batch.accesses) {
      const std::string at = IsoTime(access.last_ms);
      for (sqlite3_stmt* stmt : {update, insert}) {
        sqlite3_bind_int64(stmt, 1, static_cast<sqlite3_int64>(access.key));
        sqlite3_bind_int64(stmt, 2, static_cast<sqlite3_int64>(access.count));
        sqlite3_bind_text(stmt, 3, at.c_str(), -1, SQLITE_TRANSIENT);
      }
      if (status = Run(db, update); !status.ok()) return status;
      if (sqlite3_changes(db) == 0) {
        if (status = Run(db, insert); !status.ok()) return status;
        if (sqlite3_changes(db) == 0) continue;
      }
      ++result->rows;
      result->accesses += access.count;
      sqlite3_bind_int64(read_back, 1, static_cast<sqlite3_int64>(access.key));
      if (sqlite3_step(read_back) == SQLITE_ROW) {
        const auto* last = reinterpret_cast<const char*>(sqlite3_column_text(read_back, 1));
        rows->push_back({static_cast<int64_t>(access.key), sqlite3_column_int64(read_back, 0), last != nullptr,
                         last != nullptr ? last : ""});
      }
      sqlite3_reset(read_back);
    }
    sqlite3_bind_int64(mark, 1, batch.shard);
    sqlite3_bind_int64(mark, 2, instance_value);
    sqlite3_bind_int64(mark, 3, static_cast<sqlite3_int64>(batch.seq));
    if (status = Run(db, mark); !status.ok()) return status;
  }
  return Status::Ok();
}

// One transaction: the batches Freeze gives, written, committed, released.
// *resumed: some were left over by an earlier flush, so another round is due.
Status FlushRound(sqlite3* db, DocumentCache* cache, shmcache::AccessFlush* flush, FlushResult* result,
                  bool* resumed) {
  const std::vector<shmcache::PendingBatch> batches = flush->Freeze();
  *resumed = false;
  if (batches.empty()) return Status::Ok();
  for (const shmcache::PendingBatch& batch : batches) *resumed |= batch.resumed;
  // Any process may have the flushed documents cached.
  std::vector<FlushedRow> rows;
  FlushResult round;
  if (Status status = Exec(db, "BEGIN IMMEDIATE"); !status.ok()) return status;
  Status status = WriteBatches(db, batches, flush->instance(), &round, &rows);
  if (status.ok()) status = Exec(db, "COMMIT");
  if (!status.ok()) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return status;
  }
  for (const shmcache::PendingBatch& batch : batches) flush->Release(batch);
  // Cached documents show their accesses as flushed so far. A reader that
  // read the row before this commit may still fill the old counts after this
  // update; they are corrected by the document's next flush.
  for (const FlushedRow& row : rows) {
    cache->UpdateAccess(row.id, row.count, row.has_last ? row.last.c_str() : nullptr);
  }
  cache->NoteFlushCommitted(round.rows, round.accesses);
  result->rows += round.rows;
  result->accesses += round.accesses;
  return Status::Ok();
}

}  // namespace

Status FlushPendingAccesses(sqlite3* db, DocumentCache* cache, uint32_t wait_ms, FlushResult* result) {
  *result = FlushResult{};
  if (!sqlite3_get_autocommit(db)) {
    return Status::InvalidArgument("cannot flush inside a transaction: the counts would commit or roll back with it");
  }
  // Its COMMIT would fail while a statement that writes runs on this
  // connection, and the ROLLBACK after it would undo that statement's work.
  if (WriteStatementRunning(db)) {
    return Status::InvalidArgument("cannot flush while a statement that writes is running on this connection");
  }
  auto flush = cache->BeginFlush(wait_ms);
  if (flush == nullptr) {
    return Status::Busy("another process has held the flush lock for over " + std::to_string(wait_ms / 1000) +
                        " s");
  }
  // A second round when the first finished a killed flusher's batches: what
  // was recorded meanwhile waits in the other table.
  bool resumed = true;
  for (int round = 0; round < 2 && resumed; ++round) {
    if (Status status = FlushRound(db, cache, flush.get(), result, &resumed); !status.ok()) {
      cache->NoteFlushFailed();
      return status;
    }
  }
  return Status::Ok();
}

}  // namespace docstore
