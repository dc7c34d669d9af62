// Which shmcache segment is a database's, and what docstore writes in its
// label: the one place that formats and parses both (the extension and the
// sidecar attach by the name; docstore-sidecar --list-segments reads names
// and labels back).
//
// THE NAME. "/docstore-<dev>-<ino>-<database_id>-<pid namespace>", numbers in
// lowercase hex: the database's main file's device and inode, docstore_meta's
// database_id (32 hex digits, from migration 3), and the inode of the
// process's PID namespace (/proc/self/ns/pid, 0 when unknown). Two paths to
// one file meet in one segment; two files never do, not even when a deleted
// file's inode is reused (its database_id differs); containers with their
// own PID namespaces have their own (a segment's locks name their holders by
// thread id).
//
// THE LABEL. What the segment's creator knew, for later attachers and for
// operators: the database's canonical path (where the creator found it), why
// the segment has its size, and its TTL. Three fields separated by NUL bytes
// (a path holds no NUL): path, capacity reason, TTL in milliseconds as
// decimal. It is read back from shared memory that others may write: a field
// that does not parse reads as empty (or 0), nothing more.
#ifndef DOCSTORE_CORE_SEGMENT_NAME_H_
#define DOCSTORE_CORE_SEGMENT_NAME_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace docstore {

// Every docstore segment's name starts so (a file /dev/shm/docstore-...).
inline constexpr std::string_view kSegmentNamePrefix = "/docstore-";

struct SegmentName {
  uint64_t dev = 0;
  uint64_t ino = 0;
  std::string database_id;  // 32 lowercase hex digits
  uint64_t pid_namespace = 0;
};

// True for docstore_meta's database_id as migration 3 makes it.
bool IsDatabaseId(std::string_view id);
// The inode of this process's PID namespace, 0 if /proc does not say.
uint64_t ThisPidNamespace();
std::string FormatSegmentName(const SegmentName& name);
// The inverse of FormatSegmentName (a leading '/' or not): false for any
// other text, e.g. a creator's temporary file (".creating-").
bool ParseSegmentName(std::string_view text, SegmentName* name);

struct SegmentLabel {
  std::string database_path;    // "" when it was too long to record
  std::string capacity_reason;  // why the creator chose the size
  uint64_t ttl_ms = 0;          // 0: entries do not expire
};

// At most shmcache's kMaxLabelBytes: a path too long to fit is left out.
std::string EncodeSegmentLabel(const SegmentLabel& label);
SegmentLabel DecodeSegmentLabel(std::string_view bytes);

}  // namespace docstore

#endif  // DOCSTORE_CORE_SEGMENT_NAME_H_
