// Warm start: loads a database's most accessed documents into its shared
// cache, so that the first reads after a reboot or a new segment are hits.
// docstore-sidecar --warm N and SELECT docstore_cache_warm(N) both run it.
//
// Which documents: the N with the highest document_access.access_count (ties
// by id), ranked once at the start. Ids ranked but deleted since are
// skipped.
//
// How each is loaded: by CacheClient::ReadThrough, the fill of a doc_get
// miss, so the coherence protocol (document_cache.h) holds as for any miss:
// the cache catches up with the change log before each batch (a fill into a
// segment that never caught up would be cleared by the first reader's
// catch-up), each row is read together with docstore_clock in one snapshot
// and put with PutIfFresh under that snapshot's clock (a fence refuses it if
// a write got in), keyed databases' entries are sealed. No access is
// counted: a warm load is not a read by anyone.
//
// Locks: batches of kWarmBatchDocuments, each in a read transaction of its
// own (held by one open statement, so it is one snapshot on SQLite 3.15 as
// on 3.40 and no write transaction is ever begun). Between batches nothing
// is held, so writers wait for at most one batch in rollback-journal mode
// and for nothing in WAL mode.
//
// Top-up: documents cached when it begins are left as they are (counted as
// already_cached, not loaded again), so warming a live cache costs only what
// is missing. It stops early, saying so, at the first fill that made the
// cache evict: a full cache would otherwise drop hotter documents (its own,
// or the clients') for colder ones.
#ifndef DOCSTORE_CORE_CACHE_WARM_H_
#define DOCSTORE_CORE_CACHE_WARM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_set>
#include <vector>

#include "cache_client.h"
#include "change_log.h"
#include "sqlite_api.h"
#include "status.h"

namespace docstore {

inline constexpr size_t kWarmBatchDocuments = 256;

struct WarmResult {
  uint64_t ranked = 0;          // documents the ranking gave (at most N)
  uint64_t loaded = 0;          // put in the cache by this warm
  uint64_t already_cached = 0;  // there before it
  bool stopped_full = false;    // the cache began to evict: the rest was not loaded
};

class CacheWarm {
 public:
  // Ranks the `documents` most accessed documents of the database of
  // `client`'s connection. kInvalidArgument without a document_access table
  // (no docstore schema); kError when the cache cannot be filled now (none,
  // reads off, a transaction open on the connection: the message says
  // which), as from Step.
  static Status Begin(CacheClient* client, uint64_t documents, std::unique_ptr<CacheWarm>* out);
  ~CacheWarm();
  CacheWarm(const CacheWarm&) = delete;
  CacheWarm& operator=(const CacheWarm&) = delete;

  // Loads the next batch; an error as Begin's.
  Status Step();
  bool done() const { return next_ >= ids_.size() || result_.stopped_full; }
  const WarmResult& result() const { return result_; }

 private:
  CacheWarm(CacheClient* client, std::vector<int64_t> ids, sqlite3_stmt* by_id);

  CacheClient* const client_;
  const std::vector<int64_t> ids_;
  std::unordered_set<int64_t> cached_at_begin_;  // what top-up leaves as it is
  sqlite3_stmt* const by_id_;  // kDocumentByIdSql
  ClockSnapshot snapshot_;     // the batch's read transaction
  size_t next_ = 0;
  uint64_t evictions_at_begin_ = 0;
  WarmResult result_;
};

// Begin, then Step until done.
Status WarmCache(CacheClient* client, uint64_t documents, WarmResult* result);

}  // namespace docstore

#endif  // DOCSTORE_CORE_CACHE_WARM_H_
