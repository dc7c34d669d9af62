#include "change_log.h"

#include <cstdint>
#include <vector>

#include "sqlite_util.h"

namespace docstore {
namespace {

// One snapshot: the clock, the database's id, and the log from `from` on
// (a row of NULL changes when there is none).
constexpr const char* kLogSinceSql =
    "SELECT k.value, m.value, c.clock, c.doc_id, c.tag"
    "  FROM docstore_clock AS k"
    "  JOIN docstore_meta AS m ON m.key = 'database_id'"
    "  LEFT JOIN docstore_changes AS c ON c.clock >= ?1"
    " WHERE k.id = 1"
    " ORDER BY c.clock";

struct Change {
  int64_t clock;
  bool every_document;
  int64_t doc_id;
  uint64_t tag;
};

}  // namespace

Status CatchUp(sqlite3* db, DocumentCache* cache, shmcache::SourceSync* sync, const FileWatch::State& observed,
               const std::string& database_id) {
  const shmcache::SourcePosition published = cache->Source();
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, kLogSinceSql, -1, &stmt, nullptr) != SQLITE_OK) {
    Status error = Status::Error(std::string("cannot read the change log: ") + sqlite3_errmsg(db));
    sqlite3_finalize(stmt);
    return error;
  }
  sqlite3_bind_int64(stmt, 1, static_cast<int64_t>(published.clock));
  int64_t clock = -1;
  std::string file_database_id;
  std::vector<Change> changes;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    clock = sqlite3_column_int64(stmt, 0);
    const unsigned char* id = sqlite3_column_text(stmt, 1);
    file_database_id = id != nullptr ? reinterpret_cast<const char*>(id) : "";
    if (sqlite3_column_type(stmt, 2) == SQLITE_NULL) continue;
    changes.push_back(Change{sqlite3_column_int64(stmt, 2), sqlite3_column_type(stmt, 3) == SQLITE_NULL,
                             sqlite3_column_int64(stmt, 3), static_cast<uint64_t>(sqlite3_column_int64(stmt, 4))});
  }
  const Status read = rc == SQLITE_DONE && clock >= 0
                          ? Status::Ok()
                          : Status::Error(std::string("cannot read the change log: ") +
                                          (rc == SQLITE_DONE ? "no docstore_clock row" : sqlite3_errmsg(db)));
  sqlite3_finalize(stmt);
  if (!read.ok()) return read;
  if (file_database_id != database_id) {
    return Status::Unavailable("the file is another database now (database_id " + file_database_id + ")");
  }

  // The log continues the published history: its entry at the published
  // clock carries the published tag, and every clock after it is there. (The
  // span is taken unsigned: the log is in clock order, so it is exact for any
  // clocks a writer left in the file, INT64_MAX included.)
  bool continues = published != shmcache::SourcePosition{} && !changes.empty() &&
                   changes.front().clock == static_cast<int64_t>(published.clock) &&
                   changes.front().tag == published.tag && changes.back().clock == clock &&
                   static_cast<uint64_t>(clock) - static_cast<uint64_t>(changes.front().clock) == changes.size() - 1;
  for (size_t i = 1; continues && i < changes.size(); ++i) continues = !changes[i].every_document;
  bool applied = true;
  if (continues) {
    // Stops at the first shard it cannot lock: one wait, not one per change.
    for (size_t i = 1; applied && i < changes.size(); ++i) applied = cache->Invalidate(changes[i].doc_id, changes[i].clock);
  } else {
    applied = cache->ResetTo(clock);
  }
  if (!applied) {
    // The old position stays: every reader keeps reading from the database
    // until a catch-up gets through.
    return Status::Busy("a process holds a lock of the cache and does not let go; reading from the database");
  }
  cache->NoteCatchUp(continues ? changes.size() - 1 : 0, !continues);

  shmcache::SourcePosition position;
  position.observed = observed;
  position.clock = static_cast<uint64_t>(clock);
  // The tag of the entry at `clock`: the last one read, if it is there
  // (0: the log has none there, and the next catch-up will not continue).
  position.tag = !changes.empty() && changes.back().clock == clock ? changes.back().tag : 0;
  sync->Publish(position);
  return Status::Ok();
}

Status ClockSnapshot::Prepare(sqlite3* db) {
  db_ = db;
  return PrepareOnSchema(db, "SELECT value FROM main.docstore_clock WHERE id = 1", &stmt_);
}

Status ClockSnapshot::Begin(int64_t* clock) {
  if (sqlite3_step(stmt_) == SQLITE_ROW) {
    *clock = sqlite3_column_int64(stmt_, 0);
    return Status::Ok();  // left open: the transaction stays
  }
  Status error = Status::Error(std::string("cannot read docstore_clock: ") + sqlite3_errmsg(db_));
  sqlite3_reset(stmt_);
  return error;
}

}  // namespace docstore
