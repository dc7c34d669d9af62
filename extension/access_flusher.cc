#include "access_flusher.h"

#include <vector>

namespace docstore {
namespace {

// Finalizes its statements whatever happens.
class Statements {
 public:
  explicit Statements(sqlite3* db) : db_(db) {}
  ~Statements() {
    for (sqlite3_stmt* stmt : owned_) sqlite3_finalize(stmt);
  }
  sqlite3_stmt* Prepare(const char* sql, std::string* error) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) {
      *error = sqlite3_errmsg(db_);
      sqlite3_finalize(stmt);
      return nullptr;
    }
    owned_.push_back(stmt);
    return stmt;
  }

 private:
  sqlite3* db_;
  std::vector<sqlite3_stmt*> owned_;
};

bool Exec(sqlite3* db, const char* sql, std::string* error) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK) return true;
  *error = sqlite3_errmsg(db);
  return false;
}

// Steps a write statement to completion; resets it.
bool Run(sqlite3* db, sqlite3_stmt* stmt, std::string* error) {
  const int rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  if (rc == SQLITE_DONE) return true;
  *error = sqlite3_errmsg(db);
  return false;
}

// A document's access fields after the flush, for the cached copy.
struct FlushedRow {
  int64_t id;
  int64_t count;
  bool has_last;
  std::string last;
};

// Writes the batches; false (with *error) leaves the transaction to roll back.
// With `rows`, also reads back each row's new values.
bool WriteBatches(sqlite3* db, const std::vector<shmcache::PendingBatch>& batches, uint64_t instance,
                  FlushResult* result, std::vector<FlushedRow>* rows, std::string* error) {
  Statements statements(db);
  sqlite3_stmt* applied = statements.Prepare(
      "SELECT 1 FROM docstore_access_flushes WHERE shard = ?1 AND instance = ?2 AND seq >= ?3", error);
  sqlite3_stmt* update = statements.Prepare(
      "UPDATE document_access SET access_count = access_count + ?2,"
      " last_accessed = CASE WHEN last_accessed IS NULL OR last_accessed < ?3 THEN ?3"
      " ELSE last_accessed END WHERE doc_id = ?1",
      error);
  // No UPSERT in SQLite 3.15 (SQLCipher 3): update, else insert. A document
  // deleted since its accesses were counted gets no row.
  sqlite3_stmt* insert = statements.Prepare(
      "INSERT INTO document_access(doc_id, access_count, last_accessed)"
      " SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM documents WHERE id = ?1)",
      error);
  sqlite3_stmt* mark = statements.Prepare(
      "INSERT OR REPLACE INTO docstore_access_flushes(shard, instance, seq) VALUES (?1, ?2, ?3)", error);
  sqlite3_stmt* read_back = statements.Prepare(
      "SELECT access_count, last_accessed FROM document_access WHERE doc_id = ?1", error);
  if (applied == nullptr || update == nullptr || insert == nullptr || mark == nullptr ||
      read_back == nullptr) {
    return false;
  }
  const auto instance_value = static_cast<sqlite3_int64>(instance);
  for (const shmcache::PendingBatch& batch : batches) {
    sqlite3_bind_int64(applied, 1, batch.shard);
    sqlite3_bind_int64(applied, 2, instance_value);
    sqlite3_bind_int64(applied, 3, static_cast<sqlite3_int64>(batch.seq));
    const int rc = sqlite3_step(applied);
    sqlite3_reset(applied);
    if (rc == SQLITE_ROW) continue;  // a flush that committed, then died before releasing
    if (rc != SQLITE_DONE) {
      *error = sqlite3_errmsg(db);
      return false;
    }
    for (const shmcache::PendingAccess& access : batch.accesses) {
      const std::string at = IsoTime(access.last_ms);
      for (sqlite3_stmt* stmt : {update, insert}) {
        sqlite3_bind_int64(stmt, 1, static_cast<sqlite3_int64>(access.key));
        sqlite3_bind_int64(stmt, 2, static_cast<sqlite3_int64>(access.count));
        sqlite3_bind_text(stmt, 3, at.c_str(), -1, SQLITE_TRANSIENT);
      }
      if (!Run(db, update, error)) return false;
      if (sqlite3_changes(db) == 0) {
        if (!Run(db, insert, error)) return false;
        if (sqlite3_changes(db) == 0) continue;
      }
      ++result->rows;
      result->accesses += access.count;
      if (rows == nullptr) continue;
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
    if (!Run(db, mark, error)) return false;
  }
  return true;
}

}  // namespace

