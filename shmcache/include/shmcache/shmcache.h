// shmcache: a cache of byte strings keyed by 64-bit ids, in one named POSIX
// shared-memory segment that every process on the host can attach.
//
// THE CONTRACT
//
// Segment. Created by the first OpenOrCreate() of a name, with the capacity,
// maximum entry size and permissions (owner-only by default) of that call;
// later attachers get the sizes the creator chose (Segment::limits() says
// which are in force). The segment outlives its processes until Remove(). A
// header with a magic number and a layout version comes first; an attach
// validates it and every region offset before using anything, and refuses a
// foreign, older/newer, truncated or damaged segment with its own Status.
// The header also records the caller's value format (Options::value_format):
// OpenOrCreate refuses a segment made with another, so two builds of a caller
// that lay out values differently never share one. It holds the caller's
// label too (Options::label): up to kMaxLabelBytes of bytes, fixed at
// creation, checked against that bound on attach and read back as a copy
// (Segment::label()); shmcache gives it no meaning.
//
// Memory. Fixed at creation. Each shard's memory is a ring of small
// chunks (Options::chunk_bytes, 32 by default); an entry is one run of
// consecutive chunks, a 32-byte header then its value, contiguous, so a hit
// touches its bucket and its entry and copies the value with one memcpy (no
// allocator call on any path after creation). New entries go at the ring's
// head; room is made at its tail, the oldest. An erased entry's chunks come
// back when the tail reaches them; the end of the ring that is too short for
// an entry is padded and skipped. Eviction is CLOCK over the ring with a
// two-bit use count: an entry at the tail that was read since the tail last
// passed it moves to the head with one use less (up to three more passes),
// otherwise it is evicted; a hit writes only while the count is below its
// top, so a hot entry costs its readers no writes. A Put never fails for
// lack of space, only when the value exceeds the maximum entry size (refused
// and counted).
//
// Locking. The segment is split into shards by key hash, each guarded by a
// robust process-shared mutex and a sequence number. Writers (Put, Erase,
// Invalidate, Clear) take the mutex and make the sequence number odd while
// they change the shard. Readers (Get, CopyOut) take no lock: they read, then
// check that the sequence number is even and unchanged, and retry, or after a
// few tries take the mutex; a hit writes to the shard (under the lock)
// only while the entry's use count is below its top. Readers in different processes
// therefore share cache lines without bouncing them. Every locked operation
// takes exactly one shard lock (GetStats/ForEach take them one after another,
// never two at once), so there is no lock ordering to get wrong.
// RecordAccess takes no lock either: atomic updates of a slot of the
// pending table, counted in the process's recorder slot while in progress;
// a flush switches tables, then waits until no live process is mid-record
// (src/layout.h has the argument). A process that finds no recorder slot free
// (more than 128 processes at once) records under the shard's mutex.
//
// No lock is waited on without bound: a locker polls, and gives up after a
// second (kLockWaitMs) when the holder is alive and does not let go (it is
// stopped, say): a read is then a miss, a Put is not made, and Invalidate,
// ResetFences, RaiseFences and Clear say they could not change that shard.
//
// Crashes. A process killed mid-RecordAccess leaves that access counted or
// not (it never returned), and nothing a flush waits for. A process killed
// while holding a shard's lock leaves that shard in an unknown state. The
// next locker gets EOWNERDEAD, resets the shard (drops
// its entries, rebuilds its free list; the fence is kept), marks the mutex
// consistent and carries on; Stats().lock_recoveries counts it. The kernel
// marks a dead holder's mutexes only if they were still mapped when it
// died; a lock word still naming a thread that no longer exists after a
// tenth of a second of waiting is marked by the waiter instead, with the
// same effect (so processes sharing a segment must share a PID namespace). Other shards
// are untouched. A process killed outside a lock leaves nothing behind.
// Anything found inconsistent while following the shard's own offsets (a
// chunk index out of range, a chain too long) is treated the same way and
// counted in corruption_resets: a damaged segment costs cached data, never a
// crash or a wrong value.
//
// What a reader may assume. Get returns exactly the bytes and version of one
// Put of that key (never a mix of two), or a miss. It does not promise that
// the value is the latest one put by another process unless that Put
// returned before the Get began.
//
// Fences. Each shard has a fence, raised by Invalidate(key, fence). PutIfFresh
// with a snapshot number below its shard's fence is refused. The check and the
// insert happen under the shard lock, and Invalidate raises the fence before
// it erases, so a Put that raced ahead of an Invalidate is erased by it.
// Fences only rise, except through ResetFences (a source that went back).
// The extension uses this to keep readers with old database snapshots from
// planting old documents (core/document_cache.h).
//
// Source position. The segment publishes one SourcePosition: how far the
// cache is known to match the data source it caches (opaque here). Anyone
// may compare it without a lock (SourceIs: a sequence-checked read, no
// write); it changes only through a SourceSync, the segment's source lock
// (robust: a holder killed mid-publish leaves no position at all, so the
// next reader brings the cache up to date again rather than trust half of
// one).
//
// Threads. A Segment may be used from several threads at once.
#ifndef SHMCACHE_SHMCACHE_H_
#define SHMCACHE_SHMCACHE_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace shmcache {

