// The settings of the segments this process creates: their size, largest
// entry, permissions, pending-access slots, and whether this process reads
// and fills the cache at all. They start from the environment and can be
// changed (docstore_cache_config) until the process attaches its first
// segment; an existing segment keeps its creator's sizes.
//
//   DOCSTORE_CACHE_BYTES            the segment, header included (64 MiB)
//   DOCSTORE_CACHE_MAX_ENTRY_BYTES  the largest cached document (1 MiB)
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
  uint64_t capacity_bytes = 64ull << 20;
  uint64_t max_entry_bytes = 1ull << 20;
  mode_t mode = 0600;
  bool enabled = true;  // false: never read or fill (writes still invalidate)
  uint32_t pending_slots = 0;
};

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

// For DocumentCache: the shmcache options of a new segment under the current
// settings. From this call on the settings are fixed.
shmcache::Options TakeSegmentOptions();

}  // namespace docstore

#endif  // DOCSTORE_CORE_CACHE_SETTINGS_H_
