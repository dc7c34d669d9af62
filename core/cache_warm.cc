#include "cache_warm.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "document_entry.h"
#include "sqlite_util.h"

namespace docstore {
namespace {

constexpr char kMostAccessedSql[] =
    "SELECT doc_id FROM main.document_access ORDER BY access_count DESC, doc_id LIMIT ?1";

}  // namespace

Status CacheWarm::Begin(CacheClient* client, uint64_t documents, std::unique_ptr<CacheWarm>* out) {
  out->reset();
  DocumentCache* cache = client->CacheForHit();
  if (cache == nullptr) return Status::Error("cannot warm the cache: " + client->WhyNoHits());
  sqlite3* db = client->db();
  sqlite3_stmt* ranking = nullptr;
  if (Status status = PrepareOnSchema(db, kMostAccessedSql, &ranking); !status.ok()) return status;
  sqlite3_bind_int64(ranking, 1, static_cast<sqlite3_int64>(std::min<uint64_t>(documents, INT64_MAX)));
  std::vector<int64_t> ids;
  int rc;
  while ((rc = sqlite3_step(ranking)) == SQLITE_ROW) ids.push_back(sqlite3_column_int64(ranking, 0));
  sqlite3_finalize(ranking);
  if (rc != SQLITE_DONE) return Status::Error(std::string("ranking the documents: ") + sqlite3_errmsg(db));
  sqlite3_stmt* by_id = nullptr;
  if (Status status = PrepareOnSchema(db, kDocumentByIdSql, &by_id); !status.ok()) return status;
  out->reset(new CacheWarm(client, std::move(ids), by_id));
  if (Status status = (*out)->snapshot_.Prepare(db); !status.ok()) {
    out->reset();
    return status;
  }
  (*out)->evictions_at_begin_ = cache->Evictions();
  // One walk of the cache (a lookup of each id would walk its shard each).
  cache->ForEach([&warm = **out](const shmcache::EntryInfo& info) {
    warm.cached_at_begin_.insert(static_cast<int64_t>(info.key));
  });
  return Status::Ok();
}

CacheWarm::CacheWarm(CacheClient* client, std::vector<int64_t> ids, sqlite3_stmt* by_id)
    : client_(client), ids_(std::move(ids)), by_id_(by_id) {
  result_.ranked = ids_.size();
}

CacheWarm::~CacheWarm() { sqlite3_finalize(by_id_); }

Status CacheWarm::Step() {
  if (done()) return Status::Ok();
  // Caught up first, as before any hit: see the header.
  DocumentCache* cache = client_->CacheForHit();
  if (cache == nullptr) return Status::Error("cannot warm the cache: " + client_->WhyNoHits());
  int64_t clock = 0;
  Status status = snapshot_.Begin(&clock);
  if (!status.ok()) return status;
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
  snapshot_.End();
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
