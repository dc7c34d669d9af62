#include "segment_list.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string_view>
#include <map>
#include <string>
#include <vector>

#include "cache_settings.h"
#include "segment_inventory.h"

namespace docstore {
namespace {

// What /proc shows of the processes that have docstore segments mapped:
// name -> "pid (command)". Only processes whose maps this user may read;
// whether anyone at all uses a segment is the kernel's answer
// (CheckSegmentUnused).
using Mappers = std::map<std::string, std::vector<std::string>>;

std::string Command(const std::string& pid) {
  std::ifstream comm("/proc/" + pid + "/comm");
  std::string name;
  std::getline(comm, name);
  return name.empty() ? "?" : name;
}

Mappers ScanProc() {
  Mappers mappers;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return mappers;
  const std::string marker = "/dev/shm" + std::string(kSegmentNamePrefix);
  while (const dirent* entry = readdir(proc)) {
    const std::string pid = entry->d_name;
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    FILE* maps = std::fopen(("/proc/" + pid + "/maps").c_str(), "re");
    if (maps == nullptr) continue;
    std::vector<std::string> seen;
    char* text = nullptr;
    size_t capacity = 0;
    for (ssize_t n; (n = getline(&text, &capacity, maps)) > 0;) {
      std::string line(text, static_cast<size_t>(n));
      if (line.back() == '\n') line.pop_back();
      const size_t at = line.find(marker);
      if (at == std::string::npos) continue;
      std::string name = line.substr(at + std::strlen("/dev/shm"));
      if (const size_t deleted = name.find(" (deleted)"); deleted != std::string::npos) name.resize(deleted);
      bool known = false;
      for (const std::string& s : seen) known |= s == name;
      if (!known) seen.push_back(name);
    }
    std::free(text);
    std::fclose(maps);
    for (const std::string& name : seen) mappers[name].push_back(pid + " (" + Command(pid) + ")");
  }
  closedir(proc);
  return mappers;
}

enum class Database { kUnknown, kSameFile, kGone, kAnotherFile };

Database CheckDatabase(const SegmentReport& r, std::string* said) {
  if (r.label.database_path.empty()) {
    *said = "unknown (its creator recorded no path)";
    return Database::kUnknown;
  }
  *said = r.label.database_path;
  struct stat st;
  if (stat(r.label.database_path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      *said += " (gone)";
      return Database::kGone;
    }
    *said += std::string(" (cannot tell: ") + std::strerror(errno) + ")";
    return Database::kUnknown;
  }
  if (static_cast<uint64_t>(st.st_dev) == r.parts.dev && static_cast<uint64_t>(st.st_ino) == r.parts.ino) {
    *said += " (exists, the same file)";
    return Database::kSameFile;
  }
  char another[96];
  std::snprintf(another, sizeof another, " (another file now: device %llx inode %llx, the segment's %llx %llx)",
                static_cast<unsigned long long>(st.st_dev), static_cast<unsigned long long>(st.st_ino),
                static_cast<unsigned long long>(r.parts.dev), static_cast<unsigned long long>(r.parts.ino));
  *said += another;
  return Database::kAnotherFile;
}

// Who uses segment `name`: the processes /proc shows, and the kernel's word
// (`unused`, CheckSegmentUnused) on whether anyone does.
std::string Attached(const std::string& name, const Mappers& mappers, const Status& unused) {
  std::string attached;
  if (const auto seen = mappers.find(name); seen != mappers.end()) {
    for (const std::string& pid : seen->second) attached += (attached.empty() ? "pid " : ", pid ") + pid;
  }
  if (unused.IsBusy() && attached.empty()) {
    return "in use by processes this user cannot see (other users', other PID namespaces')";
  }
  if (!unused.ok() && !unused.IsBusy()) {
    return attached + (attached.empty() ? "" : "; ") + "others unknown: " + unused.message();
  }
  return attached.empty() ? "none" : attached;
}

}  // namespace

int ListSegmentsCommand(bool remove_orphans, const std::string& under) {
  std::vector<SegmentReport> reports;
  if (Status status = ListSegments(&reports); !status.ok()) {
    std::fprintf(stderr, "docstore-sidecar: %s\n", status.message().c_str());
    return 1;
  }
  if (!under.empty()) {
    char* resolved = realpath(under.c_str(), nullptr);
    if (resolved == nullptr) {
      std::fprintf(stderr, "docstore-sidecar: --under %s: %s\n", under.c_str(), std::strerror(errno));
      return 1;
    }
    const std::string directory = std::string(resolved) + (std::string_view(resolved) == "/" ? "" : "/");
    std::free(resolved);
    std::erase_if(reports, [&directory](const SegmentReport& r) {
      return r.label.database_path.compare(0, directory.size(), directory) != 0;
    });
  }
  const Mappers mappers = ScanProc();
  int exit_code = 0;
  size_t orphans = 0, removed = 0;
  uint64_t removed_bytes = 0;
  for (const SegmentReport& r : reports) {
    std::printf("/dev/shm%s\n", r.name.c_str());
    const uint64_t memory = static_cast<uint64_t>(r.file.st_blocks) * 512;
    const Status unused = CheckSegmentUnused(r.name);
    const std::string attached = Attached(r.name, mappers, unused);

    std::string why_kept;
    std::string orphan_why;
    if (!r.unreadable.empty()) {
      std::printf("  unreadable: %s\n", r.unreadable.c_str());
      std::printf("  size:       %s in memory\n", ReadableBytes(memory).c_str());
      why_kept = "its header could not be read, so its database cannot be checked";
    } else {
      std::string database;
      const Database state = CheckDatabase(r, &database);
      std::printf("  database:   %s\n", database.c_str());
      std::printf("  size:       %s (%s in memory), %llu entries\n", ReadableBytes(r.segment_bytes).c_str(),
                  ReadableBytes(memory).c_str(), static_cast<unsigned long long>(r.entries));
      if (state == Database::kGone) orphan_why = "its database is gone";
      if (state == Database::kAnotherFile) orphan_why = "its path names another file now";
      if (state == Database::kSameFile) why_kept = "its database exists";
      if (state == Database::kUnknown) why_kept = "whether its database exists is unknown";
    }
    std::printf("  attached:   %s\n", attached.c_str());
    const std::string orphan = !r.unreadable.empty() ? "unknown (no database path to check)"
                               : orphan_why.empty()  ? "no"
                                                     : "yes: " + orphan_why;
    std::printf("  orphan:     %s\n", orphan.c_str());
    if (!orphan_why.empty()) ++orphans;
    if (!remove_orphans) continue;
    if (why_kept.empty() && !unused.ok()) why_kept = unused.IsBusy() ? "in use (" + attached + ")" : unused.message();
    if (why_kept.empty()) {
      const Status removal = RemoveUnusedSegment(r.name);
      if (removal.IsBusy()) {
        why_kept = "in use (a process attached just now)";
      } else if (!removal.ok()) {
        why_kept = removal.message();
        exit_code = 1;
      }
    }
    if (!why_kept.empty()) {
      std::printf("  kept:       %s\n", why_kept.c_str());
      continue;
    }
    ++removed;
    removed_bytes += memory;
    std::printf("  removed:    %s and no process has it open or mapped\n", orphan_why.c_str());
  }
  std::printf("%zu segments, %zu orphaned", reports.size(), orphans);
  if (remove_orphans) std::printf("; removed %zu (%s)", removed, ReadableBytes(removed_bytes).c_str());
  std::printf("\n");
  return exit_code;
}

int RemoveDatabaseSegmentsCommand(const std::string& database) {
  struct stat st;
  if (stat(database.c_str(), &st) != 0) {
    std::fprintf(stderr, "docstore-sidecar: %s: %s\n", database.c_str(), std::strerror(errno));
    return 1;
  }
  std::vector<SegmentReport> reports;
  if (Status status = ListSegments(&reports); !status.ok()) {
    std::fprintf(stderr, "docstore-sidecar: %s\n", status.message().c_str());
    return 1;
  }
  int exit_code = 0;
  size_t found = 0;
  for (const SegmentReport& r : reports) {
    if (!r.named || r.parts.dev != static_cast<uint64_t>(st.st_dev) || r.parts.ino != static_cast<uint64_t>(st.st_ino)) {
      continue;
    }
    ++found;
    const Status removal = RemoveUnusedSegment(r.name);
    if (removal.ok()) {
      std::printf("removed /dev/shm%s\n", r.name.c_str());
    } else {
      std::printf("kept /dev/shm%s: %s\n", r.name.c_str(),
                  removal.IsBusy() ? "a process uses it" : removal.message().c_str());
      if (!removal.IsBusy()) exit_code = 1;
    }
  }
  if (found == 0) std::printf("no segment of %s\n", database.c_str());
  return exit_code;
}

}  // namespace docstore
