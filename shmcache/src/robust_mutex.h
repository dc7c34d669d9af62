// Process-shared robust mutexes: what every lock in a segment is. A process
// killed while holding one hands the next locker EOWNERDEAD instead of a
// deadlock (Boost 1.74's interprocess_mutex would deadlock), even when the
// kernel could not mark it; no locker waits without bound. And the one key
// mixer every table of a segment places keys with.
#ifndef SHMCACHE_SRC_ROBUST_MUTEX_H_
#define SHMCACHE_SRC_ROBUST_MUTEX_H_

#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <thread>

#include "liveness.h"

namespace shmcache::internal {

inline void InitRobustMutex(pthread_mutex_t* mutex) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(mutex, &attr);
  pthread_mutexattr_destroy(&attr);
}

// How long a locker waits for a holder that is alive and does not let go
// (stopped, or waiting on something the locker holds) before it gives up:
// for what must be done (an invalidation, a reset, a flush's bookkeeping)...
inline constexpr uint32_t kLockWaitMs = 1000;
// ...and for what may be skipped (a read that missed its lock-free try, a
// fill, a use count, statistics): a miss costs a read from the source.
inline constexpr uint32_t kOptionalLockWaitMs = 20;
// How long a lock is waited on before its owner's liveness is checked (a
// system call or two; the check itself tells a descheduled owner from a
// dead one), unless the wait is shorter: then at its end.
inline constexpr uint32_t kOwnerCheckAfterMs = 100;

// glibc keeps a robust mutex's owner in its lock word: the owner's thread
// id (FUTEX_TID_MASK), with FUTEX_OWNER_DIED and FUTEX_WAITERS above it.
// When a thread dies, the kernel walks its robust list and sets
// FUTEX_OWNER_DIED in each mutex it held, but only in mutexes still mapped
// in the dying process: one that unmapped the segment before it exited
// (or was killed mid-munmap) leaves its id in the word for ever, and every
// locker would wait for ever. This does what the kernel would have done,
// if the owner named in the word no longer exists: the next locker then
// gets EOWNERDEAD and repairs what the mutex guards. The thread id is
// looked up in this process's PID namespace (liveness.h).
#ifndef __GLIBC__
#error "robust_mutex.h reads glibc's robust mutex lock word"
#endif
inline bool TakeOverFromDeadOwner(pthread_mutex_t* mutex) {
  int* word = &mutex->__data.__lock;
  int seen = __atomic_load_n(word, __ATOMIC_ACQUIRE);
  const pid_t owner = seen & FUTEX_TID_MASK;
  if (owner == 0 || (seen & FUTEX_OWNER_DIED) != 0 || !Ended(owner)) return false;
  const int died = (seen & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
  if (!__atomic_compare_exchange_n(word, &seen, died, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return false;
  if ((seen & FUTEX_WAITERS) != 0) syscall(SYS_futex, word, FUTEX_WAKE, 1, nullptr, nullptr, 0);
  return true;
}

// Takes `mutex` within `wait_ms`. Polled with trylock, backing off from
// spinning to 1 ms sleeps, rather than blocked in pthread_mutex_lock: a
// holder that is stopped, or whose death the kernel could not record (see
// TakeOverFromDeadOwner), must not hang the caller; and
// pthread_mutex_timedlock's EOWNERDEAD is not modelled by TSan. kOwnerDied:
// taken, and the caller must repair what it guards and call
// pthread_mutex_consistent. kTimedOut also for ENOTRECOVERABLE.
enum class LockResult { kLocked, kOwnerDied, kTimedOut };
inline LockResult LockWithin(pthread_mutex_t* mutex, uint32_t wait_ms) {
  int rc = pthread_mutex_trylock(mutex);
  if (rc == EBUSY) {
    const auto start = std::chrono::steady_clock::now();
    auto pause = std::chrono::microseconds(1);
    for (uint32_t round = 0; (rc = pthread_mutex_trylock(mutex)) == EBUSY; ++round) {
      const auto waited = std::chrono::steady_clock::now() - start;
      const bool last = waited >= std::chrono::milliseconds(wait_ms);
      if ((last || waited >= std::chrono::milliseconds(kOwnerCheckAfterMs)) && TakeOverFromDeadOwner(mutex)) continue;
      if (last) break;
      if (round < 16) {
        std::this_thread::yield();
      } else {
        std::this_thread::sleep_for(pause);
        pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(1));
      }
    }
  }
  if (rc == EOWNERDEAD) return LockResult::kOwnerDied;
  return rc == 0 ? LockResult::kLocked : LockResult::kTimedOut;
}

// Holds a robust mutex, waiting at most `wait_ms`. When its last owner
// died holding it, the state it guards may be half-updated: `repair()` runs
// first, under the lock, before the mutex is marked consistent. locked() is
// false when the mutex could not be taken (a live holder did not let go, or
// ENOTRECOVERABLE): the caller does without what it guards.
class RobustLock {
 public:
  template <typename Repair>
  RobustLock(pthread_mutex_t* mutex, uint32_t wait_ms, Repair&& repair) : mutex_(mutex) {
    const LockResult result = LockWithin(mutex_, wait_ms);
    if (result == LockResult::kOwnerDied) {
      repair();
      pthread_mutex_consistent(mutex_);
    }
    locked_ = result != LockResult::kTimedOut;
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
