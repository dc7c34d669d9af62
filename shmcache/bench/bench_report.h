// Timing loops and the bench.json format shared by every benchmark of the
// project: shmcache_bench here and docstore's in ../../bench (which link the
// shmcache_bench_report target). No dependency but the standard library.
#ifndef SHMCACHE_BENCH_BENCH_REPORT_H_
#define SHMCACHE_BENCH_BENCH_REPORT_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace docstore::bench {

// A timing (ns_per_op, ops_per_s), or a ratio that is not a time (a hit
// ratio, bytes per byte): then `ratio` holds it and the two times are 0.
// bench.json writes a timing as {"name", "ns_per_op", "ops_per_s"} and a
// ratio as {"name", "ratio"}.
struct Result {
  std::string name;
  double ns_per_op;
  double ops_per_s;
  double ratio = -1;  // < 0: a timing
};

inline Result Ratio(const std::string& name, double ratio) {
  std::fprintf(stderr, "  %-36s %12.4f (ratio)\n", name.c_str(), ratio);
  return Result{name, 0, 0, ratio};
}

// Runs `op(i)` for i = 0..ops-1, `repeats` times, and keeps the fastest pass:
// on a shared, noisy machine the minimum is the most repeatable estimate of
// what the code costs.
template <typename Op>
Result Measure(const std::string& name, uint64_t ops, Op&& op, int repeats = 3) {
  double best_ns = 1e300;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    for (uint64_t i = 0; i < ops; ++i) op(i);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    const double ns = std::chrono::duration<double, std::nano>(elapsed).count() / static_cast<double>(ops);
    if (ns < best_ns) best_ns = ns;
  }
  Result result{name, best_ns, 1e9 / best_ns};
  std::fprintf(stderr, "  %-36s %12.1f ns/op %14.0f ops/s\n", name.c_str(), result.ns_per_op,
               result.ops_per_s);
  return result;
}

inline void WriteJson(const std::string& path, const std::vector<Result>& results) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    std::perror(path.c_str());
    return;
  }
  std::fprintf(f, "[\n");
  for (size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    const char* separator = i + 1 < results.size() ? "," : "";
    if (r.ratio >= 0) {
      std::fprintf(f, "  {\"name\": \"%s\", \"ratio\": %.6f}%s\n", r.name.c_str(), r.ratio, separator);
    } else {
      std::fprintf(f, "  {\"name\": \"%s\", \"ns_per_op\": %.2f, \"ops_per_s\": %.0f}%s\n", r.name.c_str(),
                   r.ns_per_op, r.ops_per_s, separator);
    }
  }
  std::fprintf(f, "]\n");
  std::fclose(f);
}

}  // namespace docstore::bench

#endif  // SHMCACHE_BENCH_BENCH_REPORT_H_
