// Single-process behaviour of shmcache::Segment: the API's semantics, the
// allocator's bounds, LRU order, fences, user counters, permissions, bad
// attaches (each refused with its own Status) and a creation race between
// threads. The multi-process behaviour (fork, SIGKILL inside a critical
// section, hammering) is in segment_multiprocess_test.cc.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "layout.h"
#include "shmcache/shmcache.h"

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define SHMCACHE_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define SHMCACHE_SANITIZED 1
#endif
#endif
#ifndef SHMCACHE_SANITIZED
#define SHMCACHE_SANITIZED 0
#endif

namespace shmcache {
namespace {

using internal::Header;
using internal::Region;

// ---------------------------------------------------------------------------
// Helpers

std::string UniqueName() {
  static std::atomic<int> counter{0};
  return "/shmcache-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

// Where a POSIX shared-memory object of this name lives on Linux.
std::string ShmPath(const std::string& name) {
  return "/dev/shm/" + (name.empty() || name[0] != '/' ? name : name.substr(1));
}

Options SmallOptions() {
  Options options;
  options.capacity_bytes = 1ull << 20;
  options.max_entry_bytes = 8192;
  options.shard_count = 4;
  options.chunk_bytes = 256;
  return options;
}

// 64-bit FNV-1a.
uint64_t Fnv1a(const void* data, size_t n, uint64_t h = 0xcbf29ce484222325ull) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

// A value that names its key, its version and its length, with a checksum
// over all of it; bytes of every value (0..255) appear in the payload.
std::string MakeValue(uint64_t key, uint64_t version, size_t length) {
  std::string value(length, '\0');
  uint64_t x = key * 0x9e3779b97f4a7c15ull ^ version ^ length;
  for (size_t i = 0; i < length; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    value[i] = static_cast<char>(x);
  }
  if (length >= 24) {
    const uint64_t len64 = length;
    std::memcpy(&value[0], &key, 8);
    std::memcpy(&value[8], &len64, 8);
    uint64_t h = Fnv1a(&version, sizeof version);
    h = Fnv1a(value.data(), 16, h);
    h = Fnv1a(value.data() + 24, length - 24, h);
    std::memcpy(&value[16], &h, 8);
  }
  return value;
}

// True if `value` is exactly what some MakeValue(key, version, n) returned.
bool CheckValue(uint64_t key, uint64_t version, std::string_view value) {
  if (value.size() < 24) return value == MakeValue(key, version, value.size());
  uint64_t k, len, sum;
  std::memcpy(&k, value.data(), 8);
  std::memcpy(&len, value.data() + 8, 8);
  std::memcpy(&sum, value.data() + 16, 8);
  if (k != key || len != value.size()) return false;
  uint64_t h = Fnv1a(&version, sizeof version);
  h = Fnv1a(value.data(), 16, h);
  h = Fnv1a(value.data() + 24, value.size() - 24, h);
  return h == sum;
}

// Overwrites `bytes` at `offset` of the segment's backing file.
void PokeFile(const std::string& name, size_t offset, const void* bytes, size_t n) {
  const int fd = ::open(ShmPath(name).c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << ShmPath(name) << ": " << std::strerror(errno);
  ASSERT_EQ(::pwrite(fd, bytes, n, static_cast<off_t>(offset)), static_cast<ssize_t>(n));
  ::close(fd);
}

template <typename T>
T PeekFile(const std::string& name, size_t offset) {
  T value{};
  const int fd = ::open(ShmPath(name).c_str(), O_RDONLY);
  EXPECT_GE(fd, 0) << ShmPath(name) << ": " << std::strerror(errno);
  if (fd < 0) return value;
  EXPECT_EQ(::pread(fd, &value, sizeof value, static_cast<off_t>(offset)),
            static_cast<ssize_t>(sizeof value));
  ::close(fd);
  return value;
}

size_t RegionFieldOffset(size_t index, size_t field_offset) {
  return offsetof(Header, regions) + index * sizeof(Region) + field_offset;
}

// Every test gets fresh segment names, all removed at the end.
class SegmentTest : public ::testing::Test {
 protected:
  std::string NewName() {
    names_.push_back(UniqueName());
    Segment::Remove(names_.back());
    return names_.back();
  }

  std::unique_ptr<Segment> Create(const Options& options, std::string* name_out = nullptr) {
    const std::string name = NewName();
    if (name_out != nullptr) *name_out = name;
    Error error;
    auto segment = Segment::OpenOrCreate(name, options, &error);
    EXPECT_NE(segment, nullptr) << StatusName(error.status) << ": " << error.message;
    EXPECT_TRUE(error.ok()) << error.message;
    return segment;
  }

  void TearDown() override {
    for (const auto& name : names_) Segment::Remove(name);
  }

  std::vector<std::string> names_;
};

// ---------------------------------------------------------------------------
// The API

TEST_F(SegmentTest, PutGetRoundTripsBytesAndVersion) {
  auto segment = Create(SmallOptions());
  ASSERT_NE(segment, nullptr);
  std::string value;
  uint64_t version = 99;
  EXPECT_EQ(segment->Get(1, &value, &version), Status::kNotFound);

  EXPECT_EQ(segment->Put(1, "hello", 7), Status::kOk);
  EXPECT_EQ(segment->Get(1, &value, &version), Status::kOk);
  EXPECT_EQ(value, "hello");
  EXPECT_EQ(version, 7u);
  // The version pointer is optional.
  value.clear();
  EXPECT_EQ(segment->Get(1, &value), Status::kOk);
  EXPECT_EQ(value, "hello");

  // A Put of the same key replaces bytes and version, shrinking or growing.
  EXPECT_EQ(segment->Put(1, "hi", 8), Status::kOk);
  EXPECT_EQ(segment->Get(1, &value, &version), Status::kOk);
  EXPECT_EQ(value, "hi");
  EXPECT_EQ(version, 8u);
  const std::string big = MakeValue(1, 9, 5000);
  EXPECT_EQ(segment->Put(1, big, 9), Status::kOk);
  EXPECT_EQ(segment->Get(1, &value, &version), Status::kOk);
  EXPECT_EQ(value, big);
  EXPECT_EQ(version, 9u);
  EXPECT_EQ(segment->GetStats().entries, 1u);

  // Empty values, binary bytes, extreme keys and versions.
  EXPECT_EQ(segment->Put(2, std::string_view(), 0), Status::kOk);
  value = "not empty";
  EXPECT_EQ(segment->Get(2, &value, &version), Status::kOk);
  EXPECT_EQ(value, "");
  EXPECT_EQ(version, 0u);
  const std::string binary("\0\1\2\0\xff", 5);
  EXPECT_EQ(segment->Put(UINT64_MAX, binary, UINT64_MAX), Status::kOk);
  EXPECT_EQ(segment->Get(UINT64_MAX, &value, &version), Status::kOk);
  EXPECT_EQ(value, binary);
  EXPECT_EQ(version, UINT64_MAX);
  EXPECT_EQ(segment->Put(0, "zero", 1), Status::kOk);
  EXPECT_EQ(segment->Get(0, &value), Status::kOk);
  EXPECT_EQ(value, "zero");
}

TEST_F(SegmentTest, ValuesOfEverySizeAcrossChunkBoundaries) {
  auto segment = Create(SmallOptions());
  ASSERT_NE(segment, nullptr);
  const uint32_t chunk = segment->limits().chunk_bytes;
  std::set<size_t> sizes = {0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 23, 24, 25, 8191, 8192};
  for (uint32_t c = 1; c <= 6; ++c) {
    for (int d = -5; d <= 5; ++d) {
      const int64_t s = static_cast<int64_t>(c) * chunk + d;
      if (s >= 0 && s <= 8192) sizes.insert(static_cast<size_t>(s));
    }
  }
  for (const size_t size : sizes) {
    SCOPED_TRACE("size " + std::to_string(size));
    const uint64_t key = 1000 + size;
    const std::string v = MakeValue(key, size, size);
    ASSERT_EQ(segment->Put(key, v, size), Status::kOk);
    std::string got;
    uint64_t version = 0;
    ASSERT_EQ(segment->Get(key, &got, &version), Status::kOk);
    EXPECT_EQ(got, v);
    EXPECT_EQ(version, size);
    EXPECT_EQ(segment->Erase(key), Status::kOk);
  }
  const Stats stats = segment->GetStats();
  EXPECT_EQ(stats.entries, 0u);
  EXPECT_EQ(stats.chunk_bytes_used, 0u);
  EXPECT_EQ(stats.value_bytes, 0u);
}

TEST_F(SegmentTest, CopyOutWritesIntoTheCallersBuffer) {
  auto segment = Create(SmallOptions());
  ASSERT_NE(segment, nullptr);
  const std::string v = MakeValue(5, 3, 1000);
  ASSERT_EQ(segment->Put(5, v, 3), Status::kOk);
  std::string buffer;
  uint64_t version = 0;
  auto allocate = [&](size_t bytes) {
    buffer.assign(bytes, '\0');
    return buffer.data();
  };
  EXPECT_EQ(segment->CopyOut(5, allocate, &version), Status::kOk);
  EXPECT_EQ(buffer, v);
  EXPECT_EQ(version, 3u);
  EXPECT_EQ(segment->CopyOut(6, allocate), Status::kNotFound);
  EXPECT_EQ(segment->CopyOut(5, [](size_t) -> char* { return nullptr; }), Status::kNotFound);
  const Stats stats = segment->GetStats();
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.misses, 2u);
}

TEST_F(SegmentTest, LabelIsKeptForLaterAttachersWithItsNuls) {
  Options options = SmallOptions();
  options.label = std::string("/srv/a.db\0second part", 22);
  std::string name;
  auto creator = Create(options, &name);
  ASSERT_NE(creator, nullptr);
  EXPECT_TRUE(creator->created());
  EXPECT_EQ(creator->label(), options.label);
  Error error;
  Options other = SmallOptions();
  other.label = "ignored: the segment exists";
  auto attacher = Segment::OpenOrCreate(name, other, &error);
  ASSERT_NE(attacher, nullptr) << error.message;
  EXPECT_FALSE(attacher->created());
  EXPECT_EQ(attacher->label(), options.label);
  auto opened = Segment::Open(name, &error);
  ASSERT_NE(opened, nullptr) << error.message;
  EXPECT_EQ(opened->label(), options.label);
}

TEST_F(SegmentTest, LabelUpToItsBound) {
  Options options = SmallOptions();
  options.label = std::string(kMaxLabelBytes, 'x');
  auto segment = Create(options);
  ASSERT_NE(segment, nullptr);
  EXPECT_EQ(segment->label(), options.label);
  options.label.push_back('x');
  const Error error = Segment::ValidateOptions(options);
  EXPECT_EQ(error.status, Status::kInvalidArgument);
  EXPECT_NE(error.message.find("label"), std::string::npos) << error.message;
}

TEST_F(SegmentTest, PatchTailBeforeTheEnd) {
  auto segment = Create(SmallOptions());
  ASSERT_NE(segment, nullptr);
  ASSERT_EQ(segment->Put(9, "abcdefgh", 1), Status::kOk);
  ASSERT_EQ(segment->PatchTail(9, "XY", 3), Status::kOk);
  std::string value;
  ASSERT_EQ(segment->Get(9, &value), Status::kOk);
  EXPECT_EQ(value, "abcXYfgh");
  EXPECT_EQ(segment->PatchTail(9, "XY", 7), Status::kInvalidArgument);
  EXPECT_EQ(segment->PatchTail(9, "", 9), Status::kInvalidArgument);
}

TEST_F(SegmentTest, PatchTailOverwritesTheEndAcrossChunks) {
  auto segment = Create(SmallOptions());
  ASSERT_NE(segment, nullptr);
  std::string v(1000, 'a');
  ASSERT_EQ(segment->Put(9, v, 4), Status::kOk);
  const std::string patch(600, 'z');  // spans three chunks
  ASSERT_EQ(segment->PatchTail(9, patch), Status::kOk);
  v.replace(v.size() - patch.size(), patch.size(), patch);
  std::string got;
  uint64_t version = 0;
  ASSERT_EQ(segment->Get(9, &got, &version), Status::kOk);
  EXPECT_EQ(got, v);
  EXPECT_EQ(version, 4u);
  EXPECT_EQ(segment->PatchTail(9, "xy"), Status::kOk);
  EXPECT_EQ(segment->PatchTail(9, std::string(1001, 'q')), Status::kInvalidArgument);
  EXPECT_EQ(segment->PatchTail(10, "xy"), Status::kNotFound);
  ASSERT_EQ(segment->Get(9, &got), Status::kOk);
  EXPECT_EQ(got.substr(998), "xy");
}

TEST_F(SegmentTest, EraseAndClear) {
  auto segment = Create(SmallOptions());
  ASSERT_NE(segment, nullptr);
  for (uint64_t k = 0; k < 50; ++k) ASSERT_EQ(segment->Put(k, MakeValue(k, k, 300), k), Status::kOk);
  EXPECT_EQ(segment->GetStats().entries, 50u);

  EXPECT_EQ(segment->Erase(10), Status::kOk);
  EXPECT_EQ(segment->Erase(10), Status::kNotFound);
  EXPECT_EQ(segment->Erase(12345), Status::kNotFound);
  std::string value;
  EXPECT_EQ(segment->Get(10, &value), Status::kNotFound);
  EXPECT_EQ(segment->Get(11, &value), Status::kOk);
  EXPECT_TRUE(CheckValue(11, 11, value));
  Stats stats = segment->GetStats();
  EXPECT_EQ(stats.entries, 49u);
  EXPECT_EQ(stats.erases, 1u);
  EXPECT_EQ(stats.value_bytes, 49u * 300);

  segment->Clear();
  stats = segment->GetStats();
  EXPECT_EQ(stats.entries, 0u);
  EXPECT_EQ(stats.value_bytes, 0u);
  EXPECT_EQ(stats.chunk_bytes_used, 0u);
  for (uint64_t k = 0; k < 50; ++k) EXPECT_EQ(segment->Get(k, &value), Status::kNotFound);
  int seen = 0;
  segment->ForEach([&](const EntryInfo&) { ++seen; });
  EXPECT_EQ(seen, 0);

  // The cache is usable after Clear, with its whole capacity.
  for (uint64_t k = 0; k < 50; ++k) ASSERT_EQ(segment->Put(k, MakeValue(k, 1, 300), 1), Status::kOk);
  EXPECT_EQ(segment->GetStats().entries, 50u);
}

TEST_F(SegmentTest, LookupAndForEachDescribeEntries) {
  auto segment = Create(SmallOptions());
  ASSERT_NE(segment, nullptr);
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> expected;  // key -> (version, bytes)
  for (uint64_t k = 1; k <= 40; ++k) {
    const uint64_t bytes = (k * 37) % 700;
    ASSERT_EQ(segment->Put(k * 1000003, MakeValue(k, k + 5, bytes), k + 5), Status::kOk);
    expected[k * 1000003] = {k + 5, bytes};
  }
  EntryInfo info{};
  EXPECT_EQ(segment->Lookup(424242, &info), Status::kNotFound);
  ASSERT_EQ(segment->Lookup(3 * 1000003, &info), Status::kOk);
  EXPECT_EQ(info.key, 3u * 1000003);
  EXPECT_EQ(info.version, 8u);
  EXPECT_EQ(info.bytes, (3u * 37) % 700);
  EXPECT_FALSE(info.referenced);
  std::string value;
  ASSERT_EQ(segment->Get(3 * 1000003, &value), Status::kOk);
  ASSERT_EQ(segment->Lookup(3 * 1000003, &info), Status::kOk);
  EXPECT_TRUE(info.referenced);

  std::map<uint64_t, int> seen;
  segment->ForEach([&](const EntryInfo& e) {
    ++seen[e.key];
    auto it = expected.find(e.key);
    ASSERT_NE(it, expected.end()) << "unknown key " << e.key;
    EXPECT_EQ(e.version, it->second.first);
    EXPECT_EQ(e.bytes, it->second.second);
  });
  EXPECT_EQ(seen.size(), expected.size());
  for (const auto& [key, count] : seen) EXPECT_EQ(count, 1) << "key " << key << " visited twice";

  // Within one shard the recency values are distinct.
  Options one_shard = SmallOptions();
  one_shard.shard_count = 1;
  auto single = Create(one_shard);
  ASSERT_NE(single, nullptr);
  for (uint64_t k = 0; k < 10; ++k) ASSERT_EQ(single->Put(k, "v", 1), Status::kOk);
  std::set<uint64_t> recencies;
  single->ForEach([&](const EntryInfo& e) { recencies.insert(e.recency); });
  EXPECT_EQ(recencies.size(), 10u);
  ASSERT_EQ(single->Lookup(9, &info), Status::kOk);
  EXPECT_EQ(info.recency, 0u);
  ASSERT_EQ(single->Lookup(0, &info), Status::kOk);
  EXPECT_EQ(info.recency, 9u);
  // Reading the oldest entry marks it; it keeps its place in the order
  // until eviction passes it over.
  ASSERT_EQ(single->Get(0, &value), Status::kOk);
  ASSERT_EQ(single->Lookup(0, &info), Status::kOk);
  EXPECT_EQ(info.recency, 9u);
  EXPECT_TRUE(info.referenced);
}

TEST_F(SegmentTest, StatsCountOperations) {
  auto segment = Create(SmallOptions());
  ASSERT_NE(segment, nullptr);
  Stats stats = segment->GetStats();
  EXPECT_EQ(stats.hits, 0u);
  EXPECT_EQ(stats.misses, 0u);
  EXPECT_EQ(stats.inserts, 0u);
  EXPECT_EQ(stats.entries, 0u);
  EXPECT_EQ(stats.lock_recoveries, 0u);
  EXPECT_EQ(stats.corruption_resets, 0u);
  EXPECT_GT(stats.capacity_bytes, 0u);
  EXPECT_LE(stats.capacity_bytes, segment->limits().segment_bytes);

  for (uint64_t k = 0; k < 10; ++k) ASSERT_EQ(segment->Put(k, std::string(100, 'x'), 1), Status::kOk);
  std::string value;
  for (uint64_t k = 0; k < 15; ++k) segment->Get(k, &value);
  stats = segment->GetStats();
  EXPECT_EQ(stats.inserts, 10u);
  EXPECT_EQ(stats.hits, 10u);
  EXPECT_EQ(stats.misses, 5u);
  EXPECT_EQ(stats.entries, 10u);
  EXPECT_EQ(stats.value_bytes, 1000u);
  EXPECT_EQ(stats.evictions, 0u);
  // Each 100-byte value fits one chunk.
  EXPECT_EQ(stats.chunk_bytes_used, 10u * segment->limits().chunk_bytes);
  EXPECT_GE(stats.chunk_bytes_used, stats.value_bytes);
  EXPECT_LE(stats.chunk_bytes_used, stats.capacity_bytes);
}

TEST_F(SegmentTest, LimitsAreTheCreatorsOptions) {
  Options options = SmallOptions();
  options.max_entry_bytes = 5000;
  options.shard_count = 8;
  options.chunk_bytes = 128;
  auto segment = Create(options);
  ASSERT_NE(segment, nullptr);
  const Limits& limits = segment->limits();
  EXPECT_EQ(limits.max_entry_bytes, 5000u);
  EXPECT_EQ(limits.shard_count, 8u);
  EXPECT_EQ(limits.chunk_bytes, 128u);
  EXPECT_EQ(limits.layout_version, internal::kLayoutVersion);
  EXPECT_LE(limits.segment_bytes, options.capacity_bytes);
  EXPECT_GT(limits.value_capacity_bytes, 0u);
  EXPECT_LT(limits.value_capacity_bytes, limits.segment_bytes);
  EXPECT_FALSE(segment->name().empty());
}

TEST_F(SegmentTest, ASegmentOfAnotherValueFormatIsRefused) {
  Options options = SmallOptions();
  options.value_format = 2;
  std::string name;
  auto segment = Create(options, &name);
  ASSERT_NE(segment, nullptr);
  EXPECT_EQ(segment->limits().value_format, 2u);
  EXPECT_EQ(PeekFile<uint32_t>(name, offsetof(Header, value_format)), 2u);
  // A build reading another format (0: one from before the field existed).
  for (uint32_t other : {0u, 3u}) {
    options.value_format = other;
    Error error;
    EXPECT_EQ(Segment::OpenOrCreate(name, options, &error), nullptr);
    EXPECT_EQ(error.status, Status::kBadValueFormat) << error.message;
    EXPECT_NE(error.message.find("segment holds values of format 2, this process reads format " +
                                 std::to_string(other)),
              std::string::npos)
        << error.message;
  }
  // Attaching without options shows the format and leaves the choice to the caller.
  Error error;
  auto attached = Segment::Open(name, &error);
  ASSERT_NE(attached, nullptr) << error.message;
  EXPECT_EQ(attached->limits().value_format, 2u);
}

TEST_F(SegmentTest, TooLargeValuesAreRefusedAndCounted) {
  Options options = SmallOptions();
  options.max_entry_bytes = 4000;
  auto segment = Create(options);
  ASSERT_NE(segment, nullptr);
  EXPECT_EQ(segment->Put(1, std::string(4000, 'a'), 1), Status::kOk);
  EXPECT_EQ(segment->Put(2, std::string(4001, 'b'), 1), Status::kTooLarge);
  EXPECT_EQ(segment->Put(3, std::string(1 << 20, 'c'), 1), Status::kTooLarge);
  EXPECT_EQ(segment->PutIfFresh(4, std::string(4001, 'd'), 1, 1), Status::kTooLarge);
  std::string value;
  EXPECT_EQ(segment->Get(2, &value), Status::kNotFound);
  EXPECT_EQ(segment->Get(3, &value), Status::kNotFound);
  EXPECT_EQ(segment->Get(4, &value), Status::kNotFound);
  EXPECT_EQ(segment->Get(1, &value), Status::kOk);
  EXPECT_EQ(value.size(), 4000u);
  const Stats stats = segment->GetStats();
  EXPECT_EQ(stats.refused_too_large, 3u);
  EXPECT_EQ(stats.entries, 1u);
  EXPECT_EQ(stats.inserts, 1u);
}

// ---------------------------------------------------------------------------
// Bounded memory and LRU

TEST_F(SegmentTest, FillingBeyondCapacityEvictsAndStaysWithinBounds) {
  Options options = SmallOptions();
  options.capacity_bytes = 512 << 10;
  auto segment = Create(options);
  ASSERT_NE(segment, nullptr);
  const uint64_t chunk = segment->limits().chunk_bytes;
  const Stats empty = segment->GetStats();
  const uint64_t max_entries = empty.capacity_bytes / chunk;
  std::mt19937_64 rng(42);
  uint64_t written = 0;
  for (uint64_t k = 0; k < 5000; ++k) {
    const size_t size = 1 + rng() % 3000;
    ASSERT_EQ(segment->Put(k, MakeValue(k, k, size), k), Status::kOk) << "a Put never fails for lack of space";
    written += size;
    if (k % 97 == 0) {
      const Stats stats = segment->GetStats();
      ASSERT_LE(stats.chunk_bytes_used, stats.capacity_bytes);
      ASSERT_LE(stats.entries, max_entries);
      ASSERT_LE(stats.value_bytes, stats.chunk_bytes_used);
    }
  }
  ASSERT_GT(written, 4 * segment->limits().segment_bytes);
  const Stats stats = segment->GetStats();
  EXPECT_LE(stats.chunk_bytes_used, stats.capacity_bytes);
  EXPECT_LE(stats.capacity_bytes, segment->limits().segment_bytes);
  EXPECT_GT(stats.evictions, 0u);
  EXPECT_EQ(stats.inserts, 5000u);
  EXPECT_EQ(stats.inserts - stats.evictions, stats.entries);
  // The cache is not emptied by eviction: it stays reasonably full.
  EXPECT_GT(stats.chunk_bytes_used, stats.capacity_bytes / 4);

  // Everything still there is intact, and the last key put is there.
  uint64_t present = 0, value_bytes = 0;
  std::string value;
  uint64_t version = 0;
  for (uint64_t k = 0; k < 5000; ++k) {
    if (segment->Get(k, &value, &version) == Status::kOk) {
      ++present;
      value_bytes += value.size();
      ASSERT_EQ(version, k);
      ASSERT_TRUE(CheckValue(k, k, value)) << "key " << k;
    }
  }
  EXPECT_EQ(present, stats.entries);
  EXPECT_EQ(value_bytes, stats.value_bytes);
  EXPECT_EQ(segment->Get(4999, &value), Status::kOk);
}

TEST_F(SegmentTest, RecentlyReadKeysOutliveUntouchedOnes) {
  Options options = SmallOptions();
  options.shard_count = 1;  // one shard: one LRU order for all keys
  options.capacity_bytes = 256 << 10;
  auto segment = Create(options);
  ASSERT_NE(segment, nullptr);
  const size_t kSize = 600;  // every entry takes the same number of chunks

  // How many entries of this size fit.
  uint64_t fit = 0;
  for (uint64_t k = 0;; ++k) {
    ASSERT_LT(k, 100000u);
    ASSERT_EQ(segment->Put(k, MakeValue(k, 1, kSize), 1), Status::kOk);
    if (segment->GetStats().evictions > 0) {
      fit = segment->GetStats().entries;
      break;
    }
  }
  ASSERT_GE(fit, 40u);
  segment->Clear();

  // Fill three quarters, read the ten oldest, then add half a cache more.
  const uint64_t base = 1000000;
  const uint64_t first = fit * 3 / 4;
  for (uint64_t i = 0; i < first; ++i) ASSERT_EQ(segment->Put(base + i, MakeValue(base + i, 2, kSize), 2), Status::kOk);
  const uint64_t evictions_before = segment->GetStats().evictions;
  std::string value;
  for (uint64_t i = 0; i < 10; ++i) ASSERT_EQ(segment->Get(base + i, &value), Status::kOk);
  const uint64_t second = fit / 2;
  for (uint64_t i = 0; i < second; ++i) {
    const uint64_t key = 2 * base + i;
    ASSERT_EQ(segment->Put(key, MakeValue(key, 3, kSize), 3), Status::kOk);
  }
  const Stats stats = segment->GetStats();
  EXPECT_GT(stats.evictions, evictions_before);
  EXPECT_LE(stats.entries, fit);

  for (uint64_t i = 0; i < 10; ++i) {
    EXPECT_EQ(segment->Get(base + i, &value), Status::kOk) << "recently read key " << i << " was evicted";
    EXPECT_TRUE(CheckValue(base + i, 2, value));
  }
  // The oldest untouched ones went first.
  EXPECT_EQ(segment->Get(base + 10, &value), Status::kNotFound);
  EXPECT_EQ(segment->Get(base + 11, &value), Status::kNotFound);
  // The newest are all there.
  for (uint64_t i = 0; i < second; ++i) EXPECT_EQ(segment->Get(2 * base + i, &value), Status::kOk);
}

// ---------------------------------------------------------------------------
// Fences

TEST_F(SegmentTest, InvalidateFencesOlderSnapshots) {
  Options options = SmallOptions();
  options.shard_count = 1;  // every key in the same shard, under one fence
  auto segment = Create(options);
  ASSERT_NE(segment, nullptr);
  std::string value;

  ASSERT_EQ(segment->Put(7, "old", 1), Status::kOk);
  segment->Invalidate(7, 10);
  EXPECT_EQ(segment->Get(7, &value), Status::kNotFound) << "Invalidate erases the key";

  EXPECT_EQ(segment->PutIfFresh(7, "stale", 2, 9), Status::kFenced);
  EXPECT_EQ(segment->Get(7, &value), Status::kNotFound);
  EXPECT_EQ(segment->PutIfFresh(8, "stale too", 2, 0), Status::kFenced) << "the fence is the shard's";

  EXPECT_EQ(segment->PutIfFresh(7, "fresh", 3, 10), Status::kOk);
  ASSERT_EQ(segment->Get(7, &value), Status::kOk);
  EXPECT_EQ(value, "fresh");
  EXPECT_EQ(segment->PutIfFresh(7, "fresher", 4, 11), Status::kOk);
  uint64_t version = 0;
  ASSERT_EQ(segment->Get(7, &value, &version), Status::kOk);
  EXPECT_EQ(value, "fresher");
  EXPECT_EQ(version, 4u);

  // A lower fence never lowers it.
  segment->Invalidate(7, 5);
  EXPECT_EQ(segment->Get(7, &value), Status::kNotFound);
  EXPECT_EQ(segment->PutIfFresh(7, "stale", 5, 9), Status::kFenced);
  EXPECT_EQ(segment->PutIfFresh(7, "ok", 5, 10), Status::kOk);

  // A plain Put is not fenced.
  segment->Invalidate(7, 100);
  EXPECT_EQ(segment->Put(7, "plain", 6), Status::kOk);
  EXPECT_EQ(segment->Get(7, &value), Status::kOk);

  const Stats stats = segment->GetStats();
  EXPECT_EQ(stats.invalidations, 3u);
  EXPECT_EQ(stats.fenced_puts, 3u);
  EXPECT_GE(stats.erases, 2u);
}

TEST_F(SegmentTest, ResetFencesSetsEveryFenceBothWays) {
  auto segment = Create(SmallOptions());
  ASSERT_NE(segment, nullptr);
  segment->Invalidate(1, 10);
  EXPECT_EQ(segment->PutIfFresh(1, "v", 1, 9), Status::kFenced);
  segment->ResetFences(5);  // down
  EXPECT_EQ(segment->PutIfFresh(1, "v", 1, 5), Status::kOk);
  EXPECT_EQ(segment->PutIfFresh(2, "v", 1, 4), Status::kFenced);
  segment->RaiseFences(3);  // raising never lowers
  EXPECT_EQ(segment->PutIfFresh(2, "v", 1, 4), Status::kFenced);
  segment->ResetFences(50);  // up
  EXPECT_EQ(segment->PutIfFresh(3, "v", 1, 49), Status::kFenced);
  EXPECT_EQ(segment->PutIfFresh(3, "v", 1, 50), Status::kOk);
}

TEST_F(SegmentTest, SourcePositionIsPublishedWholeAndComparedWithoutALock) {
  std::string name;
  auto segment = Create(SmallOptions(), &name);
  ASSERT_NE(segment, nullptr);
  EXPECT_EQ(segment->Source(), SourcePosition{});  // none yet
  SourcePosition position;
  position.observed = {1, 2, 3, 4, 5, 6};
  position.clock = 42;
  position.tag = 0xfeed;
  EXPECT_FALSE(segment->SourceIs(position.observed));
  {
    auto sync = segment->BeginSourceSync(0);
    ASSERT_NE(sync, nullptr);
    // The lock is held: a second taker gives up within its wait.
    EXPECT_EQ(segment->BeginSourceSync(0), nullptr);
    sync->Publish(position);
  }
  EXPECT_TRUE(segment->SourceIs(position.observed));
  EXPECT_EQ(segment->Source(), position);
  auto other = position.observed;
  other[5] = 7;
  EXPECT_FALSE(segment->SourceIs(other));
  // Another attacher sees the same position.
  Error error;
  auto again = Segment::Open(name, &error);
  ASSERT_NE(again, nullptr) << error.message;
  EXPECT_EQ(again->Source(), position);
}

TEST_F(SegmentTest, APositionLeftHalfWrittenReadsAsNoneWithoutWaiting) {
  std::string name;
  auto segment = Create(SmallOptions(), &name);
  ASSERT_NE(segment, nullptr);
  SourcePosition position;
  position.observed = {1, 2, 3, 4, 5, 6};
  position.clock = 9;
  segment->BeginSourceSync(0)->Publish(position);
  // As a publisher killed mid-write leaves it: the sequence odd.
  const uint32_t odd = 7;
  PokeFile(name, offsetof(internal::Header, source_seq), &odd, sizeof odd);
  EXPECT_EQ(segment->Source(), SourcePosition{});
  EXPECT_FALSE(segment->SourceIs(position.observed));
  // The next publisher leaves it whole again.
  segment->BeginSourceSync(0)->Publish(position);
  EXPECT_EQ(segment->Source(), position);
  EXPECT_TRUE(segment->SourceIs(position.observed));
}

TEST_F(SegmentTest, StillNamedUntilTheNameIsRemovedOrMadeAgain) {
  std::string name;
  auto segment = Create(SmallOptions(), &name);
  ASSERT_NE(segment, nullptr);
  EXPECT_TRUE(segment->StillNamed());
  ASSERT_TRUE(Segment::Remove(name));
  EXPECT_FALSE(segment->StillNamed());
  Error error;
  auto remade = Segment::OpenOrCreate(name, SmallOptions(), &error);
  ASSERT_NE(remade, nullptr) << error.message;
  EXPECT_FALSE(segment->StillNamed());
  EXPECT_TRUE(remade->StillNamed());
}

TEST_F(SegmentTest, ANewSegmentHasExactlyTheModeAndGroupAskedFor) {
  Options options = SmallOptions();
  options.mode = 0640;
  options.group = getegid();
  const mode_t umask_was = umask(077);  // would leave 0600 of a plain shm_open
  std::string name;
  auto segment = Create(options, &name);
  umask(umask_was);
  ASSERT_NE(segment, nullptr);
  struct stat st;
  ASSERT_EQ(stat(("/dev/shm" + name).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_gid, getegid());
  EXPECT_EQ(st.st_uid, geteuid());
}

TEST_F(SegmentTest, AnOwnerCheckRefusesASegmentBeforeReadingIt) {
  std::string name;
  auto segment = Create(SmallOptions(), &name);
  ASSERT_NE(segment, nullptr);
  FileOwner seen{};
  const OwnerCheck refuse = [&seen](const FileOwner& owner) {
    seen = owner;
    return Error{Status::kUntrusted, "not this owner"};
  };
  Error error;
  EXPECT_EQ(Segment::Open(name, &error, refuse), nullptr);
  EXPECT_EQ(error.status, Status::kUntrusted);
  EXPECT_NE(error.message.find("not this owner"), std::string::npos) << error.message;
  EXPECT_EQ(seen.uid, geteuid());
  EXPECT_EQ(seen.mode, 0600u);
  EXPECT_EQ(Segment::OpenOrCreate(name, SmallOptions(), &error, refuse), nullptr);
  EXPECT_EQ(error.status, Status::kUntrusted);
  const OwnerCheck accept = [](const FileOwner&) { return Error{}; };
  EXPECT_NE(Segment::Open(name, &error, accept), nullptr) << error.message;
}

TEST_F(SegmentTest, InvalidateOfAnAbsentKeyStillRaisesTheFence) {
  auto segment = Create(SmallOptions());
  ASSERT_NE(segment, nullptr);
  segment->Invalidate(42, 20);
  EXPECT_EQ(segment->PutIfFresh(42, "v", 1, 19), Status::kFenced);
  EXPECT_EQ(segment->PutIfFresh(42, "v", 1, 20), Status::kOk);
}

// ---------------------------------------------------------------------------
// User counters

TEST_F(SegmentTest, UserCountersArePersistentAndShared) {
  std::string name;
  auto segment = Create(SmallOptions(), &name);
  ASSERT_NE(segment, nullptr);
  for (size_t i = 0; i < kUserCounters; ++i) EXPECT_EQ(segment->UserCounter(i), 0u);

  const uint64_t r = segment->AddUserCounter(3, 5);
  EXPECT_TRUE(r == 0 || r == 5) << "AddUserCounter returns the old or the new value, got " << r;
  EXPECT_EQ(segment->UserCounter(3), 5u);
  segment->AddUserCounter(3, 2);
  EXPECT_EQ(segment->UserCounter(3), 7u);
  EXPECT_EQ(segment->UserCounter(2), 0u);
  EXPECT_EQ(segment->UserCounter(4), 0u);

  EXPECT_FALSE(segment->CompareExchangeUserCounter(3, 6, 100));
  EXPECT_EQ(segment->UserCounter(3), 7u);
  EXPECT_TRUE(segment->CompareExchangeUserCounter(3, 7, 100));
  EXPECT_EQ(segment->UserCounter(3), 100u);
  EXPECT_TRUE(segment->CompareExchangeUserCounter(kUserCounters - 1, 0, 9));

  Error error;
  auto other = Segment::Open(name, &error);
  ASSERT_NE(other, nullptr) << error.message;
  EXPECT_EQ(other->UserCounter(3), 100u);
  EXPECT_EQ(other->UserCounter(kUserCounters - 1), 9u);
  other->AddUserCounter(0, 1);
  EXPECT_EQ(segment->UserCounter(0), 1u);

  // Counters are not cache data: Clear leaves them.
  segment->Clear();
  EXPECT_EQ(segment->UserCounter(3), 100u);

  // Concurrent adds are not lost.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Segment* s = t % 2 == 0 ? segment.get() : other.get();
      for (int i = 0; i < 10000; ++i) s->AddUserCounter(1, 1);
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(segment->UserCounter(1), 40000u);
}

// ---------------------------------------------------------------------------
// Metadata overhead

TEST_F(SegmentTest, EntryMetadataIsSmall) {
  EXPECT_LE(Segment::EntryMetadataBytes(1024, 256), 64u);
  EXPECT_GT(Segment::EntryMetadataBytes(1024, 256), 0u);
  // One chunk: the entry header only.
  EXPECT_LE(Segment::EntryMetadataBytes(10, 256), 64u);
  // More chunks, more links.
  EXPECT_GE(Segment::EntryMetadataBytes(100000, 256), Segment::EntryMetadataBytes(1024, 256));

  // The stats agree: ten 1 KiB values use their chunks and no more.
  Options options = SmallOptions();
  options.chunk_bytes = 256;
  auto segment = Create(options);
  ASSERT_NE(segment, nullptr);
  for (uint64_t k = 0; k < 10; ++k) ASSERT_EQ(segment->Put(k, std::string(1024, 'z'), 1), Status::kOk);
  const Stats stats = segment->GetStats();
  EXPECT_EQ(stats.chunk_bytes_used, 10 * internal::ChunksFor(1024, 256) * 256);
  EXPECT_EQ(stats.value_bytes, 10u * 1024);
}

// ---------------------------------------------------------------------------
// Attaching

TEST_F(SegmentTest, SecondAttachSeesWhatTheFirstPut) {
  std::string name;
  auto first = Create(SmallOptions(), &name);
  ASSERT_NE(first, nullptr);
  ASSERT_EQ(first->Put(11, "from the first", 4), Status::kOk);

  Options different = SmallOptions();
  different.capacity_bytes = 4 << 20;
  different.shard_count = 16;
  different.chunk_bytes = 512;
  different.max_entry_bytes = 100;
  Error error;
  auto second = Segment::OpenOrCreate(name, different, &error);
  ASSERT_NE(second, nullptr) << error.message;
  EXPECT_TRUE(error.ok());
  // The creator's limits are in force for everyone.
  EXPECT_EQ(second->limits().segment_bytes, first->limits().segment_bytes);
  EXPECT_EQ(second->limits().shard_count, first->limits().shard_count);
  EXPECT_EQ(second->limits().chunk_bytes, first->limits().chunk_bytes);
  EXPECT_EQ(second->limits().max_entry_bytes, first->limits().max_entry_bytes);

  std::string value;
  uint64_t version = 0;
  ASSERT_EQ(second->Get(11, &value, &version), Status::kOk);
  EXPECT_EQ(value, "from the first");
  EXPECT_EQ(version, 4u);
  ASSERT_EQ(second->Put(12, "from the second", 5), Status::kOk);
  ASSERT_EQ(first->Get(12, &value), Status::kOk);
  EXPECT_EQ(value, "from the second");
  EXPECT_EQ(second->Erase(11), Status::kOk);
  EXPECT_EQ(first->Get(11, &value), Status::kNotFound);

  auto third = Segment::Open(name, &error);
  ASSERT_NE(third, nullptr) << error.message;
  EXPECT_EQ(third->GetStats().entries, 1u);

  // The segment outlives its Segment objects until Remove.
  first.reset();
  second.reset();
  third.reset();
  auto fourth = Segment::Open(name, &error);
  ASSERT_NE(fourth, nullptr) << error.message;
  EXPECT_EQ(fourth->Get(12, &value), Status::kOk);
  fourth.reset();
  EXPECT_TRUE(Segment::Remove(name));
  EXPECT_EQ(Segment::Open(name, &error), nullptr);
  EXPECT_EQ(error.status, Status::kNoSegment);
}

TEST_F(SegmentTest, OpenOfAMissingNameIsNoSegment) {
  const std::string name = NewName();
  Error error;
  EXPECT_EQ(Segment::Open(name, &error), nullptr);
  EXPECT_EQ(error.status, Status::kNoSegment);
  EXPECT_FALSE(error.message.empty());
  EXPECT_FALSE(Segment::Remove(name));
  EXPECT_NE(::access(ShmPath(name).c_str(), F_OK), 0) << "Open must not create";
}

TEST_F(SegmentTest, BadOptionsAreInvalidArgument) {
  struct Case {
    const char* what;
    Options options;
  };
  std::vector<Case> cases;
  auto add = [&](const char* what, auto mutate) {
    Options options = SmallOptions();
    mutate(options);
    cases.push_back({what, options});
  };
  add("shard_count 3", [](Options& o) { o.shard_count = 3; });
  add("shard_count 0", [](Options& o) { o.shard_count = 0; });
  add("shard_count 12", [](Options& o) { o.shard_count = 12; });
  add("shard_count above the maximum", [](Options& o) { o.shard_count = internal::kMaxShards * 2; });
  add("capacity 0", [](Options& o) { o.capacity_bytes = 0; });
  add("capacity 1 KiB", [](Options& o) { o.capacity_bytes = 1024; });
  add("capacity smaller than the header", [](Options& o) { o.capacity_bytes = sizeof(Header); });
  add("chunk_bytes 0", [](Options& o) { o.chunk_bytes = 0; });
  add("chunk_bytes below the minimum", [](Options& o) { o.chunk_bytes = internal::kMinChunkBytes - 1; });
  add("chunk_bytes 16", [](Options& o) { o.chunk_bytes = 16; });
  add("chunk_bytes above the maximum", [](Options& o) { o.chunk_bytes = internal::kMaxChunkBytes * 2; });
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string name = NewName();
    Error error;
    auto segment = Segment::OpenOrCreate(name, c.options, &error);
    EXPECT_EQ(segment, nullptr);
    EXPECT_EQ(error.status, Status::kInvalidArgument) << StatusName(error.status) << ": " << error.message;
    EXPECT_FALSE(error.message.empty());
    // A refused creation leaves nothing behind.
    Error open_error;
    EXPECT_EQ(Segment::Open(name, &open_error), nullptr);
    EXPECT_EQ(open_error.status, Status::kNoSegment) << open_error.message;
  }
}

TEST_F(SegmentTest, CreatedOwnerOnlyByDefault) {
  std::string name;
  auto segment = Create(SmallOptions(), &name);
  ASSERT_NE(segment, nullptr);
  struct stat st{};
  ASSERT_EQ(::stat(ShmPath(name).c_str(), &st), 0) << ShmPath(name) << ": " << std::strerror(errno);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, ::geteuid());
}

TEST_F(SegmentTest, CreationHonoursOptionsMode) {
  for (const mode_t mode : {mode_t{0640}, mode_t{0644}, mode_t{0660}}) {
    Options options = SmallOptions();
    options.mode = mode;
    std::string name;
    auto segment = Create(options, &name);
    ASSERT_NE(segment, nullptr);
    struct stat st{};
    ASSERT_EQ(::stat(ShmPath(name).c_str(), &st), 0) << std::strerror(errno);
    EXPECT_EQ(st.st_mode & 07777, mode) << std::oct << "wanted 0" << mode << ", got 0" << (st.st_mode & 07777);
  }
}

// Creates a segment, puts a value, releases it: a segment ready for damage.
class BadAttachTest : public SegmentTest {
 protected:
  void SetUp() override {
    auto segment = Create(SmallOptions(), &name_);
    ASSERT_NE(segment, nullptr);
    ASSERT_EQ(segment->Put(1, "value", 1), Status::kOk);
    segment_bytes_ = segment->limits().segment_bytes;
  }

