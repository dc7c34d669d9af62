// The shared cache of one database's documents: a shmcache segment that every
// process and connection opening the database file shares, holding each
// document's entry (document_entry.h), the accesses counted but not yet
// written, and docstore's counters.
//
// WHICH SEGMENT. A database's segment is named after its main file's device
// and inode and the database_id that migration 3 stores in docstore_meta
// ("/docstore-<dev>-<ino>-<database_id>"): two paths to one file meet in one
// segment; two files never do, not even when a deleted file's inode is
// reused (its database_id differs), nor a copy of a file (its inode
// differs). One DocumentCache per segment per process (Attach returns the
// same one to every connection).
//
// THE COHERENCE PROTOCOL (DESIGN.md invariant 1: no stale read).
//   The clock.   docstore_clock (migration 3) is a counter in the database.
//                Every document write runs the schema's trigger, which bumps
//                it inside the writer's transaction.
//   A writer     calls Invalidate(id, clock) from that trigger, before it
//                commits: the cached entry is erased and the fence of the
//                id's shard is raised to `clock`.
//   A reader     may fill (Fill) only a row it read together with
//                docstore_clock in one snapshot (kDocumentByIdSql), only when
//                its connection has no write transaction open (so the row
//                is committed; cache_client.h), and only if that snapshot
//                clock is at or past the shard's fence, checked under the
//                shard lock with the insert.
//   So           a reader whose snapshot predates a write, committed or in
//                flight, is refused (its clock is below the fence that write
//                raised); a fill that raced ahead of the fence raise is
//                erased by the same Invalidate, which raises the fence
//                before it erases; an uncommitted row is never filled.
//   Attaching    a process raises every fence to the committed clock when it
//                first attaches (a new segment starts at 0), so no snapshot
//                older than what is committed then fills.
//   Rollbacks    leave the fence above the database's clock. The connection
//                that rolled back brings the fences it raised down again
//                (LowerFence) on its next read through, to the clock of that
//                read's snapshot, taken after the rollback: safe because
//                SQLite serialises writers, so any write that raised the fence
//                before this connection's did committed before its rollback
//                (the snapshot has it), and any write that raised it after
//                bumped the shard's raise count, which makes LowerFence leave
//                it. A connection that never reads again (or is killed)
//                leaves its fences up until writes catch up: that costs
//                fills, never correctness.
//   Crashes      cost cached entries, never a stale one: shmcache resets a
//                shard whose lock holder died, and keeps its fence.
//   Reads        of a cached entry are lock-free (shmcache's sequence check)
//                and return exactly one fill's bytes; a sealed entry that does
//                not authenticate is counted, erased and read from the
//                database instead.
// A segment that exists but cannot be used (another user's, another layout
// version, damaged) must make writes fail (cache_client.h): processes that can
// use it would otherwise keep serving what those writes replaced.
//
// ACCESSES. RecordAccess counts one access in the segment's pending table;
// access_flusher.h writes them into the database exactly once.
#ifndef DOCSTORE_CORE_DOCUMENT_CACHE_H_
#define DOCSTORE_CORE_DOCUMENT_CACHE_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "document_entry.h"
#include "shmcache/shmcache.h"
#include "status.h"

namespace docstore {

// docstore_stats, as numbers: the segment's and docstore's counters.
struct CacheStats {
  std::string segment;       // the segment's name
  bool sealed = false;       // entries sealed with AES-256-GCM
  std::string reads_off;     // why this process neither reads nor fills, or ""
  shmcache::Stats cache;
  shmcache::PendingTotals pending;
  shmcache::Limits limits;
  uint64_t fills_skipped = 0;  // refused by a fence, in a write transaction, or not cacheable
  uint64_t auth_failures = 0;
  uint64_t flushes = 0;
  uint64_t rows_flushed = 0;
  uint64_t accesses_flushed = 0;
  uint64_t flush_failures = 0;
  uint64_t inline_flushes = 0;
  uint64_t last_flush_ms = 0;  // 0: never
  uint64_t flush_lag_ms = 0;   // since the last flush while accesses wait; 0 when none do
  uint64_t sidecar_pid = 0;    // 0: none seen
  uint64_t sidecar_heartbeat_ms = 0;
};

class DocumentCache {
 public:
  enum class AttachMode {
    kOpenOrCreate,  // the extension: a database in use gets a segment
    kOpenExisting,  // the sidecar: flushes what exists, creates nothing
  };

