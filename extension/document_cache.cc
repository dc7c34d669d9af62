#include "document_cache.h"

#include "segment_counters.h"

#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

namespace docstore {
namespace {

// Shards: as many as fit while a shard still holds four largest entries.
constexpr uint32_t kMaxShards = 16;

std::mutex settings_mutex;
bool segment_attached = false;  // guarded by settings_mutex

// Reads a byte count from the environment; "" when unset or valid.
std::string ReadBytesVariable(const char* name, uint64_t* out) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return "";
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0' || text[0] == '-') {
    return std::string(name) + "='" + text + "' is not a byte count";
  }
  *out = value;
  return "";
}

// The format of docstore's entries (see Get): [head][access trailer], an
// encrypted database's head sealed as [ciphertext][nonce][tag]. Segments of
// builds before the number (format 0) sealed heads as [nonce][ciphertext][tag];
// a segment of another format is refused, never misread.
constexpr uint32_t kEntryFormat = 1;

shmcache::Options OptionsFor(const CacheSettings& s) {
  shmcache::Options options;
  options.value_format = kEntryFormat;
  options.capacity_bytes = s.capacity_bytes;
  options.max_entry_bytes = s.max_entry_bytes;
  options.mode = s.mode;
  options.pending_slots = s.pending_slots;
  options.shard_count = kMaxShards;
  while (options.shard_count > 1 && !shmcache::Segment::ValidateOptions(options).ok()) {
    options.shard_count /= 2;
  }
  return options;
}

// "" when a segment can be made with these settings.
std::string ValidateSettings(const CacheSettings& settings) {
  return shmcache::Segment::ValidateOptions(OptionsFor(settings)).message;
}

struct EnvironmentSettings {
  CacheSettings settings;
  std::string error;
};

EnvironmentSettings ReadEnvironment() {
  EnvironmentSettings env;
  CacheSettings s;
  std::string error = ReadBytesVariable("DOCSTORE_CACHE_BYTES", &s.capacity_bytes);
  if (error.empty()) error = ReadBytesVariable("DOCSTORE_CACHE_MAX_ENTRY_BYTES", &s.max_entry_bytes);
  uint64_t pending_slots = 0;
  if (error.empty()) error = ReadBytesVariable("DOCSTORE_PENDING_SLOTS", &pending_slots);
  if (error.empty() && pending_slots > (1u << 24)) error = "DOCSTORE_PENDING_SLOTS is above 16777216";
  s.pending_slots = static_cast<uint32_t>(pending_slots);
  if (const char* mode = std::getenv("DOCSTORE_CACHE_MODE"); error.empty() && mode != nullptr && *mode) {
    char* end = nullptr;
    const unsigned long value = std::strtoul(mode, &end, 8);
    if (*end != '\0' || value > 0777) {
      error = std::string("DOCSTORE_CACHE_MODE='") + mode + "' is not an octal file mode";
    } else {
      s.mode = static_cast<mode_t>(value);
    }
  }
  if (const char* flag = std::getenv("DOCSTORE_CACHE"); flag != nullptr && std::strcmp(flag, "off") == 0) {
    s.enabled = false;
  }
  if (error.empty()) error = ValidateSettings(s);
  if (!error.empty()) {
    // Unusable settings must not turn the cache off: a writer that skipped
    // invalidation would leave other processes stale. Use the defaults.
    env.error = error + "; using the defaults";
    env.settings = CacheSettings{};
    env.settings.enabled = s.enabled;
  } else {
    env.settings = s;
  }
  return env;
}

// The process's settings, first read from the environment.
CacheSettings& Settings() {
  static CacheSettings settings = ReadEnvironment().settings;
  return settings;
}

std::mutex registry_mutex;
std::map<std::string, std::weak_ptr<DocumentCache>>& Registry() {
  static auto* registry = new std::map<std::string, std::weak_ptr<DocumentCache>>;
  return *registry;
}