enum class Status {
  kOk,
  kNotFound,          // Get/Lookup: no such key
  kTooLarge,          // Put: the value exceeds max_entry_bytes
  kFenced,            // PutIfFresh: the shard's fence is above the snapshot
  kFull,              // RecordAccess: the shard's pending table has no room
  kInvalidArgument,   // OpenOrCreate: options that cannot make a segment
  kNoSegment,         // Open: no segment of that name
  kPermission,        // the segment exists but this process may not map it
  kBadMagic,          // not a shmcache segment
  kBadLayoutVersion,  // a shmcache segment of another layout version
  kBadValueFormat,    // OpenOrCreate: created with another Options::value_format
  kTruncated,         // smaller than its header says
  kCorruptHeader,     // sizes or region offsets that do not fit together
  kNotReady,          // its creator never finished initialising it
  kUntrusted,         // the caller's OwnerCheck refused its owner or mode
  kSystemError,       // anything else the OS refused (see the message)
};

// A Status with what happened, for messages a user can act on.
struct Error {
  Status status = Status::kOk;
  std::string message;
  bool ok() const { return status == Status::kOk; }
};

// The longest Options::label.
inline constexpr size_t kMaxLabelBytes = 1024;

struct Options {
  uint64_t capacity_bytes = 64ull << 20;  // the whole segment, header included
  uint64_t max_entry_bytes = 1ull << 20;
  uint32_t shard_count = 16;              // a power of two
  uint32_t chunk_bytes = 32;              // an entry takes whole consecutive chunks
  mode_t mode = 0600;                     // exactly, whatever the umask
  uid_t owner = static_cast<uid_t>(-1);  // the segment's owner; -1: the creator
  gid_t group = static_cast<gid_t>(-1);  // the segment's group; -1: the creator's
  // Documents the pending-access table holds at once, over all shards (two
  // tables of them: one filling while the other is flushed). 0: one per 256
  // bytes of capacity, at most 65536.
  uint32_t pending_slots = 0;
  // The caller's own format of its values, fixed at creation: OpenOrCreate
  // refuses a segment created with another (kBadValueFormat), so that two
  // builds that would misread each other's values never share one.
  uint32_t value_format = 0;
  // The caller's bytes (any, NULs included), at most kMaxLabelBytes, kept in
  // the header for whoever attaches later (what the segment is for, say).
  std::string label;
};

// What the segment was created with; the same for every process attached.
struct Limits {
  uint64_t segment_bytes;
  uint64_t value_capacity_bytes;  // chunk payload available for values
  uint64_t max_entry_bytes;
  uint32_t shard_count;
  uint32_t chunk_bytes;
  uint32_t layout_version;
  uint32_t pending_slots_per_shard;
  uint32_t value_format;
};

