// What docstore keeps in a segment's user counters (shmcache leaves their
// meaning to its user), so that every process sees the same. Internal to
// core/: the extension and the sidecar read them through DocumentCache.
#ifndef DOCSTORE_CORE_SEGMENT_COUNTERS_H_
#define DOCSTORE_CORE_SEGMENT_COUNTERS_H_

#include <cstddef>
#include <cstdint>

#include "shmcache/shmcache.h"

namespace docstore {

// The numbers are where each counter lives in the segment: fixed, since
// processes of other builds may share it (1 was a counter no one raised).
enum class SegmentCounter : size_t {
  kFillsSkippedInTransaction = 0,  // cache miss read inside a write transaction
  kFlushes = 2,                    // flushes that committed
  kRowsFlushed = 3,                // document_access rows written
  kAccessesFlushed = 4,
  kFlushFailures = 5,              // flushes that rolled back (busy, full disk, read-only, ...)
  kInlineFlushes = 6,              // flushes a client did itself: a full table, or doc_flush()
  kLastFlushMs = 7,                // wall clock of the last committed flush
  kSidecarPid = 8,                 // the sidecar's pid and heartbeat (0: none yet)
  kSidecarHeartbeatMs = 9,
  kAuthFailures = 10,              // encrypted entries that did not authenticate
  kCatchUps = 11,                  // times the cache caught up with the file's change log
  kChangesApplied = 12,            // documents those catch-ups invalidated
  kResets = 13,                    // catch-ups that had to clear the cache instead
  kTtlExpired = 14,                // hits refused for being older than the segment's TTL
};

uint64_t SegmentCounterValue(shmcache::Segment* segment, SegmentCounter counter);
void AddSegmentCounter(shmcache::Segment* segment, SegmentCounter counter, uint64_t delta);
void SetSegmentCounter(shmcache::Segment* segment, SegmentCounter counter, uint64_t value);

}  // namespace docstore

#endif  // DOCSTORE_CORE_SEGMENT_COUNTERS_H_
