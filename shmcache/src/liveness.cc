#include "liveness.h"

#include <errno.h>
#include <signal.h>

#include <cstdio>
#include <cstring>

namespace shmcache::internal {

uint64_t StartTime(pid_t id, char* state) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(id));
  std::FILE* f = std::fopen(path, "re");
  if (f == nullptr) return 0;
  char line[1024];
  const size_t n = std::fread(line, 1, sizeof line - 1, f);
  std::fclose(f);
  line[n] = '\0';
  // The command name, field 2, is in parentheses and may hold spaces.
  const char* at = std::strrchr(line, ')');
  if (at == nullptr) return 0;
  char field3 = '?';
  unsigned long long start = 0;
  // Fields 4 to 21 skipped; 22 is the start time.
  if (std::sscanf(at + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                  &field3, &start) != 2) {
    return 0;
  }
  if (state != nullptr) *state = field3;
  return start;
}

bool Ended(pid_t id, uint64_t start) {
  if (id <= 0) return true;
  // kill(2) with signal 0 finds any thread by its id, not only a process.
  if (kill(id, 0) != 0 && errno == ESRCH) return true;
  char state = '?';
  const uint64_t now = StartTime(id, &state);
  if (now == 0) return false;  // no /proc to ask: kill() said it exists
  return state == 'Z' || state == 'X' || (start != 0 && now != start);
}

}  // namespace shmcache::internal
