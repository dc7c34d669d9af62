// doc_get and friends beside what a user would otherwise pick, measured in one
// run on the same data: a constant-returning SQL function (the floor for any
// SQL-callable function), a plain prepared point-select building the same
// JSON with json_object, that select plus a synchronous access_count UPDATE
// (the seed design), and Redis GET over a unix socket.
//
//   build/docstore_bench OUT.json EXTENSION [--quick]
#include <hiredis/hiredis.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "bench_report.h"
#include "bench_sqlite.h"
#include "id_sequence.h"
#include "redis_server.h"

namespace {

namespace fs = std::filesystem;
using docstore::bench::Measure;
using docstore::bench::Result;

using docstore::bench::ColumnText;
using docstore::bench::Die;
using docstore::bench::Exec;
using docstore::bench::Prepare;
using docstore::bench::StepOnce;
using docstore::bench::LoadExtension;
using docstore::bench::PopulateDocuments;
using docstore::bench::Ids;
using docstore::bench::RedisServer;

sqlite3* Open(const fs::path& path, const std::string& extension) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) Die("open " + path.string());
  LoadExtension(db, extension);
  Exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -262144");
  return db;
}

template <typename T>
inline void DoNotOptimize(const T& value) {
  asm volatile("" : : "r,m"(value) : "memory");
}

// One value of docstore_stats.
std::string Stat(sqlite3* db, const std::string& name) {
  sqlite3_stmt* stmt = Prepare(db, "SELECT value FROM docstore_stats WHERE name = ?1");
  sqlite3_bind_text(stmt, 1, name.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(stmt) != SQLITE_ROW) Die("no docstore_stats row " + name);
  std::string value = ColumnText(stmt, 0);
  sqlite3_finalize(stmt);
  return value;
}

// A reader process (docstore_bench --reader DB EXTENSION DOCUMENTS OPS
// OFFSET START_FD READY_FD): opens its own connection, reads every document
// once (attached, every page of the segment mapped), says so on READY_FD,
// waits for a byte on START_FD, then runs OPS doc_get hits over the uniform id
// sequence from OFFSET.
int RunReader(char** argv) {
  const fs::path path = argv[2];
  const std::string extension = argv[3];
  const int64_t documents = std::stoll(argv[4]);
  const uint64_t ops = std::stoull(argv[5]);
  const uint64_t offset = std::stoull(argv[6]);
  const int start_fd = std::stoi(argv[7]);
  const int ready_fd = std::stoi(argv[8]);
  sqlite3* db = Open(path, extension);
  sqlite3_stmt* doc_get = Prepare(db, "SELECT doc_get(?1)");
  for (int64_t id = 1; id <= documents; ++id) {
    sqlite3_bind_int64(doc_get, 1, id);
    StepOnce(doc_get);
  }
  const std::vector<int64_t> ids = Ids(static_cast<int>(documents), false, 1 << 20, 3);
  const size_t mask = ids.size() - 1;
  char byte = 0;
  if (write(ready_fd, &byte, 1) != 1 || read(start_fd, &byte, 1) != 1) return 1;
  for (uint64_t i = 0; i < ops; ++i) {
    sqlite3_bind_int64(doc_get, 1, ids[(i + offset) & mask]);
    StepOnce(doc_get);
  }
  sqlite3_finalize(doc_get);
  sqlite3_close(db);
  return 0;
}

