// The pending-access table: recording, freezing and releasing batches, a
// full table, and recorders killed with SIGKILL while they record.
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "shmcache/shmcache.h"

namespace shmcache {
namespace {

class PendingTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = "/shmcache-test-pending-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    Segment::Remove(name_);
  }
  void TearDown() override { Segment::Remove(name_); }

  std::unique_ptr<Segment> Create(uint32_t pending_slots = 0) {
    Options options;
    options.capacity_bytes = 4 << 20;
    options.max_entry_bytes = 64 << 10;
    options.shard_count = 4;
    options.pending_slots = pending_slots;
    Error error;
    auto segment = Segment::OpenOrCreate(name_, options, &error);
    EXPECT_NE(segment, nullptr) << error.message;
    return segment;
  }

  // Flushes everything into `into` (key -> count) the way a database would.
  static void FlushInto(Segment* segment, std::map<uint64_t, uint64_t>* into) {
    auto flush = segment->BeginFlush(5000);
    ASSERT_NE(flush, nullptr);
    for (const PendingBatch& batch : flush->Freeze()) {
      for (const PendingAccess& access : batch.accesses) (*into)[access.key] += access.count;
      flush->Release(batch);
    }
  }

  std::string name_;
};

TEST_F(PendingTableTest, AccessesCoalescePerKeyWithTheLatestTime) {
  auto segment = Create();
  ASSERT_NE(segment, nullptr);
  EXPECT_EQ(segment->RecordAccess(0, 1), Status::kInvalidArgument);
  EXPECT_EQ(segment->RecordAccess(7, 100), Status::kOk);
  EXPECT_EQ(segment->RecordAccess(7, 300), Status::kOk);
  EXPECT_EQ(segment->RecordAccess(7, 200), Status::kOk);
  EXPECT_EQ(segment->RecordAccess(8, 50), Status::kOk);
  std::map<uint64_t, PendingAccess> seen;
  segment->ForEachPending([&](const PendingAccess& a) { seen[a.key] = a; });
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[7].count, 3u);
  EXPECT_EQ(seen[7].last_ms, 300);
  EXPECT_EQ(seen[8].count, 1u);
  const PendingTotals totals = segment->GetPendingTotals();
  EXPECT_EQ(totals.keys, 2u);
  EXPECT_EQ(totals.accesses, 4u);
  EXPECT_EQ(totals.recorded, 4u);
}

TEST_F(PendingTableTest, ABatchNotReleasedComesBackWithTheSameSeq) {
  auto segment = Create();
  ASSERT_NE(segment, nullptr);
  for (uint64_t key = 1; key <= 100; ++key) ASSERT_EQ(segment->RecordAccess(key, 1), Status::kOk);
  std::vector<PendingBatch> first;
  {
    auto flush = segment->BeginFlush(5000);
    first = flush->Freeze();
    ASSERT_FALSE(first.empty());
    // The flusher "dies" here: nothing released.
  }
  // Accesses recorded meanwhile go to the other table.
  ASSERT_EQ(segment->RecordAccess(1, 2), Status::kOk);
  auto flush = segment->BeginFlush(0);
  ASSERT_NE(flush, nullptr);
  EXPECT_EQ(segment->BeginFlush(0), nullptr) << "one flusher at a time";
  const std::vector<PendingBatch> again = flush->Freeze();
  ASSERT_EQ(again.size(), first.size());
  uint64_t accesses = 0;
  for (size_t i = 0; i < again.size(); ++i) {
    EXPECT_EQ(again[i].shard, first[i].shard);
    EXPECT_EQ(again[i].seq, first[i].seq);
    EXPECT_EQ(again[i].accesses.size(), first[i].accesses.size());
    for (const auto& a : again[i].accesses) accesses += a.count;
    flush->Release(again[i]);
  }
  EXPECT_EQ(accesses, 100u);
  // The access recorded while frozen is the next batch, with a higher seq.
  const std::vector<PendingBatch> next = flush->Freeze();
  ASSERT_EQ(next.size(), 1u);
  ASSERT_EQ(next[0].accesses.size(), 1u);
  EXPECT_EQ(next[0].accesses[0].key, 1u);
  for (const auto& batch : first) {
    if (batch.shard == next[0].shard) {
      EXPECT_GT(next[0].seq, batch.seq);
    }
  }
  flush->Release(next[0]);
  EXPECT_TRUE(flush->Freeze().empty());
  EXPECT_NE(flush->instance(), 0u);
}

