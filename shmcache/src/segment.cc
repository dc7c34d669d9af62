// The segment: creation and attach (Boost.Interprocess), validation of
// everything read back from shared memory, and the per-shard LRU over chunk
// chains. See shmcache.h for the contract and layout.h for the bytes.
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/permissions.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <algorithm>
#include <chrono>
#include <random>
#include <cstring>
#include <thread>

#include "layout.h"
#include "pending_table.h"
#include "robust_mutex.h"
#include "shmcache/shmcache.h"

namespace shmcache {
namespace bip = boost::interprocess;
using namespace internal;

namespace {

void (*g_put_crash_point)() = nullptr;

constexpr uint64_t kMinSegmentBytes = 64 * 1024;
constexpr uint64_t kMaxSegmentBytes = 1ull << 40;
constexpr uint64_t kMaxEntryLimit = 1ull << 30;  // value_bytes is stored in 32 bits
// Lock-free reads that meet a writer retry this often before taking the lock.
constexpr int kUnlockedReadAttempts = 4;
// How long an opener waits for a concurrent creator to finish initialising.
constexpr auto kReadyWait = std::chrono::seconds(2);

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
  // About one bucket per two chunks: a 1 KiB value takes five 256-byte chunks,
  // so chains stay short for any value size.
  const uint64_t rough_chunks = g->arena_bytes_per_shard / chunk_bytes;
  uint64_t buckets = 1;
  while (buckets * 4 <= rough_chunks) buckets *= 2;
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
  size_t reader_slot = static_cast<size_t>(getpid()) % kReaderSlots;
  PendingTable pending;

  void MapPendingTable() {
    pending = PendingTable(base + geometry.pending_offset, limits.shard_count,
                           geometry.pending_slots_per_shard);
  }

  static std::unique_ptr<Impl> Attach(const std::string& name, Error* error);
  static std::unique_ptr<Impl> AttachFormat(const std::string& name, uint32_t value_format, Error* error);

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

  // Drops every entry of the shard and rebuilds its free list. Statistics
  // and the fence survive: a reset must not let an old snapshot back in.
  static void ResetShard(const Shard& s) {
    for (uint32_t i = 0; i <= s.bucket_mask; ++i) s.buckets[i] = kNil;
    for (uint32_t i = 0; i < s.chunk_count; ++i) {
      StoreField<uint32_t>(s.chunks + uint64_t{i} * s.chunk_bytes, kOffNext,
                           i + 1 < s.chunk_count ? i + 1 : kNil);
    }
    s.h->free_head = 0;
    s.h->free_chunks = s.chunk_count;
    s.h->lru_head = s.h->lru_tail = kNil;
    s.h->entries = 0;
    s.h->value_bytes = 0;
    s.h->used_chunks = 0;
  }

  // Holds a shard's robust mutex. If its last owner died holding it, the
  // shard may be half-updated: it is reset before anyone reads it. Lock-free
  // readers must see the reset happen: odd while it runs, a new even value
  // after.
  static RobustLock LockShard(const Shard& shard) {
    return RobustLock(&shard.h->mutex, [&shard] {
      const uint32_t odd = shard.h->seq.load(std::memory_order_relaxed) | 1u;
      shard.h->seq.store(odd, std::memory_order_relaxed);
      SeqlockFence(std::memory_order_release);
      ResetShard(shard);
      ++shard.h->lock_recoveries;
      shard.h->seq.store(odd + 1, std::memory_order_release);
    });
  }