// doc_get hits in `processes` reader processes at once (fresh programs, each
// with its own connection, as a deployment's workers are), started together;
// the best of three rounds' aggregate throughput.
Result MeasureProcesses(const std::string& name, const fs::path& path, const std::string& extension, int processes,
                        int64_t documents, uint64_t ops) {
  double best_ns = 1e300;
  for (int round = 0; round < 3; ++round) {
    int start[2], ready[2];
    if (pipe(start) != 0 || pipe(ready) != 0) Die("pipe");
    std::vector<pid_t> children;
    for (int p = 0; p < processes; ++p) {
      const pid_t pid = fork();
      if (pid == 0) {
        const std::string args[] = {std::to_string(documents), std::to_string(ops), std::to_string(p * 4099),
                                    std::to_string(start[0]), std::to_string(ready[1])};
        execl("/proc/self/exe", "docstore_bench", "--reader", path.c_str(), extension.c_str(), args[0].c_str(),
              args[1].c_str(), args[2].c_str(), args[3].c_str(), args[4].c_str(), static_cast<char*>(nullptr));
        _exit(127);
      }
      children.push_back(pid);
    }
    char byte = 0;
    for (int p = 0; p < processes; ++p) {
      if (read(ready[0], &byte, 1) != 1) Die("a reader process did not start");
    }
    const auto begin = std::chrono::steady_clock::now();
    for (int p = 0; p < processes; ++p) {
      if (write(start[1], &byte, 1) != 1) Die("pipe write");
    }
    for (const pid_t pid : children) {
      int status = 0;
      waitpid(pid, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) Die("a reader process failed");
    }
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - begin).count();
    best_ns = std::min(best_ns, ns / static_cast<double>(ops * static_cast<uint64_t>(processes)));
    for (int fd : {start[0], start[1], ready[0], ready[1]}) close(fd);
  }
  std::fprintf(stderr, "  %-36s %12.1f ns/op %14.0f ops/s\n", name.c_str(), best_ns, 1e9 / best_ns);
  return {name, best_ns, 1e9 / best_ns};
}