struct Stats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t inserts = 0;
  uint64_t evictions = 0;
  uint64_t erases = 0;           // entries dropped by Erase/Invalidate
  uint64_t invalidations = 0;    // Invalidate calls
  uint64_t fenced_puts = 0;      // PutIfFresh refused by a fence
  uint64_t refused_too_large = 0;
  uint64_t lock_recoveries = 0;  // EOWNERDEAD handled
  uint64_t corruption_resets = 0;
  uint64_t entries = 0;
  uint64_t value_bytes = 0;      // bytes of values stored
  uint64_t chunk_bytes_used = 0; // bytes of the chunks holding them
  uint64_t capacity_bytes = 0;   // bytes of all chunks
  // chunk_bytes_used - value_bytes is the entries' headers plus the unused
  // ends of their last chunks: the fragmentation of this allocator.
};

struct EntryInfo {
  uint64_t key;
  uint64_t version;
  uint64_t bytes;
  bool referenced;   // read since eviction last passed it
  uint64_t recency;  // rank in its shard's eviction order: 0 = the last to go
};

// Number of user counters in the header: lock-free, process-shared.
inline constexpr size_t kUserCounters = 16;

// Accesses to one key not yet flushed: how many, and the latest time given.
struct PendingAccess {
  uint64_t key;
  uint64_t count;
  int64_t last_ms;
};

// What one shard's flush carries: its frozen table and the sequence number
// that identifies it. A flusher writes `seq` into the database in the same
// transaction as the counts and skips a batch whose seq (for this shard and
// segment instance) is already there: that is what makes a flush killed at
// any instant count every access exactly once.
struct PendingBatch {
  uint32_t shard;
  uint64_t seq;
  std::vector<PendingAccess> accesses;
  bool resumed = false;  // frozen by an earlier flush that did not release it
};

struct PendingTotals {
  uint64_t keys = 0;         // distinct keys pending (a key in both tables counts twice)
  uint64_t accesses = 0;     // accesses pending
  uint64_t recorded = 0;     // accesses recorded, ever
  uint64_t refused_full = 0; // RecordAccess calls that found their shard's table full
  uint64_t capacity = 0;     // slots per table, over all shards
  uint64_t fullest_percent = 0;  // the fullest active table, in percent of its slots
  uint64_t lock_recoveries = 0;
};

// How far a cache is known to match its data source; shmcache compares and
// stores it, its caller gives it meaning. `observed` is what a reader
// compares on every read (what the source looked like when the cache was
// brought up to date); `clock` and `tag` say how far the source's changes
// were applied. All zero: no position (nothing is known to match).
inline constexpr size_t kObservedWords = 6;
inline constexpr size_t kSourceWords = kObservedWords + 2;
struct SourcePosition {
  std::array<uint64_t, kObservedWords> observed{};
  uint64_t clock = 0;
  uint64_t tag = 0;
  bool operator==(const SourcePosition&) const = default;
};

// A file's owner and permissions (a segment's, as an attacher found it).
struct FileOwner {
  uid_t uid;
  gid_t gid;
  mode_t mode;  // permission bits
};
inline FileOwner OwnerOf(const struct stat& st) {
  return FileOwner{st.st_uid, st.st_gid, static_cast<mode_t>(st.st_mode & 07777)};
}
// Whether to use a segment owned so: an error (its message says why not)
// refuses it with kUntrusted before any of it is read. Whom to trust is the
// caller's policy; shmcache knows only who can write the segment. shmcache
// itself refuses (kUntrusted) what is not a regular file or has more than
// one name (a hard link). A segment this process may not open is judged
// by its name, so it too is kUntrusted rather than kPermission when the
// check refuses it.
using OwnerCheck = std::function<Error(const FileOwner&)>;

namespace internal {
class PendingTable;
}
class AccessFlush;
class SourceSync;

