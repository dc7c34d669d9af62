// shmcache across real processes: a process SIGKILLed inside a shard's
// critical section never wedges the others (invariant 3), forked processes
// hammering overlapping keys never see a torn or misattributed value and never
// push the cache past its capacity (invariant 4), a second process sees what
// the first put, and processes racing to create one segment all get it.
//
// Forked children never return into gtest: they _exit() with a code the
// parent checks (0 = fine).
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "layout.h"
#include "shmcache/shmcache.h"

// Sanitizer builds run fewer operations (TSan is ~10x slower, ASan ~3x).
#if defined(__SANITIZE_THREAD__)
#define SHMCACHE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SHMCACHE_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SHMCACHE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SHMCACHE_ASAN 1
#endif
#endif
#ifndef SHMCACHE_TSAN
#define SHMCACHE_TSAN 0
#endif
#ifndef SHMCACHE_ASAN
#define SHMCACHE_ASAN 0
#endif
#define SHMCACHE_SANITIZED (SHMCACHE_TSAN || SHMCACHE_ASAN)

namespace shmcache {
namespace {

// ---------------------------------------------------------------------------
// Helpers

std::string UniqueName() {
  static int counter = 0;
  return "/shmcache-mptest-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

// 32-bit FNV-1a.
uint32_t Fnv1a(const void* data, size_t n, uint32_t h = 2166136261u) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 16777619u;
  }
  return h;
}

constexpr size_t kValueHeader = 16;  // key (8), length (4), checksum (4)

// A value of `length` bytes that carries its key, its length and a checksum
// over those, the version it was put with and the payload. Values shorter
// than a header are a pattern determined by (key, version, length).
void MakeValue(uint64_t key, uint64_t version, size_t length, uint64_t seed, std::string* out) {
  out->resize(length);
  char* p = out->data();
  uint64_t x = seed | 1;
  if (length < kValueHeader) {
    x = (key * 0x9e3779b97f4a7c15ull) ^ (version * 0xbf58476d1ce4e5b9ull) ^ length;
    x |= 1;
  }
  for (size_t i = 0; i < length; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[i] = static_cast<char>(x >> 24);
  }
  if (length < kValueHeader) return;
  const uint32_t len32 = static_cast<uint32_t>(length);
  std::memcpy(p, &key, 8);
  std::memcpy(p + 8, &len32, 4);
  uint32_t h = Fnv1a(&version, 8);
  h = Fnv1a(p, 12, h);
  h = Fnv1a(p + kValueHeader, length - kValueHeader, h);
  std::memcpy(p + 12, &h, 4);
}

bool CheckValue(uint64_t key, uint64_t version, std::string_view value) {
  if (value.empty()) return false;  // these tests never put an empty value
  if (value.size() < kValueHeader) {
    std::string expected;
    MakeValue(key, version, value.size(), 0, &expected);
    return value == expected;
  }
  uint64_t k;
  uint32_t len, sum;
  std::memcpy(&k, value.data(), 8);
  std::memcpy(&len, value.data() + 8, 4);
  std::memcpy(&sum, value.data() + 12, 4);
  if (k != key || len != value.size()) return false;
  uint32_t h = Fnv1a(&version, 8);
  h = Fnv1a(value.data(), 12, h);
  h = Fnv1a(value.data() + kValueHeader, value.size() - kValueHeader, h);
  return h == sum;
}

// Fails the whole run (exit 124) instead of hanging when something deadlocks.
// Per-test: alarm() is process-wide, and fork() does not inherit it.
volatile sig_atomic_t g_watchdog_armed = 0;
const char* g_watchdog_what = "";

void WatchdogFired(int) {
  if (!g_watchdog_armed) return;
  const char prefix[] = "\n*** watchdog: deadlock (no progress) while: ";
  (void)!::write(2, prefix, sizeof prefix - 1);
  (void)!::write(2, g_watchdog_what, std::strlen(g_watchdog_what));
  (void)!::write(2, "\n", 1);
  ::_exit(124);
}

class Watchdog {
 public:
  Watchdog(unsigned seconds, const char* what) {
    g_watchdog_what = what;
    struct sigaction sa{};
    sa.sa_handler = WatchdogFired;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGALRM, &sa, nullptr);
    g_watchdog_armed = 1;
    ::alarm(seconds * (SHMCACHE_SANITIZED ? 3 : 1));
  }
  ~Watchdog() {
    ::alarm(0);
    g_watchdog_armed = 0;
  }
};

