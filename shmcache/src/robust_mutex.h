// Process-shared robust mutexes: what every lock in a segment is. A process
// killed while holding one hands the next locker EOWNERDEAD instead of a
// deadlock (Boost 1.74's interprocess_mutex would deadlock). And the one key
// mixer every table of a segment places keys with.
#ifndef SHMCACHE_SRC_ROBUST_MUTEX_H_
#define SHMCACHE_SRC_ROBUST_MUTEX_H_

#include <pthread.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <thread>

namespace shmcache::internal {

inline void InitRobustMutex(pthread_mutex_t* mutex) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(mutex, &attr);
  pthread_mutexattr_destroy(&attr);
}

// Holds a robust mutex. When its last owner died holding it, the state it
// guards may be half-updated: `repair()` runs first, under the lock, before
// the mutex is marked consistent. locked() is false only for
// ENOTRECOVERABLE (what it guards is out of service).
class RobustLock {
 public:
  template <typename Repair>
  RobustLock(pthread_mutex_t* mutex, Repair&& repair) : mutex_(mutex) {
    int rc = pthread_mutex_lock(mutex_);
    if (rc == EOWNERDEAD) {
      repair();
      pthread_mutex_consistent(mutex_);
      rc = 0;
    }
    locked_ = rc == 0;
  }
  ~RobustLock() {
    if (locked_) pthread_mutex_unlock(mutex_);
  }
  RobustLock(const RobustLock&) = delete;
  RobustLock& operator=(const RobustLock&) = delete;
  bool locked() const { return locked_; }

 private:
  pthread_mutex_t* const mutex_;
  bool locked_ = false;
};

// Takes `mutex` within `wait_ms`, polling: a holder stopped (SIGSTOP) or
// waiting on something the caller holds must not hang the caller. Polled
// with trylock rather than pthread_mutex_timedlock, whose EOWNERDEAD TSan
// does not model. kOwnerDied: taken, and the caller must repair what it
// guards and call pthread_mutex_consistent.
enum class LockResult { kLocked, kOwnerDied, kTimedOut };
inline LockResult LockWithin(pthread_mutex_t* mutex, uint32_t wait_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  int rc;
  while ((rc = pthread_mutex_trylock(mutex)) == EBUSY && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (rc == EOWNERDEAD) return LockResult::kOwnerDied;
  return rc == 0 ? LockResult::kLocked : LockResult::kTimedOut;
}

// splitmix64's finaliser: every bit of the key moves both halves. The low
// half picks a shard, the high half a place within it.
inline uint64_t MixKey(uint64_t key) {
  key ^= key >> 30;
  key *= 0xbf58476d1ce4e5b9ull;
  key ^= key >> 27;
  key *= 0x94d049bb133111ebull;
  return key ^ (key >> 31);
}

}  // namespace shmcache::internal

#endif  // SHMCACHE_SRC_ROBUST_MUTEX_H_
