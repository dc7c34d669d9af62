// The shared cache of documents as the extension uses it: one shmcache
// segment per database file, shared by every process and connection that
// opens that file, holding each document's doc_get JSON.
//
// Coherence (DESIGN.md invariant 1). Every document write runs the schema's
// trigger, which bumps docstore_clock inside the writer's transaction and calls
// Invalidate(id, clock) before the writer commits: the cached copy is erased
// and the segment's fence is raised to `clock`. A reader fills the cache only
// with a row it read together with docstore_clock in one snapshot, and only if
// that snapshot clock is at or past the fence, checked under the same shard
// lock as the insert. So:
//   - a reader whose snapshot predates a write, committed or in flight, is
//     refused (its clock is below the fence that write raised);
//   - a fill that raced ahead of the fence raise is erased by the same
//     Invalidate, which raises the fence before it erases;
//   - an uncommitted row is never filled: readers fill only from autocommit
//     connections with no write statement running (see ConnectionState).
// A rolled-back write leaves the fence above the database's clock until the
// next write catches up: fills are refused meanwhile, which costs speed only.
#ifndef DOCSTORE_EXTENSION_DOCUMENT_CACHE_H_
#define DOCSTORE_EXTENSION_DOCUMENT_CACHE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace docstore {

struct CacheSettings {
  uint64_t capacity_bytes = 64ull << 20;
  uint64_t max_entry_bytes = 1ull << 20;
  unsigned mode = 0600;
  bool enabled = true;  // false: never read or fill (writes still invalidate)
};

// Process-wide settings used when this process first attaches to (or
// creates) a database's segment: DOCSTORE_CACHE_BYTES,
// DOCSTORE_CACHE_MAX_ENTRY_BYTES, DOCSTORE_CACHE_MODE (octal) and
// DOCSTORE_CACHE=off from the environment, overridden by docstore_cache_config().
CacheSettings CurrentCacheSettings();
// False, with a reason, once a segment has been attached in this process.
bool SetCacheSettings(const CacheSettings& settings, std::string* error);

struct CacheEntryInfo {
  int64_t id;
  uint64_t bytes;
  uint64_t version;  // the docstore_clock value of the snapshot it was read in
  uint64_t hits;
};

class DocumentCache {
 public:
  virtual ~DocumentCache() = default;

  // The cache of the database file at `path`, whose docstore_meta
  // database_id is `database_id`. nullptr when it cannot be used; *why_not
  // says why, and *writes_must_fail says whether a segment exists that this
  // process cannot keep coherent (then writes are refused, not just uncached).
  static std::shared_ptr<DocumentCache> ForDatabase(const std::string& path,
                                                    const std::string& database_id,
                                                    std::string* why_not, bool* writes_must_fail);

  // Copies the cached JSON of `id` into *json. False on a miss.
  virtual bool Get(int64_t id, std::string* json) = 0;
  // Inserts unless the fence is above `snapshot_clock` (counted as a skipped
  // fill) or the entry is too large (counted by the cache).
  virtual void Fill(int64_t id, std::string_view json, int64_t snapshot_clock) = 0;
  virtual void Invalidate(int64_t id, int64_t clock) = 0;
  // Cache-wide counters, in the order docstore_stats shows them.
  virtual std::vector<std::pair<std::string, std::string>> Stats() = 0;
  virtual void ForEach(const std::function<void(const CacheEntryInfo&)>& visit) = 0;
  virtual bool Lookup(int64_t id, CacheEntryInfo* info) = 0;
  virtual void CountError() = 0;
};

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_DOCUMENT_CACHE_H_