// Waits for a child with a deadline; SIGKILLs it if it overruns. Returns the
// wait status, or -1 if it had to be killed.
int WaitChild(pid_t pid, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return -2;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

std::string DescribeStatus(int status) {
  if (status == -1) return "timed out (killed)";
  if (status == -2) return "waitpid failed";
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

bool ExitedZero(int status) { return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0; }

Options TestOptions() {
  Options options;
  options.capacity_bytes = 1ull << 20;
  options.max_entry_bytes = 4096;
  options.shard_count = 8;
  options.chunk_bytes = 256;
  return options;
}

class MultiProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = UniqueName();
    Segment::Remove(name_);
  }
  void TearDown() override {
    segment_.reset();
    Segment::Remove(name_);
  }

  void Create(const Options& options = TestOptions()) {
    Error error;
    segment_ = Segment::OpenOrCreate(name_, options, &error);
    ASSERT_NE(segment_, nullptr) << StatusName(error.status) << ": " << error.message;
  }

  std::string name_;
  std::unique_ptr<Segment> segment_;
};

// In a child: attaches to `name`, or _exits with 90.
std::unique_ptr<Segment> ChildOpen(const std::string& name) {
  Error error;
  auto segment = Segment::Open(name, &error);
  if (segment == nullptr) {
    std::fprintf(stderr, "child %d: Open(%s): %s: %s\n", ::getpid(), name.c_str(),
                 std::string(StatusName(error.status)).c_str(), error.message.c_str());
    ::_exit(90);
  }
  return segment;
}

// ---------------------------------------------------------------------------
// Crash recovery

void StopHere() { ::raise(SIGSTOP); }

// Forks a child that attaches and Puts `key`, stopping itself inside the
// critical section via the test hook; returns its pid once it is stopped.
pid_t StopChildInsidePut(const std::string& name, uint64_t key) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    auto segment = ChildOpen(name);
    testing::SetPutCrashPointForTest(StopHere);
    std::string value;
    MakeValue(key, 666, 1000, 7, &value);
    segment->Put(key, value, 666);
    // Only reached if the hook was not called or SIGSTOP did not stop us.
    ::_exit(91);
  }
  if (pid < 0) return pid;
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WUNTRACED);
    if (r == pid || (r < 0 && errno != EINTR)) break;
  }
  if (!WIFSTOPPED(status)) {
    ADD_FAILURE() << "the child did not stop inside Put: " << DescribeStatus(status);
    return -1;
  }
  return pid;
}

void KillAndReap(pid_t pid) {
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << DescribeStatus(status);
}

TEST_F(MultiProcessTest, ProcessKilledInsideACriticalSectionDoesNotWedgeTheShard) {
  ASSERT_NO_FATAL_FAILURE(Create());
  const uint64_t kKey = 4242;
  // Something cached in every shard before the crash.
  std::string value;
  for (uint64_t k = 0; k < 200; ++k) {
    MakeValue(k, 1, 100 + k, k, &value);
    ASSERT_EQ(segment_->Put(k, value, 1), Status::kOk);
  }
  MakeValue(kKey, 1, 500, 1, &value);
  ASSERT_EQ(segment_->Put(kKey, value, 1), Status::kOk);
  ASSERT_EQ(segment_->GetStats().lock_recoveries, 0u);

  const pid_t pid = StopChildInsidePut(name_, kKey);
  ASSERT_GT(pid, 0);
  // The child now holds kKey's shard lock, with the shard half-updated.
  KillAndReap(pid);

  const auto start = std::chrono::steady_clock::now();
  {
    Watchdog watchdog(10, "Get/Put on the shard whose lock holder was killed");
    std::string got;
    uint64_t version = 0;
    const Status get = segment_->Get(kKey, &got, &version);
    EXPECT_TRUE(get == Status::kOk || get == Status::kNotFound) << StatusName(get);
    if (get == Status::kOk) {
      EXPECT_TRUE(CheckValue(kKey, version, got)) << "a torn value survived the crash";
    }
    MakeValue(kKey, 2, 700, 2, &value);
    EXPECT_EQ(segment_->Put(kKey, value, 2), Status::kOk);
    EXPECT_EQ(segment_->Get(kKey, &got, &version), Status::kOk);
    EXPECT_EQ(got, value);
    EXPECT_EQ(version, 2u);
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "  get+put after the owner's death took %.2f ms\n", ms);

  const Stats stats = segment_->GetStats();
  EXPECT_EQ(stats.lock_recoveries, 1u);
  EXPECT_LE(stats.chunk_bytes_used, stats.capacity_bytes);

  // The other shards kept their entries; every entry left is whole.
  uint64_t survivors = 0;
  for (uint64_t k = 0; k < 200; ++k) {
    std::string got;
    uint64_t version = 0;
    if (segment_->Get(k, &got, &version) == Status::kOk) {
      ++survivors;
      EXPECT_EQ(version, 1u);
      EXPECT_TRUE(CheckValue(k, version, got)) << "key " << k;
    }
  }
  EXPECT_GT(survivors, 100u) << "a crash in one shard must not cost the other shards their entries";

  // The recovered shard works as before, and a second crash is recovered too.
  const pid_t again = StopChildInsidePut(name_, kKey);
  ASSERT_GT(again, 0);
  KillAndReap(again);
  {
    Watchdog watchdog(10, "Put after a second crash");
    MakeValue(kKey, 3, 50, 3, &value);
    EXPECT_EQ(segment_->Put(kKey, value, 3), Status::kOk);
    std::string got;
    EXPECT_EQ(segment_->Get(kKey, &got), Status::kOk);
    EXPECT_EQ(got, value);
  }
  EXPECT_EQ(segment_->GetStats().lock_recoveries, 2u);
}

