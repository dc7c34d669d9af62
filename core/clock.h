// The wall clock as docstore records it: milliseconds since the epoch, and
// the ISO 8601 text stored in last_accessed ("2026-11-24T19:30:00.000Z", what
// strftime('%Y-%m-%dT%H:%M:%fZ') gives). No SQLite here.
#ifndef DOCSTORE_CORE_CLOCK_H_
#define DOCSTORE_CORE_CLOCK_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace docstore {

inline constexpr size_t kIsoTimeBytes = 24;  // "2026-11-24T19:30:00.000Z"

// Every recorded access reads it: the coarse clock, exact to a few ms.
int64_t NowMilliseconds();
std::string IsoTime(int64_t milliseconds);
// True for text of exactly IsoTime's shape (its length and characters).
bool IsIsoTime(std::string_view text);

}  // namespace docstore

#endif  // DOCSTORE_CORE_CLOCK_H_