class Segment {
 public:
  // Attaches to the segment `name` (e.g. "/docstore-801-2a"), creating it
  // with `options` if it does not exist. Options that could not make a
  // segment are an error only when one has to be made. An existing segment
  // is used only if `check` (when given) accepts its owner and mode.
  static std::unique_ptr<Segment> OpenOrCreate(const std::string& name, const Options& options,
                                               Error* error, const OwnerCheck& check = {});
  // Attaches to an existing segment only.
  static std::unique_ptr<Segment> Open(const std::string& name, Error* error, const OwnerCheck& check = {});
  static bool Remove(const std::string& name);
  // kOk if OpenOrCreate could make a segment with `options`, else why not.
  static Error ValidateOptions(const Options& options);

  ~Segment();
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  const std::string& name() const;
  const Limits& limits() const;
  // Options::label of its creator, as validated when this process attached
  // (never longer than kMaxLabelBytes).
  const std::string& label() const;
  // Whether this OpenOrCreate made the segment (false: it existed).
  bool created() const;
  // Whether the name still leads to this segment (it was not removed, or
  // removed and made again): one lstat.
  bool StillNamed() const;

  // Copies the value into *value. kOk or kNotFound.
  Status Get(uint64_t key, std::string* value, uint64_t* version = nullptr);
  // Copies the value into a buffer that `allocate(context, bytes)` returns:
  // one copy, straight into memory the caller owns. `allocate` may be called
  // again if a writer got in the way; only the buffer of the last call holds
  // the value. nullptr from it gives up with kNotFound.
  using Allocator = char* (*)(void* context, size_t bytes);
  Status CopyOut(uint64_t key, Allocator allocate, void* context, uint64_t* version = nullptr);
  // The same with any callable char*(size_t bytes), adapted without a
  // std::function or an allocation.
  template <typename Allocate>
  Status CopyOut(uint64_t key, Allocate&& allocate, uint64_t* version = nullptr) {
    using Callable = std::remove_reference_t<Allocate>;
    return CopyOut(
        key, [](void* context, size_t bytes) -> char* { return (*static_cast<Callable*>(context))(bytes); },
        const_cast<void*>(static_cast<const void*>(&allocate)), version);
  }
  Status Put(uint64_t key, std::string_view value, uint64_t version);
  // Put unless the key's shard fence is above `snapshot` (kFenced).
  Status PutIfFresh(uint64_t key, std::string_view value, uint64_t version, uint64_t snapshot);
  // Overwrites bytes.size() bytes of the key's value in place, ending
  // `before_end` bytes before its end, keeping its version and place: kOk,
  // kNotFound, or kInvalidArgument when the value is shorter than both.
  Status PatchTail(uint64_t key, std::string_view bytes, uint64_t before_end = 0);
  // These four return false when a shard's lock could not be taken (its
  // holder is alive and did not let go within a second; see Locking):
  // that shard was left as it was.
  // Raises the key's shard fence to `fence` (never lowers it), then erases.
  bool Invalidate(uint64_t key, uint64_t fence);
  // Raises every shard's fence to at least `fence`.
  bool RaiseFences(uint64_t fence);
  // Sets every shard's fence to exactly `fence`, lower or higher.
  bool ResetFences(uint64_t fence);
  bool Clear();
  Status Erase(uint64_t key);

  Status Lookup(uint64_t key, EntryInfo* info);
  // Every entry, shard by shard; each shard is copied under its lock and
  // visited after it is released.
  void ForEach(const std::function<void(const EntryInfo&)>& visit);
  Stats GetStats();

  uint64_t UserCounter(size_t index) const;
  // Sets counter `index` to `desired` if it holds `expected`.
  bool CompareExchangeUserCounter(size_t index, uint64_t expected, uint64_t desired);
  uint64_t AddUserCounter(size_t index, uint64_t delta);

  // How many of the bytes an entry of `value_bytes` takes in chunks are
  // metadata (its header) rather than value or slack.
  static uint64_t EntryMetadataBytes(uint64_t value_bytes, uint32_t chunk_bytes);

