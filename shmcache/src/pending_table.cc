#include "pending_table.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "liveness.h"
#include "robust_mutex.h"

namespace shmcache::internal {
namespace {

// A table is full at three quarters: linear probing stays short.
uint32_t LoadLimit(uint32_t slots) { return slots / 4 * 3; }

// How long a flush waits for recorders still adding to a table it froze
// before leaving that table for the next flush. Only a recorder stopped
// mid-record (SIGSTOP, a debugger) takes that long.
constexpr auto kQuiescenceWait = std::chrono::milliseconds(1000);

// Counts one access in `slot`: last_ms first, then the count, so that a
// recorder killed in between leaves no access (count unchanged).
void Bump(PendingSlot& slot, int64_t at_ms) {
  int64_t last = slot.last_ms.load(std::memory_order_relaxed);
  while (at_ms > last && !slot.last_ms.compare_exchange_weak(last, at_ms, std::memory_order_relaxed)) {
  }
  slot.count.fetch_add(1, std::memory_order_release);
}

}  // namespace

// A pending shard's mutex. A dead owner's table needs no reset (see
// layout.h): only the bookkeeping is checked and recounted.
RobustLock PendingTable::LockShard(uint32_t shard, uint32_t wait_ms) {
  return RobustLock(&shards_[shard].mutex, wait_ms, [this, shard] { Repair(shard); });
}

PendingTable::PendingTable(uint8_t* region, uint32_t shard_count, uint32_t slots_per_shard)
    : header_(reinterpret_cast<PendingHeader*>(region)),
      shards_(reinterpret_cast<PendingShard*>(region + sizeof(PendingHeader))),
      slots_(reinterpret_cast<PendingSlot*>(region + sizeof(PendingHeader) +
                                            uint64_t{shard_count} * sizeof(PendingShard))),
      shard_count_(shard_count),
      slots_per_shard_(slots_per_shard) {}

void PendingTable::Initialize(uint64_t instance) {
  InitRobustMutex(&header_->flush_mutex);
  header_->instance = instance;
  for (uint32_t i = 0; i < shard_count_; ++i) InitRobustMutex(&shards_[i].mutex);
}

PendingSlot* PendingTable::Table(uint32_t shard, uint32_t table) const {
  return slots_ + (uint64_t{shard} * 2 + (table & 1u)) * slots_per_shard_;
}

void PendingTable::Repair(uint32_t shard) {
  PendingShard& s = shards_[shard];
  s.active.store(s.active.load() & 1u);
  s.frozen_table &= 1u;
  for (uint32_t t = 0; t < 2; ++t) {
    const PendingSlot* slots = Table(shard, t);
    uint32_t used = 0;
    for (uint32_t i = 0; i < slots_per_shard_; ++i) used += slots[i].key.load(std::memory_order_relaxed) != 0;
    s.used[t].store(used, std::memory_order_relaxed);
  }
  ++s.lock_recoveries;
}

bool PendingTable::RecorderAlive(const RecorderSlot& r) const {
  const uint32_t pid = r.owner_pid.load(std::memory_order_acquire);
  // A zombie (killed, not reaped yet) records nothing more; another process
  // under a reused pid has another start time.
  return pid != 0 && !Ended(static_cast<pid_t>(pid), r.owner_start.load(std::memory_order_acquire));
}

int PendingTable::ClaimRecorder() {
  const auto pid = static_cast<uint32_t>(getpid());
  const uint64_t start = StartTime(getpid(), nullptr);
  for (uint32_t i = 0; i < kRecorderSlots; ++i) {
    RecorderSlot& r = header_->recorders[i];
    uint32_t owner = r.owner_pid.load(std::memory_order_acquire);
    if (owner != 0 && RecorderAlive(r)) continue;
    // Free, or its owner died (perhaps mid-record: nothing it left behind
    // is waited for any longer).
    if (!r.owner_pid.compare_exchange_strong(owner, pid, std::memory_order_acq_rel)) continue;
    r.owner_start.store(start, std::memory_order_release);
    r.busy.store(0, std::memory_order_release);
    return static_cast<int>(i);
  }
  return -1;
}

void PendingTable::ReleaseRecorder(int recorder) {
  if (recorder < 0 || static_cast<uint32_t>(recorder) >= kRecorderSlots) return;
  RecorderSlot& r = header_->recorders[recorder];
  uint32_t pid = static_cast<uint32_t>(getpid());
  r.owner_pid.compare_exchange_strong(pid, 0, std::memory_order_acq_rel);
}

Status PendingTable::AddTo(uint32_t shard, uint32_t table, uint64_t mixed, uint64_t key, int64_t at_ms) {
  PendingShard& s = shards_[shard];
  PendingSlot* slots = Table(shard, table);
  const uint32_t mask = slots_per_shard_ - 1;
  uint32_t i = static_cast<uint32_t>(mixed >> 32) & mask;
  for (uint32_t probes = 0; probes < slots_per_shard_; ++probes, i = (i + 1) & mask) {
    PendingSlot& slot = slots[i];
    uint64_t found = slot.key.load(std::memory_order_acquire);
    if (found == 0) {
      // Keys are never removed from a table until it is cleared whole: an
      // empty slot ends the key's chain.
      if (s.used[table].load(std::memory_order_relaxed) >= LoadLimit(slots_per_shard_)) break;
      if (slot.key.compare_exchange_strong(found, key, std::memory_order_acq_rel)) {
        s.used[table].fetch_add(1, std::memory_order_relaxed);
        Bump(slot, at_ms);
        return Status::kOk;
      }
      // Another recorder claimed it meanwhile, perhaps for this key.
    }
    if (found == key) {
      Bump(slot, at_ms);
      return Status::kOk;
    }
  }
  s.refused_full.fetch_add(1, std::memory_order_relaxed);
  return Status::kFull;
}

Status PendingTable::Record(uint64_t key, int64_t at_ms, int recorder) {
  if (key == 0) return Status::kInvalidArgument;
  const uint64_t mixed = MixKey(key);
  const uint32_t shard = static_cast<uint32_t>(mixed) & (shard_count_ - 1);
  PendingShard& s = shards_[shard];
  if (recorder >= 0 && static_cast<uint32_t>(recorder) < kRecorderSlots) {
    RecorderSlot& r = header_->recorders[recorder];
    r.busy.fetch_add(1, std::memory_order_seq_cst);
    const uint32_t table = s.active.load(std::memory_order_seq_cst) & 1u;
    const Status status = AddTo(shard, table, mixed, key, at_ms);
    if (status == Status::kOk) r.recorded.fetch_add(1, std::memory_order_relaxed);
    r.busy.fetch_sub(1, std::memory_order_release);
    return status;
  }
  // No recorder slot: under the shard's mutex, which a flush holds while it
  // switches tables.
  RobustLock lock = LockShard(shard, kLockWaitMs);
  if (!lock.locked()) return Status::kFull;
  const Status status = AddTo(shard, s.active.load(std::memory_order_relaxed) & 1u, mixed, key, at_ms);
  if (status == Status::kOk) ++s.recorded;
  return status;
}

void PendingTable::Prefetch(uint64_t key) const {
  const uint64_t mixed = MixKey(key);
  const uint32_t shard = static_cast<uint32_t>(mixed) & (shard_count_ - 1);
  const uint32_t t = shards_[shard].active.load(std::memory_order_relaxed) & 1u;
  __builtin_prefetch(&shards_[shard], 0);
  __builtin_prefetch(&Table(shard, t)[static_cast<uint32_t>(mixed >> 32) & (slots_per_shard_ - 1)], 1);
}

void PendingTable::ForEach(const std::function<void(const PendingAccess&)>& visit) {
  std::vector<PendingAccess> copied;
  for (uint32_t shard = 0; shard < shard_count_; ++shard) {
    copied.clear();
    {
      RobustLock lock = LockShard(shard, kOptionalLockWaitMs);
      if (!lock.locked()) continue;
      for (uint32_t t = 0; t < 2; ++t) {
        const PendingSlot* slots = Table(shard, t);
        for (uint32_t i = 0; i < slots_per_shard_; ++i) {
          const uint64_t key = slots[i].key.load(std::memory_order_acquire);
          const uint64_t count = slots[i].count.load(std::memory_order_acquire);
          if (key != 0 && count != 0) copied.push_back({key, count, slots[i].last_ms.load(std::memory_order_relaxed)});
        }
      }
    }
    for (const PendingAccess& access : copied) visit(access);
  }
}

PendingTotals PendingTable::Totals() {
  PendingTotals totals;
  totals.capacity = uint64_t{shard_count_} * slots_per_shard_;
  for (uint32_t shard = 0; shard < shard_count_; ++shard) {
    RobustLock lock = LockShard(shard, kOptionalLockWaitMs);
    if (!lock.locked()) continue;
    const PendingShard& s = shards_[shard];
    for (uint32_t t = 0; t < 2; ++t) {
      const PendingSlot* slots = Table(shard, t);
      for (uint32_t i = 0; i < slots_per_shard_; ++i) {
        const uint64_t count = slots[i].count.load(std::memory_order_acquire);
        if (slots[i].key.load(std::memory_order_relaxed) != 0 && count != 0) {
          ++totals.keys;
          totals.accesses += count;
        }
      }
    }
    totals.recorded += s.recorded;
    totals.refused_full += s.refused_full.load(std::memory_order_relaxed);
    totals.lock_recoveries += s.lock_recoveries;
    const uint64_t percent =
        uint64_t{s.used[s.active.load(std::memory_order_relaxed) & 1u].load(std::memory_order_relaxed)} * 100 /
        slots_per_shard_;
    if (percent > totals.fullest_percent) totals.fullest_percent = percent;
  }
  for (const RecorderSlot& r : header_->recorders) totals.recorded += r.recorded.load(std::memory_order_relaxed);
  return totals;
}

uint64_t PendingTable::FullestPercent() {
  // No lock: a flusher's hint, read from counters that are atomic anyway.
  uint64_t fullest = 0;
  for (uint32_t shard = 0; shard < shard_count_; ++shard) {
    const PendingShard& s = shards_[shard];
    const uint32_t t = s.active.load(std::memory_order_relaxed) & 1u;
    fullest = std::max<uint64_t>(fullest, uint64_t{s.used[t].load(std::memory_order_relaxed)} * 100 / slots_per_shard_);
  }
  return fullest;
}

bool PendingTable::LockFlush(uint32_t wait_ms) {
  const LockResult locked = LockWithin(&header_->flush_mutex, wait_ms);
  // A flusher died: whatever it froze is still frozen, with its seq.
  if (locked == LockResult::kOwnerDied) pthread_mutex_consistent(&header_->flush_mutex);
  return locked != LockResult::kTimedOut;
}

void PendingTable::UnlockFlush() { pthread_mutex_unlock(&header_->flush_mutex); }

bool PendingTable::RecordersQuiet() const {
  const auto deadline = std::chrono::steady_clock::now() + kQuiescenceWait;
  for (const RecorderSlot& r : header_->recorders) {
    for (uint32_t spins = 0; r.busy.load(std::memory_order_seq_cst) != 0; ++spins) {
      if (spins < 64) continue;
      if (!RecorderAlive(r)) break;  // died mid-record: it adds nothing more
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::yield();
    }
  }
  return true;
}

std::vector<PendingBatch> PendingTable::Freeze() {
  std::vector<PendingBatch> batches;
  std::vector<bool> resumed(shard_count_, false);
  bool waiting = false;  // some frozen table may still have recorders in it
  for (uint32_t shard = 0; shard < shard_count_; ++shard) {
    RobustLock lock = LockShard(shard, kLockWaitMs);
    if (!lock.locked()) continue;
    PendingShard& s = shards_[shard];
    resumed[shard] = s.frozen_seq != 0;
    const uint32_t active = s.active.load(std::memory_order_relaxed) & 1u;
    if (resumed[shard]) {
      // A flush that died between freezing and switching tables.
      if (active == (s.frozen_table & 1u)) s.active.store(active ^ 1u, std::memory_order_seq_cst);
    } else if (s.used[active].load(std::memory_order_relaxed) > 0) {
      const uint64_t seq = s.next_seq + 1;
      s.next_seq = seq;
      s.frozen_table = active;
      s.frozen_quiet = 0;
      std::atomic_signal_fence(std::memory_order_seq_cst);  // a killed flusher leaves these in order
      s.frozen_seq = seq;
      s.active.store(active ^ 1u, std::memory_order_seq_cst);
    }
    waiting |= s.frozen_seq != 0 && s.frozen_quiet == 0;
  }
  // After every switch: once no recorder is mid-record, none can add to a
  // table frozen above (layout.h, RecorderSlot).
  const bool quiet = !waiting || RecordersQuiet();
  for (uint32_t shard = 0; shard < shard_count_; ++shard) {
    RobustLock lock = LockShard(shard, kLockWaitMs);
    if (!lock.locked()) continue;
    PendingShard& s = shards_[shard];
    if (s.frozen_seq == 0) continue;
    if (s.frozen_quiet == 0) {
      if (!quiet) continue;  // left frozen for the next flush
      s.frozen_quiet = 1;
    }
    PendingBatch batch{shard, s.frozen_seq, {}, resumed[shard]};
    const PendingSlot* slots = Table(shard, s.frozen_table);
    for (uint32_t i = 0; i < slots_per_shard_; ++i) {
      const uint64_t key = slots[i].key.load(std::memory_order_acquire);
      const uint64_t count = slots[i].count.load(std::memory_order_acquire);
      if (key != 0 && count != 0) batch.accesses.push_back({key, count, slots[i].last_ms.load(std::memory_order_relaxed)});
    }
    batches.push_back(std::move(batch));
  }
  return batches;
}

void PendingTable::Release(const PendingBatch& batch) {
  if (batch.shard >= shard_count_) return;
  PendingShard& s = shards_[batch.shard];
  // Under the shard lock: docstore_pending reads frozen tables too.
  RobustLock lock = LockShard(batch.shard, kLockWaitMs);
  if (!lock.locked() || s.frozen_seq != batch.seq) return;
  const uint32_t t = s.frozen_table & 1u;
  PendingSlot* slots = Table(batch.shard, t);
  for (uint32_t i = 0; i < slots_per_shard_; ++i) {
    slots[i].count.store(0, std::memory_order_relaxed);
    slots[i].last_ms.store(0, std::memory_order_relaxed);
    slots[i].key.store(0, std::memory_order_relaxed);
  }
  s.used[t].store(0, std::memory_order_relaxed);
  s.frozen_quiet = 0;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  s.frozen_seq = 0;
}

}  // namespace shmcache::internal
