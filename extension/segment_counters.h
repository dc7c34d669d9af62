// What docstore keeps in a segment's user counters, and the clock it uses:
// shared by the extension and docstore-sidecar, with no SQLite in it.
#ifndef DOCSTORE_EXTENSION_SEGMENT_COUNTERS_H_
#define DOCSTORE_EXTENSION_SEGMENT_COUNTERS_H_

#include <cstdint>
#include <string>

#include "shmcache/shmcache.h"

namespace docstore {

// Extension-level counters kept in the segment's user counters (shmcache
// leaves their meaning to its user), so that every process sees the same.
enum class SegmentCounter : size_t {
  kFillsSkippedInTransaction = 0,  // cache miss read inside a write transaction
  kErrors = 1,                     // cache entries that could not be used
  kFlushes = 2,                    // flushes that committed
  kRowsFlushed = 3,                // document_access rows written
  kAccessesFlushed = 4,
  kFlushFailures = 5,              // flushes that rolled back (busy, full disk, read-only, ...)
  kInlineFlushes = 6,              // flushes a client did itself: a full table, or doc_flush()
  kLastFlushMs = 7,                // wall clock of the last committed flush
  kSidecarPid = 8,                 // the sidecar's pid and heartbeat (0: none yet)
  kSidecarHeartbeatMs = 9,
  kAuthFailures = 10,              // encrypted entries that did not authenticate
};

uint64_t SegmentCounterValue(shmcache::Segment* segment, SegmentCounter counter);
void AddSegmentCounter(shmcache::Segment* segment, SegmentCounter counter, uint64_t delta);
void SetSegmentCounter(shmcache::Segment* segment, SegmentCounter counter, uint64_t value);

// Milliseconds since the epoch, and as the ISO 8601 text docstore stores
// ("2026-11-24T19:30:00.000Z", what strftime('%Y-%m-%dT%H:%M:%fZ') gives).
int64_t NowMilliseconds();
std::string IsoTime(int64_t milliseconds);

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_SEGMENT_COUNTERS_H_
