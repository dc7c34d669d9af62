#include "document_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "cache_settings.h"
#include "clock.h"
#include "segment_counters.h"
#include "segment_trust.h"

namespace docstore {
namespace {

std::mutex registry_mutex;
std::map<std::string, std::weak_ptr<DocumentCache>>& Registry() {
  static auto* registry = new std::map<std::string, std::weak_ptr<DocumentCache>>;
  return *registry;
}

// The path the label records: where the file is, links resolved.
std::string CanonicalPath(const std::string& path) {
  char* resolved = realpath(path.c_str(), nullptr);
  if (resolved == nullptr) return path;
  std::string canonical = resolved;
  std::free(resolved);
  return canonical;
}

uint64_t Unsigned(int64_t value) { return value < 0 ? 0 : static_cast<uint64_t>(value); }

}  // namespace

Status DocumentCache::Attach(const std::string& path, const std::string& database_id, AttachMode mode,
                             EntryCodec codec, std::string reads_off, std::shared_ptr<DocumentCache>* out) {
  out->reset();
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    // Its segment cannot be named, yet may exist.
    return Status::Error("cannot stat the database file " + path + ": " + std::strerror(errno));
  }
  if (!IsDatabaseId(database_id)) {
    // Another process may have a segment this one cannot name.
    return Status::Error("docstore_meta.database_id is not 32 hex digits");
  }
  const std::string name = FormatSegmentName(SegmentName{static_cast<uint64_t>(st.st_dev),
                                                         static_cast<uint64_t>(st.st_ino), database_id,
                                                         ThisPidNamespace()});

  std::lock_guard lock(registry_mutex);
  // One per segment per process, unless its name was removed or made anew
  // since: then the current one.
  if ((*out = Registry()[name].lock()) != nullptr && (*out)->StillCurrent()) return Status::Ok();
  out->reset();
  // segment_trust.h: who may use a segment, which to trust, and what a new
  // one is given.
  const shmcache::FileOwner database = shmcache::OwnerOf(st);
  if (!MayWriteAsThisProcess(database)) {
    // Whoever may open a segment may change what others read from it: only
    // those who may write the database share one.
    return Status::Unavailable("this user may not write the database, so it shares no segment; reading from the "
                               "database");
  }
  const uid_t self = geteuid();
  const shmcache::OwnerCheck trusted = [&database, self](const shmcache::FileOwner& segment) {
    const Status status = CheckSegmentTrust(database, segment, self);
    return status.ok() ? shmcache::Error{} : shmcache::Error{shmcache::Status::kUntrusted, status.message()};
  };
  shmcache::Error error;
  std::unique_ptr<shmcache::Segment> segment;
  if (mode == AttachMode::kOpenOrCreate) {
    SegmentLabel label;
    shmcache::Options options =
        TakeSegmentOptions(static_cast<uint64_t>(st.st_size), &label.capacity_reason, &label.ttl_ms);
    label.database_path = CanonicalPath(path);
    options.label = EncodeSegmentLabel(label);
    const shmcache::FileOwner access = NewSegmentAccess(database, options.mode);
    options.owner = access.uid;
    options.group = access.gid;
    options.mode = access.mode;
    segment = shmcache::Segment::OpenOrCreate(name, options, &error, trusted);
  } else {
    segment = shmcache::Segment::Open(name, &error, trusted);
  }
  if (segment == nullptr) {
    // None there to use, or one that must be ignored: as if none.
    const bool none = error.status == shmcache::Status::kNoSegment || error.status == shmcache::Status::kUntrusted;
    return none ? Status::Unavailable(error.message) : Status::Error(error.message);
  }
  *out = std::make_shared<DocumentCache>(std::move(segment), std::move(codec), std::move(reads_off));
  Registry()[name] = *out;
  return Status::Ok();
}

DocumentCache::DocumentCache(std::unique_ptr<shmcache::Segment> segment, EntryCodec codec, std::string reads_off)
    : segment_(std::move(segment)),
      codec_(std::move(codec)),
      reads_off_(std::move(reads_off)),
      label_(DecodeSegmentLabel(segment_->label())),
      ttl_ms_(label_.ttl_ms),
      capacity_reason_(segment_->created() ? label_.capacity_reason
                                           : "the segment existed: its creator's size (" + label_.capacity_reason + ")") {}