TEST_F(MultiProcessTest, CreatorsKilledMidCreationLeaveNothingToWaitOn) {
  Options options = TestOptions();
  // Tens of milliseconds to make, so that kills land at every stage.
  options.capacity_bytes = (SHMCACHE_SANITIZED ? 16ull : 64ull) << 20;
  std::mt19937 random(20261201);
  double slowest_ms = 0;
  int made = 0;
  for (int attempt = 0; attempt < 100; ++attempt) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      Error error;
      auto segment = Segment::OpenOrCreate(name_, options, &error);
      ::_exit(segment != nullptr ? 0 : 1);
    }
    ASSERT_GT(pid, 0);
    ::usleep(std::uniform_int_distribution<useconds_t>(0, 80000)(random));
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    // Either it finished (a whole segment) or there is none: never one half
    // made. The next process uses it, or makes one, at once: reads, writes,
    // records and flushes.
    Error error;
    if (auto finished = Segment::Open(name_, &error); finished != nullptr) {
      ++made;
    } else {
      EXPECT_EQ(error.status, Status::kNoSegment) << error.message;
    }
    Watchdog watchdog(10, "the process after a killed creator");
    const auto start = std::chrono::steady_clock::now();
    auto segment = Segment::OpenOrCreate(name_, options, &error);
    ASSERT_NE(segment, nullptr) << error.message;
    std::string value, got;
    MakeValue(1, 1, 200, attempt, &value);
    ASSERT_EQ(segment->Put(1, value, 1), Status::kOk);
    ASSERT_EQ(segment->Get(1, &got), Status::kOk);
    ASSERT_EQ(segment->RecordAccess(1, 1), Status::kOk);
    auto flush = segment->BeginFlush(0);
    ASSERT_NE(flush, nullptr);
    for (const PendingBatch& batch : flush->Freeze()) flush->Release(batch);
    flush.reset();
    slowest_ms = std::max(slowest_ms, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    segment.reset();
    Segment::Remove(name_);
  }
  std::printf("  100 creators killed (%d had finished): the next process took at most %.1f ms to make or open,"
              " put, get, record and flush\n", made, slowest_ms);
  // Dead creators' private files are gone once a segment was made.
  const std::string prefix = name_.substr(1) + ".creating-";
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm")) {
    EXPECT_NE(entry.path().filename().string().rfind(prefix, 0), 0u) << entry.path();
  }
}

