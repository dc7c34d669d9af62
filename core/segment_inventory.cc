#include "segment_inventory.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "shmcache/shmcache.h"

namespace docstore {
namespace {

constexpr const char* kShmDirectory = "/dev/shm";

SegmentReport Inspect(const std::string& name) {
  SegmentReport report;
  report.name = name;
  report.named = ParseSegmentName(name, &report.parts);
  const std::string file = kShmDirectory + name;
  if (lstat(file.c_str(), &report.file) != 0) {
    report.unreadable = std::string("gone while listed: ") + std::strerror(errno);
    return report;
  }
  if (!report.named) {
    report.unreadable = "not a docstore segment's name (a creator's unfinished file?)";
    return report;
  }
  shmcache::Error error;
  const auto segment = shmcache::Segment::Open(name, &error);
  if (segment == nullptr) {
    report.unreadable = error.message;
    return report;
  }
  report.label = DecodeSegmentLabel(segment->label());
  report.segment_bytes = segment->limits().segment_bytes;
  report.entries = segment->GetStats().entries;
  return report;
}

}  // namespace

Status ListSegments(std::vector<SegmentReport>* reports) {
  reports->clear();
  DIR* dir = opendir(kShmDirectory);
  if (dir == nullptr) return Status::Error(std::string("cannot list ") + kShmDirectory + ": " + std::strerror(errno));
  std::vector<std::string> names;
  const std::string_view prefix = kSegmentNamePrefix.substr(1);
  while (const dirent* entry = readdir(dir)) {
    const std::string_view file = entry->d_name;
    if (file.substr(0, prefix.size()) != prefix) continue;
    std::string name = "/";  // (appended, not "/" + file: GCC 12 warns falsely on that, PR 105329)
    name += file;
    names.push_back(std::move(name));
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) reports->push_back(Inspect(name));
  return Status::Ok();
}

namespace {

// Opens the segment's file and takes a read lease on it: the descriptor, or
// -1 with *status.
int LeaseSegment(const std::string& name, Status* status) {
  const std::string file = kShmDirectory + name;
  const int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    *status = Status::Error("cannot open " + file + ": " + std::strerror(errno));
    return -1;
  }
  if (fcntl(fd, F_SETLEASE, F_RDLCK) != 0) {
    const int failed = errno;
    close(fd);
    *status = failed == EAGAIN ? Status::Busy("a process has it open or mapped")
                               : Status::Error("cannot tell whether a process uses it (a lease on " + file +
                                               ": " + std::strerror(failed) + ")");
    return -1;
  }
  *status = Status::Ok();
  return fd;
}

void ReleaseLease(int fd) {
  fcntl(fd, F_SETLEASE, F_UNLCK);
  close(fd);
}

}  // namespace

Status CheckSegmentUnused(const std::string& name) {
  Status status;
  const int fd = LeaseSegment(name, &status);
  if (fd >= 0) ReleaseLease(fd);
  return status;
}

Status RemoveUnusedSegment(const std::string& name) {
  Status status;
  const int fd = LeaseSegment(name, &status);
  if (fd < 0) return status;
  if (!shmcache::Segment::Remove(name)) {
    status = Status::Error("cannot remove " + std::string(kShmDirectory) + name + ": " + std::strerror(errno));
  }
  ReleaseLease(fd);
  return status;
}

}  // namespace docstore
