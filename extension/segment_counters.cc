#include "segment_counters.h"

#include <time.h>

#include <cstdio>

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

int64_t NowMilliseconds() {
  // Every recorded access reads the clock: the coarse clock costs no
  // hardware counter read, and is exact to a few milliseconds.
  timespec now;
  clock_gettime(CLOCK_REALTIME_COARSE, &now);
  return int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1000000;
}

std::string IsoTime(int64_t milliseconds) {
  const time_t seconds = static_cast<time_t>(milliseconds / 1000);
  tm utc{};
  gmtime_r(&seconds, &utc);
  char text[80];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(milliseconds % 1000));
  return text;
}

}  // namespace docstore