TEST_F(MultiProcessTest, SourceSyncHolderKilledLeavesNoPosition) {
  ASSERT_NO_FATAL_FAILURE(Create());
  Segment* segment = segment_.get();
  SourcePosition position;
  position.observed = {9, 9, 9, 9, 9, 9};
  position.clock = 7;
  segment->BeginSourceSync(0)->Publish(position);
  ASSERT_TRUE(segment->SourceIs(position.observed));
  const pid_t pid = ::fork();
  if (pid == 0) {
    auto child = ChildOpen(name_);
    auto sync = child->BeginSourceSync(0);
    ::raise(SIGSTOP);  // killed while holding the source lock
    ::_exit(91);
  }
  ASSERT_GT(pid, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, WUNTRACED), pid);
  ASSERT_TRUE(WIFSTOPPED(status)) << DescribeStatus(status);
  EXPECT_EQ(segment->BeginSourceSync(0), nullptr);  // held by the stopped child
  KillAndReap(pid);
  auto sync = segment->BeginSourceSync(1000);
  ASSERT_NE(sync, nullptr);  // handed over, not wedged
  EXPECT_EQ(segment->Source(), SourcePosition{});  // nothing half-published is trusted
  sync->Publish(position);
  EXPECT_TRUE(segment->SourceIs(position.observed));
}

TEST_F(MultiProcessTest, WaiterBlockedOnADeadOwnerIsReleased) {
  ASSERT_NO_FATAL_FAILURE(Create());
  const uint64_t kKey = 77;
  const pid_t pid = StopChildInsidePut(name_, kKey);
  ASSERT_GT(pid, 0);

  // A thread of ours waits (an invalidation must be made: the long wait) on
  // the lock the stopped child holds; a fill meanwhile gives up at once.
  std::atomic<bool> done{false};
  bool invalidated = false;
  std::thread waiter([&] {
    invalidated = segment_->Invalidate(kKey, 9);
    done.store(true);
  });
  std::string value;
  MakeValue(kKey, 5, 300, 5, &value);
  segment_->Put(kKey, value, 5);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(done.load()) << "Invalidate went through a lock held by a stopped process";
  std::string got;
  EXPECT_EQ(segment_->Get(kKey, &got), Status::kNotFound) << "a fill got past the lock";
  KillAndReap(pid);
  {
    Watchdog watchdog(10, "a waiter queued on the dead owner's lock");
    waiter.join();
  }
  EXPECT_TRUE(invalidated);
  EXPECT_EQ(segment_->PutIfFresh(kKey, value, 5, 8), Status::kFenced);
  ASSERT_EQ(segment_->PutIfFresh(kKey, value, 5, 9), Status::kOk);
  EXPECT_EQ(segment_->Get(kKey, &got), Status::kOk);
  EXPECT_EQ(got, value);
  EXPECT_EQ(segment_->GetStats().lock_recoveries, 1u);
}

// In a child: maps segment `name` by hand (not through Segment), takes every
// lock in it, unmaps it and exits. The kernel cannot mark mutexes that are
// no longer mapped as their owner's death, so their words keep naming a
// thread that is gone: what a hostile or buggy process sharing the segment
// can leave behind.
[[noreturn]] void TakeEveryLockUnmapAndExit(const std::string& name) {
  using namespace internal;
  const int fd = shm_open(name.c_str(), O_RDWR, 0);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) ::_exit(80);
  void* base = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) ::_exit(81);
  auto* header = static_cast<Header*>(base);
  auto* bytes = static_cast<uint8_t*>(base);
  std::vector<pthread_mutex_t*> mutexes{&header->source_mutex};
  for (const Region& region : header->regions) {
    if (region.kind == kRegionShards) {
      auto* shards = reinterpret_cast<ShardHeader*>(bytes + region.offset);
      for (uint32_t i = 0; i < header->shard_count; ++i) mutexes.push_back(&shards[i].mutex);
    } else if (region.kind == kRegionPending) {
      auto* pending = reinterpret_cast<PendingHeader*>(bytes + region.offset);
      mutexes.push_back(&pending->flush_mutex);
      auto* shards = reinterpret_cast<PendingShard*>(pending + 1);
      for (uint32_t i = 0; i < header->shard_count; ++i) mutexes.push_back(&shards[i].mutex);
    }
  }
  for (pthread_mutex_t* mutex : mutexes) {
    if (pthread_mutex_lock(mutex) != 0) ::_exit(82);
  }
  munmap(base, static_cast<size_t>(st.st_size));
  ::_exit(0);
}

