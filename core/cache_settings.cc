#include "cache_settings.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "document_entry.h"

namespace docstore {
namespace {

// Shards: as many as fit while a shard still holds four largest entries.
constexpr uint32_t kMaxShards = 16;

std::mutex settings_mutex;
bool segment_attached = false;  // guarded by settings_mutex

shmcache::Options OptionsFor(const CacheSettings& s, uint64_t capacity_bytes) {
  shmcache::Options options;
  options.value_format = kEntryFormat;
  options.capacity_bytes = capacity_bytes;
  options.max_entry_bytes = s.max_entry_bytes;
  options.mode = s.mode;
  options.pending_slots = s.pending_slots;
  options.shard_count = kMaxShards;
  while (options.shard_count > 1 && !shmcache::Segment::ValidateOptions(options).ok()) {
    options.shard_count /= 2;
  }
  return options;
}

// A default capacity is checked at its largest: below it DefaultCapacity
// grows until the largest entry fits.
Status Validate(const CacheSettings& settings) {
  const uint64_t capacity = settings.capacity_bytes != 0 ? settings.capacity_bytes : kMaxDefaultCapacity;
  const shmcache::Error error = shmcache::Segment::ValidateOptions(OptionsFor(settings, capacity));
  return error.ok() ? Status::Ok() : Status::InvalidArgument(error.message);
}

// Reads a byte count from the environment; ok when unset.
Status ReadBytesVariable(const char* name, uint64_t* out) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return Status::Ok();
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0' || text[0] == '-') {
    return Status::InvalidArgument(std::string(name) + "='" + text + "' is not a byte count");
  }
  *out = value;
  return Status::Ok();
}

Status ReadMode(mode_t* mode) {
  const char* text = std::getenv("DOCSTORE_CACHE_MODE");
  if (text == nullptr || *text == '\0') return Status::Ok();
  char* end = nullptr;
  const unsigned long value = std::strtoul(text, &end, 8);
  if (*end != '\0' || value > 0777) {
    return Status::InvalidArgument(std::string("DOCSTORE_CACHE_MODE='") + text + "' is not an octal file mode");
  }
  *mode = static_cast<mode_t>(value);
  return Status::Ok();
}

struct EnvironmentSettings {
  CacheSettings settings;
  std::string error;
};

EnvironmentSettings ReadEnvironment() {
  CacheSettings s;
  uint64_t pending_slots = 0;
  Status status = ReadBytesVariable("DOCSTORE_CACHE_BYTES", &s.capacity_bytes);
  if (s.capacity_bytes != 0) s.capacity_from = "DOCSTORE_CACHE_BYTES";
  if (status.ok()) status = ReadBytesVariable("DOCSTORE_CACHE_MAX_ENTRY_BYTES", &s.max_entry_bytes);
  if (status.ok()) status = ReadBytesVariable("DOCSTORE_CACHE_TTL_MS", &s.ttl_ms);
  if (status.ok()) status = ReadBytesVariable("DOCSTORE_PENDING_SLOTS", &pending_slots);
  if (status.ok() && pending_slots > (1u << 24)) status = Status::InvalidArgument("DOCSTORE_PENDING_SLOTS is above 16777216");
  s.pending_slots = static_cast<uint32_t>(pending_slots);
  if (status.ok()) status = ReadMode(&s.mode);
  if (const char* flag = std::getenv("DOCSTORE_CACHE"); flag != nullptr && std::strcmp(flag, "off") == 0) {
    s.enabled = false;
  }
  if (status.ok()) status = Validate(s);
  if (status.ok()) return {s, ""};
  // Unusable settings must not turn the cache off: a writer that skipped
  // invalidation would leave other processes stale. Use the defaults.
  CacheSettings defaults;
  defaults.enabled = s.enabled;
  return {defaults, status.message() + "; using the defaults"};
}

const EnvironmentSettings& Environment() {
  static const EnvironmentSettings environment = ReadEnvironment();
  return environment;
}

// The process's settings, first read from the environment; guarded by
// settings_mutex.
CacheSettings& Settings() {
  static CacheSettings settings = Environment().settings;
  return settings;
}

}  // namespace

CacheSettings CurrentCacheSettings() {
  std::lock_guard lock(settings_mutex);
  return Settings();
}

std::string CacheSettingsEnvironmentError() { return Environment().error; }

Status SetCacheSettings(const CacheSettings& settings) {
  if (Status status = Validate(settings); !status.ok()) return status;
  std::lock_guard lock(settings_mutex);
  if (segment_attached) {
    return Status::Error("this process already uses a cache segment; settings apply before the first use");
  }
  Settings() = settings;
  return Status::Ok();
}

std::string ReadableBytes(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, bytes >= (1u << 20) ? "%.1f MiB" : "%.1f KiB",
                static_cast<double>(bytes) / (bytes >= (1u << 20) ? 1048576.0 : 1024.0));
  return text;
}

uint64_t DefaultCapacity(uint64_t database_bytes, const CacheSettings& settings, std::string* reason) {
  uint64_t capacity = kMinDefaultCapacity;
  while (capacity < kMaxDefaultCapacity && capacity / 2 < database_bytes) capacity *= 2;
  *reason = "default: 2 x database size " + ReadableBytes(database_bytes);
  if (database_bytes <= kMinDefaultCapacity / 2) {
    *reason += ", at least " + ReadableBytes(kMinDefaultCapacity);
  } else if (database_bytes > kMaxDefaultCapacity / 2) {
    *reason += ", at most " + ReadableBytes(kMaxDefaultCapacity);
  }
  const uint64_t rounded = capacity;
  while (capacity < kMaxDefaultCapacity && !shmcache::Segment::ValidateOptions(OptionsFor(settings, capacity)).ok()) {
    capacity *= 2;
  }
  if (capacity != rounded) {
    *reason += ", raised to " + ReadableBytes(capacity) + " to hold entries of up to " + ReadableBytes(settings.max_entry_bytes);
  }
  return capacity;
}

bool BenchSkipsDetection() { return std::getenv("DOCSTORE_BENCH_UNSAFE_NO_DETECTION") != nullptr; }

shmcache::Options TakeSegmentOptions(uint64_t database_bytes, std::string* capacity_reason, uint64_t* ttl_ms) {
  std::lock_guard lock(settings_mutex);
  segment_attached = true;
  const CacheSettings& settings = Settings();
  *ttl_ms = settings.ttl_ms;
  uint64_t capacity = settings.capacity_bytes;
  if (capacity != 0) {
    *capacity_reason = settings.capacity_from;
  } else {
    capacity = DefaultCapacity(database_bytes, settings, capacity_reason);
  }
  return OptionsFor(settings, capacity);
}

}  // namespace docstore