TEST_F(PendingTableTest, AFullTableRefusesUntilFlushed) {
  auto segment = Create(/*pending_slots=*/64);  // 16 per shard, full at 12
  ASSERT_NE(segment, nullptr);
  uint64_t recorded = 0, key = 1;
  for (; key <= 1000; ++key) {
    const Status status = segment->RecordAccess(key, 1);
    if (status == Status::kFull) break;
    ASSERT_EQ(status, Status::kOk);
    ++recorded;
  }
  ASSERT_LT(key, 1000u) << "the table never filled";
  EXPECT_EQ(segment->GetPendingTotals().refused_full, 1u);
  std::map<uint64_t, uint64_t> flushed;
  FlushInto(segment.get(), &flushed);
  EXPECT_EQ(flushed.size(), recorded);
  EXPECT_EQ(segment->RecordAccess(key, 1), Status::kOk);
}

// Recorders hammer shared keys and are killed with SIGKILL at random; each
// counts in shared memory the calls that returned kOk. A flusher in the
// parent drains all along. Every returned access is flushed exactly once;
// a killed process adds at most the one access it was recording.
TEST_F(PendingTableTest, KilledRecordersNeitherLoseNorWedge) {
  auto segment = Create(/*pending_slots=*/4096);
  ASSERT_NE(segment, nullptr);
  auto* returned = static_cast<std::atomic<uint64_t>*>(
      mmap(nullptr, 64 * sizeof(std::atomic<uint64_t>), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(returned, MAP_FAILED);
  for (int i = 0; i < 64; ++i) new (&returned[i]) std::atomic<uint64_t>(0);
  auto spawn = [&](int slot) {
    const pid_t pid = fork();
    if (pid == 0) {
      alarm(60);
      Error error;
      auto child = Segment::Open(name_, &error);
      if (child == nullptr) _exit(2);
      std::mt19937_64 rng(static_cast<uint64_t>(getpid()));
      for (;;) {
        const uint64_t key = 1 + rng() % 500;
        const Status status = child->RecordAccess(key, static_cast<int64_t>(rng() % 1000));
        if (status == Status::kOk) returned[slot].fetch_add(1);
        else if (status != Status::kFull) _exit(3);
      }
    }
    return pid;
  };
  std::vector<pid_t> children;
  for (int i = 0; i < 3; ++i) children.push_back(spawn(i));
  std::map<uint64_t, uint64_t> flushed;
  std::mt19937 rng(7);
  int kills = 0;
  for (; kills < 60; ++kills) {
    usleep(static_cast<useconds_t>(2000 + rng() % 5000));
    FlushInto(segment.get(), &flushed);
    pid_t& victim = children[rng() % children.size()];
    kill(victim, SIGKILL);
    waitpid(victim, nullptr, 0);
    victim = spawn(3 + kills);
  }
  for (pid_t pid : children) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  kills += static_cast<int>(children.size());  // the last ones, each perhaps mid-record
  FlushInto(segment.get(), &flushed);
  uint64_t total_returned = 0, total_flushed = 0;
  for (int i = 0; i < 64; ++i) total_returned += returned[i].load();
  for (const auto& [key, count] : flushed) total_flushed += count;
  EXPECT_GT(total_returned, 0u);
  EXPECT_GE(total_flushed, total_returned);
  EXPECT_LE(total_flushed, total_returned + static_cast<uint64_t>(kills));
  EXPECT_EQ(segment->GetPendingTotals().accesses, 0u);
  EXPECT_EQ(segment->RecordAccess(1, 1), Status::kOk) << "a shard stayed locked";
  munmap(returned, 64 * sizeof(std::atomic<uint64_t>));
}

}  // namespace
}  // namespace shmcache
