// shmcache_bench OUT.json [--quick]
//
// Reads of a cached 1 KiB value, side by side with what a user would pick
// instead, measured in one run:
//   shmcache/get_hit_1k          Segment::Get (copy into a reused std::string), one process
//   shmcache/get_hit_1k_1proc    the same in one forked process, timed like the next
//   shmcache/get_hit_1k_2proc    the same in two processes at once (ops_per_s = their sum)
//   baseline/unordered_map_1k    std::unordered_map<uint64_t, std::string> find + copy, in-process
//   baseline/boost_map_mutex_1k  boost::interprocess::map in a managed_shared_memory segment,
//                                guarded by one interprocess_mutex; find + copy under it
// All use the same 10,000 keys, every one cached, read in the same
// precomputed pseudo-random order. Prints a table to stderr, writes OUT.json
// (docstore::bench::WriteJson) and removes every segment it created.
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <list>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/interprocess/allocators/allocator.hpp>
#include <boost/interprocess/containers/map.hpp>
#include <boost/interprocess/containers/string.hpp>
#include <boost/interprocess/managed_shared_memory.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <boost/interprocess/sync/interprocess_mutex.hpp>
#include <boost/interprocess/sync/scoped_lock.hpp>

#include "bench_report.h"
#include "shmcache/shmcache.h"

