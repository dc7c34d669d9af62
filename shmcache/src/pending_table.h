// The pending-access table inside a segment: see layout.h for the bytes and
// the crash argument, shmcache.h (AccessFlush) for how flushers use it.
#ifndef SHMCACHE_SRC_PENDING_TABLE_H_
#define SHMCACHE_SRC_PENDING_TABLE_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "layout.h"
#include "robust_mutex.h"
#include "shmcache/shmcache.h"

namespace shmcache::internal {

class PendingTable {
 public:
  PendingTable() = default;
  // `region` is the validated kRegionPending of a mapped segment.
  PendingTable(uint8_t* region, uint32_t shard_count, uint32_t slots_per_shard);

  // Lays out a new region (zeroed memory): mutexes, sequence numbers, the
  // instance id.
  void Initialize(uint64_t instance);

  Status Record(uint64_t key, int64_t at_ms);
  // Starts loading what Record(key) will touch.
  void Prefetch(uint64_t key) const;
  void ForEach(const std::function<void(const PendingAccess&)>& visit);
  PendingTotals Totals();
  uint64_t FullestPercent();

  bool LockFlush(uint32_t wait_ms);
  void UnlockFlush();
  std::vector<PendingBatch> Freeze();
  void Release(const PendingBatch& batch);
  uint64_t instance() const { return header_->instance; }

 private:
  RobustLock LockShard(uint32_t shard);
  PendingSlot* Table(uint32_t shard, uint32_t table) const;
  void Repair(uint32_t shard);

  PendingHeader* header_ = nullptr;
  PendingShard* shards_ = nullptr;
  PendingSlot* slots_ = nullptr;
  uint32_t shard_count_ = 0;
  uint32_t slots_per_shard_ = 0;
};

}  // namespace shmcache::internal

#endif  // SHMCACHE_SRC_PENDING_TABLE_H_