  // Open and OpenOrCreate both refuse with `expected`.
  void ExpectRefused(Status expected) {
    Error error;
    EXPECT_EQ(Segment::Open(name_, &error), nullptr);
    EXPECT_EQ(error.status, expected) << "got " << StatusName(error.status) << ": " << error.message;
    EXPECT_FALSE(error.message.empty());
    error = Error{};
    EXPECT_EQ(Segment::OpenOrCreate(name_, SmallOptions(), &error), nullptr)
        << "OpenOrCreate must not attach to (or silently replace) a damaged segment";
    EXPECT_EQ(error.status, expected) << "got " << StatusName(error.status) << ": " << error.message;
  }

  // The index of the stored region of `kind`.
  int RegionIndex(uint32_t kind) {
    for (size_t i = 0; i < internal::kMaxRegions; ++i) {
      if (PeekFile<uint32_t>(name_, RegionFieldOffset(i, offsetof(Region, kind))) == kind) return static_cast<int>(i);
    }
    return -1;
  }

  std::string name_;
  uint64_t segment_bytes_ = 0;
};

TEST_F(BadAttachTest, UndamagedSegmentAttaches) {
  Error error;
  auto segment = Segment::Open(name_, &error);
  ASSERT_NE(segment, nullptr) << error.message;
  std::string value;
  EXPECT_EQ(segment->Get(1, &value), Status::kOk);
  EXPECT_EQ(PeekFile<uint64_t>(name_, offsetof(Header, magic)), internal::kMagic);
  EXPECT_EQ(PeekFile<uint32_t>(name_, offsetof(Header, layout_version)), internal::kLayoutVersion);
}

TEST_F(BadAttachTest, WrongMagic) {
  const uint64_t magic = 0x0123456789abcdefull;
  PokeFile(name_, offsetof(Header, magic), &magic, sizeof magic);
  ExpectRefused(Status::kBadMagic);
}

TEST_F(BadAttachTest, AllZeroHeaderIsRefused) {
  // All zeros is also what a creator's header looks like before it is
  // written: "not ready" is as fair an answer as "not ours".
  const std::vector<char> zeros(sizeof(Header), 0);
  PokeFile(name_, 0, zeros.data(), zeros.size());
  Error error;
  EXPECT_EQ(Segment::Open(name_, &error), nullptr);
  EXPECT_TRUE(error.status == Status::kBadMagic || error.status == Status::kNotReady)
      << StatusName(error.status) << ": " << error.message;
}

TEST_F(BadAttachTest, CreatorThatNeverFinished) {
  const uint32_t state = internal::kInitializing;
  PokeFile(name_, offsetof(Header, state), &state, sizeof state);
  Error error;
  EXPECT_EQ(Segment::Open(name_, &error), nullptr);
  EXPECT_EQ(error.status, Status::kNotReady) << StatusName(error.status) << ": " << error.message;
  EXPECT_FALSE(error.message.empty());
}

TEST_F(BadAttachTest, WrongLayoutVersion) {
  const uint32_t version = internal::kLayoutVersion + 1;
  PokeFile(name_, offsetof(Header, layout_version), &version, sizeof version);
  ExpectRefused(Status::kBadLayoutVersion);
}

TEST_F(BadAttachTest, OlderLayoutVersion) {
  const uint32_t version = 0;
  PokeFile(name_, offsetof(Header, layout_version), &version, sizeof version);
  ExpectRefused(Status::kBadLayoutVersion);
}

TEST_F(BadAttachTest, LabelLongerThanItsBoundIsRefused) {
  const uint32_t label_bytes = static_cast<uint32_t>(kMaxLabelBytes) + 1;
  PokeFile(name_, offsetof(Header, label_bytes), &label_bytes, sizeof label_bytes);
  ExpectRefused(Status::kCorruptHeader);
}

TEST_F(BadAttachTest, TruncatedToHalf) {
  ASSERT_EQ(::truncate(ShmPath(name_).c_str(), static_cast<off_t>(segment_bytes_ / 2)), 0) << std::strerror(errno);
  ExpectRefused(Status::kTruncated);
}

TEST_F(BadAttachTest, TruncatedToLessThanAHeader) {
  ASSERT_EQ(::truncate(ShmPath(name_).c_str(), 16), 0) << std::strerror(errno);
  const Status expected = Status::kTruncated;
  ExpectRefused(expected);
}

TEST_F(BadAttachTest, TruncatedToNothing) {
  ASSERT_EQ(::truncate(ShmPath(name_).c_str(), 0), 0) << std::strerror(errno);
  // An empty object is what a creator leaves for an instant before it sizes
  // it; an attach may wait for it, but must end refused, not crash.
  Error error;
  EXPECT_EQ(Segment::Open(name_, &error), nullptr);
  EXPECT_TRUE(error.status == Status::kTruncated || error.status == Status::kNotReady)
      << StatusName(error.status) << ": " << error.message;
}

TEST_F(BadAttachTest, RegionOffsetOutOfRange) {
  const int index = RegionIndex(internal::kRegionArenas);
  ASSERT_GE(index, 0) << "no arena region in the header";
  const uint64_t offset = segment_bytes_ + 4096;
  PokeFile(name_, RegionFieldOffset(index, offsetof(Region, offset)), &offset, sizeof offset);
  ExpectRefused(Status::kCorruptHeader);
}

TEST_F(BadAttachTest, RegionBytesOutOfRange) {
  const int index = RegionIndex(internal::kRegionShards);
  ASSERT_GE(index, 0) << "no shard region in the header";
  const uint64_t bytes = UINT64_MAX - 8;  // offset + bytes overflows
  PokeFile(name_, RegionFieldOffset(index, offsetof(Region, bytes)), &bytes, sizeof bytes);
  ExpectRefused(Status::kCorruptHeader);
}

TEST_F(BadAttachTest, RegionsOverlappingTheHeader) {
  const int index = RegionIndex(internal::kRegionArenas);
  ASSERT_GE(index, 0);
  const uint64_t offset = 0;
  PokeFile(name_, RegionFieldOffset(index, offsetof(Region, offset)), &offset, sizeof offset);
  ExpectRefused(Status::kCorruptHeader);
}

TEST_F(BadAttachTest, ShardCountNotAPowerOfTwo) {
  const uint32_t shards = 3;
  PokeFile(name_, offsetof(Header, shard_count), &shards, sizeof shards);
  ExpectRefused(Status::kCorruptHeader);
}

TEST_F(BadAttachTest, ChunkBytesOutOfRange) {
  const uint32_t chunk = 8;
  PokeFile(name_, offsetof(Header, chunk_bytes), &chunk, sizeof chunk);
  ExpectRefused(Status::kCorruptHeader);
}

TEST_F(BadAttachTest, ChunksPerShardTooMany) {
  const uint32_t chunks = 0x7fffffff;
  PokeFile(name_, offsetof(Header, chunks_per_shard), &chunks, sizeof chunks);
  ExpectRefused(Status::kCorruptHeader);
}

// A shard header damaged to say more chunks are free than the shard has: the
// walk of its ring (ForEach, Lookup) counted the used chunks as their
// difference, which wrapped to nearly 2^64; over a ring full of live entries,
// with an entry count as large, it went round for ever holding the shard's
// lock. Seen while writing fuzz/segment_attach_fuzzer.
TEST_F(SegmentTest, ARingWalkRefusesMoreFreeChunksThanTheShardHas) {
  Options options = SmallOptions();
  options.shard_count = 1;
  std::string name;
  auto segment = Create(options, &name);
  ASSERT_NE(segment, nullptr);
  // Empty values take one chunk each: twice as many as there are chunks
  // leave the ring exactly full, every chunk a live entry.
  const uint32_t chunks = PeekFile<uint32_t>(name, offsetof(Header, chunks_per_shard));
  for (uint64_t key = 1; key <= 2ull * chunks; ++key) ASSERT_EQ(segment->Put(key, "", 1), Status::kOk);
  ASSERT_EQ(segment->GetStats().entries, chunks);
  uint64_t shards = 0;
  for (size_t i = 0; i < internal::kMaxRegions; ++i) {
    if (PeekFile<uint32_t>(name, RegionFieldOffset(i, offsetof(Region, kind))) == internal::kRegionShards) {
      shards = PeekFile<uint64_t>(name, RegionFieldOffset(i, offsetof(Region, offset)));
    }
  }
  ASSERT_NE(shards, 0u);
  const uint32_t free_chunks = chunks + 1;
  const uint64_t entries = UINT64_MAX / 2;
  PokeFile(name, shards + offsetof(internal::ShardHeader, free_chunks), &free_chunks, sizeof free_chunks);
  PokeFile(name, shards + offsetof(internal::ShardHeader, entries), &entries, sizeof entries);

  uint64_t visited = 0;
  segment->ForEach([&](const EntryInfo&) { ++visited; });
  EXPECT_EQ(visited, 0u);
  const Stats stats = segment->GetStats();
  EXPECT_EQ(stats.corruption_resets, 1u);
  EXPECT_EQ(stats.entries, 0u);
  ASSERT_EQ(segment->Put(1, "again", 2), Status::kOk);
  std::string value;
  EXPECT_EQ(segment->Get(1, &value), Status::kOk);
  EXPECT_EQ(value, "again");
}

// ---------------------------------------------------------------------------
// Threads

TEST_F(SegmentTest, ThreadsRacingToCreateAllGetTheSameSegment) {
  for (int round = 0; round < 5; ++round) {
    const std::string name = NewName();
    constexpr int kThreads = 8;
    std::vector<std::unique_ptr<Segment>> segments(kThreads);
    std::vector<Error> errors(kThreads);
    std::atomic<int> waiting{kThreads};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        Options options = SmallOptions();
        options.capacity_bytes = (1u << 20) + static_cast<uint64_t>(t) * 65536;  // each asks differently
        options.shard_count = 1u << (t % 4);
        waiting.fetch_sub(1);
        while (waiting.load() > 0) std::this_thread::yield();
        segments[t] = Segment::OpenOrCreate(name, options, &errors[t]);
      });
    }
    for (auto& thread : threads) thread.join();
    for (int t = 0; t < kThreads; ++t) {
      ASSERT_NE(segments[t], nullptr) << "thread " << t << ": " << StatusName(errors[t].status) << ": "
                                      << errors[t].message;
      EXPECT_EQ(segments[t]->limits().segment_bytes, segments[0]->limits().segment_bytes);
      EXPECT_EQ(segments[t]->limits().shard_count, segments[0]->limits().shard_count);
      EXPECT_EQ(segments[t]->limits().value_capacity_bytes, segments[0]->limits().value_capacity_bytes);
    }
    // And it is one segment.
    ASSERT_EQ(segments[kThreads - 1]->Put(1, "shared", 1), Status::kOk);
    std::string value;
    for (int t = 0; t < kThreads; ++t) {
      ASSERT_EQ(segments[t]->Get(1, &value), Status::kOk);
      EXPECT_EQ(value, "shared");
    }
  }
}

