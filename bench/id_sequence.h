// The id sequences every benchmark reads: uniform over all documents, or
// 80/20 (80% of reads go to the first 20% of ids). A sequence depends only on
// (count, skewed, length, seed), so every design and every process that asks
// for the same four reads the same ids.
#ifndef DOCSTORE_BENCH_ID_SEQUENCE_H_
#define DOCSTORE_BENCH_ID_SEQUENCE_H_

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

namespace docstore::bench {

inline std::vector<int64_t> Ids(int64_t count, bool skewed, size_t length, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int64_t> ids(length);
  const int64_t hot = std::max<int64_t>(1, count / 5);
  for (auto& id : ids) {
    if (skewed && rng() % 10 < 8) {
      id = 1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(hot));
    } else {
      id = 1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(count));
    }
  }
  return ids;
}

}  // namespace docstore::bench

#endif  // DOCSTORE_BENCH_ID_SEQUENCE_H_
