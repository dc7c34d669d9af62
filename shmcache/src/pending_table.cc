#include "pending_table.h"

#include <errno.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "robust_mutex.h"

namespace shmcache::internal {
namespace {

// A table is full at three quarters: linear probing stays short.
uint32_t LoadLimit(uint32_t slots) { return slots / 4 * 3; }

// The stores a recorder makes must reach memory in program order, so that
// death between any two of them leaves a consistent table; another process
// reads them only under the same mutex, so ordering them against the
// compiler is enough.
void StoreOrder() { std::atomic_signal_fence(std::memory_order_seq_cst); }

}  // namespace

// A pending shard's mutex. A dead owner's table needs no reset (see
// layout.h): only the bookkeeping is checked and recounted.
RobustLock PendingTable::LockShard(uint32_t shard) {
  return RobustLock(&shards_[shard].mutex, [this, shard] { Repair(shard); });
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
  s.active &= 1u;
  s.frozen_table &= 1u;
  for (uint32_t t = 0; t < 2; ++t) {
    const PendingSlot* slots = Table(shard, t);
    uint32_t used = 0;
    for (uint32_t i = 0; i < slots_per_shard_; ++i) used += slots[i].key != 0;
    s.used[t] = used;
  }
  ++s.lock_recoveries;
}

void PendingTable::Prefetch(uint64_t key) const {
  const uint64_t mixed = MixKey(key);
  const uint32_t shard = static_cast<uint32_t>(mixed) & (shard_count_ - 1);
  // Unlocked, so possibly the table that was active a moment ago: a hint.
  const uint32_t t = __atomic_load_n(&shards_[shard].active, __ATOMIC_RELAXED) & 1u;
  __builtin_prefetch(&shards_[shard], 1);
  __builtin_prefetch(&Table(shard, t)[static_cast<uint32_t>(mixed >> 32) & (slots_per_shard_ - 1)], 1);
}

Status PendingTable::Record(uint64_t key, int64_t at_ms) {
  if (key == 0) return Status::kInvalidArgument;
  const uint64_t mixed = MixKey(key);
  const uint32_t shard = static_cast<uint32_t>(mixed) & (shard_count_ - 1);
  RobustLock lock = LockShard(shard);
  if (!lock.locked()) return Status::kFull;
  PendingShard& s = shards_[shard];
  const uint32_t t = s.active & 1u;
  PendingSlot* slots = Table(shard, t);
  const uint32_t mask = slots_per_shard_ - 1;
  uint32_t i = static_cast<uint32_t>(mixed >> 32) & mask;
  for (uint32_t probes = 0; probes < slots_per_shard_; ++probes, i = (i + 1) & mask) {
    PendingSlot& slot = slots[i];
    if (slot.key == key) {
      slot.count = slot.count + 1;
      if (at_ms > slot.last_ms) slot.last_ms = at_ms;
      ++s.recorded;
      return Status::kOk;
    }
    if (slot.key == 0) {
      if (s.used[t] >= LoadLimit(slots_per_shard_)) break;
      // Filled in before the key makes the slot count.
      slot.count = 1;
      slot.last_ms = at_ms;
      ++s.used[t];
      StoreOrder();
      slot.key = key;
      ++s.recorded;
      return Status::kOk;
    }
  }
  ++s.refused_full;
  return Status::kFull;
}

void PendingTable::ForEach(const std::function<void(const PendingAccess&)>& visit) {
  std::vector<PendingAccess> copied;
  for (uint32_t shard = 0; shard < shard_count_; ++shard) {
    copied.clear();
    {
      RobustLock lock = LockShard(shard);
      if (!lock.locked()) continue;
      for (uint32_t t = 0; t < 2; ++t) {
        const PendingSlot* slots = Table(shard, t);
        for (uint32_t i = 0; i < slots_per_shard_; ++i) {
          if (slots[i].key != 0 && slots[i].count != 0) {
            copied.push_back({slots[i].key, slots[i].count, slots[i].last_ms});
          }
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
    RobustLock lock = LockShard(shard);
    if (!lock.locked()) continue;
    const PendingShard& s = shards_[shard];
    for (uint32_t t = 0; t < 2; ++t) {
      const PendingSlot* slots = Table(shard, t);
      for (uint32_t i = 0; i < slots_per_shard_; ++i) {
        if (slots[i].key != 0 && slots[i].count != 0) {
          ++totals.keys;
          totals.accesses += slots[i].count;
        }
      }
    }
    totals.recorded += s.recorded;
    totals.refused_full += s.refused_full;
    totals.lock_recoveries += s.lock_recoveries;
    const uint64_t percent = uint64_t{s.used[s.active & 1u]} * 100 / slots_per_shard_;
    if (percent > totals.fullest_percent) totals.fullest_percent = percent;
  }
  return totals;
}

uint64_t PendingTable::FullestPercent() {
  uint64_t fullest = 0;
  for (uint32_t shard = 0; shard < shard_count_; ++shard) {
    RobustLock lock = LockShard(shard);
    if (!lock.locked()) continue;
    const PendingShard& s = shards_[shard];
    fullest = std::max<uint64_t>(fullest, uint64_t{s.used[s.active & 1u]} * 100 / slots_per_shard_);
  }
  return fullest;
}

bool PendingTable::LockFlush(uint32_t wait_ms) {
  // Bounded: a flusher stopped (SIGSTOP) or waiting on database locks this
  // caller holds must not hang it. Polled with trylock rather than
  // pthread_mutex_timedlock, whose EOWNERDEAD TSan does not model.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  int rc;
  while ((rc = pthread_mutex_trylock(&header_->flush_mutex)) == EBUSY &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (rc == EOWNERDEAD) {
    // A flusher died: whatever it froze is still frozen, with its seq.
    pthread_mutex_consistent(&header_->flush_mutex);
    rc = 0;
  }
  return rc == 0;
}

void PendingTable::UnlockFlush() { pthread_mutex_unlock(&header_->flush_mutex); }

std::vector<PendingBatch> PendingTable::Freeze() {
  std::vector<PendingBatch> batches;
  for (uint32_t shard = 0; shard < shard_count_; ++shard) {
    RobustLock lock = LockShard(shard);
    if (!lock.locked()) continue;
    PendingShard& s = shards_[shard];
    const bool resumed = s.frozen_seq != 0;
    if (resumed) {
      // A flush that died between freezing and switching tables.
      if ((s.active & 1u) == (s.frozen_table & 1u)) s.active = (s.frozen_table & 1u) ^ 1u;
    } else if (s.used[s.active & 1u] > 0) {
      const uint32_t t = s.active & 1u;
      const uint64_t seq = s.next_seq + 1;
      s.next_seq = seq;
      s.frozen_table = t;
      StoreOrder();
      s.frozen_seq = seq;
      StoreOrder();
      s.active = t ^ 1u;
    }
    if (s.frozen_seq == 0) continue;
    PendingBatch batch{shard, s.frozen_seq, {}, resumed};
    const PendingSlot* slots = Table(shard, s.frozen_table);
    for (uint32_t i = 0; i < slots_per_shard_; ++i) {
      if (slots[i].key != 0 && slots[i].count != 0) {
        batch.accesses.push_back({slots[i].key, slots[i].count, slots[i].last_ms});
      }
    }
    batches.push_back(std::move(batch));
  }
  return batches;
}

void PendingTable::Release(const PendingBatch& batch) {
  if (batch.shard >= shard_count_) return;
  PendingShard& s = shards_[batch.shard];
  // Under the shard lock: docstore_pending reads frozen tables too.
  RobustLock lock = LockShard(batch.shard);
  if (!lock.locked() || s.frozen_seq != batch.seq) return;
  const uint32_t t = s.frozen_table & 1u;
  std::memset(static_cast<void*>(Table(batch.shard, t)), 0, uint64_t{slots_per_shard_} * sizeof(PendingSlot));
  s.used[t] = 0;
  StoreOrder();
  s.frozen_seq = 0;
}

}  // namespace shmcache::internal
