#include "segment_counters.h"

namespace docstore {

uint64_t SegmentCounterValue(shmcache::Segment* segment, SegmentCounter counter) {
  return segment->UserCounter(static_cast<size_t>(counter));
}

void AddSegmentCounter(shmcache::Segment* segment, SegmentCounter counter, uint64_t delta) {
  segment->AddUserCounter(static_cast<size_t>(counter), delta);
}

void SetSegmentCounter(shmcache::Segment* segment, SegmentCounter counter, uint64_t value) {
  const auto index = static_cast<size_t>(counter);
  uint64_t current = segment->UserCounter(index);
  while (!segment->CompareExchangeUserCounter(index, current, value)) current = segment->UserCounter(index);
}

}  // namespace docstore
