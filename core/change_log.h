// Catching a shared cache up with its database file's change log
// (sql/007_change_log.sql): the step of document_cache.h's coherence
// protocol that runs SQL. One home for the log's SQL.
#ifndef DOCSTORE_CORE_CHANGE_LOG_H_
#define DOCSTORE_CORE_CHANGE_LOG_H_

#include <string>

#include "document_cache.h"
#include "file_watch.h"
#include "sqlite_api.h"
#include "status.h"

namespace docstore {

// Under `sync` (the segment's source lock), with `observed` read from the
// file after the lock was taken and before this call: reads the log on `db`
// in one snapshot (db must have no read transaction open, so the snapshot
// starts now), applies it to `cache` and publishes the new position. When
// the file's docstore_meta database_id is not `database_id`, the file is
// another database now and nothing is applied or published (kUnavailable).
Status CatchUp(sqlite3* db, DocumentCache* cache, shmcache::SourceSync* sync, const FileWatch::State& observed,
               const std::string& database_id);

// A read transaction on a connection's main database, held by one open
// statement that read docstore_clock, for work that must see one snapshot
// across statements (cache_warm.h, cache_verify.h). Not BEGIN: on SQLite
// 3.15, which cannot tell a read transaction from a write one, a BEGIN
// would count as a write transaction and keep fills out.
class ClockSnapshot {
 public:
  ClockSnapshot() = default;
  ~ClockSnapshot() { sqlite3_finalize(stmt_); }
  ClockSnapshot(const ClockSnapshot&) = delete;
  ClockSnapshot& operator=(const ClockSnapshot&) = delete;

  Status Prepare(sqlite3* db);
  // Opens the read transaction (or joins the one open on the connection);
  // *clock is docstore_clock in it.
  Status Begin(int64_t* clock);
  // Ends it, unless another statement of the connection holds it too.
  void End() { sqlite3_reset(stmt_); }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace docstore

#endif  // DOCSTORE_CORE_CHANGE_LOG_H_