namespace {

// One transaction: the batches Freeze gives, written, committed, released.
// *resumed: some were left over by an earlier flush, so another round is due.
bool FlushRound(sqlite3* db, DocumentCache* cache, shmcache::AccessFlush* flush, FlushResult* result,
                bool* resumed, std::string* error) {
  shmcache::Segment* segment = cache->segment();
  const std::vector<shmcache::PendingBatch> batches = flush->Freeze();
  *resumed = false;
  if (batches.empty()) return true;
  for (const shmcache::PendingBatch& batch : batches) *resumed |= batch.resumed;
  std::vector<FlushedRow> rows;
  // Any process may have the flushed documents cached.
  std::vector<FlushedRow>* wanted_rows = &rows;
  FlushResult round;
  if (!Exec(db, "BEGIN IMMEDIATE", error)) return false;
  if (!WriteBatches(db, batches, flush->instance(), &round, wanted_rows, error) ||
      !Exec(db, "COMMIT", error)) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return false;
  }
  for (const shmcache::PendingBatch& batch : batches) flush->Release(batch);
  // Cached documents show their accesses as flushed so far. A reader that
  // read the row before this commit may still fill the old counts after this
  // update; they are corrected by the document's next flush.
  for (const FlushedRow& row : rows) {
    cache->UpdateAccess(row.id, row.count, row.has_last ? row.last.c_str() : nullptr);
  }
  AddSegmentCounter(segment, SegmentCounter::kFlushes, 1);
  AddSegmentCounter(segment, SegmentCounter::kRowsFlushed, round.rows);
  AddSegmentCounter(segment, SegmentCounter::kAccessesFlushed, round.accesses);
  SetSegmentCounter(segment, SegmentCounter::kLastFlushMs, static_cast<uint64_t>(NowMilliseconds()));
  result->rows += round.rows;
  result->accesses += round.accesses;
  return true;
}

}  // namespace

bool WriteStatementRunning(sqlite3* db) {
  for (sqlite3_stmt* stmt = sqlite3_next_stmt(db, nullptr); stmt != nullptr; stmt = sqlite3_next_stmt(db, stmt)) {
    if (sqlite3_stmt_busy(stmt) && !sqlite3_stmt_readonly(stmt)) return true;
  }
  return false;
}

bool FlushPendingAccesses(sqlite3* db, DocumentCache* cache, uint32_t wait_ms, FlushResult* result,
                          std::string* error) {
  *result = FlushResult{};
  if (!sqlite3_get_autocommit(db)) {
    *error = "cannot flush inside a transaction: the counts would commit or roll back with it";
    return false;
  }
  // Its COMMIT would fail while a statement that writes runs on this
  // connection, and the ROLLBACK after it would undo that statement's work.
  if (WriteStatementRunning(db)) {
    *error = "cannot flush while a statement that writes is running on this connection";
    return false;
  }
  auto flush = cache->segment()->BeginFlush(wait_ms);
  if (flush == nullptr) {
    result->busy = true;
    return true;
  }
  // A second round when the first finished a killed flusher's batches: what
  // was recorded meanwhile waits in the other table.
  bool resumed = true;
  for (int round = 0; round < 2 && resumed; ++round) {
    if (!FlushRound(db, cache, flush.get(), result, &resumed, error)) {
      AddSegmentCounter(cache->segment(), SegmentCounter::kFlushFailures, 1);
      return false;
    }
  }
  return true;
}

}  // namespace docstore
