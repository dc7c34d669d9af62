// The segment: creation and attach (Boost.Interprocess), validation of
// everything read back from shared memory, and the per-shard ring of
// contiguous entries with its eviction. See shmcache.h for the contract and layout.h for the bytes.
#include <dirent.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/permissions.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <algorithm>
#include <cstdio>
#include <mutex>
#include <random>
#include <cstring>

#include "layout.h"
#include "liveness.h"
#include "pending_table.h"
#include "robust_mutex.h"
#include "shmcache/shmcache.h"

namespace shmcache {
namespace bip = boost::interprocess;
using namespace internal;

namespace {

void (*g_put_crash_point)() = nullptr;

// Counts forks in this process's line (see Impl::Counters).
std::atomic<uint64_t> g_forks{0};
[[maybe_unused]] const int g_fork_handler = pthread_atfork(nullptr, nullptr, [] { g_forks.fetch_add(1); });

constexpr uint64_t kMinSegmentBytes = 64 * 1024;
constexpr uint64_t kMaxSegmentBytes = 1ull << 40;
constexpr uint64_t kMaxEntryLimit = 1ull << 30;  // value_bytes is stored in 32 bits
// Lock-free reads that meet a writer retry this often before taking the lock.
constexpr int kUnlockedReadAttempts = 4;

uint64_t AlignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

bool IsPowerOfTwo(uint64_t value) { return value != 0 && (value & (value - 1)) == 0; }

template <typename T>
T LoadField(const uint8_t* chunk, uint32_t offset) {
  T value;
  std::memcpy(&value, chunk + offset, sizeof value);
  return value;
}

template <typename T>
void StoreField(uint8_t* chunk, uint32_t offset, T value) {
  std::memcpy(chunk + offset, &value, sizeof value);
}

Error MakeError(Status status, std::string message) { return Error{status, std::move(message)}; }

// The seqlock's fences. TSan does not model fences, and its builds read under
// the lock (see Read), so they need none.
void SeqlockFence(std::memory_order order) {
#ifndef __SANITIZE_THREAD__
  std::atomic_thread_fence(order);
#else
  (void)order;
#endif
}

// Thrown while a shard lock is held when the shard's own links do not add
// up; the operation resets the shard and reports a miss.
struct ShardCorrupt {};

}  // namespace

bool internal::ComputeGeometry(uint64_t segment_bytes, uint32_t shard_count, uint32_t chunk_bytes,
                               uint32_t pending_slots_per_shard, Geometry* g) {
  if (!IsPowerOfTwo(shard_count) || shard_count > kMaxShards) return false;
  if (chunk_bytes < kMinChunkBytes || chunk_bytes > kMaxChunkBytes || chunk_bytes % 8 != 0) return false;
  if (!IsPowerOfTwo(pending_slots_per_shard) || pending_slots_per_shard < kMinPendingSlots ||
      pending_slots_per_shard > kMaxPendingSlots) {
    return false;
  }
  g->header_bytes = AlignUp(sizeof(Header), 64);
  g->shards_offset = g->header_bytes;
  g->shards_bytes = uint64_t{shard_count} * sizeof(ShardHeader);
  g->pending_offset = AlignUp(g->shards_offset + g->shards_bytes, 64);
  g->pending_bytes = PendingRegionBytes(shard_count, pending_slots_per_shard);
  g->pending_slots_per_shard = pending_slots_per_shard;
  g->arenas_offset = AlignUp(g->pending_offset + g->pending_bytes, kPage);
  // The pending table may take at most half the segment.
  if (segment_bytes < g->arenas_offset || g->pending_bytes > segment_bytes / 2) return false;
  g->arena_bytes_per_shard = (segment_bytes - g->arenas_offset) / shard_count / 64 * 64;
  // One bucket per 128 to 256 bytes of arena: chains stay short down to
  // entries of that size, for 2-3% of the memory.
  uint64_t buckets = 1;
  while (buckets * 2 * 256 <= g->arena_bytes_per_shard) buckets *= 2;
  const uint64_t bucket_bytes = AlignUp(buckets * sizeof(uint32_t), 64);
  if (g->arena_bytes_per_shard <= bucket_bytes) return false;
  const uint64_t chunks = (g->arena_bytes_per_shard - bucket_bytes) / chunk_bytes;
  if (chunks < 4 || chunks >= kNil) return false;
  g->buckets_per_shard = static_cast<uint32_t>(buckets);
  g->chunks_per_shard = static_cast<uint32_t>(chunks);
  return true;
}

struct Segment::Impl {
  std::string name;
  bip::mapped_region region;
  Header* header = nullptr;
  uint8_t* base = nullptr;
  Limits limits{};
  Geometry geometry{};
  std::string label;  // copied from the header once it was validated
  bool created = false;
  // This process's slot of reader counters. A process forked after attaching
  // (a pre-forking server) must not share its parent's: the slot is chosen
  // again from the pid after every fork.
  // The segment file's identity: a name removed and made again names
  // another.
  dev_t dev = 0;
  ino_t ino = 0;
  bool RememberIdentity(int fd, struct stat* out = nullptr) {
    struct stat st;
    if (fstat(fd, &st) != 0) return false;
    if (out != nullptr) *out = st;
    dev = st.st_dev;
    ino = st.st_ino;
    return true;
  }
  // This process's reader-counter slot, chosen again after a fork; threads
  // may race to choose it (the same slot), hence atomics (plain loads on x86).
  mutable std::atomic<size_t> reader_slot{0};
  mutable std::atomic<uint64_t> reader_slot_forks{~uint64_t{0}};
  PendingTable pending;

  // This process's recorder slot in the pending table, claimed on first use
  // and again after a fork (the parent's stays the parent's): the fork count
  // in the high half, the slot + 2 in the low half (1: none was free, records
  // take the shard's mutex); 0 until claimed.
  std::atomic<uint64_t> recorder_state{0};
  std::mutex recorder_mutex;

  int Recorder() {
    const uint64_t forks = g_forks.load(std::memory_order_relaxed) & 0xffffffffu;
    uint64_t state = recorder_state.load(std::memory_order_acquire);
    if (state == 0 || (state >> 32) != forks) {
      std::lock_guard lock(recorder_mutex);
      state = recorder_state.load(std::memory_order_acquire);
      if (state == 0 || (state >> 32) != forks) {
        state = (forks << 32) | static_cast<uint64_t>(pending.ClaimRecorder() + 2);
        recorder_state.store(state, std::memory_order_release);
      }
    }
    return static_cast<int>(state & 0xffffffffu) - 2;
  }

  ~Impl() {
    // No call is in progress: the slot goes back, unless it is a parent's.
    const uint64_t state = recorder_state.load(std::memory_order_acquire);
    if (state != 0 && (state >> 32) == (g_forks.load() & 0xffffffffu)) {
      pending.ReleaseRecorder(static_cast<int>(state & 0xffffffffu) - 2);
    }
  }

  void MapPendingTable() {
    pending = PendingTable(base + geometry.pending_offset, limits.shard_count,
                           geometry.pending_slots_per_shard);
  }

  static std::unique_ptr<Impl> Attach(const std::string& name, const OwnerCheck& check, Error* error);
  static std::unique_ptr<Impl> AttachFormat(const std::string& name, uint32_t value_format, const OwnerCheck& check,
                                            Error* error);

