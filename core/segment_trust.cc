#include "segment_trust.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

namespace docstore {
namespace {

// "uid 1001 (probe)", or "uid 1001" for a user without a name.
std::string DescribeUser(uid_t uid) {
  struct passwd entry;
  struct passwd* found = nullptr;
  std::vector<char> buffer(16384);
  std::string text = "uid " + std::to_string(uid);
  if (getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
    text += std::string(" (") + found->pw_name + ")";
  }
  return text;
}

// Whether user `uid` belongs to group `gid` (as its primary group or a
// supplementary one, as the user database says).
bool IsMember(uid_t uid, gid_t gid) {
  struct passwd entry;
  struct passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) return false;
  if (found->pw_gid == gid) return true;
  int count = 64;
  std::vector<gid_t> groups(static_cast<size_t>(count));
  if (getgrouplist(found->pw_name, found->pw_gid, groups.data(), &count) < 0) {
    groups.resize(static_cast<size_t>(count));
    if (getgrouplist(found->pw_name, found->pw_gid, groups.data(), &count) < 0) return false;
  }
  groups.resize(static_cast<size_t>(count));
  return std::find(groups.begin(), groups.end(), gid) != groups.end();
}

// Whether this process has `gid` among its groups.
bool ProcessIsMember(gid_t gid) {
  if (getegid() == gid) return true;
  const int count = getgroups(0, nullptr);
  if (count <= 0) return false;
  std::vector<gid_t> groups(static_cast<size_t>(count));
  const int got = getgroups(count, groups.data());
  return got > 0 && std::find(groups.begin(), groups.begin() + got, gid) != groups.begin() + got;
}

// Whether `uid` may write `database` by its mode bits, `in_group()` saying
// whether it belongs to the database's group (asked only when it matters).
template <typename InGroup>
bool WritableBy(const shmcache::FileOwner& database, uid_t uid, InGroup&& in_group) {
  return uid == 0 || uid == database.uid || (database.mode & S_IWOTH) != 0 ||
         ((database.mode & S_IWGRP) != 0 && in_group());
}

}  // namespace

bool MayWrite(const shmcache::FileOwner& database, uid_t uid) {
  return WritableBy(database, uid, [&] { return IsMember(uid, database.gid); });
}

bool MayWriteAsThisProcess(const shmcache::FileOwner& database) {
  return WritableBy(database, geteuid(), [&] { return ProcessIsMember(database.gid); });
}

Status CheckSegmentTrust(const shmcache::FileOwner& database, const shmcache::FileOwner& segment, uid_t self) {
  const bool database_all_write = (database.mode & S_IWOTH) != 0;
  if (segment.uid != self && !MayWrite(database, segment.uid)) {
    return Status::Error("ignored: the segment belongs to " + DescribeUser(segment.uid) +
                         ", who may not write the database (a segment is trusted only if all who can write it "
                         "can write the database)");
  }
  if ((segment.mode & S_IWOTH) != 0 && !database_all_write) {
    return Status::Error("ignored: the segment is writable by every user, the database is not");
  }
  if ((segment.mode & S_IWGRP) != 0 && !database_all_write &&
      (segment.gid != database.gid || (database.mode & S_IWGRP) == 0)) {
    return Status::Error("ignored: the segment is writable by group " + std::to_string(segment.gid) +
                         ", whose members may not all write the database");
  }
  return Status::Ok();
}

shmcache::FileOwner NewSegmentAccess(const shmcache::FileOwner& database, mode_t mode) {
  const bool root = geteuid() == 0;
  // Its owner reads and writes it; a group or the others as configured, but
  // only where they may read and write the database (a segment is only ever
  // mapped for reading and writing: read bits alone would only leak).
  mode_t shared = 0;
  if ((database.mode & (S_IRGRP | S_IWGRP)) == (S_IRGRP | S_IWGRP)) shared |= mode & (S_IRGRP | S_IWGRP);
  if ((database.mode & (S_IROTH | S_IWOTH)) == (S_IROTH | S_IWOTH)) shared |= mode & (S_IROTH | S_IWOTH);
  shmcache::FileOwner segment{root ? database.uid : static_cast<uid_t>(-1), static_cast<gid_t>(-1),
                              static_cast<mode_t>(S_IRUSR | S_IWUSR | shared)};
  if ((segment.mode & S_IRWXG) == 0) return segment;
  if (root || ProcessIsMember(database.gid)) {
    segment.gid = database.gid;
  } else {
    segment.mode &= ~S_IRWXG;  // the creator's own group may not read the database
  }
  return segment;
}

}  // namespace docstore