namespace {

namespace bip = boost::interprocess;
using docstore::bench::Measure;
using docstore::bench::Result;

constexpr size_t kKeys = 10000;
constexpr size_t kValueBytes = 1024;
constexpr size_t kOrder = size_t{1} << 20;  // a power of two: order[i & (kOrder - 1)]

// Keeps `value` (and the memory it points to) alive as far as the compiler
// can tell: the copies being timed cannot be optimised out.
template <typename T>
inline void DoNotOptimize(const T& value) {
  asm volatile("" : : "r,m"(value) : "memory");
}

// ---------------------------------------------------------------------------
// Segments to remove at exit, also on SIGINT/SIGTERM.

char g_shmcache_name[64];
char g_boost_name[64];

void RemoveSegments() {
  if (g_shmcache_name[0] != '\0') shmcache::Segment::Remove(g_shmcache_name);
  if (g_boost_name[0] != '\0') bip::shared_memory_object::remove(g_boost_name);
}

void OnSignal(int sig) {
  // Both are POSIX shared-memory objects: shm_unlink is async-signal-safe.
  if (g_shmcache_name[0] != '\0') ::shm_unlink(g_shmcache_name);
  if (g_boost_name[0] != '\0') ::shm_unlink(g_boost_name);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// ---------------------------------------------------------------------------
// Data

uint64_t KeyOf(size_t i) { return (static_cast<uint64_t>(i) + 1) * 0x9e3779b97f4a7c15ull; }

std::string ValueOf(uint64_t key) {
  std::string value(kValueBytes, '\0');
  uint64_t x = key | 1;
  for (char& c : value) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  return value;
}

std::vector<uint64_t> MakeOrder(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> order(kOrder);
  for (auto& key : order) key = KeyOf(rng() % kKeys);
  return order;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "shmcache_bench: %s\n", what.c_str());
  RemoveSegments();
  std::exit(1);
}

// ---------------------------------------------------------------------------
// Eviction policy: the segment's hit ratio on a Zipf(0.99) trace beside
// exact LRU's, simulated on the same trace with as many entries as the
// segment holds.

constexpr size_t kPolicyIds = 100000;
constexpr size_t kPolicyReads = 1000000;

// kPolicyReads ids drawn from Zipf(0.99) over kPolicyIds, the ranks spread
// over the id space by a fixed permutation (so hot ids land in every shard).
std::vector<uint64_t> ZipfTrace(uint64_t seed) {
  std::vector<double> cdf(kPolicyIds);
  double sum = 0;
  for (size_t i = 0; i < kPolicyIds; ++i) cdf[i] = sum += 1.0 / std::pow(static_cast<double>(i + 1), 0.99);
  std::vector<uint64_t> id_of_rank(kPolicyIds);
  for (size_t i = 0; i < kPolicyIds; ++i) id_of_rank[i] = KeyOf(i);
  std::mt19937_64 rng(seed);
  std::shuffle(id_of_rank.begin(), id_of_rank.end(), rng);
  std::uniform_real_distribution<double> uniform(0, sum);
  std::vector<uint64_t> trace(kPolicyReads);
  for (uint64_t& id : trace) {
    const size_t rank = static_cast<size_t>(std::lower_bound(cdf.begin(), cdf.end(), uniform(rng)) - cdf.begin());
    id = id_of_rank[std::min(rank, kPolicyIds - 1)];
  }
  return trace;
}

double LruHitRatio(const std::vector<uint64_t>& trace, size_t capacity) {
  std::list<uint64_t> order;  // front: most recent
  std::unordered_map<uint64_t, std::list<uint64_t>::iterator> where;
  uint64_t hits = 0;
  for (const uint64_t id : trace) {
    const auto it = where.find(id);
    if (it != where.end()) {
      ++hits;
      order.splice(order.begin(), order, it->second);
      continue;
    }
    order.push_front(id);
    where[id] = order.begin();
    if (order.size() > capacity) {
      where.erase(order.back());
      order.pop_back();
    }
  }
  return static_cast<double>(hits) / static_cast<double>(trace.size());
}

// Read-through over the segment: a miss puts the value. *entries: how many
// entries of this size the segment holds.
double SegmentHitRatio(const std::vector<uint64_t>& trace, const std::string& name, size_t* entries) {
  shmcache::Options options;
  options.capacity_bytes = 11ull << 20;  // about a tenth of the ids' values
  options.max_entry_bytes = 64 << 10;
  options.pending_slots = 1024;
  shmcache::Error error;
  auto segment = shmcache::Segment::OpenOrCreate(name, options, &error);
  if (segment == nullptr) Die("OpenOrCreate: " + error.message);
  const std::string value = ValueOf(1);
  for (uint64_t k = 1; segment->GetStats().evictions == 0; ++k) segment->Put(k, value, 1);
  *entries = segment->GetStats().entries;
  segment->Clear();
  std::string buf;
  uint64_t hits = 0;
  for (const uint64_t id : trace) {
    if (segment->Get(id, &buf) == shmcache::Status::kOk) {
      ++hits;
    } else {
      segment->Put(id, value, 1);
    }
  }
  segment.reset();
  shmcache::Segment::Remove(name);
  return static_cast<double>(hits) / static_cast<double>(trace.size());
}

// ---------------------------------------------------------------------------
// Two processes at once

bool ReadAll(int fd, void* data, size_t n) {
  auto* p = static_cast<char*>(data);
  while (n > 0) {
    const ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

bool WriteAll(int fd, const void* data, size_t n) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t r = ::write(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

// Runs Get in `processes` forked processes, `rounds` times; in each round
// they all start together (pipe barrier) and run `ops` reads. Returns the
// best round's summed throughput.
Result MeasureProcesses(const std::string& name, const std::string& segment_name, int processes, uint64_t ops,
                        int rounds) {
  struct Child {
    pid_t pid;
    int ready, go, result;  // parent's ends
  };
  std::vector<Child> children;
  for (int c = 0; c < processes; ++c) {
    int ready[2], go[2], result[2];
    if (::pipe(ready) != 0 || ::pipe(go) != 0 || ::pipe(result) != 0) Die("pipe failed");
    const pid_t pid = ::fork();
    if (pid < 0) Die("fork failed");
    if (pid == 0) {
      ::close(ready[0]);
      ::close(go[1]);
      ::close(result[0]);
      for (const Child& other : children) {
        ::close(other.ready);
        ::close(other.go);
        ::close(other.result);
      }
      shmcache::Error error;
      auto segment = shmcache::Segment::Open(segment_name, &error);
      if (segment == nullptr) {
        std::fprintf(stderr, "child: %s\n", error.message.c_str());
        ::_exit(2);
      }
      const std::vector<uint64_t> order = MakeOrder(1000 + static_cast<uint64_t>(c));
      std::string buf;
      uint64_t misses = 0;
      for (size_t i = 0; i < kKeys; ++i) segment->Get(KeyOf(i), &buf);  // warm this process's TLB/caches
      for (int r = 0; r < rounds; ++r) {
        char byte = 'r';
        if (!WriteAll(ready[1], &byte, 1) || !ReadAll(go[0], &byte, 1)) ::_exit(3);
        const auto start = std::chrono::steady_clock::now();
        for (uint64_t i = 0; i < ops; ++i) {
          misses += segment->Get(order[i & (kOrder - 1)], &buf) != shmcache::Status::kOk;
          DoNotOptimize(buf.data());
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double ops_per_s = static_cast<double>(ops) / seconds;
        if (!WriteAll(result[1], &ops_per_s, sizeof ops_per_s)) ::_exit(4);
      }
      ::_exit(misses == 0 ? 0 : 5);
    }
    ::close(ready[1]);
    ::close(go[0]);
    ::close(result[1]);
    children.push_back({pid, ready[0], go[1], result[0]});
  }

  double best = 0;
  std::vector<double> best_each(static_cast<size_t>(processes), 0);
  for (int r = 0; r < rounds; ++r) {
    char byte;
    for (const Child& child : children) {
      if (!ReadAll(child.ready, &byte, 1)) Die("a benchmark process died");
    }
    // Throughput is all processes' operations over the wall-clock time from
    // the start signal to the last one finishing: a process that started
    // late cannot make the sum look better than the machine did.
    const auto start = std::chrono::steady_clock::now();
    for (const Child& child : children) {
      if (!WriteAll(child.go, &byte, 1)) Die("a benchmark process died");
    }
    std::vector<double> each;
    for (const Child& child : children) {
      double ops_per_s = 0;
      if (!ReadAll(child.result, &ops_per_s, sizeof ops_per_s)) Die("a benchmark process died");
      each.push_back(ops_per_s);
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double sum = static_cast<double>(ops) * processes / wall;
    if (sum > best) {
      best = sum;
      best_each = each;
    }
  }
  for (const Child& child : children) {
    int status = 0;
    ::waitpid(child.pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) Die("a benchmark process failed (status " + std::to_string(status) + ")");
    ::close(child.ready);
    ::close(child.go);
    ::close(child.result);
  }
  Result result{name, 1e9 / best, best};
  std::fprintf(stderr, "  %-36s %12.1f ns/op %14.0f ops/s  (", name.c_str(), result.ns_per_op, result.ops_per_s);
  for (size_t i = 0; i < best_each.size(); ++i) std::fprintf(stderr, "%s%.0f", i ? " + " : "", best_each[i]);
  std::fprintf(stderr, ")\n");
  return result;
}

// ---------------------------------------------------------------------------
// boost::interprocess baseline types

using SegmentManager = bip::managed_shared_memory::segment_manager;
using CharAllocator = bip::allocator<char, SegmentManager>;
using ShmString = bip::basic_string<char, std::char_traits<char>, CharAllocator>;
using MapValue = std::pair<const uint64_t, ShmString>;
using MapAllocator = bip::allocator<MapValue, SegmentManager>;
using ShmMap = bip::map<uint64_t, ShmString, std::less<uint64_t>, MapAllocator>;

}  // namespace

int main(int argc, char** argv) {
  std::string out;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      quick = true;
    } else if (!arg.empty() && arg[0] != '-' && out.empty()) {
      out = arg;
    } else {
      std::fprintf(stderr, "usage: %s OUT.json [--quick]\n", argv[0]);
      return 2;
    }
  }
  if (out.empty()) {
    std::fprintf(stderr, "usage: %s OUT.json [--quick]\n", argv[0]);
    return 2;
  }
  const uint64_t ops = quick ? 200000 : 2000000;
  const int repeats = quick ? 2 : 5;

  std::snprintf(g_shmcache_name, sizeof g_shmcache_name, "/shmcache-bench-%d", static_cast<int>(::getpid()));
  std::snprintf(g_boost_name, sizeof g_boost_name, "/shmcache-bench-boost-%d", static_cast<int>(::getpid()));
  std::atexit(RemoveSegments);
  ::signal(SIGINT, OnSignal);
  ::signal(SIGTERM, OnSignal);
  RemoveSegments();

  const std::vector<uint64_t> order = MakeOrder(1);
  std::vector<std::string> values;
  values.reserve(kKeys);
  for (size_t i = 0; i < kKeys; ++i) values.push_back(ValueOf(KeyOf(i)));

  std::fprintf(stderr, "shmcache_bench: %zu keys, %zu-byte values, %llu reads per pass, best of %d%s\n", kKeys,
               kValueBytes, static_cast<unsigned long long>(ops), repeats, quick ? " (quick)" : "");
  std::vector<Result> results;
  std::string buf;
  uint64_t misses = 0;

  // --- shmcache, one process
  shmcache::Options options;
  options.capacity_bytes = 32ull << 20;
  options.max_entry_bytes = 64 << 10;
  options.shard_count = 16;
  shmcache::Error error;
  auto segment = shmcache::Segment::OpenOrCreate(g_shmcache_name, options, &error);
  if (segment == nullptr) Die("OpenOrCreate: " + error.message);
  for (size_t i = 0; i < kKeys; ++i) {
    if (segment->Put(KeyOf(i), values[i], 1) != shmcache::Status::kOk) Die("Put failed");
  }
  const shmcache::Stats filled = segment->GetStats();
  if (filled.entries != kKeys || filled.evictions != 0) Die("the values do not all fit: enlarge capacity_bytes");
  for (size_t i = 0; i < kKeys; ++i) {
    if (segment->Get(KeyOf(i), &buf) != shmcache::Status::kOk || buf != values[i]) Die("a cached value reads back wrong");
  }

  results.push_back(Measure("shmcache/get_hit_1k", ops,
                            [&](uint64_t i) {
                              misses += segment->Get(order[i & (kOrder - 1)], &buf) != shmcache::Status::kOk;
                              DoNotOptimize(buf.data());
                            },
                            repeats));
  const Result one_process = results.back();

  // --- shmcache, two processes at once, against one process timed by the
  // same harness (forked, started by the same signal, wall-clock timed)
  results.push_back(MeasureProcesses("shmcache/get_hit_1k_1proc", g_shmcache_name, 1, ops, repeats));
  const Result one_forked = results.back();
  results.push_back(MeasureProcesses("shmcache/get_hit_1k_2proc", g_shmcache_name, 2, ops, repeats));
  const Result two_processes = results.back();

  // --- std::unordered_map
  {
    std::unordered_map<uint64_t, std::string> map;
    map.reserve(kKeys);
    for (size_t i = 0; i < kKeys; ++i) map.emplace(KeyOf(i), values[i]);
    results.push_back(Measure("baseline/unordered_map_1k", ops,
                              [&](uint64_t i) {
                                const auto it = map.find(order[i & (kOrder - 1)]);
                                if (it == map.end()) {
                                  ++misses;
                                  return;
                                }
                                buf.assign(it->second);
                                DoNotOptimize(buf.data());
                              },
                              repeats));
  }
  const Result unordered = results.back();

  // --- boost::interprocess map under one interprocess_mutex
  {
    bip::managed_shared_memory msm(bip::create_only, g_boost_name, 32ull << 20);
    auto* mutex = msm.construct<bip::interprocess_mutex>("mutex")();
    auto* map = msm.construct<ShmMap>("map")(std::less<uint64_t>(), MapAllocator(msm.get_segment_manager()));
    const CharAllocator char_allocator(msm.get_segment_manager());
    for (size_t i = 0; i < kKeys; ++i) {
      map->insert(MapValue(KeyOf(i), ShmString(values[i].data(), values[i].size(), char_allocator)));
    }
    if (map->size() != kKeys) Die("boost map fill failed");
    results.push_back(Measure("baseline/boost_map_mutex_1k", ops,
                              [&](uint64_t i) {
                                bip::scoped_lock<bip::interprocess_mutex> lock(*mutex);
                                const auto it = map->find(order[i & (kOrder - 1)]);
                                if (it == map->end()) {
                                  ++misses;
                                  return;
                                }
                                buf.assign(it->second.data(), it->second.size());
                                DoNotOptimize(buf.data());
                              },
                              repeats));
  }
  bip::shared_memory_object::remove(g_boost_name);
  const Result boost_map = results.back();
  if (misses != 0) Die("lookups missed: " + std::to_string(misses));

  // --- the table
  std::fprintf(stderr, "\n%-30s %12s %14s %14s\n", "name", "ns/op", "ops/s", "vs unordered");
  for (const Result& r : results) {
    std::fprintf(stderr, "%-30s %12.1f %14.0f %13.2fx\n", r.name.c_str(), r.ns_per_op, r.ops_per_s,
                 r.ns_per_op / unordered.ns_per_op);
  }
  std::fprintf(stderr, "\n");
  std::fprintf(stderr, "get_hit_1k / unordered_map_1k (time):        %.2fx  (target <= 3)\n",
               one_process.ns_per_op / unordered.ns_per_op);
  std::fprintf(stderr, "2 processes / 1 process (throughput):        %.2fx  (target >= 1.7)\n",
               two_processes.ops_per_s / one_forked.ops_per_s);
  std::fprintf(stderr, "boost_map_mutex_1k / get_hit_1k (time):      %.2fx  (target > 1)\n",
               boost_map.ns_per_op / one_process.ns_per_op);
  const uint64_t chunk = segment->limits().chunk_bytes;
  std::fprintf(stderr, "metadata per 1 KiB entry (EntryMetadataBytes(1024, %llu)): %llu bytes  (target <= 64)\n",
               static_cast<unsigned long long>(chunk),
               static_cast<unsigned long long>(shmcache::Segment::EntryMetadataBytes(kValueBytes, static_cast<uint32_t>(chunk))));
  const uint64_t overhead = filled.chunk_bytes_used - filled.value_bytes;
  std::fprintf(stderr,
               "after filling: %llu entries, %llu value bytes in %llu chunk bytes of %llu: "
               "fragmentation (metadata + unused chunk tails) %llu bytes = %.1f%% of used, %.1f bytes/entry\n",
               static_cast<unsigned long long>(filled.entries), static_cast<unsigned long long>(filled.value_bytes),
               static_cast<unsigned long long>(filled.chunk_bytes_used),
               static_cast<unsigned long long>(filled.capacity_bytes), static_cast<unsigned long long>(overhead),
               100.0 * static_cast<double>(overhead) / static_cast<double>(filled.chunk_bytes_used),
               static_cast<double>(overhead) / static_cast<double>(filled.entries));

  results.push_back(docstore::bench::Ratio("shmcache/chunk_bytes_per_value_byte",
                                           static_cast<double>(filled.chunk_bytes_used) /
                                               static_cast<double>(filled.value_bytes)));
  segment.reset();
  RemoveSegments();

  {
    const std::vector<uint64_t> trace = ZipfTrace(99);
    size_t entries = 0;
    const double ratio = SegmentHitRatio(trace, g_shmcache_name, &entries);
    std::fprintf(stderr, "eviction on Zipf(0.99), %zu reads of %zu ids, %zu entries held (%.1f%% of the ids):\n",
                 kPolicyReads, kPolicyIds, entries, 100.0 * static_cast<double>(entries) / kPolicyIds);
    results.push_back(docstore::bench::Ratio("policy/hit_ratio/zipf099", ratio));
    results.push_back(docstore::bench::Ratio("policy/hit_ratio_lru/zipf099", LruHitRatio(trace, entries)));
  }
  docstore::bench::WriteJson(out, results);
  std::fprintf(stderr, "wrote %s\n", out.c_str());
  return 0;
}
