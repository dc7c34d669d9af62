// The pending-access table inside a segment: see layout.h for the bytes and
// the crash argument, shmcache.h (AccessFlush) for how flushers use it.
#ifndef SHMCACHE_SRC_PENDING_TABLE_H_
#define SHMCACHE_SRC_PENDING_TABLE_H_

#include <sys/types.h>

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

  // Counts one access: without a lock through `recorder` (a slot from
  // ClaimRecorder), or under the shard's mutex when it is -1.
  Status Record(uint64_t key, int64_t at_ms, int recorder);
  // A recorder slot for this process (layout.h, RecorderSlot), or -1 when all
  // are taken by live processes.
  int ClaimRecorder();
  // Gives back this process's slot; no record may be in progress through it.
  void ReleaseRecorder(int recorder);
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
  RobustLock LockShard(uint32_t shard, uint32_t wait_ms);
  Status AddTo(uint32_t shard, uint32_t table, uint64_t mixed, uint64_t key, int64_t at_ms);
  bool RecorderAlive(const RecorderSlot& r) const;
  // True once every recorder slot was seen with no record in progress (or
  // with a dead owner); false after kQuiescenceWait.
  bool RecordersQuiet() const;
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
