// The shared cache of one database's documents: a shmcache segment that every
// process and connection opening the database file shares, holding each
// document's entry (document_entry.h), the accesses counted but not yet
// written, and docstore's counters.
//
// WHICH SEGMENT. A database's segment is named after its main file's device
// and inode, the database_id that migration 3 stores in docstore_meta, and
// the process's PID namespace (segment_name.h has the name and why): two
// paths to one file meet in one segment; two files never do. Its creator
// records in its label the database's canonical path, why the segment has
// its size (cache_settings.h, DefaultCapacity) and its TTL. One DocumentCache per segment per process (Attach returns the
// same one to every connection). WHOSE SEGMENT: one is used only if
// everyone who can write it can write the database file; an untrusted one
// is ignored as if absent (segment_trust.h has the rule and the README the
// threat model).
//
// THE COHERENCE PROTOCOL (DESIGN.md invariant 1: no stale read), for
// writers that know nothing of docstore: any connection, any tool, the
// backup API, a replica applying a primary's pages.
//   The log.     docstore_clock counts document writes; the schema's plain
//                SQL triggers bump it and log (clock, document, random tag)
//                in docstore_changes inside the writer's own transaction
//                (sql/007_change_log.sql). The file says what changed.
//   The source   The segment publishes one position: what the file looked
//   position.    like (file_watch.h's State) when the cache last caught up,
//                and the clock and tag of the last change applied.
//   A hit        is served only if the file looks now as published (a few
//                loads from the mapped WAL index, no system call), and not
//                inside a write transaction of the reader's own (whose
//                uncommitted writes the log does not show yet).
//   Catching up  happens when it does not: under the segment's source lock,
//                the file's state is read again, then the log from the
//                published clock on, in one snapshot that starts after that
//                read, so it holds every commit the state shows. If the log
//                continues the published history (its entry at the published
//                clock has the published tag, no entry missing after it),
//                each change invalidates its document, raising the fence of
//                its shard to the change's clock; else (no position yet, a
//                gap or a pruned log, the clock went back, another history,
//                a change of every document) the cache is cleared and every
//                fence set to the file's clock. Then the new position is
//                published. Whoever sees a change first catches up for
//                everyone; the others find the position already published.
//                A connection whose read transaction is open (its snapshot
//                may be older than the file's state) cannot catch up: it
//                reads from the database instead.
//   A fill       is made only from a row read together with docstore_clock in
//                one snapshot (kDocumentByIdSql), outside a write transaction,
//                and only if that snapshot's clock is at or past the shard's
//                fence, checked under the shard lock with the insert.
//   So           a fill from a snapshot older than a change is refused once
//                that change was applied (the fence), and erased by applying
//                it if it got in before; no hit is served after a commit
//                before the commit's changes were applied (the position). A
//                new connection catches up before its first hit even if the
//                state looks unchanged: a -shm made anew after every
//                connection closed can look like an old one.
//   Crashes      cost cached entries, never a stale one: shmcache resets a
//                shard whose lock holder died, and keeps its fence; a
//                catch-up killed before it published leaves the old position,
//                so the next reader does it again; one killed mid-publish
//                leaves none, so the next reader clears the cache.
//   Reads        of a cached entry are lock-free (shmcache's sequence check)
//                and return exactly one fill's bytes; a sealed entry that does
//                not authenticate is counted, erased and read from the
//                database instead.
// A segment whose name was removed (rm /dev/shm/docstore-*) or made anew is
// noticed at the next catch-up: the process moves to the current one.
//
// TTL. A segment may have one (fixed by its creator, the same for every
// process): an entry filled longer ago than that is a miss, counted in
// ttl_expired, erased and filled again. Off (0) by default: the protocol
// above keeps the cache coherent without it. Without one, a hit costs one
// predictable branch more.
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
#include "file_watch.h"
#include "segment_name.h"
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
  uint64_t flush_lag_ms = 0;   // how long an access may have waited (metrics_text.h); 0: none waits
  uint64_t sidecar_pid = 0;    // 0: none seen
  uint64_t sidecar_heartbeat_ms = 0;
  uint64_t catch_ups = 0;        // times the cache caught up with the change log
  uint64_t changes_applied = 0;  // documents those catch-ups invalidated
  uint64_t resets = 0;           // catch-ups that cleared the cache instead
  uint64_t source_clock = 0;     // the file's clock the cache has caught up to
  std::string database_path;     // as the segment's creator recorded it ("" if it did not)
  std::string capacity_reason;   // why the segment has its size
  uint64_t ttl_ms = 0;           // the segment's TTL, 0: none
  uint64_t ttl_expired = 0;      // hits refused for being older than the TTL
};

class DocumentCache {
 public:
  enum class AttachMode {
    kOpenOrCreate,  // the extension: a database in use gets a segment
    kOpenExisting,  // the sidecar: flushes what exists, creates nothing
  };

