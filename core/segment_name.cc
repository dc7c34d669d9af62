#include "segment_name.h"

#include <sys/stat.h>

#include <charconv>
#include <cstdio>

#include "shmcache/shmcache.h"

namespace docstore {
namespace {

constexpr size_t kDatabaseIdDigits = 32;
constexpr char kLabelSeparator = '\0';
// Leaves the path at least 700 bytes of the label.
constexpr size_t kMaxReasonBytes = 300;

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// A lowercase hex number (no sign, no leading "0x", 1 to 16 digits) that
// ends at `end` or the end of *text; consumes it and the delimiter.
bool TakeHex(std::string_view* text, char end, uint64_t* value) {
  const size_t stop = text->find(end);
  const std::string_view digits = text->substr(0, stop);
  if (digits.empty() || digits.size() > 16 || (digits.size() > 1 && digits[0] == '0')) return false;
  for (char c : digits) {
    if (!IsLowerHex(c)) return false;
  }
  std::from_chars(digits.data(), digits.data() + digits.size(), *value, 16);
  text->remove_prefix(stop == std::string_view::npos ? text->size() : stop + 1);
  return true;
}

}  // namespace

bool IsDatabaseId(std::string_view id) {
  if (id.size() != kDatabaseIdDigits) return false;
  for (char c : id) {
    if (!IsLowerHex(c)) return false;
  }
  return true;
}

uint64_t ThisPidNamespace() {
  struct stat pid_namespace;
  return stat("/proc/self/ns/pid", &pid_namespace) == 0 ? static_cast<uint64_t>(pid_namespace.st_ino) : 0;
}

std::string FormatSegmentName(const SegmentName& name) {
  char text[128];
  std::snprintf(text, sizeof text, "%.*s%llx-%llx-%s-%llx", static_cast<int>(kSegmentNamePrefix.size()),
                kSegmentNamePrefix.data(), static_cast<unsigned long long>(name.dev),
                static_cast<unsigned long long>(name.ino), name.database_id.c_str(),
                static_cast<unsigned long long>(name.pid_namespace));
  return text;
}

bool ParseSegmentName(std::string_view text, SegmentName* name) {
  std::string_view prefix = kSegmentNamePrefix;
  if (text.empty() || text[0] != '/') prefix.remove_prefix(1);  // "docstore-..." as readdir gives it
  if (text.substr(0, prefix.size()) != prefix) return false;
  text.remove_prefix(prefix.size());
  SegmentName parsed;
  if (!TakeHex(&text, '-', &parsed.dev) || !TakeHex(&text, '-', &parsed.ino)) return false;
  if (text.size() < kDatabaseIdDigits + 1 || text[kDatabaseIdDigits] != '-' ||
      !IsDatabaseId(text.substr(0, kDatabaseIdDigits))) {
    return false;
  }
  parsed.database_id = std::string(text.substr(0, kDatabaseIdDigits));
  text.remove_prefix(kDatabaseIdDigits + 1);
  if (text.find('-') != std::string_view::npos || !TakeHex(&text, '-', &parsed.pid_namespace)) return false;
  *name = std::move(parsed);
  return true;
}

std::string EncodeSegmentLabel(const SegmentLabel& label) {
  std::string tail(1, kLabelSeparator);
  tail.append(label.capacity_reason, 0, kMaxReasonBytes).append(1, kLabelSeparator).append(std::to_string(label.ttl_ms));
  const bool path_fits = label.database_path.find(kLabelSeparator) == std::string::npos &&
                         label.database_path.size() + tail.size() <= shmcache::kMaxLabelBytes;
  return (path_fits ? label.database_path : std::string()) + tail;
}

SegmentLabel DecodeSegmentLabel(std::string_view bytes) {
  SegmentLabel label;
  const size_t first = bytes.find(kLabelSeparator);
  if (first == std::string_view::npos) return label;
  const size_t second = bytes.find(kLabelSeparator, first + 1);
  if (second == std::string_view::npos) return label;
  label.database_path = std::string(bytes.substr(0, first));
  label.capacity_reason = std::string(bytes.substr(first + 1, second - first - 1));
  const std::string_view ttl = bytes.substr(second + 1);
  uint64_t ttl_ms = 0;
  const auto [end, error] = std::from_chars(ttl.data(), ttl.data() + ttl.size(), ttl_ms);
  if (error == std::errc() && end == ttl.data() + ttl.size()) label.ttl_ms = ttl_ms;
  return label;
}

}  // namespace docstore