  // One shard's memory, located from the validated geometry (never from
  // offsets stored in the shard itself).
  struct Shard {
    ShardHeader* h;
    uint32_t* buckets;
    uint8_t* chunks;
    uint32_t chunk_count;
    uint32_t bucket_mask;
    uint32_t chunk_bytes;

    uint8_t* Chunk(uint32_t index) const {
      if (index >= chunk_count) throw ShardCorrupt{};
      return chunks + uint64_t{index} * chunk_bytes;
    }
  };

  Shard ShardAt(uint32_t index) const {
    uint8_t* arena = base + geometry.arenas_offset + uint64_t{index} * geometry.arena_bytes_per_shard;
    auto* shard_headers = reinterpret_cast<ShardHeader*>(base + geometry.shards_offset);
    return Shard{&shard_headers[index],
                 reinterpret_cast<uint32_t*>(arena),
                 arena + AlignUp(uint64_t{geometry.buckets_per_shard} * sizeof(uint32_t), 64),
                 geometry.chunks_per_shard,
                 geometry.buckets_per_shard - 1,
                 limits.chunk_bytes};
  }

  Shard ShardFor(uint64_t key, uint32_t* bucket) const {
    const uint64_t mixed = MixKey(key);
    Shard shard = ShardAt(static_cast<uint32_t>(mixed) & (limits.shard_count - 1));
    *bucket = static_cast<uint32_t>(mixed >> 32) & shard.bucket_mask;
    return shard;
  }

  // Drops every entry of the shard: an empty ring, empty buckets.
  // Statistics and the fence survive: a reset must not let an old snapshot
  // back in.
  static void ResetShard(const Shard& s) {
    for (uint32_t i = 0; i <= s.bucket_mask; ++i) s.buckets[i] = kNil;
    s.h->ring_head = s.h->ring_tail = 0;
    s.h->free_chunks = s.chunk_count;
    s.h->entries = 0;
    s.h->value_bytes = 0;
    s.h->used_chunks = 0;
  }

  // Holds a shard's robust mutex. If its last owner died holding it, the
  // shard may be half-updated: it is reset before anyone reads it. Lock-free
  // readers must see the reset happen: odd while it runs, a new even value
  // after.
  static RobustLock LockShard(const Shard& shard, uint32_t wait_ms) {
    return RobustLock(&shard.h->mutex, wait_ms, [&shard] {
      const uint32_t odd = shard.h->seq.load(std::memory_order_relaxed) | 1u;
      shard.h->seq.store(odd, std::memory_order_relaxed);
      SeqlockFence(std::memory_order_release);
      ResetShard(shard);
      ++shard.h->lock_recoveries;
      shard.h->seq.store(odd + 1, std::memory_order_release);
    });
  }

  // Runs `body` under the shard lock, waiting up to `wait_ms` for it; a
  // corrupt shard is reset, counted, and `on_corrupt` returned instead;
  // `on_unlocked` when the lock could not be taken (a live holder did not
  // let go: nothing was done).
  // Lock-free readers see the sequence number odd meanwhile; a holder that
  // died left it odd, and the next one carries on from there.
  template <typename Body, typename Result>
  Result LockedShard(const Shard& shard, uint32_t wait_ms, Result on_unlocked, Result on_corrupt, Body&& body) {
    RobustLock lock = LockShard(shard, wait_ms);
    if (!lock.locked()) return on_unlocked;
    const uint32_t odd = shard.h->seq.load(std::memory_order_relaxed) | 1u;
    shard.h->seq.store(odd, std::memory_order_relaxed);
    SeqlockFence(std::memory_order_release);
    struct SeqEnd {
      std::atomic<uint32_t>& seq;
      uint32_t odd;
      ~SeqEnd() { seq.store(odd + 1, std::memory_order_release); }
    } end{shard.h->seq, odd};
    try {
      return body();
    } catch (const ShardCorrupt&) {
      ResetShard(shard);
      ++shard.h->corruption_resets;
      return on_corrupt;
    }
  }
  // What may be skipped (a read, a fill, statistics): a short wait, and
  // `on_failure` when the lock was not had or the shard was corrupt.
  template <typename Body, typename Result>
  Result WithShard(const Shard& shard, Result on_failure, Body&& body) {
    return LockedShard(shard, kOptionalLockWaitMs, on_failure, on_failure, std::forward<Body>(body));
  }
  // What must be done (raising fences, invalidating, clearing): the long
  // wait. False only when the lock could not be had; a corrupt shard is
  // reset, which leaves nothing to invalidate and keeps its fence, so that
  // counts as done.
  template <typename Body>
  bool MustWithShard(const Shard& shard, Body&& body) {
    return LockedShard(shard, kLockWaitMs, false, true, [&] {
      body();
      return true;
    });
  }

  // Runs `body(shard, bucket, index)` on `key`'s entry under its shard lock;
  // kNotFound when there is none.
  template <typename Body>
  Status WithEntry(uint64_t key, Body&& body) {
    uint32_t bucket;
    const Shard s = ShardFor(key, &bucket);
    return WithShard(s, Status::kNotFound, [&] {
      const uint32_t index = Find(s, bucket, key);
      if (index == kNil) return Status::kNotFound;
      return body(s, bucket, index);
    });
  }

  ReaderCounters& Counters() const {
    const uint64_t forks = g_forks.load(std::memory_order_relaxed);
    if (forks != reader_slot_forks.load(std::memory_order_acquire)) {
      reader_slot.store(static_cast<size_t>(getpid()) % kReaderSlots, std::memory_order_relaxed);
      reader_slot_forks.store(forks, std::memory_order_release);
    }
    return header->reader_counters[reader_slot.load(std::memory_order_relaxed)];
  }

  enum class ReadOutcome { kHit, kMiss, kUnsettled };

  // Reads `key` without the lock: copies the value into allocate(bytes) and
  // checks the shard's sequence number did not move meanwhile. kUnsettled
  // when a writer was active or the links did not add up (a torn read, not
  // corruption: the caller retries or takes the lock). *saturated says
  // whether the entry's use count is already at its top (nothing to write).
  ReadOutcome ReadUnlocked(const Shard& s, uint32_t bucket, uint64_t key,
                           Allocator allocate, void* context, uint64_t* version, bool* saturated) const {
    const uint32_t before = s.h->seq.load(std::memory_order_acquire);
    if ((before & 1u) != 0) return ReadOutcome::kUnsettled;
    ReadOutcome outcome = ReadOutcome::kMiss;
    try {
      const uint32_t index = Find(s, bucket, key);
      if (index != kNil) {
        const uint8_t* chunk = s.Chunk(index);
        const uint32_t bytes = ValueBytes(s, index);
        *version = LoadField<uint64_t>(chunk, kOffVersion);
        *saturated = (LoadField<uint32_t>(chunk, kOffFlags) & kUsesMask) == kUsesMask;
        // Only a settled size is worth allocating for.
        SeqlockFence(std::memory_order_acquire);
        if (s.h->seq.load(std::memory_order_relaxed) != before) return ReadOutcome::kUnsettled;
        char* out = allocate(context, bytes);
        if (out == nullptr) return ReadOutcome::kMiss;
        std::memcpy(out, Value(s, index), bytes);
        outcome = ReadOutcome::kHit;
      }
    } catch (const ShardCorrupt&) {
      return ReadOutcome::kUnsettled;
    }
    SeqlockFence(std::memory_order_acquire);
    if (s.h->seq.load(std::memory_order_relaxed) != before) return ReadOutcome::kUnsettled;
    return outcome;
  }