  // Runs `body` under the shard lock; a corrupt shard is reset, counted, and
  // `on_corrupt` returned instead.
  // Lock-free readers see the sequence number odd meanwhile; a holder that
  // died left it odd, and the next one carries on from there.
  template <typename Body, typename Result>
  Result WithShard(const Shard& shard, Result on_corrupt, Body&& body) {
    RobustLock lock = LockShard(shard);
    if (!lock.locked()) return on_corrupt;
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

  ReaderCounters& Counters() const { return header->reader_counters[reader_slot]; }

  enum class ReadOutcome { kHit, kMiss, kUnsettled };

  // Reads `key` without the lock: copies the value into allocate(bytes) and
  // checks the shard's sequence number did not move meanwhile. kUnsettled
  // when a writer was active or the links did not add up (a torn read, not
  // corruption: the caller retries or takes the lock). *referenced says
  // whether the entry is already marked as used.
  ReadOutcome ReadUnlocked(const Shard& s, uint32_t bucket, uint64_t key,
                           const std::function<char*(size_t bytes)>& allocate, uint64_t* version,
                           bool* referenced) const {
    const uint32_t before = s.h->seq.load(std::memory_order_acquire);
    if ((before & 1u) != 0) return ReadOutcome::kUnsettled;
    ReadOutcome outcome = ReadOutcome::kMiss;
    try {
      const uint32_t index = Find(s, bucket, key);
      if (index != kNil) {
        const uint8_t* chunk = s.Chunk(index);
        const uint32_t bytes = ValueBytes(s, index);
        *version = LoadField<uint64_t>(chunk, kOffVersion);
        *referenced = (LoadField<uint32_t>(chunk, kOffFlags) & kReferenced) != 0;
        // Only a settled size is worth allocating for.
        SeqlockFence(std::memory_order_acquire);
        if (s.h->seq.load(std::memory_order_relaxed) != before) return ReadOutcome::kUnsettled;
        char* out = allocate(bytes);
        if (out == nullptr) return ReadOutcome::kMiss;
        ReadValue(s, index, bytes, [&](const uint8_t* data, uint64_t n) {
          std::memcpy(out, data, n);
          out += n;
        });
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
  Status ReadLocked(uint64_t key, const std::function<char*(size_t bytes)>& allocate, uint64_t* version) {
    return WithEntry(key, [&](const Shard& s, uint32_t, uint32_t index) {
      uint8_t* chunk = s.Chunk(index);
      const uint32_t bytes = ValueBytes(s, index);
      char* out = allocate(bytes);
      if (out == nullptr) return Status::kNotFound;
      ReadValue(s, index, bytes, [&](const uint8_t* data, uint64_t n) {
        std::memcpy(out, data, n);
        out += n;
      });
      *version = LoadField<uint64_t>(chunk, kOffVersion);
      StoreField<uint32_t>(chunk, kOffFlags, LoadField<uint32_t>(chunk, kOffFlags) | kReferenced);
      return Status::kOk;
    });
  }

  void MarkReferenced(uint64_t key) {
    WithEntry(key, [&](const Shard& s, uint32_t, uint32_t index) {
      uint8_t* chunk = s.Chunk(index);
      StoreField<uint32_t>(chunk, kOffFlags, LoadField<uint32_t>(chunk, kOffFlags) | kReferenced);
      return Status::kOk;
    });
  }

  Status Read(uint64_t key, const std::function<char*(size_t bytes)>& allocate, uint64_t* version) {
    uint32_t bucket;
    const Shard s = ShardFor(key, &bucket);
    uint64_t found_version = 0;
    Status status = Status::kNotFound;
    bool settled = false;
#ifndef __SANITIZE_THREAD__
    // TSan cannot see that a seqlock's racing reads are discarded: its build
    // always reads under the lock.
    for (int attempt = 0; attempt < kUnlockedReadAttempts && !settled; ++attempt) {
      bool referenced = true;
      switch (ReadUnlocked(s, bucket, key, allocate, &found_version, &referenced)) {
        case ReadOutcome::kHit:
          if (!referenced) MarkReferenced(key);
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
    if (!settled) status = ReadLocked(key, allocate, &found_version);
    if (status == Status::kOk) {
      Counters().hits.fetch_add(1, std::memory_order_relaxed);
      if (version != nullptr) *version = found_version;
    } else {
      Counters().misses.fetch_add(1, std::memory_order_relaxed);
    }
    return status;
  }

  // --- entries, all under the shard lock -----------------------------------

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

  static void LruUnlink(const Shard& s, uint32_t index) {
    uint8_t* chunk = s.Chunk(index);
    const uint32_t prev = LoadField<uint32_t>(chunk, kOffLruPrev);
    const uint32_t next = LoadField<uint32_t>(chunk, kOffLruNext);
    if (prev == kNil) {
      if (s.h->lru_head != index) throw ShardCorrupt{};
      s.h->lru_head = next;
    } else {
      StoreField<uint32_t>(s.Chunk(prev), kOffLruNext, next);
    }
    if (next == kNil) {
      if (s.h->lru_tail != index) throw ShardCorrupt{};
      s.h->lru_tail = prev;
    } else {
      StoreField<uint32_t>(s.Chunk(next), kOffLruPrev, prev);
    }
  }

  static void LruPushFront(const Shard& s, uint32_t index) {
    uint8_t* chunk = s.Chunk(index);
    const uint32_t old_head = s.h->lru_head;
    StoreField<uint32_t>(chunk, kOffLruPrev, kNil);
    StoreField<uint32_t>(chunk, kOffLruNext, old_head);
    if (old_head == kNil) {
      s.h->lru_tail = index;
    } else {
      StoreField<uint32_t>(s.Chunk(old_head), kOffLruPrev, index);
    }
    s.h->lru_head = index;
  }

  // Value length of the entry at `index`, checked against the limits.
  uint32_t ValueBytes(const Shard& s, uint32_t index) const {
    const uint32_t bytes = LoadField<uint32_t>(s.Chunk(index), kOffValueBytes);
    if (bytes > limits.max_entry_bytes) throw ShardCorrupt{};
    return bytes;
  }

  // Calls `sink(data, n)` for each piece of the first `bytes` bytes of the
  // value, in order. The length is the caller's, read once: a lock-free
  // reader must not copy more than the buffer it sized for it, whatever a
  // writer is doing to the entry meanwhile.
  template <typename Sink>
  void ReadValue(const Shard& s, uint32_t index, uint64_t bytes, Sink&& sink) const {
    uint64_t remaining = bytes;
    const uint8_t* chunk = s.Chunk(index);
    uint64_t piece = std::min<uint64_t>(remaining, s.chunk_bytes - kFirstChunkHeader);
    sink(chunk + kFirstChunkHeader, piece);
    remaining -= piece;
    while (remaining > 0) {
      chunk = s.Chunk(LoadField<uint32_t>(chunk, kOffNext));
      piece = std::min<uint64_t>(remaining, s.chunk_bytes - kChunkHeader);
      sink(chunk + kChunkHeader, piece);
      remaining -= piece;
    }
  }

  // Unlinks the entry from its bucket and the LRU and frees its chunks.
  void RemoveEntry(const Shard& s, uint32_t bucket, uint32_t index) {
    uint8_t* chunk = s.Chunk(index);
    const uint32_t hash_next = LoadField<uint32_t>(chunk, kOffHashNext);
    if (s.buckets[bucket] == index) {
      s.buckets[bucket] = hash_next;
    } else {
      uint32_t at = s.buckets[bucket];
      for (uint32_t steps = 0;; ++steps) {
        if (at == kNil || steps > s.chunk_count) throw ShardCorrupt{};
        uint8_t* candidate = s.Chunk(at);
        const uint32_t next = LoadField<uint32_t>(candidate, kOffHashNext);
        if (next == index) {
          StoreField<uint32_t>(candidate, kOffHashNext, hash_next);
          break;
        }
        at = next;
      }
    }
    LruUnlink(s, index);
    const uint32_t value_bytes = ValueBytes(s, index);
    const uint64_t chunks = ChunksFor(value_bytes, s.chunk_bytes);
    // Splice the entry's chain onto the free list.
    uint32_t last = index;
    for (uint64_t i = 1; i < chunks; ++i) last = LoadField<uint32_t>(s.Chunk(last), kOffNext);
    StoreField<uint32_t>(s.Chunk(last), kOffNext, s.h->free_head);
    s.h->free_head = index;
    s.h->free_chunks += static_cast<uint32_t>(chunks);
    s.h->used_chunks -= chunks;
    s.h->value_bytes -= value_bytes;
    s.h->entries -= 1;
  }

  // Evicts the oldest entry not read since eviction last passed it: a
  // referenced tail loses its mark and goes back to the front (CLOCK's second
  // chance over the list). Hits then only set a flag, and only once per pass,
  // so a hot entry costs its readers no writes at all. One pass clears every
  // mark, which bounds the loop.
  void EvictOne(const Shard& s) {
    for (uint64_t passed = 0;; ++passed) {
      const uint32_t tail = s.h->lru_tail;
      if (tail == kNil || passed > s.h->entries) throw ShardCorrupt{};
      uint8_t* chunk = s.Chunk(tail);
      const uint32_t flags = LoadField<uint32_t>(chunk, kOffFlags);
      if ((flags & kReferenced) != 0) {
        StoreField<uint32_t>(chunk, kOffFlags, flags & ~kReferenced);
        LruUnlink(s, tail);
        LruPushFront(s, tail);
        continue;
      }
      const uint64_t mixed = MixKey(LoadField<uint64_t>(chunk, kOffKey));
      RemoveEntry(s, static_cast<uint32_t>(mixed >> 32) & s.bucket_mask, tail);
      ++s.h->evictions;
      return;
    }
  }

  Status Insert(const Shard& s, uint32_t bucket, uint64_t key, std::string_view value,
                uint64_t version) {
    const uint32_t existing = Find(s, bucket, key);
    if (existing != kNil) RemoveEntry(s, bucket, existing);
    const uint64_t chunks = ChunksFor(value.size(), s.chunk_bytes);
    while (s.h->free_chunks < chunks) EvictOne(s);

    // Take the chunks off the free list and fill them.
    const uint32_t first = s.h->free_head;
    uint32_t index = first;
    size_t copied = 0;
    for (uint64_t i = 0; i < chunks; ++i) {
      if (index == kNil) throw ShardCorrupt{};
      uint8_t* chunk = s.Chunk(index);
      const uint32_t value_offset = i == 0 ? kFirstChunkHeader : kChunkHeader;
      const size_t piece = std::min<size_t>(value.size() - copied, s.chunk_bytes - value_offset);
      if (piece != 0) std::memcpy(chunk + value_offset, value.data() + copied, piece);
      copied += piece;
      index = LoadField<uint32_t>(chunk, kOffNext);
      if (i + 1 == chunks) StoreField<uint32_t>(chunk, kOffNext, kNil);
    }
    s.h->free_head = index;
    s.h->free_chunks -= static_cast<uint32_t>(chunks);
    if (g_put_crash_point != nullptr) g_put_crash_point();

    uint8_t* head = s.Chunk(first);
    StoreField<uint64_t>(head, kOffKey, key);
    StoreField<uint64_t>(head, kOffVersion, version);
    StoreField<uint32_t>(head, kOffValueBytes, static_cast<uint32_t>(value.size()));
    StoreField<uint32_t>(head, kOffFlags, 0);
    StoreField<uint32_t>(head, kOffHashNext, s.buckets[bucket]);
    s.buckets[bucket] = first;
    LruPushFront(s, first);
    s.h->entries += 1;
    s.h->value_bytes += value.size();
    s.h->used_chunks += chunks;
    ++s.h->inserts;
    return Status::kOk;
  }

  EntryInfo Info(const Shard& s, uint32_t index, uint64_t recency) const {
    const uint8_t* chunk = s.Chunk(index);
    return EntryInfo{LoadField<uint64_t>(chunk, kOffKey), LoadField<uint64_t>(chunk, kOffVersion),
                     ValueBytes(s, index), (LoadField<uint32_t>(chunk, kOffFlags) & kReferenced) != 0,
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
  PendingTable(base + g.pending_offset, o.shard_count, g.pending_slots_per_shard)
      .Initialize(RandomInstance());
  for (auto& counter : header->user_counters) counter.store(0, std::memory_order_relaxed);
  auto* shards = reinterpret_cast<ShardHeader*>(base + g.shards_offset);
  for (uint32_t i = 0; i < o.shard_count; ++i) {
    std::memset(static_cast<void*>(&shards[i]), 0, sizeof(ShardHeader));
    InitRobustMutex(&shards[i].mutex);
  }
  header->magic = kMagic;
}

// Checks a mapped header against the file's size; fills *g and *limits.
Error ValidateHeader(const Header& h, uint64_t file_bytes, Geometry* g, Limits* limits) {
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
  *limits = Limits{h.segment_bytes, uint64_t{g->chunks_per_shard} * h.shard_count * h.chunk_bytes,
                   h.max_entry_bytes, h.shard_count, h.chunk_bytes, h.layout_version,
                   h.pending_slots_per_shard, h.value_format};
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
Segment::~Segment() = default;

// Maps an existing segment and validates it, waiting a little for a creator
// that is still initialising it.
std::unique_ptr<Segment::Impl> Segment::Impl::Attach(const std::string& name, Error* error) {
  const auto deadline = std::chrono::steady_clock::now() + kReadyWait;
  for (;;) {
    auto impl = std::make_unique<Impl>();
    impl->name = name;
    bip::offset_t size = 0;
    try {
      bip::shared_memory_object shm(bip::open_only, name.c_str(), bip::read_write);
      if (!shm.get_size(size)) size = 0;
      if (static_cast<uint64_t>(size) >= sizeof(Header)) {
        impl->region = bip::mapped_region(shm, bip::read_write, 0, static_cast<size_t>(size));
      }
    } catch (const bip::interprocess_exception& e) {
      *error = MakeError(StatusOf(e), "cannot open shared memory segment " + name + ": " + e.what());
      return nullptr;
    }
    const bool sized = static_cast<uint64_t>(size) >= sizeof(Header);
    if (sized) {
      auto* header = static_cast<Header*>(impl->region.get_address());
      const bool initialising = header->state.load(std::memory_order_acquire) != kReady;
      if (!initialising || (header->magic != 0 && header->magic != kMagic)) {
        *error = ValidateHeader(*header, static_cast<uint64_t>(size), &impl->geometry, &impl->limits);
        if (!error->ok()) {
          error->message = name + ": " + error->message;
          return nullptr;
        }
        impl->header = header;
        impl->base = static_cast<uint8_t*>(impl->region.get_address());
        impl->MapPendingTable();
        return impl;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      if (!sized) {
        *error = MakeError(Status::kTruncated, name + ": segment is " + std::to_string(size) +
                                                   " bytes, smaller than a header");
      } else {
        const int pid = static_cast<Header*>(impl->region.get_address())->creator_pid;
        *error = MakeError(Status::kNotReady,
                           name + ": its creator (pid " + std::to_string(pid) +
                               ") never finished initialising it; remove the segment");
      }
      return nullptr;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// Attach, then refuse a segment whose values are of another format.
std::unique_ptr<Segment::Impl> Segment::Impl::AttachFormat(const std::string& name, uint32_t value_format,
                                                           Error* error) {
  auto impl = Attach(name, error);
  if (impl != nullptr && impl->limits.value_format != value_format) {
    *error = MakeError(Status::kBadValueFormat,
                       name + ": segment holds values of format " + std::to_string(impl->limits.value_format) +
                           ", this process reads format " + std::to_string(value_format) +
                           " (another build); remove it once no process uses it");
    return nullptr;
  }
  return impl;
}

std::unique_ptr<Segment> Segment::Open(const std::string& name, Error* error) {
  *error = Error{};
  auto impl = Impl::Attach(name, error);
  if (impl == nullptr) return nullptr;
  return std::unique_ptr<Segment>(new Segment(std::move(impl)));
}

std::unique_ptr<Segment> Segment::OpenOrCreate(const std::string& name, const Options& options,
                                               Error* error) {
  *error = Error{};
  Geometry geometry{};
  *error = CheckOptions(options, &geometry);
  if (!error->ok()) {
    const Error invalid = *error;
    auto impl = Impl::AttachFormat(name, options.value_format, error);
    if (impl != nullptr) return std::unique_ptr<Segment>(new Segment(std::move(impl)));
    if (error->status == Status::kNoSegment) *error = invalid;
    return nullptr;
  }
  // Create, or attach if it exists; a segment removed between the two
  // attempts sends us round again.
  for (int attempt = 0; attempt < 100; ++attempt) {
    try {
      bip::permissions permissions(options.mode);
      bip::shared_memory_object shm(bip::create_only, name.c_str(), bip::read_write, permissions);
      auto impl = std::make_unique<Impl>();
      impl->name = name;
      try {
        shm.truncate(static_cast<bip::offset_t>(options.capacity_bytes));
        // Reserve the pages now: on a full /dev/shm a sparse segment would
        // die of SIGBUS at first touch instead of failing here.
        const int rc = posix_fallocate(shm.get_mapping_handle().handle, 0,
                                       static_cast<off_t>(options.capacity_bytes));
        if (rc != 0) {
          Remove(name);
          *error = MakeError(Status::kSystemError, "cannot reserve " +
                                                       std::to_string(options.capacity_bytes) +
                                                       " bytes for segment " + name + ": " +
                                                       std::strerror(rc));
          return nullptr;
        }
        impl->region = bip::mapped_region(shm, bip::read_write, 0, options.capacity_bytes);
      } catch (...) {
        Remove(name);  // never leave a half-made segment for others to wait on
        throw;
      }
      impl->base = static_cast<uint8_t*>(impl->region.get_address());
      impl->header = reinterpret_cast<Header*>(impl->base);
      impl->geometry = geometry;
      InitializeSegment(impl->base, options, geometry);
      ValidateHeader(*impl->header, options.capacity_bytes, &impl->geometry, &impl->limits);
      for (uint32_t i = 0; i < options.shard_count; ++i) Impl::ResetShard(impl->ShardAt(i));
      impl->MapPendingTable();
      impl->header->state.store(kReady, std::memory_order_release);
      return std::unique_ptr<Segment>(new Segment(std::move(impl)));
    } catch (const bip::interprocess_exception& e) {
      if (e.get_error_code() != bip::already_exists_error) {
        *error = MakeError(StatusOf(e), "cannot create shared memory segment " + name + ": " + e.what());
        return nullptr;
      }
    }
    auto impl = Impl::AttachFormat(name, options.value_format, error);
    if (impl != nullptr) return std::unique_ptr<Segment>(new Segment(std::move(impl)));
    if (error->status != Status::kNoSegment) return nullptr;
  }
  *error = MakeError(Status::kSystemError, name + ": created and removed too often to attach");
  return nullptr;
}

Error Segment::ValidateOptions(const Options& options) {
  Geometry geometry{};
  return CheckOptions(options, &geometry);
}

bool Segment::Remove(const std::string& name) { return bip::shared_memory_object::remove(name.c_str()); }

const std::string& Segment::name() const { return impl_->name; }
const Limits& Segment::limits() const { return impl_->limits; }

// --- operations ------------------------------------------------------------

Status Segment::CopyOut(uint64_t key, const std::function<char*(size_t bytes)>& allocate,
                        uint64_t* version) {
  return impl_->Read(key, allocate, version);
}

Status Segment::Get(uint64_t key, std::string* value, uint64_t* version) {
  return impl_->Read(
      key,
      [value](size_t bytes) {
        value->resize(bytes);
        return value->data();
      },
      version);
}

Status Segment::Put(uint64_t key, std::string_view value, uint64_t version) {
  return PutIfFresh(key, value, version, UINT64_MAX);
}

Status Segment::PutIfFresh(uint64_t key, std::string_view value, uint64_t version, uint64_t snapshot) {
  Impl& impl = *impl_;
  uint32_t bucket;
  const Impl::Shard s = impl.ShardFor(key, &bucket);
  if (value.size() > impl.limits.max_entry_bytes) {
    RobustLock lock = impl_->LockShard(s);
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

Status Segment::PatchTail(uint64_t key, std::string_view bytes) {
  Impl& impl = *impl_;
  return impl.WithEntry(key, [&](const Impl::Shard& s, uint32_t, uint32_t index) {
    const uint32_t value_bytes = impl.ValueBytes(s, index);
    if (bytes.size() > value_bytes) return Status::kInvalidArgument;
    const uint64_t offset = value_bytes - bytes.size();
    // Walk the chain to the chunks holding the range.
    uint8_t* chunk = s.Chunk(index);
    uint64_t chunk_start = 0;  // value offset of this chunk's first byte
    uint32_t header = kFirstChunkHeader;
    size_t written = 0;
    for (uint32_t steps = 0; written < bytes.size(); ++steps) {
      if (steps > s.chunk_count) throw ShardCorrupt{};
      const uint64_t capacity = s.chunk_bytes - header;
      const uint64_t at = offset + written;
      if (at < chunk_start + capacity) {
        const size_t piece = std::min<size_t>(bytes.size() - written, chunk_start + capacity - at);
        std::memcpy(chunk + header + (at - chunk_start), bytes.data() + written, piece);
        written += piece;
      }
      if (written == bytes.size()) break;
      chunk_start += capacity;
      chunk = s.Chunk(LoadField<uint32_t>(chunk, kOffNext));
      header = kChunkHeader;
    }
    return Status::kOk;
  });
}

void Segment::RaiseFences(uint64_t fence) {
  for (uint32_t i = 0; i < impl_->limits.shard_count; ++i) {
    const Impl::Shard s = impl_->ShardAt(i);
    impl_->WithShard(s, 0, [&] {
      if (fence > s.h->fence) s.h->fence = fence;
      return 0;
    });
  }
}

void Segment::Invalidate(uint64_t key, uint64_t fence) {
  Impl& impl = *impl_;
  uint32_t bucket;
  const Impl::Shard s = impl.ShardFor(key, &bucket);
  impl.WithShard(s, 0, [&] {
    if (fence > s.h->fence) s.h->fence = fence;
    ++s.h->invalidations;
    const uint32_t index = Impl::Find(s, bucket, key);
    if (index != kNil) {
      impl.RemoveEntry(s, bucket, index);
      ++s.h->erases;
    }
    return 0;
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

void Segment::Clear() {
  for (uint32_t i = 0; i < impl_->limits.shard_count; ++i) {
    const Impl::Shard s = impl_->ShardAt(i);
    impl_->WithShard(s, 0, [&] {
      s.h->erases += s.h->entries;
      Impl::ResetShard(s);
      return 0;
    });
  }
}

Status Segment::Lookup(uint64_t key, EntryInfo* info) {
  Impl& impl = *impl_;
  return impl.WithEntry(key, [&](const Impl::Shard& s, uint32_t, uint32_t index) {
    // Recency is the entry's rank in its shard's LRU list: a walk, bounded
    // by the shard's entry count. Lookup is for inspection, not the hot path.
    uint64_t rank = 0;
    for (uint32_t at = s.h->lru_head; at != index; ++rank) {
      if (at == kNil || rank > s.h->entries) throw ShardCorrupt{};
      at = LoadField<uint32_t>(s.Chunk(at), kOffLruNext);
    }
    *info = impl.Info(s, index, rank);
    return Status::kOk;
  });
}

void Segment::ForEach(const std::function<void(const EntryInfo&)>& visit) {
  std::vector<EntryInfo> entries;
  for (uint32_t i = 0; i < impl_->limits.shard_count; ++i) {
    const Impl::Shard s = impl_->ShardAt(i);
    entries.clear();
    impl_->WithShard(s, 0, [&] {
      uint64_t rank = 0;
      for (uint32_t at = s.h->lru_head; at != kNil; ++rank) {
        if (rank >= s.h->entries) throw ShardCorrupt{};
        entries.push_back(impl_->Info(s, at, rank));
        at = LoadField<uint32_t>(s.Chunk(at), kOffLruNext);
      }
      return 0;
    });
    for (const EntryInfo& entry : entries) visit(entry);
  }
}

Stats Segment::GetStats() {
  Stats total;
  for (uint32_t i = 0; i < impl_->limits.shard_count; ++i) {
    const Impl::Shard s = impl_->ShardAt(i);
    RobustLock lock = impl_->LockShard(s);
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

uint64_t Segment::EntryMetadataBytes(uint64_t value_bytes, uint32_t chunk_bytes) {
  const uint64_t chunks = ChunksFor(value_bytes, chunk_bytes);
  return kFirstChunkHeader + (chunks - 1) * kChunkHeader;
}

Status Segment::RecordAccess(uint64_t key, int64_t at_ms) { return impl_->pending.Record(key, at_ms); }

void Segment::ForEachPending(const std::function<void(const PendingAccess&)>& visit) {
  impl_->pending.ForEach(visit);
}

PendingTotals Segment::GetPendingTotals() { return impl_->pending.Totals(); }

uint64_t Segment::PendingFullestPercent() { return impl_->pending.FullestPercent(); }

std::unique_ptr<AccessFlush> Segment::BeginFlush(uint32_t wait_ms) {
  if (!impl_->pending.LockFlush(wait_ms)) return nullptr;
  return std::unique_ptr<AccessFlush>(new AccessFlush(&impl_->pending));
}

AccessFlush::AccessFlush(internal::PendingTable* table) : table_(table) {}
AccessFlush::~AccessFlush() { table_->UnlockFlush(); }
std::vector<PendingBatch> AccessFlush::Freeze() { return table_->Freeze(); }
void AccessFlush::Release(const PendingBatch& batch) { table_->Release(batch); }
uint64_t AccessFlush::instance() const { return table_->instance(); }

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
    case Status::kSystemError: return "system error";
  }
  return "unknown";
}

namespace testing {
void SetPutCrashPointForTest(void (*hook)()) { g_put_crash_point = hook; }
}  // namespace testing

}  // namespace shmcache