TEST_F(MultiProcessTest, LocksLeftByAHolderThatUnmappedBeforeDyingAreTakenOver) {
  ASSERT_NO_FATAL_FAILURE(Create());
  std::string value;
  MakeValue(5, 1, 300, 1, &value);
  ASSERT_EQ(segment_->Put(5, value, 1), Status::kOk);
  const pid_t pid = ::fork();
  if (pid == 0) TakeEveryLockUnmapAndExit(name_);
  ASSERT_GT(pid, 0);
  const int status = WaitChild(pid, 30);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << DescribeStatus(status);

  Watchdog watchdog(20, "locks whose owner died unmapped");
  EXPECT_TRUE(segment_->Invalidate(5, 2));  // the shard lock: taken over, the shard reset
  ASSERT_EQ(segment_->Put(6, value, 1), Status::kOk);
  std::string got;
  EXPECT_EQ(segment_->Get(6, &got), Status::kOk);
  EXPECT_EQ(got, value);
  EXPECT_TRUE(segment_->Clear());
  EXPECT_GE(segment_->GetStats().lock_recoveries, 1u);
  EXPECT_NE(segment_->BeginSourceSync(2000), nullptr);
  EXPECT_NE(segment_->BeginFlush(2000), nullptr);
  EXPECT_EQ(segment_->RecordAccess(9, 1), Status::kOk);
  segment_->GetPendingTotals();  // every pending shard lock
}

TEST_F(MultiProcessTest, ALiveHolderThatDoesNotLetGoIsWaitedOnForABoundedTime) {
  ASSERT_NO_FATAL_FAILURE(Create());
  const uint64_t kKey = 77;
  const pid_t pid = StopChildInsidePut(name_, kKey);
  ASSERT_GT(pid, 0);
  {
    Watchdog watchdog(20, "a lock held by a stopped process");
    // Not changed, and said so: a catch-up must not publish after this.
    EXPECT_FALSE(segment_->Invalidate(kKey, 3));
    EXPECT_FALSE(segment_->Clear());
  }
  KillAndReap(pid);
  EXPECT_TRUE(segment_->Invalidate(kKey, 3));
}

// ---------------------------------------------------------------------------
// A second process

TEST_F(MultiProcessTest, SecondProcessSeesWhatTheFirstPut) {
  ASSERT_NO_FATAL_FAILURE(Create());
  std::string value;
  for (uint64_t k = 1; k <= 100; ++k) {
    MakeValue(k, k * 10, 10 * k, k, &value);
    ASSERT_EQ(segment_->Put(k, value, k * 10), Status::kOk);
  }
  const Limits parent_limits = segment_->limits();

  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto segment = ChildOpen(name_);
    if (segment->limits().segment_bytes != parent_limits.segment_bytes ||
        segment->limits().shard_count != parent_limits.shard_count)
      ::_exit(2);
    std::string got;
    for (uint64_t k = 1; k <= 100; ++k) {
      uint64_t version = 0;
      if (segment->Get(k, &got, &version) != Status::kOk) ::_exit(3);
      if (version != k * 10 || got.size() != 10 * k || !CheckValue(k, version, got)) ::_exit(4);
    }
    // And leaves something for the parent.
    MakeValue(1000, 1, 2000, 9, &got);
    if (segment->Put(1000, got, 1) != Status::kOk) ::_exit(5);
    if (segment->Erase(1) != Status::kOk) ::_exit(6);
    segment->AddUserCounter(0, 7);
    ::_exit(0);
  }
  const int status = WaitChild(pid, 30);
  ASSERT_TRUE(ExitedZero(status)) << "child: " << DescribeStatus(status);

  std::string got;
  uint64_t version = 0;
  ASSERT_EQ(segment_->Get(1000, &got, &version), Status::kOk);
  EXPECT_TRUE(CheckValue(1000, version, got));
  EXPECT_EQ(got.size(), 2000u);
  EXPECT_EQ(segment_->Get(1, &got), Status::kNotFound);
  EXPECT_EQ(segment_->UserCounter(0), 7u);
  const Stats stats = segment_->GetStats();
  EXPECT_EQ(stats.hits, 100u + 1);  // the child's hundred and our Get(1000)
  EXPECT_EQ(stats.misses, 1u);       // our Get(1), erased by the child
  EXPECT_EQ(stats.entries, 100u);
}

