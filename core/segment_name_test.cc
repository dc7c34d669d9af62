// A segment's name parses back into what was formatted, and nothing else
// does; a label round-trips and is read safely whatever its bytes.
#include "segment_name.h"

#include <gtest/gtest.h>

#include "shmcache/shmcache.h"

namespace docstore {
namespace {

const std::string kId = "0123456789abcdef0123456789abcdef";

TEST(SegmentNameTest, ParsesWhatItFormats) {
  const SegmentName name{0xfd01, 0x1a2b3c, kId, 0xeffffffc};
  const std::string text = FormatSegmentName(name);
  EXPECT_EQ(text, "/docstore-fd01-1a2b3c-" + kId + "-effffffc");
  for (const std::string& form : {text, text.substr(1)}) {
    SegmentName parsed;
    ASSERT_TRUE(ParseSegmentName(form, &parsed)) << form;
    EXPECT_EQ(parsed.dev, name.dev);
    EXPECT_EQ(parsed.ino, name.ino);
    EXPECT_EQ(parsed.database_id, kId);
    EXPECT_EQ(parsed.pid_namespace, name.pid_namespace);
  }
  SegmentName zero;
  ASSERT_TRUE(ParseSegmentName(FormatSegmentName(SegmentName{0, 0, kId, 0}), &zero));
  EXPECT_EQ(zero.ino, 0u);
}

TEST(SegmentNameTest, RefusesEverythingElse) {
  const std::string good = "/docstore-fd01-1a2b-" + kId + "-eff";
  SegmentName parsed;
  for (const std::string& bad : {
           std::string("/docstore-"), "/docstore-fd01-1a2b-" + kId, good + ".creating-12-34", good + "-1",
           "/docstore-FD01-1a2b-" + kId + "-eff", "/docstore-0fd01-1a2b-" + kId + "-eff",
           "/docstore-fd01-1a2b-" + kId.substr(1) + "-eff", "/docstore-fd01--" + kId + "-eff",
           "/docstore-11111111111111111-1a2b-" + kId + "-eff", "/shmcache-fd01-1a2b-" + kId + "-eff",
           "/docstore-fd01-1a2b-" + kId + "-", "/docstore-x-1a2b-" + kId + "-eff"}) {
    EXPECT_FALSE(ParseSegmentName(bad, &parsed)) << bad;
  }
  EXPECT_TRUE(ParseSegmentName(good, &parsed));
}

TEST(SegmentLabelTest, RoundTripsAndLeavesOutAPathTooLong) {
  const SegmentLabel label{"/srv/docs.db", "default: 2 x database size 12.0 KiB, at least 1.0 MiB", 50};
  const std::string bytes = EncodeSegmentLabel(label);
  EXPECT_LE(bytes.size(), shmcache::kMaxLabelBytes);
  const SegmentLabel back = DecodeSegmentLabel(bytes);
  EXPECT_EQ(back.database_path, label.database_path);
  EXPECT_EQ(back.capacity_reason, label.capacity_reason);
  EXPECT_EQ(back.ttl_ms, 50u);
  const SegmentLabel longer{"/" + std::string(shmcache::kMaxLabelBytes, 'p'), std::string(2000, 'r'), 7};
  const std::string long_bytes = EncodeSegmentLabel(longer);
  EXPECT_LE(long_bytes.size(), shmcache::kMaxLabelBytes);
  const SegmentLabel long_back = DecodeSegmentLabel(long_bytes);
  EXPECT_EQ(long_back.database_path, "");
  EXPECT_EQ(long_back.ttl_ms, 7u);
}

TEST(SegmentLabelTest, AnyBytesReadAsSomethingHarmless) {
  EXPECT_EQ(DecodeSegmentLabel("").ttl_ms, 0u);
  EXPECT_EQ(DecodeSegmentLabel("no separators").database_path, "");
  const SegmentLabel bad_ttl = DecodeSegmentLabel(std::string("/a\0why\0-5x", 10));
  EXPECT_EQ(bad_ttl.database_path, "/a");
  EXPECT_EQ(bad_ttl.ttl_ms, 0u);
  EXPECT_EQ(DecodeSegmentLabel(std::string("/a\0why\0" "99999999999999999999999", 30)).ttl_ms, 0u);
}

}  // namespace
}  // namespace docstore
