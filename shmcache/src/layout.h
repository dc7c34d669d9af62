// The segment's layout: what lives at which offset. Everything here is read
// back from shared memory, so nothing in it is trusted without a check (see
// segment.cc: ValidateHeader and Shard).
#ifndef SHMCACHE_SRC_LAYOUT_H_
#define SHMCACHE_SRC_LAYOUT_H_

#include <pthread.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "shmcache/shmcache.h"

namespace shmcache::internal {

inline constexpr uint64_t kMagic = 0x3145484341434d53ull;  // "SMCACHE1" read as little-endian bytes
inline constexpr uint32_t kLayoutVersion = 5;  // 5: the label; 4: the source position; 3: contiguous entries in a ring, pending tables without a lock
inline constexpr uint32_t kNil = 0xFFFFFFFFu;
inline constexpr uint64_t kPage = 4096;

enum RegionKind : uint32_t {
  kRegionUnused = 0,
  kRegionShards = 1,  // ShardHeader[shard_count]
  kRegionArenas = 2,  // per shard: bucket heads, then chunks
  kRegionPending = 3, // PendingHeader, PendingShard[shard_count], then the tables
};
inline constexpr size_t kMaxRegions = 8;

struct Region {
  uint32_t kind;
  uint32_t reserved;
  uint64_t offset;
  uint64_t bytes;
};

enum SegmentState : uint32_t { kInitializing = 0, kReady = 1 };

// Hits and misses are counted by readers that hold no lock, so they live
// apart from the shards: one line per slot, a process uses the slot of its
// pid, and two processes rarely write the same line.
inline constexpr size_t kReaderSlots = 64;
struct alignas(64) ReaderCounters {
  std::atomic<uint64_t> hits;
  std::atomic<uint64_t> misses;
};

struct alignas(64) Header {
  uint64_t magic;
  uint32_t layout_version;
  uint32_t header_bytes;
  uint64_t segment_bytes;
  std::atomic<uint32_t> state;
  int32_t creator_pid;
  uint64_t max_entry_bytes;
  uint32_t shard_count;
  uint32_t chunk_bytes;
  uint32_t chunks_per_shard;
  uint32_t buckets_per_shard;
  uint64_t arena_bytes_per_shard;
  uint32_t pending_slots_per_shard;
  uint32_t value_format;  // Options::value_format; 0 in segments of builds before it
  std::atomic<uint32_t> label_bytes;  // of label: at most kMaxLabelBytes (read it once)
  uint32_t reserved;
  char label[kMaxLabelBytes];  // Options::label
  Region regions[kMaxRegions];
  std::atomic<uint64_t> user_counters[kUserCounters];
  ReaderCounters reader_counters[kReaderSlots];
  // The published SourcePosition: written only under source_mutex, read
  // without a lock under source_seq (odd while a publisher writes it).
  alignas(64) std::atomic<uint32_t> source_seq;
  std::atomic<uint64_t> source_words[kSourceWords];
  pthread_mutex_t source_mutex;
};
static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(std::atomic<uint32_t>::is_always_lock_free);

// Counters live under the shard lock: no shared cache line is written by
// two processes that use different shards.
struct alignas(64) ShardHeader {
  pthread_mutex_t mutex;
  uint64_t fence;
  // Odd while a lock holder modifies the shard: lock-free readers check it
  // before and after they read (a seqlock) and retry if it moved.
  std::atomic<uint32_t> seq;
  uint32_t reserved;
  // The shard's chunks are a ring: records (entries, dead entries, pads)
  // fill the chunks from ring_tail (the oldest) on to ring_head (where the
  // next goes), wrapping at the end; the free chunks run from ring_head on to
  // ring_tail.
  uint32_t ring_head;
  uint32_t ring_tail;
  uint32_t free_chunks;
  uint32_t reserved2;
  uint64_t entries;
  uint64_t value_bytes;
  uint64_t used_chunks;  // the chunks of live entries
  uint64_t inserts, evictions, erases, invalidations, fenced_puts, refused_too_large,
      lock_recoveries, corruption_resets;
};

// A record is one run of consecutive chunks: a header, then (for an entry)
// the value, contiguous. Fields are 4-byte aligned and accessed with memcpy.
inline constexpr uint32_t kOffKey = 0;
inline constexpr uint32_t kOffVersion = 8;
inline constexpr uint32_t kOffValueBytes = 16;
inline constexpr uint32_t kOffFlags = 20;
inline constexpr uint32_t kOffHashNext = 24;
inline constexpr uint32_t kOffSpan = 28;  // chunks the record occupies
inline constexpr uint32_t kRecordHeader = 32;  // the value starts here
// Flags: the low two bits count reads since the ring's tail last passed the
// entry (saturating at 3: each is one more pass it survives); a dead entry
// (erased, its chunks not yet reclaimed) or a pad (the unusable end of the
// ring before a wrap) is no entry at all.
inline constexpr uint32_t kUsesMask = 3;
inline constexpr uint32_t kDead = 4;
inline constexpr uint32_t kPad = 8;

inline constexpr uint32_t kMinChunkBytes = 32;
inline constexpr uint32_t kMaxChunkBytes = 65536;
inline constexpr uint32_t kMaxShards = 4096;

// Chunks an entry of `value_bytes` occupies.
inline uint64_t ChunksFor(uint64_t value_bytes, uint32_t chunk_bytes) {
  return (kRecordHeader + value_bytes + chunk_bytes - 1) / chunk_bytes;
}

// Where everything goes for a segment of `segment_bytes` with these
// parameters. Creation writes it; attaching recomputes it from the header's
// parameters and requires the stored regions to match.
struct Geometry {
  uint64_t header_bytes;
  uint64_t shards_offset, shards_bytes;
  uint64_t pending_offset, pending_bytes;
  uint64_t arenas_offset, arena_bytes_per_shard;
  uint32_t buckets_per_shard;
  uint32_t chunks_per_shard;
  uint32_t pending_slots_per_shard;
};

bool ComputeGeometry(uint64_t segment_bytes, uint32_t shard_count, uint32_t chunk_bytes,
                     uint32_t pending_slots_per_shard, Geometry* geometry);

// --- The pending-access table (pending_table.cc) ----------------------------
//
// Per shard, two open-addressed tables of (key, count, last_ms). Recorders
// add to the active one without a lock: a slot is claimed with a
// compare-and-swap of its key, then its last_ms raised and its count
// incremented, each one atomic, in that order, so that a process killed at
// any instant leaves a table that is consistent (a claimed slot with count 0
// is no access). A flush freezes the active table (gives it a sequence
// number and makes the other one active), waits until no recorder can still
// be adding to it (see RecorderSlot), writes it to the database together with
// that number, then clears it. The shard's robust mutex serialises flushers'
// changes to the shard's bookkeeping, and recorders that found no recorder
// slot free (they record under it).

inline constexpr uint32_t kMinPendingSlots = 16;
inline constexpr uint32_t kMaxPendingSlots = 1u << 20;

// A recording process's slot: `busy` counts its records in progress. A
// recorder raises it before it reads which table is active and lowers it
// after its last store; a flusher makes the other table active before it
// reads `busy` (both sequentially consistent), so once it has seen every
// slot at 0 no recorder can still add to the table it froze. A slot whose
// owner died with `busy` up is told apart by the owner's pid and start time
// (against pid reuse), and taken over by the next process that needs one.
inline constexpr uint32_t kRecorderSlots = 128;
struct alignas(64) RecorderSlot {
  std::atomic<uint32_t> owner_pid;    // 0: free
  uint32_t reserved;
  std::atomic<uint64_t> owner_start;  // the owner's start time (/proc/PID/stat), 0 if unknown
  std::atomic<uint64_t> busy;
  std::atomic<uint64_t> recorded;     // accesses its owners recorded, ever
};

struct alignas(64) PendingHeader {
  pthread_mutex_t flush_mutex;  // one flusher at a time
  uint64_t instance;            // random, fixed at creation
  RecorderSlot recorders[kRecorderSlots];
};

struct alignas(64) PendingShard {
  pthread_mutex_t mutex;
  std::atomic<uint32_t> active;  // the table recorders add to: 0 or 1
  uint32_t frozen_table;  // the table a flush took; meaningful while frozen_seq != 0
  uint64_t frozen_seq;    // 0: nothing frozen
  uint64_t next_seq;
  std::atomic<uint32_t> used[2];  // occupied slots per table
  uint32_t frozen_quiet;  // 1: no recorder can still add to the frozen table
  uint32_t reserved;
  uint64_t recorded;      // accesses recorded under the mutex, ever
  std::atomic<uint64_t> refused_full;  // RecordAccess calls that found the table full
  uint64_t lock_recoveries;
};

struct PendingSlot {
  std::atomic<uint64_t> key;  // 0: empty
  std::atomic<uint64_t> count;
  std::atomic<int64_t> last_ms;
};
static_assert(std::atomic<int64_t>::is_always_lock_free);

// Bytes of the pending region for `shard_count` shards.
inline uint64_t PendingRegionBytes(uint32_t shard_count, uint32_t slots_per_shard) {
  return sizeof(PendingHeader) + uint64_t{shard_count} * sizeof(PendingShard) +
         uint64_t{shard_count} * 2 * slots_per_shard * sizeof(PendingSlot);
}

}  // namespace shmcache::internal

#endif  // SHMCACHE_SRC_LAYOUT_H_
