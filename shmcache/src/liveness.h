// Whether a process or thread named in a segment still exists: one answer
// for every place that must tell a dead owner from a live one (lock words,
// recorder slots, creators' private files). Ids are looked up in this
// process's PID namespace, which is why a segment is only ever shared within
// one (docstore names segments per PID namespace).
#ifndef SHMCACHE_SRC_LIVENESS_H_
#define SHMCACHE_SRC_LIVENESS_H_

#include <sys/types.h>

#include <cstdint>

namespace shmcache::internal {

// The start time of process or thread `id` (field 22 of /proc/ID/stat, in
// clock ticks since boot): with the id, it names one for ever. 0 when it
// cannot be read; with *state (field 3) when given.
uint64_t StartTime(pid_t id, char* state);

// True when process or thread `id` has ended: no such id, or a zombie (it
// runs nothing more; its parent has not reaped it yet). With `start` (not
// 0), also when the id now names another one (reused, another start time).
bool Ended(pid_t id, uint64_t start = 0);

}  // namespace shmcache::internal

#endif  // SHMCACHE_SRC_LIVENESS_H_
