// The warm start's worth: the cache hit ratio over the first reads after a
// restart (a fresh segment), cold and warmed, with the same reads.
//
//   warm_start_bench OUT.json DOCSTORE_SO SIDECAR [--quick]
//
// A database of `documents` (10^5; --quick 10^4) documents of about 1 KiB
// and a 64 MiB cache (the hot fifth's entries fit, not all of them); `reads`
// is 10^5 (--quick 10^4). Its history: 2 x `reads`
// doc_get calls, 80% of them to a hot 20% of the ids, flushed into
// document_access. Then, for each start, the segment is removed (as a
// reboot does) and `reads` doc_get calls of the same 80/20 law (another
// seed, the same for every start) are counted: cold; after SELECT
// docstore_cache_warm(N); after docstore-sidecar --once --warm N; N the
// hot fifth of the documents. Writes the hit ratios to OUT.json as
// warm/hit_ratio/<start> (bench_report.h's format; scripts/bench merges it).
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "bench_report.h"
#include "bench_sqlite.h"

namespace {

namespace fs = std::filesystem;
using namespace docstore::bench;

// Ids drawn by the 80/20 law: 80% of the reads go to a fifth of the ids,
// scattered over the id range.
class EightyTwenty {
 public:
  EightyTwenty(int64_t documents, uint64_t seed) : rng_(seed) {
    for (int64_t id = 1; id <= documents; ++id) {
      ((id * 7919) % documents < documents / 5 ? hot_ : cold_).push_back(id);
    }
  }
  int64_t Next() {
    const std::vector<int64_t>& ids = std::uniform_real_distribution<>(0, 1)(rng_) < 0.8 ? hot_ : cold_;
    return ids[std::uniform_int_distribution<size_t>(0, ids.size() - 1)(rng_)];
  }

 private:
  std::mt19937_64 rng_;
  std::vector<int64_t> hot_, cold_;
};

sqlite3* Open(const fs::path& path, const std::string& extension) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) Die("open " + path.string());
  sqlite3_busy_timeout(db, 10000);
  LoadExtension(db, extension);
  return db;
}

std::string Text(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = Prepare(db, sql.c_str());
  std::string value;
  if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
    value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  return value;
}

long long Stat(sqlite3* db, const char* name) {
  return std::atoll(Text(db, std::string("SELECT value FROM docstore_stats WHERE name = '") + name + "'").c_str());
}

// doc_get of `reads` ids of the 80/20 law with `seed`.
void Read(sqlite3* db, int64_t documents, uint64_t reads, uint64_t seed) {
  EightyTwenty ids(documents, seed);
  sqlite3_stmt* get = Prepare(db, "SELECT doc_get(?1)");
  for (uint64_t i = 0; i < reads; ++i) {
    sqlite3_bind_int64(get, 1, ids.Next());
    StepOnce(get);
  }
  sqlite3_finalize(get);
}

// A reboot, as the cache sees it: its segment is gone.
void RemoveSegment(sqlite3* db) { unlink(("/dev/shm" + Text(db, "SELECT value FROM docstore_stats WHERE name = 'segment'")).c_str()); }

double Milliseconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) Die("usage: warm_start_bench OUT.json DOCSTORE_SO SIDECAR [--quick]");
  const std::string out = argv[1];
  const std::string extension = argv[2];
  const std::string sidecar = argv[3];
  const bool quick = argc > 4 && std::string(argv[4]) == "--quick";
  const int64_t documents = quick ? 10000 : 100000;
  const uint64_t reads = quick ? 10000 : 100000;
  std::vector<Result> results;
  const int64_t warm = documents / 5;
  setenv("DOCSTORE_CACHE_BYTES", "67108864", 1);  // also the sidecar's, which makes the segment under --warm
  const fs::path dir = fs::temp_directory_path() / ("docstore-warm-bench-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const fs::path path = dir / "bench.db";

  sqlite3* db = Open(path, extension);
  Exec(db, "PRAGMA journal_mode = WAL");
  PopulateDocuments(db, static_cast<int>(documents));
  Read(db, documents, 2 * reads, /*seed=*/1);  // the history the ranking comes from
  Exec(db, "SELECT doc_flush()");

  std::printf("warm start: %lld documents, a 64 MiB cache, the first %llu reads (80%% to a hot 20%%) after a "
              "restart\n",
              static_cast<long long>(documents), static_cast<unsigned long long>(reads));
  std::printf("  %-44s %8s %9s %9s %9s %9s\n", "start", "loaded", "warm_ms", "hits", "misses", "hit_ratio");
  const std::pair<const char*, const char*> starts[] = {
      {"cold", "cold"}, {"docstore_cache_warm(N)", "sql_warm_hot_fifth"},
      {"docstore-sidecar --once --warm N", "sidecar_warm_hot_fifth"}};
  for (const auto& [start, key] : starts) {
    RemoveSegment(db);
    sqlite3_close(db);
    const std::string mode = start;
    long long loaded = 0;
    const auto began = std::chrono::steady_clock::now();
    if (mode == "docstore_cache_warm(N)") {
      db = Open(path, extension);
      loaded = std::atoll(Text(db, "SELECT docstore_cache_warm(" + std::to_string(warm) + ")").c_str());
    } else if (mode != "cold") {
      const std::string command =
          sidecar + " --once --warm " + std::to_string(warm) + " " + path.string() + " 2>/dev/null";
      if (std::system(command.c_str()) != 0) Die(command + " failed");
    }
    const double warm_ms = mode == "cold" ? 0 : Milliseconds(began);
    if (mode != "docstore_cache_warm(N)") db = Open(path, extension);
    if (mode == "docstore-sidecar --once --warm N") loaded = Stat(db, "entries");
    const long long hits = Stat(db, "hits"), misses = Stat(db, "misses");
    Read(db, documents, reads, /*seed=*/2);
    const long long run_hits = Stat(db, "hits") - hits, run_misses = Stat(db, "misses") - misses;
    const std::string label = mode == "cold" ? mode : mode + ", N=" + std::to_string(warm);
    const double ratio = static_cast<double>(run_hits) / static_cast<double>(run_hits + run_misses);
    std::printf("  %-44s %8lld %9.0f %9lld %9lld %9.4f\n", label.c_str(), loaded, warm_ms, run_hits, run_misses,
                ratio);
    results.push_back(Ratio(std::string("warm/hit_ratio/") + key, ratio));
  }
  WriteJson(out, results);
  RemoveSegment(db);
  sqlite3_close(db);
  fs::remove_all(dir);
  return 0;
}