  // The read under the lock, for when reading without it does not settle
  // or the entry has to be marked as used.
  Status ReadLocked(uint64_t key, Allocator allocate, void* context, uint64_t* version) {
    return WithEntry(key, [&](const Shard& s, uint32_t, uint32_t index) {
      uint8_t* chunk = s.Chunk(index);
      const uint32_t bytes = ValueBytes(s, index);
      char* out = allocate(context, bytes);
      if (out == nullptr) return Status::kNotFound;
      std::memcpy(out, Value(s, index), bytes);
      *version = LoadField<uint64_t>(chunk, kOffVersion);
      CountUse(chunk);
      return Status::kOk;
    });
  }

  // One more use, up to the top of the count (under the lock).
  static void CountUse(uint8_t* chunk) {
    const uint32_t flags = LoadField<uint32_t>(chunk, kOffFlags);
    if ((flags & kUsesMask) != kUsesMask) StoreField<uint32_t>(chunk, kOffFlags, flags + 1);
  }

  void MarkUsed(uint64_t key) {
    WithEntry(key, [&](const Shard& s, uint32_t, uint32_t index) {
      CountUse(s.Chunk(index));
      return Status::kOk;
    });
  }

  Status Read(uint64_t key, Allocator allocate, void* context, uint64_t* version) {
    uint32_t bucket;
    [[maybe_unused]] const Shard s = ShardFor(key, &bucket);  // unused by the TSan build
    uint64_t found_version = 0;
    Status status = Status::kNotFound;
    bool settled = false;
#ifndef __SANITIZE_THREAD__
    // TSan cannot see that a seqlock's racing reads are discarded: its build
    // always reads under the lock.
    for (int attempt = 0; attempt < kUnlockedReadAttempts && !settled; ++attempt) {
      bool saturated = true;
      switch (ReadUnlocked(s, bucket, key, allocate, context, &found_version, &saturated)) {
        case ReadOutcome::kHit:
          if (!saturated) MarkUsed(key);
          status = Status::kOk;
          settled = true;
          break;
        case ReadOutcome::kMiss:
          settled = true;
          break;
        case ReadOutcome::kUnsettled:
          break;
      }
    }
#endif
    if (!settled) status = ReadLocked(key, allocate, context, &found_version);
    if (status == Status::kOk) {
      Counters().hits.fetch_add(1, std::memory_order_relaxed);
      if (version != nullptr) *version = found_version;
    } else {
      Counters().misses.fetch_add(1, std::memory_order_relaxed);
    }
    return status;
  }

  // --- entries, all under the shard lock (Find also without it) -----------

  // The first chunk of `key`'s entry, or kNil.
  static uint32_t Find(const Shard& s, uint32_t bucket, uint64_t key) {
    uint32_t index = s.buckets[bucket];
    for (uint32_t steps = 0; index != kNil; ++steps) {
      if (steps > s.chunk_count) throw ShardCorrupt{};  // a cycle
      const uint8_t* chunk = s.Chunk(index);
      if (LoadField<uint64_t>(chunk, kOffKey) == key) return index;
      index = LoadField<uint32_t>(chunk, kOffHashNext);
    }
    return kNil;
  }

  // Value length of the entry at `index`, checked against the limits and
  // the ring: its value ends inside the shard.
  uint32_t ValueBytes(const Shard& s, uint32_t index) const {
    const uint32_t bytes = LoadField<uint32_t>(s.Chunk(index), kOffValueBytes);
    if (bytes > limits.max_entry_bytes || index + ChunksFor(bytes, s.chunk_bytes) > s.chunk_count) {
      throw ShardCorrupt{};
    }
    return bytes;
  }

  // The entry's value, contiguous after its header.
  static const uint8_t* Value(const Shard& s, uint32_t index) { return s.Chunk(index) + kRecordHeader; }

  // The link that points at `index` in its bucket's chain.
  static uint32_t* LinkTo(const Shard& s, uint32_t bucket, uint32_t index) {
    uint32_t* link = &s.buckets[bucket];
    for (uint32_t steps = 0; *link != index; ++steps) {
      if (*link == kNil || steps > s.chunk_count) throw ShardCorrupt{};
      link = reinterpret_cast<uint32_t*>(s.Chunk(*link) + kOffHashNext);
    }
    return link;
  }

  uint32_t BucketOf(const Shard& s, uint32_t index) const {
    return static_cast<uint32_t>(MixKey(LoadField<uint64_t>(s.Chunk(index), kOffKey)) >> 32) & s.bucket_mask;
  }

  // Unlinks the entry from its bucket and marks it dead: its chunks come
  // back when the ring's tail reaches them.
  void RemoveEntry(const Shard& s, uint32_t bucket, uint32_t index) {
    uint8_t* chunk = s.Chunk(index);
    const uint32_t value_bytes = ValueBytes(s, index);
    *LinkTo(s, bucket, index) = LoadField<uint32_t>(chunk, kOffHashNext);
    StoreField<uint32_t>(chunk, kOffFlags, kDead);
    s.h->used_chunks -= ChunksFor(value_bytes, s.chunk_bytes);
    s.h->value_bytes -= value_bytes;
    s.h->entries -= 1;
  }

  // The span of the record at the ring's tail, checked: it lies inside the
  // shard and inside the used part of the ring.
  static uint32_t TailSpan(const Shard& s) {
    const uint32_t tail = s.h->ring_tail;
    const uint32_t span = LoadField<uint32_t>(s.Chunk(tail), kOffSpan);
    const uint32_t used = s.chunk_count - s.h->free_chunks;
    if (span == 0 || span > used || uint64_t{tail} + span > s.chunk_count) throw ShardCorrupt{};
    return span;
  }

  static uint32_t Wrap(const Shard& s, uint64_t index) {
    return index == s.chunk_count ? 0 : static_cast<uint32_t>(index);
  }

  // Frees the ring's oldest record. A pad or dead entry is dropped. A live
  // entry read since the tail last passed it gets another pass with one use
  // less: it moves to the head (the free chunks lie just before it, so the
  // move is one memmove, or none when the ring is full). Otherwise it is
  // evicted. Each pass clears uses, which bounds the caller's loop.
  void AdvanceTail(const Shard& s) {
    const uint32_t tail = s.h->ring_tail;
    const uint32_t head = s.h->ring_head;
    const uint32_t span = TailSpan(s);
    uint8_t* record = s.Chunk(tail);
    const uint32_t flags = LoadField<uint32_t>(record, kOffFlags);
    if ((flags & (kDead | kPad)) != 0) {
      s.h->ring_tail = Wrap(s, uint64_t{tail} + span);
      s.h->free_chunks += span;
      return;
    }
    const uint32_t uses = flags & kUsesMask;
    const bool free_before = s.h->free_chunks == 0 || head < tail;
    if (uses > 0 && free_before) {
      StoreField<uint32_t>(record, kOffFlags, flags - 1);
      if (s.h->free_chunks != 0) {
        ValueBytes(s, tail);  // its links are checked before anything moves
        uint32_t* link = LinkTo(s, BucketOf(s, tail), tail);
        std::memmove(s.Chunk(head), record, uint64_t{span} * s.chunk_bytes);
        *link = head;
      }
      s.h->ring_head = Wrap(s, uint64_t{head} + span);
      s.h->ring_tail = Wrap(s, uint64_t{tail} + span);
      return;
    }
    RemoveEntry(s, BucketOf(s, tail), tail);
    ++s.h->evictions;
    s.h->ring_tail = Wrap(s, uint64_t{tail} + span);
    s.h->free_chunks += span;
  }