TEST_F(MultiProcessTest, ProcessesRacingToCreateAllGetTheSameSegment) {
  constexpr int kChildren = 6;
  for (int round = 0; round < 3; ++round) {
    const std::string name = UniqueName();
    Segment::Remove(name);
    int go[2], report[2];
    ASSERT_EQ(::pipe(go), 0);
    ASSERT_EQ(::pipe(report), 0);
    std::vector<pid_t> pids;
    for (int c = 0; c < kChildren; ++c) {
      const pid_t pid = ::fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        ::close(go[1]);
        ::close(report[0]);
        char byte;
        if (::read(go[0], &byte, 1) != 0) ::_exit(80);  // EOF = go
        Options options = TestOptions();
        options.capacity_bytes = (1ull << 20) + static_cast<uint64_t>(c) * 65536;
        options.shard_count = 1u << (c % 4);
        Error error;
        auto segment = Segment::OpenOrCreate(name, options, &error);
        if (segment == nullptr) {
          std::fprintf(stderr, "child %d: %s: %s\n", c, std::string(StatusName(error.status)).c_str(),
                       error.message.c_str());
          ::_exit(81);
        }
        segment->Put(static_cast<uint64_t>(c), "x", 1);
        const Limits limits = segment->limits();
        if (::write(report[1], &limits, sizeof limits) != static_cast<ssize_t>(sizeof limits)) ::_exit(82);
        ::_exit(0);
      }
      pids.push_back(pid);
    }
    ::close(go[0]);
    ::close(report[1]);
    ::close(go[1]);  // all start at once
    for (const pid_t pid : pids) {
      const int status = WaitChild(pid, 30);
      EXPECT_TRUE(ExitedZero(status)) << DescribeStatus(status);
    }
    std::vector<Limits> limits;
    Limits l{};
    while (::read(report[0], &l, sizeof l) == static_cast<ssize_t>(sizeof l)) limits.push_back(l);
    ::close(report[0]);
    ASSERT_EQ(limits.size(), static_cast<size_t>(kChildren));
    for (const Limits& x : limits) {
      EXPECT_EQ(x.segment_bytes, limits[0].segment_bytes);
      EXPECT_EQ(x.shard_count, limits[0].shard_count);
      EXPECT_EQ(x.value_capacity_bytes, limits[0].value_capacity_bytes);
      EXPECT_EQ(x.chunk_bytes, limits[0].chunk_bytes);
    }
    Error error;
    auto segment = Segment::Open(name, &error);
    ASSERT_NE(segment, nullptr) << error.message;
    EXPECT_EQ(segment->GetStats().entries, static_cast<uint64_t>(kChildren)) << "they all wrote into one segment";
    segment.reset();
    Segment::Remove(name);
  }
}

// ---------------------------------------------------------------------------
// Hammering

constexpr uint64_t kHammerKeys = 2000;
constexpr size_t kMaxValue = 3000;

struct HammerCounts {
  uint64_t gets = 0, hits = 0, puts = 0, erases = 0, failures = 0;
};

// get/put/erase on overlapping keys, every hit verified. Returns the counts;
// prints the first failures. ops == 0: run until killed.
HammerCounts Hammer(Segment* segment, uint64_t seed, uint64_t ops) {
  HammerCounts counts;
  std::mt19937_64 rng(seed);
  std::string value, put_value;
  uint64_t serial = 0;
  for (uint64_t i = 0; ops == 0 || i < ops; ++i) {
    const uint64_t r = rng();
    // Half the operations on 64 hot keys, half spread over all of them.
    const uint64_t key = (r & 1) ? (r >> 8) % 64 : (r >> 8) % kHammerKeys;
    const unsigned op = static_cast<unsigned>((r >> 40) % 100);
    if (op < 60) {
      ++counts.gets;
      uint64_t version = 0;
      if (segment->Get(key, &value, &version) == Status::kOk) {
        ++counts.hits;
        if (!CheckValue(key, version, value)) {
          if (++counts.failures <= 5) {
            std::fprintf(stderr, "pid %d: key %llu version %llu: bad value of %zu bytes\n", ::getpid(),
                         static_cast<unsigned long long>(key), static_cast<unsigned long long>(version),
                         value.size());
          }
        }
      }
    } else if (op < 92) {
      ++counts.puts;
      const size_t length = 1 + static_cast<size_t>(rng() % kMaxValue);
      const uint64_t version = (seed << 40) ^ ++serial;
      MakeValue(key, version, length, rng(), &put_value);
      const Status s = segment->Put(key, put_value, version);
      if (s != Status::kOk && ++counts.failures <= 5) {
        std::fprintf(stderr, "pid %d: Put(%zu bytes): %s\n", ::getpid(), length,
                     std::string(StatusName(s)).c_str());
      }
    } else {
      ++counts.erases;
      segment->Erase(key);
    }
    if ((i & 8191) == 0) {
      const Stats stats = segment->GetStats();
      if (stats.chunk_bytes_used > stats.capacity_bytes && ++counts.failures <= 5) {
        std::fprintf(stderr, "pid %d: capacity exceeded: %llu > %llu\n", ::getpid(),
                     static_cast<unsigned long long>(stats.chunk_bytes_used),
                     static_cast<unsigned long long>(stats.capacity_bytes));
      }
    }
  }
  return counts;
}