bool IsHexId(const std::string& id) {
  if (id.size() != 32) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

CacheSettings CurrentCacheSettings() {
  std::lock_guard lock(settings_mutex);
  return Settings();
}

std::string CacheSettingsEnvironmentError() {
  static const std::string error = ReadEnvironment().error;
  return error;
}

bool SetCacheSettings(const CacheSettings& settings, std::string* error) {
  *error = ValidateSettings(settings);
  if (!error->empty()) return false;
  std::lock_guard lock(settings_mutex);
  if (segment_attached) {
    *error = "this process already uses a cache segment; settings apply before the first use";
    return false;
  }
  Settings() = settings;
  return true;
}

std::shared_ptr<DocumentCache> DocumentCache::ForDatabase(const std::string& path,
                                                          const std::string& database_id, bool encrypted,
                                                          const std::string& cache_key, AttachFailure* failure) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    failure->reason = "cannot stat the database file " + path + ": " + std::strerror(errno);
    failure->refuse_writes = true;  // its segment cannot be named, yet may exist
    return nullptr;
  }
  if (!IsHexId(database_id)) {
    failure->reason = "docstore_meta.database_id is not 32 hex digits";
    failure->refuse_writes = true;  // another process may have a segment we cannot name
    return nullptr;
  }
  char name[96];
  std::snprintf(name, sizeof name, "/docstore-%llx-%llx-%s", static_cast<unsigned long long>(st.st_dev),
                static_cast<unsigned long long>(st.st_ino), database_id.c_str());

  std::lock_guard lock(registry_mutex);
  if (auto existing = Registry()[name].lock()) return existing;
  CacheSettings settings;
  {
    std::lock_guard settings_lock(settings_mutex);
    settings = Settings();
    segment_attached = true;
  }
  shmcache::Error error;
  auto segment = shmcache::Segment::OpenOrCreate(name, OptionsFor(settings), &error);
  if (segment == nullptr) {
    failure->reason = error.message;
    // Writes are safe without a segment only when none exists that others
    // could be serving from: creating it failed (no /dev/shm, no room) and
    // no file of that name is there. The caller tries again next time.
    struct stat segment_file;
    failure->refuse_writes = error.status != shmcache::Status::kSystemError ||
                             stat((std::string("/dev/shm") + name).c_str(), &segment_file) == 0;
    failure->retry = !failure->refuse_writes;
    return nullptr;
  }
  std::string reads_off;
  std::unique_ptr<EntryCipher> cipher;
  if (encrypted) {
    cipher = EntryCipher::FromHexKey(cache_key);
    if (cipher == nullptr) {
      reads_off = "documents not cached: the database is encrypted and has no cache key yet (run SELECT docstore_init())";
    }
  }
  if (reads_off.empty() && !settings.enabled) reads_off = "reads off (DOCSTORE_CACHE=off)";
  auto cache = std::make_shared<DocumentCache>(std::move(segment), encrypted, std::move(cipher), std::move(reads_off));
  Registry()[name] = cache;
  return cache;
}

DocumentCache::DocumentCache(std::unique_ptr<shmcache::Segment> segment, bool encrypted,
                             std::unique_ptr<EntryCipher> cipher, std::string reads_off)
    : segment_(std::move(segment)), encrypted_(encrypted), cipher_(std::move(cipher)), reads_off_(std::move(reads_off)) {}

namespace {

// [int64 access_count][uint8 has_last_accessed][24 bytes last_accessed]
constexpr size_t kAccessTrailerBytes = 8 + 1 + kIsoTimeBytes;
// The longest ,"access_count":N,"last_accessed":"..."}.
constexpr size_t kAccessFieldsMaxBytes = 96;

bool IsIsoTime(const char* text) {
  if (text == nullptr || std::strlen(text) != kIsoTimeBytes) return false;
  for (size_t i = 0; i < kIsoTimeBytes; ++i) {
    const char c = text[i];
    if (!((c >= '0' && c <= '9') || c == '-' || c == ':' || c == '.' || c == 'T' || c == 'Z')) return false;
  }
  return true;
}

std::string AccessTrailer(int64_t access_count, const char* last_accessed) {
  std::string trailer(kAccessTrailerBytes, '\0');
  std::memcpy(trailer.data(), &access_count, 8);
  if (last_accessed != nullptr) {
    trailer[8] = 1;
    std::memcpy(trailer.data() + 9, last_accessed, kIsoTimeBytes);
  }
  return trailer;
}

// Writes ,"access_count":N,"last_accessed":"..."} (null for a null `last`),
// the end of every doc_get JSON, at `out`; returns its length (at most
// kAccessFieldsMaxBytes).
size_t FormatAccessFields(char* out, int64_t count, const char* last) {
  char* at = out;
  auto put = [&at](std::string_view text) {
    std::memcpy(at, text.data(), text.size());
    at += text.size();
  };
  put(",\"access_count\":");
  at = std::to_chars(at, at + 20, count).ptr;
  put(",\"last_accessed\":");
  if (last == nullptr) {
    put("null");
  } else {
    put("\"");
    put(std::string_view(last, kIsoTimeBytes));
    put("\"");
  }
  put("}");
  return static_cast<size_t>(at - out);
}

// Turns a trailer into the access fields at `out` (which may be where the
// trailer is); returns their length.
size_t FormatTrailer(const char* trailer, char* out) {
  int64_t count = 0;
  std::memcpy(&count, trailer, 8);
  char last[kIsoTimeBytes];
  const bool has_last = trailer[8] != 0;
  if (has_last) std::memcpy(last, trailer + 9, kIsoTimeBytes);
  return FormatAccessFields(out, count, has_last ? last : nullptr);
}

}  // namespace