TEST_F(SegmentTest, FourThreadsOnOverlappingKeysSeeOnlyWholeValues) {
  Options options = SmallOptions();
  options.capacity_bytes = 256 << 10;  // small: eviction under contention
  options.shard_count = 4;
  std::string name;
  auto segment = Create(options, &name);
  ASSERT_NE(segment, nullptr);
  Error error;
  auto second = Segment::Open(name, &error);  // two Segment objects, two mappings
  ASSERT_NE(second, nullptr) << error.message;

  constexpr int kThreads = 4;
#if SHMCACHE_SANITIZED  // fewer under sanitizers
  constexpr int kOps = 10000;
#else
  constexpr int kOps = 50000;
#endif
  std::atomic<uint64_t> failures{0}, hits{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Segment* s = t % 2 == 0 ? segment.get() : second.get();
      std::mt19937_64 rng(1000 + t);
      std::string value;
      uint64_t local_hits = 0;
      for (int i = 0; i < kOps; ++i) {
        const uint64_t key = rng() % 200;
        const auto op = static_cast<unsigned>(rng() % 100);
        if (op < 55) {
          uint64_t version = 0;
          if (s->Get(key, &value, &version) == Status::kOk) {
            ++local_hits;
            if (!CheckValue(key, version, value)) failures.fetch_add(1);
          }
        } else if (op < 65) {
          uint64_t version = 0;
          std::string copied;
          const Status status = s->CopyOut(
              key, [&](size_t bytes) { copied.assign(bytes, '\0'); return copied.data(); }, &version);
          if (status == Status::kOk && !CheckValue(key, version, copied)) failures.fetch_add(1);
        } else if (op < 90) {
          const uint64_t version = (static_cast<uint64_t>(t) << 32) | static_cast<uint64_t>(i);
          const size_t size = 1 + rng() % 2000;
          if (s->Put(key, MakeValue(key, version, size), version) != Status::kOk) failures.fetch_add(1);
        } else if (op < 97) {
          s->Erase(key);
        } else if (op < 99) {
          EntryInfo info{};
          if (s->Lookup(key, &info) == Status::kOk && info.key != key) failures.fetch_add(1);
        } else {
          const Stats stats = s->GetStats();
          if (stats.chunk_bytes_used > stats.capacity_bytes) failures.fetch_add(1);
        }
      }
      hits.fetch_add(local_hits);
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_GT(hits.load(), 0u);
  const Stats stats = segment->GetStats();
  EXPECT_LE(stats.chunk_bytes_used, stats.capacity_bytes);
  EXPECT_EQ(stats.lock_recoveries, 0u);
  EXPECT_EQ(stats.corruption_resets, 0u);
  uint64_t counted = 0;
  segment->ForEach([&](const EntryInfo& e) {
    ++counted;
    std::string v;
    uint64_t version = 0;
    if (segment->Get(e.key, &v, &version) == Status::kOk) {
      EXPECT_TRUE(CheckValue(e.key, version, v));
    }
  });
  EXPECT_EQ(counted, stats.entries);
}

TEST(StatusNameTest, EveryStatusHasADistinctName) {
  std::set<std::string_view> names;
  for (Status s : {Status::kOk, Status::kNotFound, Status::kTooLarge, Status::kFenced, Status::kInvalidArgument,
                   Status::kNoSegment, Status::kPermission, Status::kBadMagic, Status::kBadLayoutVersion,
                   Status::kBadValueFormat, Status::kTruncated, Status::kCorruptHeader, Status::kNotReady, Status::kSystemError}) {
    EXPECT_FALSE(StatusName(s).empty());
    names.insert(StatusName(s));
  }
  EXPECT_EQ(names.size(), 14u);
}

}  // namespace
}  // namespace shmcache