  // The cache of the database file `path` with docstore_meta's
  // `database_id`, shared by every caller in this process. On failure:
  // kUnavailable when no segment of that name exists (none could be made,
  // or kOpenExisting found none), so writes are safe without one; kError
  // when one may exist that this process cannot use. `codec` seals or not;
  // `reads_off` non-empty: never serve or fill (it says why), while still
  // keeping the segment coherent and counting accesses.
  static Status Attach(const std::string& path, const std::string& database_id, AttachMode mode, EntryCodec codec,
                       std::string reads_off, std::shared_ptr<DocumentCache>* out);

  DocumentCache(std::unique_ptr<shmcache::Segment> segment, EntryCodec codec, std::string reads_off);

  bool reads_enabled() const { return reads_off_.empty(); }

  // --- Reads and fills (see the protocol above) ---------------------------
  // On a hit, writes the document's JSON into allocate(capacity), a
  // char*(size_t) callable that may be called more than once (the last
  // buffer counts), and returns its length. 0 on a miss. One copy out of the
  // segment, where the entry becomes the JSON (document_entry.h).
  template <typename Allocate>
  size_t Get(int64_t id, Allocate&& allocate) {
    char* buffer = nullptr;
    size_t stored = 0;
    uint64_t version = 0;
    const size_t min_bytes = codec_.min_entry_bytes();
    segment_->PrefetchRecordAccess(static_cast<uint64_t>(id));  // a hit records an access next
    const auto status = segment_->CopyOut(
        static_cast<uint64_t>(id),
        [&](size_t bytes) -> char* {
          stored = bytes;
          buffer = bytes < min_bytes ? nullptr : allocate(bytes);
          return buffer;
        },
        &version);
    return status == shmcache::Status::kOk ? Decode(id, version, buffer, stored) : 0;
  }
  bool Get(int64_t id, std::string* json);
  // Caches a document rendered from a kDocumentByIdSql row (`json`, `row`),
  // unless a write newer than its snapshot fenced it or it is not cacheable
  // (both counted in fills_skipped).
  void Fill(int64_t id, std::string_view json, const DocumentRow& row);
  // A fill the caller may not make (its connection is in a write transaction).
  void NoteFillSkipped();

  // --- Writes --------------------------------------------------------------
  // What LowerFence needs to undo the fence raise, should the write roll back.
  shmcache::FenceMark Invalidate(int64_t id, int64_t clock);
  // After the write transaction that made `mark` ended: its shard's fence
  // comes down to `snapshot_clock` (a clock read after the end) unless
  // another write raised it since.
  void LowerFence(const shmcache::FenceMark& mark, int64_t snapshot_clock);
  // Raises every fence to `clock`: a newly attached process's first step.
  void RaiseFences(int64_t clock);
  // Drops every entry; returns how many there were.
  uint64_t Clear();

  // --- Accesses --------------------------------------------------------------
  // Counts one access to `id` now. False when the pending table is full and
  // must be flushed first (nothing was counted).
  bool RecordAccess(int64_t id);
  // After a flush committed: the document's access fields as they now are
  // (`last_accessed` nullptr for NULL). An entry whose fields a trailer
  // cannot show is dropped, to be read again.
  void UpdateAccess(int64_t id, int64_t access_count, const char* last_accessed);
  // The flush lock (access_flusher.h): nullptr when another flusher held it
  // for longer than `wait_ms`.
  std::unique_ptr<shmcache::AccessFlush> BeginFlush(uint32_t wait_ms);
  void NoteFlushCommitted(uint64_t rows, uint64_t accesses);
  void NoteFlushFailed();
  void NoteInlineFlush();
  // The sidecar's liveness, shown in docstore_stats.
  void Heartbeat(pid_t pid);
  void SidecarStopped();
  uint64_t PendingFullestPercent();

  // --- Looking inside --------------------------------------------------------
  bool Lookup(int64_t id, shmcache::EntryInfo* info);
  void ForEach(const std::function<void(const shmcache::EntryInfo&)>& visit);
  void ForEachPending(const std::function<void(const shmcache::PendingAccess&)>& visit);
  CacheStats Stats();

 private:
  // The entry copied into `buffer` becomes the JSON; its length, or 0 (and
  // the entry dropped, to be read again) when it is not one to show.
  size_t Decode(int64_t id, uint64_t version, char* buffer, size_t stored);

  const std::unique_ptr<shmcache::Segment> segment_;
  const EntryCodec codec_;
  const std::string reads_off_;
};

}  // namespace docstore

#endif  // DOCSTORE_CORE_DOCUMENT_CACHE_H_