// An entry is [head][trailer], the trailer holding the access fields (which
// flushes patch in place). An encrypted database's head is sealed,
// [ciphertext][nonce][tag], and the trailer stays outside the seal: the
// segment may show access counts. One copy out of the segment, into the
// caller's buffer, where a sealed head is decrypted in place and the trailer
// becomes the access fields of the JSON.
size_t DocumentCache::Get(int64_t id, const std::function<char*(size_t capacity)>& allocate) {
  const size_t seal = cipher_ != nullptr ? EntryCipher::kOverhead : 0;
  char* buffer = nullptr;
  size_t stored = 0;
  uint64_t version = 0;
  const auto status = segment_->CopyOut(static_cast<uint64_t>(id), [&](size_t bytes) {
    stored = bytes;
    buffer = bytes < kAccessTrailerBytes + seal ? nullptr : allocate(bytes + kAccessFieldsMaxBytes);
    return buffer;
  }, &version);
  if (status != shmcache::Status::kOk) return 0;
  const size_t trailer = stored - kAccessTrailerBytes;
  if (cipher_ != nullptr && !cipher_->Open(static_cast<uint64_t>(id), version, buffer, trailer)) {
    // Tampered, or sealed under another key: never shown; read it again.
    AddSegmentCounter(segment_.get(), SegmentCounter::kAuthFailures, 1);
    segment_->Erase(static_cast<uint64_t>(id));
    return 0;
  }
  const size_t head = trailer - seal;
  return head + FormatTrailer(buffer + trailer, buffer + head);
}

bool DocumentCache::Get(int64_t id, std::string* json) {
  const size_t length = Get(id, [json](size_t capacity) {
    json->resize(capacity);
    return json->data();
  });
  json->resize(length);
  return length != 0;
}

void DocumentCache::Fill(int64_t id, std::string_view json_head, int64_t access_count,
                         const char* last_accessed, int64_t version, int64_t snapshot_clock) {
  if (snapshot_clock < 0 || (last_accessed != nullptr && !IsIsoTime(last_accessed))) return;
  std::string value;
  if (cipher_ != nullptr) {
    if (!cipher_->Seal(static_cast<uint64_t>(id), static_cast<uint64_t>(version), json_head, &value)) return;
  } else {
    value.assign(json_head);
  }
  value.append(AccessTrailer(access_count, last_accessed));
  segment_->PutIfFresh(static_cast<uint64_t>(id), value, static_cast<uint64_t>(version),
                       static_cast<uint64_t>(snapshot_clock));
}

void DocumentCache::UpdateAccess(int64_t id, int64_t access_count, const char* last_accessed) {
  if (last_accessed != nullptr && !IsIsoTime(last_accessed)) {
    segment_->Erase(static_cast<uint64_t>(id));  // cannot be shown from the trailer: read it again
    return;
  }
  segment_->PatchTail(static_cast<uint64_t>(id), AccessTrailer(access_count, last_accessed));
}

void DocumentCache::Invalidate(int64_t id, int64_t clock) {
  segment_->Invalidate(static_cast<uint64_t>(id), clock < 0 ? 0 : static_cast<uint64_t>(clock));
}

uint64_t DocumentCache::Clear() {
  const uint64_t entries = segment_->GetStats().entries;
  segment_->Clear();
  return entries;
}

