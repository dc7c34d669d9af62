#include "cache_verify.h"

#include <vector>

#include "change_log.h"
#include "document_entry.h"
#include "sqlite_util.h"

namespace docstore {
namespace {

// The clock of document ?1's last change in the snapshot (a NULL doc_id
// changed every document); NULL when the log no longer holds one.
constexpr char kLastChangeSql[] =
    "SELECT max(clock) FROM main.docstore_changes WHERE doc_id = ?1 OR doc_id IS NULL";

// Finalizes the statements it prepared.
class Statements {
 public:
  explicit Statements(sqlite3* db) : db_(db) {}
  ~Statements() {
    for (sqlite3_stmt* stmt : prepared_) sqlite3_finalize(stmt);
  }
  Status Prepare(const char* sql, sqlite3_stmt** stmt) {
    Status status = PrepareOnSchema(db_, sql, stmt);
    if (status.ok()) prepared_.push_back(*stmt);
    return status;
  }

 private:
  sqlite3* const db_;
  std::vector<sqlite3_stmt*> prepared_;
};

// The first integer column of one step of `stmt` (bound by the caller),
// reset after; `fallback` for NULL or no row.
int64_t StepInt(sqlite3_stmt* stmt, int64_t fallback) {
  int64_t value = fallback;
  if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL) {
    value = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_reset(stmt);
  return value;
}

// Whether the document of `cached` (an entry's JSON) is the one `rendered`
// shows: the same head (document_entry.h), the access fields aside.
bool SameDocument(const std::string& cached, const std::string& rendered, const DocumentRow& row) {
  // The head ends where the access fields' name begins: that name too.
  const size_t name_end = rendered.find(':', row.head_bytes);
  const size_t compared = name_end == std::string::npos ? rendered.size() : name_end + 1;
  return cached.size() >= compared && cached.compare(0, compared, rendered, 0, compared) == 0;
}

}  // namespace

Status VerifyCache(CacheClient* client, std::vector<Divergence>* out) {
  out->clear();
  // Caught up when it can be (fewer entries wait for an invalidation); an
  // audit is sound without it.
  DocumentCache* cache = client->CacheForHit();
  if (cache == nullptr) cache = client->Cache();
  if (cache == nullptr) return Status::Ok();  // no cache, nothing cached
  if (!cache->reads_enabled()) {
    return Status::Error("this process cannot read the cache's entries: " + cache->Stats().reads_off);
  }
  sqlite3* db = client->db();
  Statements statements(db);
  sqlite3_stmt *by_id, *last_change;
  if (Status status = statements.Prepare(kDocumentByIdSql, &by_id); !status.ok()) return status;
  if (Status status = statements.Prepare(kLastChangeSql, &last_change); !status.ok()) return status;
  ClockSnapshot snapshot;  // the one read transaction the entries are compared in
  if (Status status = snapshot.Prepare(db); !status.ok()) return status;
  // Read before the entries: a change at or below it was applied before
  // any of them was read.
  const int64_t applied = static_cast<int64_t>(cache->Source().clock);
  std::vector<int64_t> ids;
  cache->ForEach([&ids](const shmcache::EntryInfo& info) { ids.push_back(static_cast<int64_t>(info.key)); });

  int64_t snapshot_clock = 0;
  if (Status status = snapshot.Begin(&snapshot_clock); !status.ok()) return status;
  std::vector<Divergence> suspects;
  std::string cached;
  std::string rendered;
  for (int64_t id : ids) {
    Divergence d;
    d.id = id;
    const Status read = cache->ReadEntry(id, &cached, &d.cached_version);
    if (read.IsNotFound()) continue;  // evicted or invalidated since it was listed
    sqlite3_bind_int64(by_id, 1, id);
    const int rc = sqlite3_step(by_id);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      Status error = Status::Error(std::string("reading document ") + std::to_string(id) + ": " + sqlite3_errmsg(db));
      sqlite3_reset(by_id);
      snapshot.End();
      return error;
    }
    const DocumentRow row = rc == SQLITE_ROW ? RenderDocument(by_id, &rendered) : DocumentRow{};
    sqlite3_reset(by_id);
    if (rc == SQLITE_ROW) d.database_version = row.version;
    const auto cached_version = static_cast<int64_t>(d.cached_version);
    if (!read.ok()) {
      d.reason = kUndecodable;
      out->push_back(d);  // never a race: reported whatever the log says
      continue;
    }
    if (rc == SQLITE_DONE) {
      d.reason = kDeleted;
    } else if (cached_version < row.version) {
      d.reason = kStale;
    } else if (cached_version > row.version) {
      d.reason = kNewer;
    } else if (!SameDocument(cached, rendered, row)) {
      d.reason = kBytesDiffer;
    } else {
      continue;
    }
    sqlite3_bind_int64(last_change, 1, id);
    if (StepInt(last_change, 0) > applied) continue;  // its invalidation is still to come
    suspects.push_back(d);
  }
  snapshot.End();
  // Read after the entries: no fill can have come from a newer document.
  if (client->CaughtUpNowAt(snapshot_clock)) out->insert(out->end(), suspects.begin(), suspects.end());
  return Status::Ok();
}

}  // namespace docstore