// Every entry whole; entries as the stats say; within capacity.
void ExpectIntact(Segment* segment) {
  uint64_t present = 0, bad = 0, bytes = 0;
  std::string value;
  for (uint64_t k = 0; k < kHammerKeys; ++k) {
    uint64_t version = 0;
    if (segment->Get(k, &value, &version) == Status::kOk) {
      ++present;
      bytes += value.size();
      if (!CheckValue(k, version, value)) ++bad;
    }
  }
  EXPECT_EQ(bad, 0u);
  const Stats stats = segment->GetStats();
  EXPECT_EQ(present, stats.entries);
  EXPECT_EQ(bytes, stats.value_bytes);
  EXPECT_LE(stats.chunk_bytes_used, stats.capacity_bytes);
  EXPECT_LE(stats.value_bytes, stats.chunk_bytes_used);
  uint64_t listed = 0;
  segment->ForEach([&](const EntryInfo& e) {
    ++listed;
    EXPECT_LT(e.key, kHammerKeys);
    EXPECT_LE(e.bytes, kMaxValue);
  });
  EXPECT_EQ(listed, stats.entries);
}

TEST_F(MultiProcessTest, ForkedProcessesHammerOverlappingKeys) {
  ASSERT_NO_FATAL_FAILURE(Create());
  constexpr int kProcesses = 4;
#if SHMCACHE_TSAN
  constexpr uint64_t kOpsPerProcess = 25000;
#elif SHMCACHE_ASAN
  constexpr uint64_t kOpsPerProcess = 100000;
#else
  constexpr uint64_t kOpsPerProcess = 250000;  // 10^6 in all
#endif
  int go[2], report[2];
  ASSERT_EQ(::pipe(go), 0);
  ASSERT_EQ(::pipe(report), 0);
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(go[1]);
      ::close(report[0]);
      auto segment = ChildOpen(name_);
      char byte;
      if (::read(go[0], &byte, 1) != 0) ::_exit(80);
      const HammerCounts counts = Hammer(segment.get(), 1000 + static_cast<uint64_t>(p), kOpsPerProcess);
      if (::write(report[1], &counts, sizeof counts) != static_cast<ssize_t>(sizeof counts)) ::_exit(82);
      ::_exit(counts.failures == 0 ? 0 : 1);
    }
    pids.push_back(pid);
  }
  ::close(go[0]);
  ::close(report[1]);
  const auto start = std::chrono::steady_clock::now();
  ::close(go[1]);
  // Reap first (a deadlocked child is killed at the deadline), then read the
  // reports, which the pipe holds: a hung child cannot block the parent.
  for (const pid_t pid : pids) {
    const double left = 200 - std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const int status = WaitChild(pid, left > 1 ? left : 1);
    EXPECT_TRUE(ExitedZero(status)) << "hammering child " << pid << ": " << DescribeStatus(status)
                                    << " (exit 1 = a torn/misattributed value or a failed Put)";
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  HammerCounts total;
  HammerCounts c;
  int reports = 0;
  while (::read(report[0], &c, sizeof c) == static_cast<ssize_t>(sizeof c)) {
    ++reports;
    total.gets += c.gets;
    total.hits += c.hits;
    total.puts += c.puts;
    total.erases += c.erases;
    total.failures += c.failures;
  }
  ::close(report[0]);
  EXPECT_EQ(reports, kProcesses);
  EXPECT_EQ(total.failures, 0u);
  EXPECT_EQ(total.gets + total.puts + total.erases, kProcesses * kOpsPerProcess);
  const Stats stats = segment_->GetStats();
  std::fprintf(stderr,
               "  %llu ops in %.2f s by %d processes: %llu gets (%llu hits), %llu puts, %llu erases; "
               "evictions %llu, entries %llu, chunk bytes %llu / %llu\n",
               static_cast<unsigned long long>(total.gets + total.puts + total.erases), seconds, kProcesses,
               static_cast<unsigned long long>(total.gets), static_cast<unsigned long long>(total.hits),
               static_cast<unsigned long long>(total.puts), static_cast<unsigned long long>(total.erases),
               static_cast<unsigned long long>(stats.evictions), static_cast<unsigned long long>(stats.entries),
               static_cast<unsigned long long>(stats.chunk_bytes_used),
               static_cast<unsigned long long>(stats.capacity_bytes));
  EXPECT_GT(total.hits, 0u);
  EXPECT_GT(stats.evictions, 0u) << "the capacity was meant to be small enough to evict";
  EXPECT_EQ(stats.lock_recoveries, 0u);
  EXPECT_EQ(stats.corruption_resets, 0u);
  ExpectIntact(segment_.get());
}

