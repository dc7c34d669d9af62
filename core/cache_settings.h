// The settings of the segments this process creates: their size, largest
// entry, permissions, pending-access slots, TTL, and whether this process
// reads and fills the cache at all. They start from the environment and can
// be changed (docstore_cache_config) until the process attaches its first
// segment; an existing segment keeps its creator's sizes and TTL.
//
//   DOCSTORE_CACHE_BYTES            the segment, header included (default: it
//                                   follows the database, DefaultCapacity)
//   DOCSTORE_CACHE_MAX_ENTRY_BYTES  the largest cached document (1 MiB)
//   DOCSTORE_CACHE_TTL_MS           an entry older than this is a miss and is
//                                   read again (0, the default: no TTL)
//   DOCSTORE_CACHE_MODE             the segment's permissions, octal (0600)
//   DOCSTORE_PENDING_SLOTS          documents with pending accesses (0: shmcache's default)
//   DOCSTORE_CACHE=off              this process neither reads nor fills
//                                   (its writes still keep the cache coherent)
#ifndef DOCSTORE_CORE_CACHE_SETTINGS_H_
#define DOCSTORE_CORE_CACHE_SETTINGS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "shmcache/shmcache.h"
#include "status.h"

namespace docstore {

struct CacheSettings {
  uint64_t capacity_bytes = 0;  // 0: DefaultCapacity of the database
  std::string capacity_from;    // who set capacity_bytes: the variable or the function
  uint64_t max_entry_bytes = 1ull << 20;
  mode_t mode = 0600;
  bool enabled = true;  // false: never read or fill (writes still invalidate)
  uint32_t pending_slots = 0;
  uint64_t ttl_ms = 0;  // 0: none
};

// The default size of a new segment: twice the database file, rounded up to
// a power of two, at least 1 MiB and at least the smallest such size that
// holds four of the largest entries per shard (8 MiB for 1 MiB entries), at
// most kMaxDefaultCapacity. Sets *reason to the rule as it applied.
inline constexpr uint64_t kMinDefaultCapacity = 1ull << 20;
inline constexpr uint64_t kMaxDefaultCapacity = 64ull << 20;
uint64_t DefaultCapacity(uint64_t database_bytes, const CacheSettings& settings, std::string* reason);
// A size as docstore's messages state it: "12.0 KiB", "1.2 MiB".
std::string ReadableBytes(uint64_t bytes);

// The process's settings now.
CacheSettings CurrentCacheSettings();
// kInvalidArgument for settings no segment can have; kError once a segment
// is attached.
Status SetCacheSettings(const CacheSettings& settings);
// Why the environment's settings were not taken (the defaults were), or "".
std::string CacheSettingsEnvironmentError();

// For bench/ only, never for use: DOCSTORE_BENCH_UNSAFE_NO_DETECTION set when
// a connection attaches makes its hits skip the check that the cache caught
// up with the file (file_watch.h), so that the check's cost can be measured.
// Such a connection can serve documents that writes replaced.
bool BenchSkipsDetection();

// For DocumentCache: the shmcache options of a new segment for a database
// file of `database_bytes` under the current settings (no label), and why it
// has its capacity and which TTL it gets. From this call on the settings are
// fixed.
shmcache::Options TakeSegmentOptions(uint64_t database_bytes, std::string* capacity_reason, uint64_t* ttl_ms);

}  // namespace docstore

#endif  // DOCSTORE_CORE_CACHE_SETTINGS_H_