bool DocumentCache::Expired(int64_t id, const char* buffer, size_t stored) {
  // A fill time after now (the clock was set back) counts as expired too.
  const uint64_t age = static_cast<uint64_t>(NowMilliseconds() - EntryCodec::FillTime(buffer, stored));
  if (age < ttl_ms_) return false;
  AddSegmentCounter(segment_.get(), SegmentCounter::kTtlExpired, 1);
  segment_->Erase(static_cast<uint64_t>(id));
  return true;
}

size_t DocumentCache::Decode(int64_t id, uint64_t version, char* buffer, size_t stored) {
  size_t json_bytes = 0;
  if (!codec_.DecodeInPlace(static_cast<uint64_t>(id), version, buffer, stored, &json_bytes).ok()) {
    // Tampered, or sealed under another key: never shown; read it again.
    AddSegmentCounter(segment_.get(), SegmentCounter::kAuthFailures, 1);
    segment_->Erase(static_cast<uint64_t>(id));
    return 0;
  }
  return json_bytes;
}

bool DocumentCache::Get(int64_t id, std::string* json) {
  const size_t length = Get(id, [json](size_t capacity) {
    json->resize(capacity);
    return json->data();
  });
  json->resize(length);
  return length != 0;
}

Status DocumentCache::ReadEntry(int64_t id, std::string* json, uint64_t* version) {
  size_t stored = 0;
  const auto status = segment_->CopyOut(
      static_cast<uint64_t>(id),
      [&](size_t bytes) {
        stored = bytes;
        json->resize(bytes);
        return json->data();
      },
      version);
  if (status != shmcache::Status::kOk) return Status::NotFound();
  const size_t json_bytes = Decode(id, *version, json->data(), stored);
  if (json_bytes == 0) return Status::Error("the entry does not decode");
  json->resize(json_bytes);
  return Status::Ok();
}

bool DocumentCache::Fill(int64_t id, std::string_view json, const DocumentRow& row) {
  std::string entry;
  if (!row.cacheable ||
      !codec_.Encode(static_cast<uint64_t>(id), Unsigned(row.version), json.substr(0, row.head_bytes), row.access,
                     NowMilliseconds(), &entry)
           .ok()) {
    NoteFillSkipped();
    return false;
  }
  return segment_->PutIfFresh(static_cast<uint64_t>(id), entry, Unsigned(row.version),
                              Unsigned(row.snapshot_clock)) == shmcache::Status::kOk;
}

void DocumentCache::NoteFillSkipped() {
  AddSegmentCounter(segment_.get(), SegmentCounter::kFillsSkippedInTransaction, 1);
}

bool DocumentCache::Invalidate(int64_t id, int64_t clock) {
  return segment_->Invalidate(static_cast<uint64_t>(id), Unsigned(clock));
}

bool DocumentCache::ResetTo(int64_t clock) {
  // Fences first: a fill from before `clock` that got in before them is
  // dropped by the Clear.
  return segment_->ResetFences(Unsigned(clock)) && segment_->Clear();
}

void DocumentCache::NoteCatchUp(uint64_t changes, bool reset) {
  AddSegmentCounter(segment_.get(), SegmentCounter::kCatchUps, 1);
  AddSegmentCounter(segment_.get(), SegmentCounter::kChangesApplied, changes);
  if (reset) AddSegmentCounter(segment_.get(), SegmentCounter::kResets, 1);
}

Status DocumentCache::Clear(uint64_t* entries) {
  *entries = segment_->GetStats().entries;
  if (segment_->Clear()) return Status::Ok();
  return Status::Busy("a process holds a lock of the cache and does not let go; some entries stay");
}

bool DocumentCache::RecordAccess(int64_t id) {
  return segment_->RecordAccess(static_cast<uint64_t>(id), NowMilliseconds()) == shmcache::Status::kOk;
}

void DocumentCache::UpdateAccess(int64_t id, int64_t access_count, const char* last_accessed) {
  AccessFields access;
  if (!AccessFields::From(access_count, last_accessed, &access).ok()) {
    segment_->Erase(static_cast<uint64_t>(id));
    return;
  }
  segment_->PatchTail(static_cast<uint64_t>(id), EntryCodec::AccessTrailer(access), kFillTimeBytes);
}

std::unique_ptr<shmcache::AccessFlush> DocumentCache::BeginFlush(uint32_t wait_ms) {
  return segment_->BeginFlush(wait_ms);
}

void DocumentCache::NoteFlushCommitted(uint64_t rows, uint64_t accesses) {
  shmcache::Segment* segment = segment_.get();
  AddSegmentCounter(segment, SegmentCounter::kFlushes, 1);
  AddSegmentCounter(segment, SegmentCounter::kRowsFlushed, rows);
  AddSegmentCounter(segment, SegmentCounter::kAccessesFlushed, accesses);
  SetSegmentCounter(segment, SegmentCounter::kLastFlushMs, static_cast<uint64_t>(NowMilliseconds()));
}

