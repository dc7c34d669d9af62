// The trust rule of segment_trust.h, case by case: whose segment, which
// mode, against which database.
#include "segment_trust.h"

#include <unistd.h>

#include <gtest/gtest.h>

namespace docstore {
namespace {

// A uid no user has (so no group lists it) and a gid nobody is in.
constexpr uid_t kStranger = 54321;
constexpr gid_t kOtherGroup = 54322;

shmcache::FileOwner Owned(uid_t uid, gid_t gid, mode_t mode) { return shmcache::FileOwner{uid, gid, mode}; }

TEST(SegmentTrustTest, ASegmentOfSomeoneWhoMayNotWriteTheDatabaseIsIgnored) {
  const uid_t self = geteuid();
  const auto database = Owned(self, kOtherGroup, 0644);
  const Status status = CheckSegmentTrust(database, Owned(kStranger, kOtherGroup, 0600), self);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("uid 54321"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("may not write the database"), std::string::npos) << status.message();
}

TEST(SegmentTrustTest, OwnSegmentsRootsAndTheDatabaseOwnersAreTrusted) {
  const auto database = Owned(kStranger, kOtherGroup, 0644);
  EXPECT_TRUE(CheckSegmentTrust(database, Owned(geteuid(), getegid(), 0600), geteuid()).ok());
  EXPECT_TRUE(CheckSegmentTrust(database, Owned(0, 0, 0600), geteuid()).ok());
  EXPECT_TRUE(CheckSegmentTrust(database, Owned(kStranger, kOtherGroup, 0644), 0).ok());
}

TEST(SegmentTrustTest, WriteBitsBeyondTheDatabasesAreNotTrusted) {
  const uid_t self = geteuid();
  const auto database = Owned(self, kOtherGroup, 0644);
  EXPECT_FALSE(CheckSegmentTrust(database, Owned(self, kOtherGroup, 0666), self).ok());
  EXPECT_FALSE(CheckSegmentTrust(database, Owned(self, kOtherGroup, 0660), self).ok());
  const auto group_database = Owned(self, kOtherGroup, 0664);
  EXPECT_TRUE(CheckSegmentTrust(group_database, Owned(self, kOtherGroup, 0660), self).ok());
  EXPECT_FALSE(CheckSegmentTrust(group_database, Owned(self, kOtherGroup + 1, 0660), self).ok());
  const auto everyones_database = Owned(self, kOtherGroup, 0666);
  EXPECT_TRUE(CheckSegmentTrust(everyones_database, Owned(kStranger, kOtherGroup + 1, 0666), self).ok());
}

TEST(SegmentTrustTest, ANewSegmentGetsNoMoreThanTheDatabaseGrants) {
  EXPECT_EQ(NewSegmentAccess(Owned(geteuid(), getegid(), 0644), 0666).mode, 0600u);  // read alone: nothing
  EXPECT_EQ(NewSegmentAccess(Owned(geteuid(), getegid(), 0646), 0666).mode, 0606u);
  const auto owner_only = NewSegmentAccess(Owned(geteuid(), getegid(), 0600), 0666);
  EXPECT_EQ(owner_only.mode, 0600u);
  EXPECT_EQ(owner_only.gid, static_cast<gid_t>(-1));
  const auto grouped = NewSegmentAccess(Owned(geteuid(), getegid(), 0660), 0660);
  EXPECT_EQ(grouped.mode, 0660u);
  EXPECT_EQ(grouped.gid, getegid());
  EXPECT_EQ(NewSegmentAccess(Owned(geteuid(), getegid(), 0777), 0777).mode, 0666u);  // never executable
  EXPECT_EQ(NewSegmentAccess(Owned(geteuid(), getegid(), 0620), 0660).mode, 0600u);  // no group read
}

TEST(SegmentTrustTest, ASegmentRootMakesBelongsToTheDatabasesOwner) {
  const auto segment = NewSegmentAccess(Owned(kStranger, kOtherGroup, 0640), 0600);
  EXPECT_EQ(segment.uid, geteuid() == 0 ? kStranger : static_cast<uid_t>(-1));
}

TEST(SegmentTrustTest, WhoMayWriteFollowsTheModeBits) {
  EXPECT_TRUE(MayWrite(Owned(kStranger, kOtherGroup, 0400), kStranger));
  EXPECT_TRUE(MayWrite(Owned(kStranger, kOtherGroup, 0400), 0));
  EXPECT_FALSE(MayWrite(Owned(kStranger, kOtherGroup, 0664), kStranger + 1));
  EXPECT_TRUE(MayWrite(Owned(kStranger, kOtherGroup, 0666), kStranger + 1));
}

}  // namespace
}  // namespace docstore
