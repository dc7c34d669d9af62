#include "cache_settings.h"

#include <cerrno>
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

Status Validate(const CacheSettings& settings) {
  const shmcache::Error error = shmcache::Segment::ValidateOptions(OptionsFor(settings));
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
  if (status.ok()) status = ReadBytesVariable("DOCSTORE_CACHE_MAX_ENTRY_BYTES", &s.max_entry_bytes);
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

bool BenchSkipsDetection() { return std::getenv("DOCSTORE_BENCH_UNSAFE_NO_DETECTION") != nullptr; }

shmcache::Options TakeSegmentOptions() {
  std::lock_guard lock(settings_mutex);
  segment_attached = true;
  return OptionsFor(Settings());
}

}  // namespace docstore