uint64_t DocumentCache::FlushesCommitted() const { return SegmentCounterValue(segment_.get(), SegmentCounter::kFlushes); }

void DocumentCache::NoteFlushFailed() { AddSegmentCounter(segment_.get(), SegmentCounter::kFlushFailures, 1); }

void DocumentCache::NoteInlineFlush() { AddSegmentCounter(segment_.get(), SegmentCounter::kInlineFlushes, 1); }

void DocumentCache::Heartbeat(pid_t pid) {
  SetSegmentCounter(segment_.get(), SegmentCounter::kSidecarPid, static_cast<uint64_t>(pid));
  SetSegmentCounter(segment_.get(), SegmentCounter::kSidecarHeartbeatMs, static_cast<uint64_t>(NowMilliseconds()));
}

void DocumentCache::SidecarStopped() { SetSegmentCounter(segment_.get(), SegmentCounter::kSidecarPid, 0); }

uint64_t DocumentCache::PendingFullestPercent() { return segment_->PendingFullestPercent(); }

bool DocumentCache::Lookup(int64_t id, shmcache::EntryInfo* info) {
  return segment_->Lookup(static_cast<uint64_t>(id), info) == shmcache::Status::kOk;
}

void DocumentCache::ForEach(const std::function<void(const shmcache::EntryInfo&)>& visit) {
  segment_->ForEach(visit);
}

void DocumentCache::ForEachPending(const std::function<void(const shmcache::PendingAccess&)>& visit) {
  segment_->ForEachPending(visit);
}

CacheStats DocumentCache::Stats() {
  shmcache::Segment* segment = segment_.get();
  auto counter = [segment](SegmentCounter c) { return SegmentCounterValue(segment, c); };
  CacheStats s;
  s.segment = segment->name();
  s.sealed = codec_.sealed();
  s.reads_off = reads_off_;
  s.cache = segment->GetStats();
  s.pending = segment->GetPendingTotals();
  s.limits = segment->limits();
  s.fills_skipped = s.cache.fenced_puts + counter(SegmentCounter::kFillsSkippedInTransaction);
  s.auth_failures = counter(SegmentCounter::kAuthFailures);
  s.flushes = counter(SegmentCounter::kFlushes);
  s.rows_flushed = counter(SegmentCounter::kRowsFlushed);
  s.accesses_flushed = counter(SegmentCounter::kAccessesFlushed);
  s.flush_failures = counter(SegmentCounter::kFlushFailures);
  s.inline_flushes = counter(SegmentCounter::kInlineFlushes);
  s.last_flush_ms = counter(SegmentCounter::kLastFlushMs);
  // How long an access may have waited (metrics_text.h): since the last
  // flush, or before any, since the oldest waiting document's latest access
  // (the segment keeps no older time).
  const int64_t now_ms = NowMilliseconds();
  int64_t waiting_since_ms = static_cast<int64_t>(s.last_flush_ms);
  if (s.pending.accesses != 0 && waiting_since_ms == 0) {
    waiting_since_ms = now_ms;
    segment->ForEachPending([&](const shmcache::PendingAccess& a) {
      if (a.last_ms > 0) waiting_since_ms = std::min(waiting_since_ms, a.last_ms);
    });
  }
  s.flush_lag_ms = s.pending.accesses == 0 || now_ms < waiting_since_ms
                       ? 0
                       : static_cast<uint64_t>(now_ms - waiting_since_ms);
  s.sidecar_pid = counter(SegmentCounter::kSidecarPid);
  s.sidecar_heartbeat_ms = counter(SegmentCounter::kSidecarHeartbeatMs);
  s.catch_ups = counter(SegmentCounter::kCatchUps);
  s.changes_applied = counter(SegmentCounter::kChangesApplied);
  s.resets = counter(SegmentCounter::kResets);
  s.source_clock = segment->Source().clock;
  s.database_path = label_.database_path;
  s.capacity_reason = capacity_reason_;
  s.ttl_ms = ttl_ms_;
  s.ttl_expired = counter(SegmentCounter::kTtlExpired);
  // The segment counted each of them as a hit: they were misses.
  const uint64_t expired_hits = std::min(s.ttl_expired, s.cache.hits);
  s.cache.hits -= expired_hits;
  s.cache.misses += expired_hits;
  return s;
}

}  // namespace docstore