// What noticing other writers costs a hit: the same hits on a connection
// whose check that the cache caught up with the file is switched off
// (cache_settings.h, BenchSkipsDetection), alternated with the checked ones;
// and the first hit after another connection's commit, which catches the
// cache up: a commit that changed no document, and ones that changed 1 and
// 100 (not the one read).
void MeasureDetection(const fs::path& path, const std::string& extension, sqlite3* db, sqlite3_stmt* doc_get,
                      const std::vector<int64_t>& ids, uint64_t ops, std::vector<docstore::bench::Result>* results) {
  const auto mask = ids.size() - 1;
  setenv("DOCSTORE_BENCH_UNSAFE_NO_DETECTION", "1", 1);
  sqlite3* unchecked = Open(path, extension);
  unsetenv("DOCSTORE_BENCH_UNSAFE_NO_DETECTION");
  sqlite3_stmt* unchecked_get = Prepare(unchecked, "SELECT doc_get(?1)");
  for (int64_t id : {1, 2}) {
    sqlite3_bind_int64(unchecked_get, 1, id);
    StepOnce(unchecked_get);
  }
  auto hits = [&](sqlite3_stmt* stmt) {
    return [&ids, mask, stmt](uint64_t i) {
      sqlite3_bind_int64(stmt, 1, ids[i & mask]);
      StepOnce(stmt);
    };
  };
  docstore::bench::Result checked{}, off{};
  for (int round = 0; round < 3; ++round) {  // alternated: timings drift
    const auto a = Measure("docget/hit_detection_on/1e4/8020", ops, hits(doc_get));
    const auto b = Measure("docget/hit_detection_off/1e4/8020", ops, hits(unchecked_get));
    if (round == 0 || a.ns_per_op < checked.ns_per_op) checked = a;
    if (round == 0 || b.ns_per_op < off.ns_per_op) off = b;
  }
  results->push_back(checked);
  results->push_back(off);
  results->push_back(docstore::bench::Ratio("docget/detection_on_vs_off/1e4/8020", checked.ns_per_op / off.ns_per_op));
  sqlite3_finalize(unchecked_get);
  sqlite3_close(unchecked);

  // Another connection, without docstore, commits; then one doc_get of a
  // cached document (id 1, never among those written) is timed.
  sqlite3* writer = nullptr;
  if (sqlite3_open(path.c_str(), &writer) != SQLITE_OK) Die("open the writer");
  Exec(writer, "CREATE TABLE IF NOT EXISTS bench_other(x)");
  for (const int changed : {0, 1, 100}) {
    std::vector<double> samples;
    for (int round = 0; round < 200; ++round) {
      Exec(writer, "BEGIN");
      if (changed == 0) Exec(writer, "INSERT INTO bench_other VALUES (1)");
      for (int k = 0; k < changed; ++k) {
        Exec(writer, ("UPDATE documents SET version = version + 1 WHERE id = " + std::to_string(2 + (round * 100 + k) % 9000)).c_str());
      }
      Exec(writer, "COMMIT");
      sqlite3_bind_int64(doc_get, 1, 1);
      const auto start = std::chrono::steady_clock::now();
      StepOnce(doc_get);
      samples.push_back(std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(samples.begin(), samples.end());
    const double median = samples[samples.size() / 2];
    const std::string name = changed == 0 ? "docget/hit_after_foreign_write" : "docget/reconcile/" + std::to_string(changed);
    std::fprintf(stderr, "  %-36s %12.1f ns/op (median of %zu)\n", name.c_str(), median, samples.size());
    results->push_back({name, median, 1e9 / median});
  }
  sqlite3_close(writer);
  (void)db;
}

const std::string kConstant1k(1024, 'x');

void ConstantText(sqlite3_context* ctx, int, sqlite3_value**) {
  sqlite3_result_text(ctx, kConstant1k.data(), static_cast<int>(kConstant1k.size()),
                      SQLITE_STATIC);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 9 && std::string(argv[1]) == "--reader") return RunReader(argv);
  if (argc < 3) Die("usage: docstore_bench OUT.json EXTENSION [--quick]");
  const std::string out = argv[1];
  const std::string extension = argv[2];
  const bool quick = argc > 3 && std::string(argv[3]) == "--quick";
  const uint64_t fast_ops = quick ? 20000 : 200000;
  const uint64_t slow_ops = quick ? 2000 : 20000;
  // Room in the cache for every document: hits are meant to be hits. Room
  // in the pending-access table for every document too: reads are measured
  // with their access recorded, and the table is flushed between passes
  // (untimed), as a sidecar would.
  setenv("DOCSTORE_CACHE_BYTES", "268435456", 1);
  setenv("DOCSTORE_PENDING_SLOTS", "262144", 1);
  const std::string sidecar = (fs::path(extension).parent_path() / "docstore-sidecar").string();
  const fs::path dir = fs::temp_directory_path() / ("docstore-bench-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::vector<Result> results;

  for (const int count : {10000, 100000}) {
    const std::string size = count == 10000 ? "1e4" : "1e5";
    const fs::path path = dir / ("docs-" + size + ".db");
    std::fprintf(stderr, "%d documents of ~1 KiB (%s)\n", count, path.c_str());
    sqlite3* db = Open(path, extension);
    PopulateDocuments(db, count);

    sqlite3_stmt* doc_get = Prepare(db, "SELECT doc_get(?1)");
    sqlite3_stmt* many = Prepare(db, "SELECT id, doc FROM doc_get_many(?1)");
    // Every document's JSON, contiguous in private memory: document id's
    // bytes are [private_offsets[id], private_offsets[id + 1]).
    std::string private_values;
    std::vector<size_t> private_offsets(static_cast<size_t>(count) + 2, 0);
    for (int id = 1; id <= count; ++id) {
      sqlite3_bind_int64(doc_get, 1, id);
      if (sqlite3_step(doc_get) != SQLITE_ROW) Die("doc_get found no document");
      private_values.append(reinterpret_cast<const char*>(sqlite3_column_text(doc_get, 0)),
                            static_cast<size_t>(sqlite3_column_bytes(doc_get, 0)));
      sqlite3_reset(doc_get);
      private_offsets[static_cast<size_t>(id) + 1] = private_values.size();
    }
    for (const bool skewed : {false, true}) {
      const std::string shape = skewed ? "8020" : "uniform";
      const auto ids = Ids(count, skewed, 1 << 20, skewed ? 2 : 3);
      const auto mask = ids.size() - 1;
      // Warm: every id read once so that hits are hits.
      for (int id = 1; id <= count; ++id) {
        sqlite3_bind_int64(doc_get, 1, id);
        StepOnce(doc_get);
      }
      Exec(db, "SELECT doc_flush()");
      results.push_back(Measure("docget/hit/" + size + "/" + shape, fast_ops, [&](uint64_t i) {
        sqlite3_bind_int64(doc_get, 1, ids[i & mask]);
        StepOnce(doc_get);
      }));
      if (count == 10000 && skewed) MeasureDetection(path, extension, db, doc_get, ids, fast_ops, &results);
      // The physical yardstick: the same ids looked up in private memory and
      // their documents (the same bytes, laid out contiguously) copied into a
      // fresh malloc buffer, as SQLite's result would be.
      results.push_back(Measure("baseline/inproc_copy/" + size + "/" + shape, fast_ops, [&](uint64_t i) {
        const auto id = static_cast<size_t>(ids[i & mask]);
        const size_t bytes = private_offsets[id + 1] - private_offsets[id];
        char* copy = static_cast<char*>(std::malloc(bytes));
        std::memcpy(copy, private_values.data() + private_offsets[id], bytes);
        DoNotOptimize(copy);
        std::free(copy);
      }));
      std::vector<std::string> batches;
      for (size_t b = 0; b < 4096; ++b) {
        std::string json = "[";
        for (size_t k = 0; k < 10; ++k) {
          if (k > 0) json += ',';
          json += std::to_string(ids[(b * 10 + k) & mask]);
        }
        json += ']';
        batches.push_back(json);
      }
      results.push_back(Measure("docget/many10/" + size + "/" + shape, fast_ops / 10, [&](uint64_t i) {
        const std::string& batch = batches[i % batches.size()];
        sqlite3_bind_text(many, 1, batch.data(), static_cast<int>(batch.size()), SQLITE_STATIC);
        while (sqlite3_step(many) == SQLITE_ROW) sqlite3_column_text(many, 1);
        sqlite3_reset(many);
      }));
    }
    if (count == 100000) {
      // Two processes reading at once (uniform ids), each with its own
      // connection: their aggregate throughput.
      // One forked process timed by the same harness is what it compares to.
      results.push_back(MeasureProcesses("docget/hit_1proc/" + size + "/uniform", path, extension, 1, count, fast_ops));
      results.push_back(MeasureProcesses("docget/hit_2proc/" + size + "/uniform", path, extension, 2, count, fast_ops));
      // What the cache's memory holds per byte of its entries.
      const double used = std::stod(Stat(db, "bytes_used"));
      const double values = std::stod(Stat(db, "value_bytes"));
      results.push_back(docstore::bench::Ratio("memory/chunk_bytes_per_value_byte/" + size, used / values));
    }
    // A miss: each id read for the first time since the cache was emptied.
    Exec(db, "SELECT docstore_cache_clear()");
    std::vector<int64_t> permutation(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) permutation[static_cast<size_t>(i)] = i + 1;
    std::shuffle(permutation.begin(), permutation.end(), std::mt19937_64(4));
    results.push_back(Measure("docget/miss/" + size + "/uniform",
                              std::min<uint64_t>(static_cast<uint64_t>(count), fast_ops),
                              [&](uint64_t i) {
                                sqlite3_bind_int64(doc_get, 1, permutation[i]);
                                StepOnce(doc_get);
                              }, 1));

    if (count == 10000) {
      // Deferred access tracking: one access recorded in shared memory.
      const auto ids = Ids(count, false, 1 << 20, 6);
      const auto mask = ids.size() - 1;
      sqlite3_stmt* touch = Prepare(db, "SELECT doc_touch(?1)");
      Exec(db, "SELECT doc_flush()");
      results.push_back(Measure("doctouch/sql", fast_ops, [&](uint64_t i) {
        sqlite3_bind_int64(touch, 1, ids[i & mask]);
        StepOnce(touch);
      }));
      sqlite3_finalize(touch);
      // A hit with its access recorded (every doc_get hit records one; this
      // is the 80/20 sequence over 10^4 documents).
      const auto skewed = Ids(count, true, 1 << 20, 7);
      Exec(db, "SELECT doc_flush()");
      results.push_back(Measure("docget/hit_tracked", fast_ops, [&](uint64_t i) {
        sqlite3_bind_int64(doc_get, 1, skewed[i & mask]);
        StepOnce(doc_get);
      }));
    }
    Exec(db, "SELECT doc_flush()");

    if (count == 100000) {
      // docstore-sidecar --once, timed from start to exit, flushing 50,000
      // documents with one access each: distinct documents per second.
      constexpr int kFlushRows = 50000;
      sqlite3_stmt* touch = Prepare(db, "SELECT doc_touch(?1)");
      double best_ns = 1e300;
      for (int pass = 0; pass < 3; ++pass) {
        for (int id = 1; id <= kFlushRows; ++id) {
          sqlite3_bind_int64(touch, 1, id);
          StepOnce(touch);
        }
        const auto start = std::chrono::steady_clock::now();
        const pid_t pid = fork();
        if (pid == 0) {
          execl(sidecar.c_str(), sidecar.c_str(), "--once", path.c_str(), static_cast<char*>(nullptr));
          _exit(127);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) Die("docstore-sidecar --once failed");
        const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
        best_ns = std::min(best_ns, ns / kFlushRows);
      }
      sqlite3_finalize(touch);
      results.push_back({"sidecar/flush_rows", best_ns, 1e9 / best_ns});
      std::fprintf(stderr, "  %-36s %12.1f ns/op %14.0f ops/s\n", "sidecar/flush_rows", best_ns, 1e9 / best_ns);
    }

    if (count == 100000) {
      const auto ids = Ids(count, false, 1 << 20, 5);
      const auto mask = ids.size() - 1;
      sqlite3_create_function_v2(db, "bench_constant_1k", 1, SQLITE_UTF8, nullptr, ConstantText,
                                 nullptr, nullptr, nullptr);
      sqlite3_stmt* constant = Prepare(db, "SELECT bench_constant_1k(?1)");
      results.push_back(Measure("floor/sql_const_1k", fast_ops, [&](uint64_t i) {
        sqlite3_bind_int64(constant, 1, ids[i & mask]);
        StepOnce(constant);
      }));
      sqlite3_stmt* point = Prepare(db, docstore::bench::kPointJsonSql);
      for (int id = 1; id <= count; ++id) {  // warm the page cache
        sqlite3_bind_int64(point, 1, id);
        StepOnce(point);
      }
      results.push_back(Measure("baseline/sqlite_point_json", fast_ops, [&](uint64_t i) {
        sqlite3_bind_int64(point, 1, ids[i & mask]);
        StepOnce(point);
      }));
      sqlite3_stmt* touch = Prepare(db, docstore::bench::kCountAccessSql);
      results.push_back(Measure("baseline/seed_pass1", slow_ops, [&](uint64_t i) {
        sqlite3_bind_int64(point, 1, ids[i & mask]);
        StepOnce(point);
        Exec(db, "BEGIN IMMEDIATE");
        sqlite3_bind_int64(touch, 1, ids[i & mask]);
        if (sqlite3_step(touch) != SQLITE_DONE) Die(sqlite3_errmsg(db));
        sqlite3_reset(touch);
        Exec(db, "COMMIT");
      }));
      sqlite3_finalize(constant);
      sqlite3_finalize(point);
      sqlite3_finalize(touch);
    }
    sqlite3_finalize(doc_get);
    sqlite3_finalize(many);
    // The run's cache counters, and its segment removed (a bench database is
    // thrown away).
    sqlite3_stmt* stats = Prepare(db, "SELECT name, value FROM docstore_stats");
    std::string segment, line = "  cache:";
    while (sqlite3_step(stats) == SQLITE_ROW) {
      const std::string name = ColumnText(stats, 0);
      const std::string value = ColumnText(stats, 1);
      if (name == "segment") segment = value;
      if (name == "hit_ratio" || name == "entries" || name == "evictions" || name == "bytes_used") {
        line += " " + name + "=" + value;
      }
    }
    sqlite3_finalize(stats);
    std::fprintf(stderr, "%s\n", line.c_str());
    sqlite3_close(db);
    if (!segment.empty()) unlink(("/dev/shm" + segment).c_str());
  }

  {
    RedisServer server((dir / "redis.sock").string());
    redisContext* redis = server.Connect();
    if (redis == nullptr) Die("redis-server did not come up on " + server.socket());
    std::string value(1024, 'r');
    redisReply* reply = static_cast<redisReply*>(
        redisCommand(redis, "SET doc:1 %b", value.data(), value.size()));
    freeReplyObject(reply);
    results.push_back(Measure("baseline/redis_get_1k", slow_ops, [&](uint64_t) {
      auto* r = static_cast<redisReply*>(redisCommand(redis, "GET doc:1"));
      if (r == nullptr || r->type != REDIS_REPLY_STRING || r->len != 1024) Die("redis GET failed");
      freeReplyObject(r);
    }));
    redisFree(redis);
  }

  fs::remove_all(dir);
  docstore::bench::WriteJson(out, results);
  return 0;
}
