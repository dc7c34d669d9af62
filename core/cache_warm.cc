#include "cache_warm.h"

#include <algorithm>
#include <utility>

#include "document_entry.h"

namespace docstore {
namespace {

constexpr char kMostAccessedSql[] =
    "SELECT doc_id FROM main.document_access ORDER BY access_count DESC, doc_id LIMIT ?1";
// Any read of main opens the batch's read transaction; stepped once and left
// open, it keeps it until the batch ends.
constexpr char kSnapshotSql[] = "SELECT value FROM main.docstore_clock WHERE id = 1";

Status Prepare(sqlite3* db, const char* sql, sqlite3_stmt** stmt) {
  if (sqlite3_prepare_v2(db, sql, -1, stmt, nullptr) == SQLITE_OK) return Status::Ok();
  Status error = Status::InvalidArgument(std::string(sqlite3_errmsg(db)) +
                                         " (no docstore schema here? run SELECT docstore_init())");
  sqlite3_finalize(*stmt);
  *stmt = nullptr;
  return error;
}

}  // namespace

Status CacheWarm::Begin(CacheClient* client, uint64_t documents, std::unique_ptr<CacheWarm>* out) {
  out->reset();
  DocumentCache* cache = client->CacheForHit();
  if (cache == nullptr) return Status::Error("cannot warm the cache: " + client->WhyNoHits());
  sqlite3* db = client->db();
  sqlite3_stmt* ranking = nullptr;
  if (Status status = Prepare(db, kMostAccessedSql, &ranking); !status.ok()) return status;
  sqlite3_bind_int64(ranking, 1, static_cast<sqlite3_int64>(std::min<uint64_t>(documents, INT64_MAX)));
  std::vector<int64_t> ids;
  int rc;
  while ((rc = sqlite3_step(ranking)) == SQLITE_ROW) ids.push_back(sqlite3_column_int64(ranking, 0));
  sqlite3_finalize(ranking);
  if (rc != SQLITE_DONE) return Status::Error(std::string("ranking the documents: ") + sqlite3_errmsg(db));
  sqlite3_stmt* by_id = nullptr;
  sqlite3_stmt* snapshot = nullptr;
  Status status = Prepare(db, kDocumentByIdSql, &by_id);
  if (status.ok()) status = Prepare(db, kSnapshotSql, &snapshot);
  if (!status.ok()) {
    sqlite3_finalize(by_id);
    return status;
  }
  out->reset(new CacheWarm(client, std::move(ids), by_id, snapshot));
  (*out)->evictions_at_begin_ = cache->Evictions();
  // One walk of the cache (a lookup of each id would walk its shard each).
  cache->ForEach([&warm = **out](const shmcache::EntryInfo& info) {
    warm.cached_at_begin_.insert(static_cast<int64_t>(info.key));
  });
  return Status::Ok();
}

CacheWarm::CacheWarm(CacheClient* client, std::vector<int64_t> ids, sqlite3_stmt* by_id, sqlite3_stmt* snapshot)
    : client_(client), ids_(std::move(ids)), by_id_(by_id), snapshot_(snapshot) {
  result_.ranked = ids_.size();
}

CacheWarm::~CacheWarm() {
  sqlite3_finalize(by_id_);
  sqlite3_finalize(snapshot_);
}

Status CacheWarm::Step() {
  if (done()) return Status::Ok();
  // Caught up first, as before any hit: see the header.
  DocumentCache* cache = client_->CacheForHit();
  if (cache == nullptr) return Status::Error("cannot warm the cache: " + client_->WhyNoHits());
  sqlite3* db = client_->db();
  if (sqlite3_step(snapshot_) != SQLITE_ROW) {
    Status error = Status::Error(std::string("reading docstore_clock: ") + sqlite3_errmsg(db));
    sqlite3_reset(snapshot_);
    return error;
  }
  Status status;
  std::string json;
  const size_t end = std::min(ids_.size(), next_ + kWarmBatchDocuments);
  for (; next_ < end && status.ok() && !result_.stopped_full; ++next_) {
    const int64_t id = ids_[next_];
    if (cached_at_begin_.count(id) != 0) {
      ++result_.already_cached;
      continue;
    }
    bool cached = false;
    status = client_->ReadThrough(by_id_, id, &json, &cached);
    sqlite3_reset(by_id_);
    if (status.IsNotFound()) {
      status = Status::Ok();  // deleted since it was ranked
      continue;
    }
    // Not cached: refused by a fence, or too large for an entry.
    if (cached) ++result_.loaded;
    result_.stopped_full = cache->Evictions() > evictions_at_begin_;
  }
  sqlite3_reset(snapshot_);  // the batch's read transaction ends
  return status;
}

Status WarmCache(CacheClient* client, uint64_t documents, WarmResult* result) {
  *result = WarmResult{};
  std::unique_ptr<CacheWarm> warm;
  Status status = CacheWarm::Begin(client, documents, &warm);
  while (status.ok() && !warm->done()) status = warm->Step();
  if (warm != nullptr) *result = warm->result();
  return status;
}

}  // namespace docstore
