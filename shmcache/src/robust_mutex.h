// Process-shared robust mutexes: what every lock in a segment is. A process
// killed while holding one hands the next locker EOWNERDEAD instead of a
// deadlock (Boost 1.74's interprocess_mutex would deadlock).
#ifndef SHMCACHE_SRC_ROBUST_MUTEX_H_
#define SHMCACHE_SRC_ROBUST_MUTEX_H_

#include <pthread.h>

namespace shmcache::internal {

inline void InitRobustMutex(pthread_mutex_t* mutex) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(mutex, &attr);
  pthread_mutexattr_destroy(&attr);
}

}  // namespace shmcache::internal

#endif  // SHMCACHE_SRC_ROBUST_MUTEX_H_