  // --- Pending accesses: counted here, written to a database later --------

  // Adds one access to `key` (> 0) at `at_ms`. kOk, or kFull when its shard's
  // table has no room: the caller must flush (AccessFlush) and try again;
  // nothing was recorded. kInvalidArgument for key 0.
  Status RecordAccess(uint64_t key, int64_t at_ms);
  // A hint, for a caller about to read `key` and then record an access to
  // it: the memory RecordAccess will touch starts loading now, while the read
  // waits on its own (no lock, no effect on anything else).
  void PrefetchRecordAccess(uint64_t key) const;
  // Every pending access, shard by shard (a key frozen for a flush and
  // recorded again since appears twice).
  void ForEachPending(const std::function<void(const PendingAccess&)>& visit);
  PendingTotals GetPendingTotals();
  // The fullest shard's active table, in percent of its slots: cheap (no
  // scan of the slots), for a flusher deciding whether to flush early.
  uint64_t PendingFullestPercent();
  // The flush lock: nullptr when another flusher holds it and did not let
  // go within `wait_ms` (0: do not wait).
  std::unique_ptr<AccessFlush> BeginFlush(uint32_t wait_ms);

  // --- The source position ---------------------------------------------------

  // Whether the published position's `observed` is `observed`: no lock, no
  // write. False while a publisher is mid-write.
  bool SourceIs(const std::array<uint64_t, kObservedWords>& observed) const;
  // The published position; all zero when there is none, or while one is
  // being written (never waits).
  SourcePosition Source() const;
  // The source lock: nullptr when another holder did not let go within
  // `wait_ms`.
  std::unique_ptr<SourceSync> BeginSourceSync(uint32_t wait_ms);

 private:
  friend class AccessFlush;
  friend class SourceSync;
  struct Impl;
  explicit Segment(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Holds the segment's flush lock (robust: a flusher killed while holding it
// leaves nothing to repair, see PendingBatch). Use:
//   auto flush = segment.BeginFlush(wait_ms);
//   for (const PendingBatch& batch : flush->Freeze()) ...   // write them, with their seqs,
//   ... commit ...; for each batch: flush->Release(batch);   // then forget them
// A batch not released (the commit failed, the flusher died) comes back from
// the next Freeze with the same seq.
class AccessFlush {
 public:
  ~AccessFlush();
  AccessFlush(const AccessFlush&) = delete;
  AccessFlush& operator=(const AccessFlush&) = delete;

  // Each shard's frozen table, freezing the active one first where nothing
  // is frozen and it holds anything. Where a batch is `resumed`, the active
  // table was left alone: Freeze again after releasing it to flush all.
  std::vector<PendingBatch> Freeze();
  // Clears a batch that is now in the database.
  void Release(const PendingBatch& batch);
  // Random, fixed when the segment was created: sequence numbers compare
  // only within one instance.
  uint64_t instance() const;

 private:
  friend class Segment;
  explicit AccessFlush(internal::PendingTable* table);
  internal::PendingTable* table_;
};

// Holds the segment's source lock; the position it publishes is what every
// reader compares against from then on.
class SourceSync {
 public:
  ~SourceSync();
  SourceSync(const SourceSync&) = delete;
  SourceSync& operator=(const SourceSync&) = delete;
  void Publish(const SourcePosition& position);

 private:
  friend class Segment;
  explicit SourceSync(Segment::Impl* impl);
  Segment::Impl* impl_;
};

std::string_view StatusName(Status status);
// The layout version of the segments this build makes and reads
// (Limits::layout_version): one of another is refused (kBadLayoutVersion).
uint32_t LayoutVersion();

namespace testing {
// When set, Put calls this while holding the shard lock, midway through
// linking a new entry (the shard is inconsistent at that moment). Tests use it
// to stop a process there and kill it.
void SetPutCrashPointForTest(void (*hook)());
}  // namespace testing

}  // namespace shmcache

#endif  // SHMCACHE_SHMCACHE_H_
