#include "clock.h"

#include <time.h>

#include <cstdio>

namespace docstore {

int64_t NowMilliseconds() {
  // The coarse clock costs no hardware counter read.
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

bool IsIsoTime(std::string_view text) {
  if (text.size() != kIsoTimeBytes) return false;
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || c == '-' || c == ':' || c == '.' || c == 'T' || c == 'Z')) return false;
  }
  return true;
}

}  // namespace docstore