  // The cache of the database file `path` with docstore_meta's
  // `database_id`, shared by every caller in this process. Only a segment
  // that segment_trust.h trusts is used, and only by a process that may
  // write the database. On failure: kUnavailable when there is none to
  // use (none exists, or only an untrusted one), kError when one exists
  // that cannot be used (damaged, another build's, not ours to map, no room
  // to make one). Either way the database is read instead. `codec` seals or not;
  // `reads_off` non-empty: never serve or fill (it says why), while still
  // keeping the segment coherent and counting accesses.
  static Status Attach(const std::string& path, const std::string& database_id, AttachMode mode, EntryCodec codec,
                       std::string reads_off, std::shared_ptr<DocumentCache>* out);

  DocumentCache(std::unique_ptr<shmcache::Segment> segment, EntryCodec codec, std::string reads_off);

  bool reads_enabled() const { return reads_off_.empty(); }
  // Whether this process made the segment (with its settings then).
  bool made_here() const { return segment_->created(); }
  // The segment's TTL, 0: none.
  uint64_t ttl_ms() const { return ttl_ms_; }
  // Why the segment has its size: the rule as its creator applied it, and
  // "the segment existed" when this process did not make it.
  const std::string& capacity_reason() const { return capacity_reason_; }

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
    if (status != shmcache::Status::kOk) return 0;
    if (ttl_ms_ != 0 && Expired(id, buffer, stored)) [[unlikely]] return 0;
    return Decode(id, version, buffer, stored);
  }
  bool Get(int64_t id, std::string* json);
  // For audits (cache_verify.h): the entry of `id` as its JSON, with the
  // document version it holds. kNotFound when there is none; kError when it
  // does not decode (then it is counted and dropped, as a hit would).
  Status ReadEntry(int64_t id, std::string* json, uint64_t* version);
  // Caches a document rendered from a kDocumentByIdSql row (`json`, `row`),
  // unless a write newer than its snapshot fenced it or it is not cacheable
  // (both counted in fills_skipped). Whether it was cached.
  bool Fill(int64_t id, std::string_view json, const DocumentRow& row);
  // A fill the caller may not make (its connection is in a write transaction).
  void NoteFillSkipped();

  // --- Catching up with the file (see the protocol above) -------------------
  bool SourceIs(const FileWatch::State& observed) const { return segment_->SourceIs(observed); }
  shmcache::SourcePosition Source() const { return segment_->Source(); }
  std::unique_ptr<shmcache::SourceSync> BeginSourceSync(uint32_t wait_ms) {
    return segment_->BeginSourceSync(wait_ms);
  }
  // Drops the cached copy of document `id`, changed at `clock`, and keeps
  // fills from snapshots before `clock` out. False when its shard's lock
  // could not be taken (a live holder did not let go): then the position
  // must not be published.
  bool Invalidate(int64_t id, int64_t clock);
  // Drops every entry and sets every fence to `clock`: when the log cannot
  // say what changed. False as Invalidate.
  bool ResetTo(int64_t clock);
  void NoteCatchUp(uint64_t changes, bool reset);
  // Whether this is still the segment the database's name leads to.
  bool StillCurrent() const { return segment_->StillNamed(); }
  // Drops every entry: how many there were, or kBusy when a shard's lock
  // could not be had (its entries stay).
  Status Clear(uint64_t* entries);

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
  // Flushes committed in this segment by any process so far (one atomic read).
  uint64_t FlushesCommitted() const;
  void NoteFlushFailed();
  void NoteInlineFlush();
  // The sidecar's liveness, shown in docstore_stats.
  void Heartbeat(pid_t pid);
  void SidecarStopped();
  uint64_t PendingFullestPercent();
  // Entries evicted so far (a few loads per shard).
  uint64_t Evictions() { return segment_->GetStats().evictions; }

  // --- Looking inside --------------------------------------------------------
  bool Lookup(int64_t id, shmcache::EntryInfo* info);
  void ForEach(const std::function<void(const shmcache::EntryInfo&)>& visit);
  void ForEachPending(const std::function<void(const shmcache::PendingAccess&)>& visit);
  CacheStats Stats();

 private:
  // The entry copied into `buffer` becomes the JSON; its length, or 0 (and
  // the entry dropped, to be read again) when it is not one to show.
  size_t Decode(int64_t id, uint64_t version, char* buffer, size_t stored);
  // Whether the entry copied into `buffer` was filled longer ago than the
  // TTL (then it is counted and erased).
  bool Expired(int64_t id, const char* buffer, size_t stored);

  const std::unique_ptr<shmcache::Segment> segment_;
  const EntryCodec codec_;
  const std::string reads_off_;
  const SegmentLabel label_;
  const uint64_t ttl_ms_;
  const std::string capacity_reason_;
};

}  // namespace docstore

#endif  // DOCSTORE_CORE_DOCUMENT_CACHE_H_