shmcache::Status DocumentCache::RecordAccess(int64_t id) {
  return segment_->RecordAccess(static_cast<uint64_t>(id), NowMilliseconds());
}

bool DocumentCache::Lookup(int64_t id, shmcache::EntryInfo* info) {
  return segment_->Lookup(static_cast<uint64_t>(id), info) == shmcache::Status::kOk;
}

void DocumentCache::ForEach(const std::function<void(const shmcache::EntryInfo&)>& visit) {
  segment_->ForEach(visit);
}

std::vector<std::pair<std::string, std::string>> DocumentCache::Stats() {
  shmcache::Segment* seg = segment_.get();
  const shmcache::Stats s = seg->GetStats();
  const shmcache::PendingTotals pending = seg->GetPendingTotals();
  const shmcache::Limits& limits = seg->limits();
  auto counter = [seg](SegmentCounter c) { return SegmentCounterValue(seg, c); };
  char ratio[32];
  const uint64_t lookups = s.hits + s.misses;
  std::snprintf(ratio, sizeof ratio, "%.4f",
                lookups == 0 ? 0.0 : static_cast<double>(s.hits) / static_cast<double>(lookups));
  auto n = [](uint64_t v) { return std::to_string(v); };
  auto time_or_empty = [](uint64_t ms) { return ms == 0 ? std::string() : IsoTime(static_cast<int64_t>(ms)); };
  const uint64_t last_flush_ms = counter(SegmentCounter::kLastFlushMs);
  const auto now_ms = static_cast<uint64_t>(NowMilliseconds());
  // How far the database is behind: the time since the last flush while
  // accesses are waiting, 0 when none are.
  const uint64_t lag_ms = pending.accesses == 0 || last_flush_ms == 0 || now_ms < last_flush_ms
                              ? 0
                              : now_ms - last_flush_ms;
  return {
      {"cache_status", !reads_off_.empty() ? reads_off_
                       : cipher_ != nullptr ? "on (entries sealed with AES-256-GCM)"
                                            : "on"},
      {"segment", seg->name()},
      {"hits", n(s.hits)},
      {"misses", n(s.misses)},
      {"hit_ratio", ratio},
      {"inserts", n(s.inserts)},
      {"evictions", n(s.evictions)},
      {"entries", n(s.entries)},
      {"value_bytes", n(s.value_bytes)},
      {"bytes_used", n(s.chunk_bytes_used)},
      {"capacity_bytes", n(s.capacity_bytes)},
      {"segment_bytes", n(limits.segment_bytes)},
      {"max_entry_bytes", n(limits.max_entry_bytes)},
      {"shards", n(limits.shard_count)},
      {"fills_skipped", n(s.fenced_puts + counter(SegmentCounter::kFillsSkippedInTransaction))},
      {"fills_refused_too_large", n(s.refused_too_large)},
      {"invalidations", n(s.invalidations)},
      {"lock_recoveries", n(s.lock_recoveries + pending.lock_recoveries)},
      {"errors", n(counter(SegmentCounter::kErrors) + s.corruption_resets)},
      {"auth_failures", n(counter(SegmentCounter::kAuthFailures))},
      {"accesses_recorded", n(pending.recorded)},
      {"pending_documents", n(pending.keys)},
      {"pending_accesses", n(pending.accesses)},
      {"pending_capacity", n(pending.capacity)},
      {"pending_fullest_percent", n(pending.fullest_percent)},
      {"pending_full", n(pending.refused_full)},
      {"flushes", n(counter(SegmentCounter::kFlushes))},
      {"rows_flushed", n(counter(SegmentCounter::kRowsFlushed))},
      {"accesses_flushed", n(counter(SegmentCounter::kAccessesFlushed))},
      {"flush_failures", n(counter(SegmentCounter::kFlushFailures))},
      {"inline_flushes", n(counter(SegmentCounter::kInlineFlushes))},
      {"last_flush", time_or_empty(last_flush_ms)},
      {"flush_lag_ms", n(lag_ms)},
      {"sidecar_pid", n(counter(SegmentCounter::kSidecarPid))},
      {"sidecar_heartbeat", time_or_empty(counter(SegmentCounter::kSidecarHeartbeatMs))},
  };
}

}  // namespace docstore