  // Makes `chunks` consecutive free chunks at the ring's head.
  void MakeRoom(const Shard& s, uint32_t chunks) {
    // Each step frees chunks, pads, or takes a use off an entry: bounded.
    const uint64_t max_steps = 8 * uint64_t{s.chunk_count} + 8;
    for (uint64_t step = 0;; ++step) {
      if (step > max_steps) throw ShardCorrupt{};
      if (s.h->free_chunks > s.chunk_count) throw ShardCorrupt{};
      if (s.h->free_chunks == s.chunk_count) s.h->ring_head = s.h->ring_tail = 0;
      const uint32_t head = s.h->ring_head;
      const uint32_t tail = s.h->ring_tail;
      if (head >= s.chunk_count || tail >= s.chunk_count) throw ShardCorrupt{};
      const uint32_t free = s.h->free_chunks;
      const uint32_t contiguous = free == 0 ? 0 : head < tail ? tail - head : s.chunk_count - head;
      if (contiguous >= chunks) return;
      if (free != 0 && head >= tail) {
        // The free chunks run to the end and on from 0: pad the end.
        uint8_t* pad = s.Chunk(head);
        StoreField<uint32_t>(pad, kOffFlags, kPad);
        StoreField<uint32_t>(pad, kOffSpan, contiguous);
        s.h->free_chunks -= contiguous;
        s.h->ring_head = 0;
        continue;
      }
      AdvanceTail(s);
    }
  }

  Status Insert(const Shard& s, uint32_t bucket, uint64_t key, std::string_view value,
                uint64_t version) {
    const uint32_t existing = Find(s, bucket, key);
    if (existing != kNil) RemoveEntry(s, bucket, existing);
    const auto chunks = static_cast<uint32_t>(ChunksFor(value.size(), s.chunk_bytes));
    MakeRoom(s, chunks);
    const uint32_t index = s.h->ring_head;
    uint8_t* record = s.Chunk(index);
    if (!value.empty()) std::memcpy(record + kRecordHeader, value.data(), value.size());
    StoreField<uint32_t>(record, kOffSpan, chunks);
    s.h->ring_head = Wrap(s, uint64_t{index} + chunks);
    s.h->free_chunks -= chunks;
    if (g_put_crash_point != nullptr) g_put_crash_point();

    StoreField<uint64_t>(record, kOffKey, key);
    StoreField<uint64_t>(record, kOffVersion, version);
    StoreField<uint32_t>(record, kOffValueBytes, static_cast<uint32_t>(value.size()));
    StoreField<uint32_t>(record, kOffFlags, 0);
    StoreField<uint32_t>(record, kOffHashNext, s.buckets[bucket]);
    s.buckets[bucket] = index;
    s.h->entries += 1;
    s.h->value_bytes += value.size();
    s.h->used_chunks += chunks;
    ++s.h->inserts;
    return Status::kOk;
  }

  // Calls `visit(index, rank)` for every live entry of the shard, oldest
  // first; rank is its place in the eviction order (0 = the last to go).
  template <typename Visit>
  void ForEachEntry(const Shard& s, Visit&& visit) const {
    // More free chunks than the shard has would make `remaining` wrap: a
    // walk round and round a full ring.
    if (s.h->free_chunks > s.chunk_count) throw ShardCorrupt{};
    uint32_t at = s.h->ring_tail;
    uint64_t remaining = s.chunk_count - uint64_t{s.h->free_chunks};
    uint64_t position = 0;
    while (remaining > 0) {
      const uint32_t span = LoadField<uint32_t>(s.Chunk(at), kOffSpan);
      if (span == 0 || span > remaining || uint64_t{at} + span > s.chunk_count) throw ShardCorrupt{};
      if ((LoadField<uint32_t>(s.Chunk(at), kOffFlags) & (kDead | kPad)) == 0) {
        if (position >= s.h->entries) throw ShardCorrupt{};
        visit(at, s.h->entries - 1 - position);
        ++position;
      }
      remaining -= span;
      at = Wrap(s, uint64_t{at} + span);
    }
  }