TEST_F(MultiProcessTest, ProcessesKilledMidWorkLeaveEveryShardUsable) {
  ASSERT_NO_FATAL_FAILURE(Create());
  constexpr int kWorkers = 3;
#if SHMCACHE_SANITIZED
  constexpr int kKills = 25;
#else
  constexpr int kKills = 50;
#endif
  auto spawn = [&](uint64_t seed) -> pid_t {
    const pid_t pid = ::fork();
    if (pid == 0) {
      auto segment = ChildOpen(name_);
      const HammerCounts counts = Hammer(segment.get(), seed, 0);  // until killed
      ::_exit(counts.failures == 0 ? 0 : 1);
    }
    return pid;
  };
  std::vector<pid_t> workers;
  uint64_t seed = 5000;
  for (int w = 0; w < kWorkers; ++w) {
    workers.push_back(spawn(seed++));
    ASSERT_GT(workers.back(), 0);
  }
  std::mt19937_64 rng(99);
  int failed_children = 0;
  for (int kill = 0; kill < kKills; ++kill) {
    std::this_thread::sleep_for(std::chrono::microseconds(2000 + rng() % 30000));
    const size_t victim = rng() % workers.size();
    ::kill(workers[victim], SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(workers[victim], &status, 0), workers[victim]);
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
      ++failed_children;
      ADD_FAILURE() << "worker ended by itself before the kill: " << DescribeStatus(status)
                    << " (exit 1 = a torn/misattributed value)";
    }
    workers[victim] = spawn(seed++);
    ASSERT_GT(workers[victim], 0);
  }
  for (const pid_t pid : workers) {
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
      ++failed_children;
      ADD_FAILURE() << "worker: " << DescribeStatus(status);
    }
  }
  EXPECT_EQ(failed_children, 0);

  // Every shard still answers: get and put every key (2000 keys cover all
  // shards), and every value read is whole.
  {
    Watchdog watchdog(20, "get/put of every key after the kills");
    std::string value;
    uint64_t bad = 0;
    for (uint64_t k = 0; k < kHammerKeys; ++k) {
      uint64_t version = 0;
      if (segment_->Get(k, &value, &version) == Status::kOk && !CheckValue(k, version, value)) ++bad;
      MakeValue(k, 7, 1 + k % 500, k, &value);
      ASSERT_EQ(segment_->Put(k, value, 7), Status::kOk);
    }
    EXPECT_EQ(bad, 0u);
    for (uint64_t k = 0; k < kHammerKeys; ++k) {
      uint64_t version = 0;
      const Status s = segment_->Get(k, &value, &version);
      if (s == Status::kOk) {
        EXPECT_EQ(version, 7u);
        EXPECT_TRUE(CheckValue(k, version, value));
      }
    }
  }
  const Stats stats = segment_->GetStats();
  std::fprintf(stderr, "  %d kills: %llu lock recoveries, %llu corruption resets, %llu entries\n", kKills,
               static_cast<unsigned long long>(stats.lock_recoveries),
               static_cast<unsigned long long>(stats.corruption_resets),
               static_cast<unsigned long long>(stats.entries));
  EXPECT_LE(stats.lock_recoveries, static_cast<uint64_t>(kKills));
  ExpectIntact(segment_.get());

  // And the segment still works from other processes.
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto segment = ChildOpen(name_);
    const HammerCounts counts = Hammer(segment.get(), 1, 20000);
    ::_exit(counts.failures == 0 ? 0 : 1);
  }
  const int status = WaitChild(pid, 60);
  EXPECT_TRUE(ExitedZero(status)) << DescribeStatus(status);
}

}  // namespace
}  // namespace shmcache