  EntryInfo Info(const Shard& s, uint32_t index, uint64_t recency) const {
    const uint8_t* chunk = s.Chunk(index);
    return EntryInfo{LoadField<uint64_t>(chunk, kOffKey), LoadField<uint64_t>(chunk, kOffVersion),
                     ValueBytes(s, index), (LoadField<uint32_t>(chunk, kOffFlags) & kUsesMask) != 0,
                     recency};
  }
};

// --- creation and attach ---------------------------------------------------

namespace {

uint64_t PowerOfTwoAtMost(uint64_t value) {
  uint64_t power = 1;
  while (power * 2 <= value) power *= 2;
  return power;
}

uint32_t PendingSlotsPerShard(const Options& o) {
  const uint64_t total =
      o.pending_slots != 0 ? o.pending_slots : std::min<uint64_t>(65536, o.capacity_bytes / 256);
  const uint64_t per_shard = PowerOfTwoAtMost(std::max<uint64_t>(1, total / std::max(1u, o.shard_count)));
  return static_cast<uint32_t>(std::clamp<uint64_t>(per_shard, kMinPendingSlots, kMaxPendingSlots));
}

uint64_t RandomInstance() {
  std::random_device device;
  uint64_t instance = 0;
  while (instance == 0) instance = (uint64_t{device()} << 32) ^ device();
  return instance;
}

Error CheckOptions(const Options& o, Geometry* g) {
  if (o.capacity_bytes < kMinSegmentBytes || o.capacity_bytes > kMaxSegmentBytes) {
    return MakeError(Status::kInvalidArgument,
                     "capacity_bytes must be between 64 KiB and 1 TiB, got " +
                         std::to_string(o.capacity_bytes));
  }
  if (o.label.size() > kMaxLabelBytes) {
    return MakeError(Status::kInvalidArgument, "label must be at most " + std::to_string(kMaxLabelBytes) +
                                                   " bytes, got " + std::to_string(o.label.size()));
  }
  if (o.max_entry_bytes == 0 || o.max_entry_bytes > kMaxEntryLimit) {
    return MakeError(Status::kInvalidArgument, "max_entry_bytes must be between 1 and 1 GiB, got " +
                                                   std::to_string(o.max_entry_bytes));
  }
  if (!ComputeGeometry(o.capacity_bytes, o.shard_count, o.chunk_bytes, PendingSlotsPerShard(o), g)) {
    return MakeError(Status::kInvalidArgument,
                     "no layout fits: shard_count must be a power of two up to " +
                         std::to_string(kMaxShards) + ", chunk_bytes a multiple of 8 in [" +
                         std::to_string(kMinChunkBytes) + ", " + std::to_string(kMaxChunkBytes) +
                         "], the pending table at most half the segment, and every shard must"
                         " get at least 4 chunks (shard_count=" +
                         std::to_string(o.shard_count) + ", chunk_bytes=" +
                         std::to_string(o.chunk_bytes) + ", pending_slots=" +
                         std::to_string(o.pending_slots) + ")");
  }
  // A shard must hold a largest entry with room to spare, or one Put would
  // evict everything else in it.
  if (ChunksFor(o.max_entry_bytes, o.chunk_bytes) * 4 > g->chunks_per_shard) {
    return MakeError(Status::kInvalidArgument,
                     "max_entry_bytes " + std::to_string(o.max_entry_bytes) +
                         " is more than a quarter of a shard (" +
                         std::to_string(uint64_t{g->chunks_per_shard} * o.chunk_bytes) +
                         " bytes of chunks); raise capacity_bytes or lower shard_count");
  }
  return Error{};
}

void InitializeSegment(uint8_t* base, const Options& o, const Geometry& g) {
  auto* header = reinterpret_cast<Header*>(base);
  header->layout_version = kLayoutVersion;
  header->header_bytes = static_cast<uint32_t>(g.header_bytes);
  header->segment_bytes = o.capacity_bytes;
  header->creator_pid = static_cast<int32_t>(getpid());
  header->max_entry_bytes = o.max_entry_bytes;
  header->shard_count = o.shard_count;
  header->chunk_bytes = o.chunk_bytes;
  header->chunks_per_shard = g.chunks_per_shard;
  header->buckets_per_shard = g.buckets_per_shard;
  header->arena_bytes_per_shard = g.arena_bytes_per_shard;
  header->regions[0] = Region{kRegionShards, 0, g.shards_offset, g.shards_bytes};
  header->regions[1] =
      Region{kRegionArenas, 0, g.arenas_offset, g.arena_bytes_per_shard * o.shard_count};
  header->regions[2] = Region{kRegionPending, 0, g.pending_offset, g.pending_bytes};
  header->pending_slots_per_shard = g.pending_slots_per_shard;
  header->value_format = o.value_format;
  header->label_bytes.store(static_cast<uint32_t>(o.label.size()), std::memory_order_relaxed);
  std::memcpy(header->label, o.label.data(), o.label.size());
  PendingTable(base + g.pending_offset, o.shard_count, g.pending_slots_per_shard)
      .Initialize(RandomInstance());
  for (auto& counter : header->user_counters) counter.store(0, std::memory_order_relaxed);
  header->source_seq.store(0, std::memory_order_relaxed);
  for (auto& word : header->source_words) word.store(0, std::memory_order_relaxed);
  InitRobustMutex(&header->source_mutex);
  auto* shards = reinterpret_cast<ShardHeader*>(base + g.shards_offset);
  for (uint32_t i = 0; i < o.shard_count; ++i) {
    std::memset(static_cast<void*>(&shards[i]), 0, sizeof(ShardHeader));
    InitRobustMutex(&shards[i].mutex);
  }
  header->magic = kMagic;
}

// Checks a mapped header against the file's size; fills *g, *limits and
// *label.
Error ValidateHeader(const Header& h, uint64_t file_bytes, Geometry* g, Limits* limits, std::string* label) {
  if (h.magic != kMagic) return MakeError(Status::kBadMagic, "not a shmcache segment (wrong magic number)");
  if (h.layout_version != kLayoutVersion) {
    return MakeError(Status::kBadLayoutVersion,
                     "segment has layout version " + std::to_string(h.layout_version) +
                         ", this build reads version " + std::to_string(kLayoutVersion) +
                         "; remove it once no process uses it");
  }
  if (file_bytes < h.segment_bytes) {
    return MakeError(Status::kTruncated, "segment is " + std::to_string(file_bytes) +
                                             " bytes, its header says " +
                                             std::to_string(h.segment_bytes));
  }
  if (h.segment_bytes < kMinSegmentBytes || h.segment_bytes > kMaxSegmentBytes ||
      h.max_entry_bytes == 0 || h.max_entry_bytes > kMaxEntryLimit ||
      !ComputeGeometry(h.segment_bytes, h.shard_count, h.chunk_bytes, h.pending_slots_per_shard, g)) {
    return MakeError(Status::kCorruptHeader, "segment header has sizes that fit no layout");
  }
  const Region expected_shards{kRegionShards, 0, g->shards_offset, g->shards_bytes};
  const Region expected_arenas{kRegionArenas, 0, g->arenas_offset,
                               g->arena_bytes_per_shard * h.shard_count};
  const Region expected_pending{kRegionPending, 0, g->pending_offset, g->pending_bytes};
  auto same = [](const Region& a, const Region& b) {
    return a.kind == b.kind && a.offset == b.offset && a.bytes == b.bytes;
  };
  if (h.header_bytes != g->header_bytes || h.chunks_per_shard != g->chunks_per_shard ||
      h.buckets_per_shard != g->buckets_per_shard ||
      h.arena_bytes_per_shard != g->arena_bytes_per_shard || !same(h.regions[0], expected_shards) ||
      !same(h.regions[1], expected_arenas) || !same(h.regions[2], expected_pending) ||
      ChunksFor(h.max_entry_bytes, h.chunk_bytes) > g->chunks_per_shard) {
    return MakeError(Status::kCorruptHeader,
                     "segment header's region offsets or sizes are out of range for its size");
  }
  // Read once: whoever can write the segment could change it meanwhile.
  const uint32_t label_bytes = h.label_bytes.load(std::memory_order_relaxed);
  if (label_bytes > kMaxLabelBytes) {
    return MakeError(Status::kCorruptHeader, "segment header's label is " + std::to_string(label_bytes) +
                                                 " bytes, more than " + std::to_string(kMaxLabelBytes));
  }
  *limits = Limits{h.segment_bytes, uint64_t{g->chunks_per_shard} * h.shard_count * h.chunk_bytes,
                   h.max_entry_bytes, h.shard_count, h.chunk_bytes, h.layout_version,
                   h.pending_slots_per_shard, h.value_format};
  label->assign(h.label, label_bytes);
  return Error{};
}

Status StatusOf(const bip::interprocess_exception& e) {
  switch (e.get_error_code()) {
    case bip::not_found_error: return Status::kNoSegment;
    case bip::security_error: return Status::kPermission;
    default: return Status::kSystemError;
  }
}

}  // namespace

Segment::Segment(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
namespace {

// Where POSIX shared memory objects live on Linux (glibc's shm_open).
constexpr const char* kShmDirectory = "/dev/shm";
// The file of the object `name` ("/docstore-...").
std::string ShmPath(const std::string& name) { return kShmDirectory + name; }

// A segment being made is named <name><kCreatingInfix><pid>-<random>.
constexpr const char* kCreatingInfix = ".creating-";

// Removes what creators of `name` that died mid-way left behind.
void RemoveDeadCreatorsFiles(const std::string& name) {
  const std::string prefix = name.substr(1) + kCreatingInfix;
  DIR* dir = opendir(kShmDirectory);
  if (dir == nullptr) return;
  while (const dirent* entry = readdir(dir)) {
    const std::string file = entry->d_name;
    if (file.compare(0, prefix.size(), prefix) != 0) continue;
    const long pid = std::strtol(file.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && Ended(static_cast<pid_t>(pid))) unlink(ShmPath("/" + file).c_str());
  }
  closedir(dir);
}

// Whether to use the segment file `st` under `name`: one name only (a hard
// link would bring another database's segment here), a regular file, and
// an owner and mode `check` accepts. kUntrusted says why not.
Error Judge(const std::string& name, const struct stat& st, const OwnerCheck& check) {
  std::string why;
  if (!S_ISREG(st.st_mode)) {
    why = "not a regular file";
  } else if (st.st_nlink != 1) {
    why = "it has " + std::to_string(st.st_nlink) + " names (a hard link to another segment?)";
  } else if (check) {
    why = check(OwnerOf(st)).message;
  }
  return why.empty() ? Error{} : MakeError(Status::kUntrusted, name + ": " + why);
}

}  // namespace

Segment::~Segment() = default;

// Maps an existing segment and validates it. There is nothing to wait for:
// OpenOrCreate renames a segment to its name only once it is whole, so one
// that is too small or not ready is damaged (or an older build's).
std::unique_ptr<Segment::Impl> Segment::Impl::Attach(const std::string& name, const OwnerCheck& check,
                                                     Error* error) {
  auto impl = std::make_unique<Impl>();
  impl->name = name;
  // Judged by its name first (lstat needs no permission on the file), so that
  // one this user may not even open is still told apart as untrusted, then
  // as opened, which decides; both before a byte of it is read.
  struct stat named;
  if (lstat(ShmPath(name).c_str(), &named) == 0) {
    if (*error = Judge(name, named, check); !error->ok()) return nullptr;
  }
  bip::offset_t size = 0;
  try {
    bip::shared_memory_object shm(bip::open_only, name.c_str(), bip::read_write);
    if (!shm.get_size(size)) size = 0;
    struct stat opened;
    if (!impl->RememberIdentity(shm.get_mapping_handle().handle, &opened)) {
      *error = MakeError(Status::kSystemError, "cannot stat shared memory segment " + name + ": " + std::strerror(errno));
      return nullptr;
    }
    if (*error = Judge(name, opened, check); !error->ok()) return nullptr;
    if (static_cast<uint64_t>(size) >= sizeof(Header)) {
      impl->region = bip::mapped_region(shm, bip::read_write, 0, static_cast<size_t>(size));
    }
  } catch (const bip::interprocess_exception& e) {
    *error = MakeError(StatusOf(e), "cannot open shared memory segment " + name + ": " + e.what());
    return nullptr;
  }
  if (static_cast<uint64_t>(size) < sizeof(Header)) {
    *error = MakeError(Status::kTruncated,
                       name + ": segment is " + std::to_string(size) + " bytes, smaller than a header");
    return nullptr;
  }
  auto* header = static_cast<Header*>(impl->region.get_address());
  if (header->state.load(std::memory_order_acquire) != kReady && (header->magic == 0 || header->magic == kMagic)) {
    *error = MakeError(Status::kNotReady, name + ": its creator (pid " + std::to_string(header->creator_pid) +
                                              ") never finished initialising it; remove the segment");
    return nullptr;
  }
  *error = ValidateHeader(*header, static_cast<uint64_t>(size), &impl->geometry, &impl->limits, &impl->label);
  if (!error->ok()) {
    error->message = name + ": " + error->message;
    return nullptr;
  }
  impl->header = header;
  impl->base = static_cast<uint8_t*>(impl->region.get_address());
  impl->MapPendingTable();
  return impl;
}

// Attach, then refuse a segment whose values are of another format.
std::unique_ptr<Segment::Impl> Segment::Impl::AttachFormat(const std::string& name, uint32_t value_format,
                                                           const OwnerCheck& check, Error* error) {
  auto impl = Attach(name, check, error);
  if (impl != nullptr && impl->limits.value_format != value_format) {
    *error = MakeError(Status::kBadValueFormat,
                       name + ": segment holds values of format " + std::to_string(impl->limits.value_format) +
                           ", this process reads format " + std::to_string(value_format) +
                           " (another build); remove it once no process uses it");
    return nullptr;
  }
  return impl;
}

std::unique_ptr<Segment> Segment::Open(const std::string& name, Error* error, const OwnerCheck& check) {
  *error = Error{};
  auto impl = Impl::Attach(name, check, error);
  if (impl == nullptr) return nullptr;
  return std::unique_ptr<Segment>(new Segment(std::move(impl)));
}

std::unique_ptr<Segment> Segment::OpenOrCreate(const std::string& name, const Options& options,
                                               Error* error, const OwnerCheck& check) {
  *error = Error{};
  Geometry geometry{};
  *error = CheckOptions(options, &geometry);
  if (!error->ok()) {
    const Error invalid = *error;
    auto impl = Impl::AttachFormat(name, options.value_format, check, error);
    if (impl != nullptr) return std::unique_ptr<Segment>(new Segment(std::move(impl)));
    if (error->status == Status::kNoSegment) *error = invalid;
    return nullptr;
  }
  // Attach if it exists, else make one. A new segment is made whole under a
  // private name and only then renamed to `name` (RENAME_NOREPLACE fails if
  // another creator got there first: then that one is attached), so a
  // creator killed at any moment leaves nothing under `name` that others
  // would wait on, only its private file, which the next creator removes; and
  // the segment never has two names.
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto existing = Impl::AttachFormat(name, options.value_format, check, error);
    if (existing != nullptr) return std::unique_ptr<Segment>(new Segment(std::move(existing)));
    if (error->status != Status::kNoSegment) return nullptr;
    *error = Error{};
    RemoveDeadCreatorsFiles(name);
    const std::string private_name = name + kCreatingInfix + std::to_string(getpid()) + "-" +
                                     std::to_string(RandomInstance() & 0xffffffff);
    std::unique_ptr<Impl> impl;
    try {
      // Owner-only until it has the owner and group asked for, then exactly
      // the mode asked for (shm_open's is less the umask): no one else can
      // open it meanwhile and keep the descriptor.
      bip::shared_memory_object shm(bip::create_only, private_name.c_str(), bip::read_write,
                                    bip::permissions(S_IRUSR | S_IWUSR));
      impl = std::make_unique<Impl>();
      impl->name = name;
      const int fd = shm.get_mapping_handle().handle;
      if (((options.owner != static_cast<uid_t>(-1) || options.group != static_cast<gid_t>(-1)) &&
           fchown(fd, options.owner, options.group) != 0) ||
          fchmod(fd, options.mode) != 0) {
        const int failed = errno;
        Remove(private_name);
        *error = MakeError(failed == EPERM ? Status::kPermission : Status::kSystemError,
                           "cannot give segment " + name + " its owner, group and mode: " + std::strerror(failed));
        return nullptr;
      }
      impl->RememberIdentity(fd);
      // Reserve the pages now: on a full /dev/shm a sparse segment would
      // die of SIGBUS at first touch instead of failing here. Not when they
      // are not there: a reservation that fails part-way fills /dev/shm for
      // a moment, under others' sparse files too.
      struct statvfs room;
      if (fstatvfs(fd, &room) == 0 && uint64_t{room.f_bavail} * room.f_frsize < options.capacity_bytes) {
        Remove(private_name);
        *error = MakeError(Status::kSystemError,
                           "cannot reserve " + std::to_string(options.capacity_bytes) + " bytes for segment " + name +
                               ": " + std::to_string(uint64_t{room.f_bavail} * room.f_frsize) + " free in " +
                               kShmDirectory);
        return nullptr;
      }
      shm.truncate(static_cast<bip::offset_t>(options.capacity_bytes));
      const int rc = posix_fallocate(fd, 0, static_cast<off_t>(options.capacity_bytes));
      if (rc != 0) {
        Remove(private_name);
        *error = MakeError(Status::kSystemError, "cannot reserve " + std::to_string(options.capacity_bytes) +
                                                     " bytes for segment " + name + ": " + std::strerror(rc));
        return nullptr;
      }
      impl->region = bip::mapped_region(shm, bip::read_write, 0, options.capacity_bytes);
    } catch (const bip::interprocess_exception& e) {
      Remove(private_name);
      const bool no_directory = e.get_error_code() == bip::not_found_error;
      *error = MakeError(StatusOf(e), "cannot create shared memory segment " + name + ": " + e.what() +
                                          (no_directory ? std::string(" (no ") + kShmDirectory + "?)" : ""));
      return nullptr;
    }
    impl->base = static_cast<uint8_t*>(impl->region.get_address());
    impl->header = reinterpret_cast<Header*>(impl->base);
    impl->geometry = geometry;
    InitializeSegment(impl->base, options, geometry);
    ValidateHeader(*impl->header, options.capacity_bytes, &impl->geometry, &impl->limits, &impl->label);
    impl->created = true;
    for (uint32_t i = 0; i < options.shard_count; ++i) Impl::ResetShard(impl->ShardAt(i));
    impl->MapPendingTable();
    impl->header->state.store(kReady, std::memory_order_release);
    if (renameat2(AT_FDCWD, ShmPath(private_name).c_str(), AT_FDCWD, ShmPath(name).c_str(), RENAME_NOREPLACE) == 0) {
      return std::unique_ptr<Segment>(new Segment(std::move(impl)));
    }
    const int rename_errno = errno;
    Remove(private_name);
    if (rename_errno != EEXIST) {
      *error = MakeError(rename_errno == EACCES ? Status::kPermission : Status::kSystemError,
                         "cannot create shared memory segment " + name + ": rename: " + std::strerror(rename_errno));
      return nullptr;
    }
  }
  *error = MakeError(Status::kSystemError, name + ": created and removed too often to attach");
  return nullptr;
}

Error Segment::ValidateOptions(const Options& options) {
  Geometry geometry{};
  return CheckOptions(options, &geometry);
}

bool Segment::StillNamed() const {
  struct stat st;
  return lstat(ShmPath(impl_->name).c_str(), &st) == 0 && st.st_dev == impl_->dev && st.st_ino == impl_->ino;
}

bool Segment::Remove(const std::string& name) { return bip::shared_memory_object::remove(name.c_str()); }

const std::string& Segment::name() const { return impl_->name; }
const Limits& Segment::limits() const { return impl_->limits; }
const std::string& Segment::label() const { return impl_->label; }
bool Segment::created() const { return impl_->created; }

// --- operations ------------------------------------------------------------

Status Segment::CopyOut(uint64_t key, Allocator allocate, void* context, uint64_t* version) {
  return impl_->Read(key, allocate, context, version);
}

Status Segment::Get(uint64_t key, std::string* value, uint64_t* version) {
  return impl_->Read(
      key,
      [](void* context, size_t bytes) {
        auto* out = static_cast<std::string*>(context);
        out->resize(bytes);
        return out->data();
      },
      value, version);
}

Status Segment::Put(uint64_t key, std::string_view value, uint64_t version) {
  return PutIfFresh(key, value, version, UINT64_MAX);
}

Status Segment::PutIfFresh(uint64_t key, std::string_view value, uint64_t version, uint64_t snapshot) {
  Impl& impl = *impl_;
  uint32_t bucket;
  const Impl::Shard s = impl.ShardFor(key, &bucket);
  if (value.size() > impl.limits.max_entry_bytes) {
    RobustLock lock = impl_->LockShard(s, kOptionalLockWaitMs);
    if (lock.locked()) ++s.h->refused_too_large;
    return Status::kTooLarge;
  }
  return impl.WithShard(s, Status::kOk, [&] {
    if (snapshot < s.h->fence) {
      ++s.h->fenced_puts;
      return Status::kFenced;
    }
    return impl.Insert(s, bucket, key, value, version);
  });
}

Status Segment::PatchTail(uint64_t key, std::string_view bytes, uint64_t before_end) {
  Impl& impl = *impl_;
  return impl.WithEntry(key, [&](const Impl::Shard& s, uint32_t, uint32_t index) {
    const uint32_t value_bytes = impl.ValueBytes(s, index);
    if (before_end > value_bytes || bytes.size() > value_bytes - before_end) return Status::kInvalidArgument;
    std::memcpy(s.Chunk(index) + kRecordHeader + (value_bytes - before_end - bytes.size()), bytes.data(),
                bytes.size());
    return Status::kOk;
  });
}

bool Segment::RaiseFences(uint64_t fence) {
  bool all = true;
  for (uint32_t i = 0; i < impl_->limits.shard_count; ++i) {
    const Impl::Shard s = impl_->ShardAt(i);
    all &= impl_->MustWithShard(s, [&] {
      if (fence > s.h->fence) s.h->fence = fence;
    });
  }
  return all;
}

bool Segment::ResetFences(uint64_t fence) {
  bool all = true;
  for (uint32_t i = 0; i < impl_->limits.shard_count; ++i) {
    const Impl::Shard s = impl_->ShardAt(i);
    all &= impl_->MustWithShard(s, [&] { s.h->fence = fence; });
  }
  return all;
}

bool Segment::Invalidate(uint64_t key, uint64_t fence) {
  Impl& impl = *impl_;
  uint32_t bucket;
  const Impl::Shard s = impl.ShardFor(key, &bucket);
  return impl.MustWithShard(s, [&] {
    if (fence > s.h->fence) s.h->fence = fence;
    ++s.h->invalidations;
    const uint32_t index = Impl::Find(s, bucket, key);
    if (index != kNil) {
      impl.RemoveEntry(s, bucket, index);
      ++s.h->erases;
    }
  });
}

Status Segment::Erase(uint64_t key) {
  Impl& impl = *impl_;
  return impl.WithEntry(key, [&](const Impl::Shard& s, uint32_t bucket, uint32_t index) {
    impl.RemoveEntry(s, bucket, index);
    ++s.h->erases;
    return Status::kOk;
  });
}

bool Segment::Clear() {
  bool all = true;
  for (uint32_t i = 0; i < impl_->limits.shard_count; ++i) {
    const Impl::Shard s = impl_->ShardAt(i);
    all &= impl_->MustWithShard(s, [&] {
      s.h->erases += s.h->entries;
      Impl::ResetShard(s);
    });
  }
  return all;
}

Status Segment::Lookup(uint64_t key, EntryInfo* info) {
  Impl& impl = *impl_;
  return impl.WithEntry(key, [&](const Impl::Shard& s, uint32_t, uint32_t index) {
    // The entry's rank comes from a walk of the shard's ring: Lookup is for
    // inspection, not the hot path.
    Status status = Status::kNotFound;
    impl.ForEachEntry(s, [&](uint32_t at, uint64_t rank) {
      if (at != index) return;
      *info = impl.Info(s, at, rank);
      status = Status::kOk;
    });
    if (status != Status::kOk) throw ShardCorrupt{};  // linked, yet not in the ring
    return status;
  });
}

void Segment::ForEach(const std::function<void(const EntryInfo&)>& visit) {
  std::vector<EntryInfo> entries;
  for (uint32_t i = 0; i < impl_->limits.shard_count; ++i) {
    const Impl::Shard s = impl_->ShardAt(i);
    entries.clear();
    impl_->WithShard(s, 0, [&] {
      impl_->ForEachEntry(s, [&](uint32_t at, uint64_t rank) { entries.push_back(impl_->Info(s, at, rank)); });
      return 0;
    });
    for (const EntryInfo& entry : entries) visit(entry);
  }
}

Stats Segment::GetStats() {
  Stats total;
  for (uint32_t i = 0; i < impl_->limits.shard_count; ++i) {
    const Impl::Shard s = impl_->ShardAt(i);
    RobustLock lock = impl_->LockShard(s, kOptionalLockWaitMs);
    if (!lock.locked()) continue;
    const ShardHeader& h = *s.h;
    total.inserts += h.inserts;
    total.evictions += h.evictions;
    total.erases += h.erases;
    total.invalidations += h.invalidations;
    total.fenced_puts += h.fenced_puts;
    total.refused_too_large += h.refused_too_large;
    total.lock_recoveries += h.lock_recoveries;
    total.corruption_resets += h.corruption_resets;
    total.entries += h.entries;
    total.value_bytes += h.value_bytes;
    total.chunk_bytes_used += h.used_chunks * s.chunk_bytes;
  }
  for (const ReaderCounters& counters : impl_->header->reader_counters) {
    total.hits += counters.hits.load(std::memory_order_relaxed);
    total.misses += counters.misses.load(std::memory_order_relaxed);
  }
  total.capacity_bytes = impl_->limits.value_capacity_bytes;
  return total;
}

uint64_t Segment::UserCounter(size_t index) const {
  return index < kUserCounters ? impl_->header->user_counters[index].load(std::memory_order_acquire) : 0;
}

bool Segment::CompareExchangeUserCounter(size_t index, uint64_t expected, uint64_t desired) {
  if (index >= kUserCounters) return false;
  return impl_->header->user_counters[index].compare_exchange_strong(expected, desired,
                                                                       std::memory_order_acq_rel);
}

uint64_t Segment::AddUserCounter(size_t index, uint64_t delta) {
  if (index >= kUserCounters) return 0;
  return impl_->header->user_counters[index].fetch_add(delta, std::memory_order_acq_rel) + delta;
}

uint64_t Segment::EntryMetadataBytes(uint64_t, uint32_t) { return kRecordHeader; }

Status Segment::RecordAccess(uint64_t key, int64_t at_ms) {
  return impl_->pending.Record(key, at_ms, impl_->Recorder());
}

void Segment::PrefetchRecordAccess(uint64_t key) const { impl_->pending.Prefetch(key); }

void Segment::ForEachPending(const std::function<void(const PendingAccess&)>& visit) {
  impl_->pending.ForEach(visit);
}

PendingTotals Segment::GetPendingTotals() { return impl_->pending.Totals(); }

uint64_t Segment::PendingFullestPercent() { return impl_->pending.FullestPercent(); }

std::unique_ptr<AccessFlush> Segment::BeginFlush(uint32_t wait_ms) {
  if (!impl_->pending.LockFlush(wait_ms)) return nullptr;
  return std::unique_ptr<AccessFlush>(new AccessFlush(&impl_->pending));
}

bool Segment::SourceIs(const std::array<uint64_t, kObservedWords>& observed) const {
  // No position (none yet, or a publisher at work) matches nothing: the
  // caller brings the cache up to date itself.
  const SourcePosition published = Source();
  return published != SourcePosition{} && published.observed == observed;
}

SourcePosition Segment::Source() const {
  const Header& h = *impl_->header;
  for (int attempt = 0; attempt < 4; ++attempt) {
    const uint32_t before = h.source_seq.load(std::memory_order_acquire);
    if (before & 1) continue;
    std::array<uint64_t, kSourceWords> words;
    for (size_t i = 0; i < kSourceWords; ++i) words[i] = h.source_words[i].load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (h.source_seq.load(std::memory_order_relaxed) != before) continue;
    SourcePosition p;
    std::copy_n(words.begin(), kObservedWords, p.observed.begin());
    p.clock = words[kObservedWords];
    p.tag = words[kObservedWords + 1];
    return p;
  }
  // A publisher at work, or one killed mid-publish (the sequence stays odd
  // until the next SourceSync repairs it): no position, never a wait.
  return SourcePosition{};
}

std::unique_ptr<SourceSync> Segment::BeginSourceSync(uint32_t wait_ms) {
  Header& h = *impl_->header;
  const LockResult locked = LockWithin(&h.source_mutex, wait_ms);
  if (locked == LockResult::kTimedOut) return nullptr;
  std::unique_ptr<SourceSync> sync(new SourceSync(impl_.get()));
  if (locked == LockResult::kOwnerDied) {
    // Its holder may have died mid-publish: publish no position at all, so
    // that the next reader brings the cache up to date from scratch.
    sync->Publish(SourcePosition{});
    pthread_mutex_consistent(&h.source_mutex);
  }
  return sync;
}

SourceSync::SourceSync(Segment::Impl* impl) : impl_(impl) {}
SourceSync::~SourceSync() { pthread_mutex_unlock(&impl_->header->source_mutex); }

void SourceSync::Publish(const SourcePosition& position) {
  Header& h = *impl_->header;
  // Odd while writing, even after, whatever it was before.
  const uint32_t writing = h.source_seq.load(std::memory_order_relaxed) | 1;
  h.source_seq.store(writing, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  for (size_t i = 0; i < kObservedWords; ++i) h.source_words[i].store(position.observed[i], std::memory_order_relaxed);
  h.source_words[kObservedWords].store(position.clock, std::memory_order_relaxed);
  h.source_words[kObservedWords + 1].store(position.tag, std::memory_order_relaxed);
  h.source_seq.store(writing + 1, std::memory_order_release);
}

AccessFlush::AccessFlush(internal::PendingTable* table) : table_(table) {}
AccessFlush::~AccessFlush() { table_->UnlockFlush(); }
std::vector<PendingBatch> AccessFlush::Freeze() { return table_->Freeze(); }
void AccessFlush::Release(const PendingBatch& batch) { table_->Release(batch); }
uint64_t AccessFlush::instance() const { return table_->instance(); }

uint32_t LayoutVersion() { return kLayoutVersion; }

std::string_view StatusName(Status status) {
  switch (status) {
    case Status::kOk: return "ok";
    case Status::kNotFound: return "not found";
    case Status::kTooLarge: return "value too large";
    case Status::kFenced: return "fenced";
    case Status::kFull: return "full";
    case Status::kInvalidArgument: return "invalid argument";
    case Status::kNoSegment: return "no such segment";
    case Status::kPermission: return "permission denied";
    case Status::kBadMagic: return "bad magic";
    case Status::kBadLayoutVersion: return "bad layout version";
    case Status::kBadValueFormat: return "bad value format";
    case Status::kTruncated: return "truncated";
    case Status::kCorruptHeader: return "corrupt header";
    case Status::kNotReady: return "not ready";
    case Status::kUntrusted: return "untrusted";
    case Status::kSystemError: return "system error";
  }
  return "unknown";
}

namespace testing {
void SetPutCrashPointForTest(void (*hook)()) { g_put_crash_point = hook; }
}  // namespace testing

}  // namespace shmcache
