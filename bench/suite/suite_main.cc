// docstore_suite: the benchmark suite a user runs to decide (issue 17).
// scripts/bench --mode compare|docstore runs it; it writes the records of
// every row to OUT (bench-suite.json) and bench/suite/report.py prints the
// table and draws the chart from them.
//
//   docstore_suite --out OUT.json --build BUILD_DIR --python-worker worker.py
//                  [--mode compare|docstore] [--num-docs N] [--workers W] [--quick]
//
// Every measurement runs in processes of its own (jobs.h, processes.h); this
// one only orchestrates: imports, removes segments, starts redis-server.
#include <sqlite3.h>
#include <hiredis/hiredis.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "../bench_sqlite.h"
#include "../id_sequence.h"
#include "../redis_server.h"
#include "designs.h"
#include "jobs.h"
#include "processes.h"
#include "record.h"

namespace {

namespace fs = std::filesystem;
using namespace docstore::bench;

struct Options {
  std::string out, build, python_worker, mode = "compare";
  int64_t documents = 100000;
  int workers = 10;
  bool quick = false;
};

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--out") o.out = value();
    else if (a == "--build") o.build = value();
    else if (a == "--python-worker") o.python_worker = value();
    else if (a == "--mode") o.mode = value();
    else if (a == "--num-docs") o.documents = std::stoll(value());
    else if (a == "--workers") o.workers = std::stoi(value());
    else if (a == "--quick") o.quick = true;
    else Die("unknown option " + a);
  }
  if (o.out.empty() || o.build.empty() || o.python_worker.empty()) Die("--out, --build and --python-worker are required");
  if (o.mode != "compare" && o.mode != "docstore") Die("--mode is compare or docstore, not " + o.mode);
  if (o.documents < 1000) Die("--num-docs must be at least 1000");
  if (o.workers < 1) Die("--workers must be at least 1");
  return o;
}

void RunJob(const JobArgs& job) { WaitOk(Spawn(JobCommand(job)), "job " + job.name + " " + job.design); }

// The segment named by the last record that names one (the import and
// create jobs' records do).
std::string LastSegment(const std::string& records) {
  std::ifstream in(records);
  std::string line, segment;
  while (std::getline(in, line)) {
    const size_t at = line.find("\"segment\": \"");
    if (at != std::string::npos) segment = line.substr(at + 12, line.find('"', at + 12) - at - 12);
  }
  return segment;
}

// Removes a segment of this run's databases (a bench database is thrown away).
void RemoveSegment(const std::string& segment) {
  if (!segment.empty()) unlink(("/dev/shm" + segment).c_str());
}

void Progress(const std::string& what) {
  static const auto begin = std::chrono::steady_clock::now();
  std::fprintf(stderr, "[%6.1fs] %s\n",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count(), what.c_str());
}

std::string Docs(int64_t n) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", static_cast<double>(n));
  return buffer;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--worker") == 0) return WorkerMain(argc, argv);
  if (argc > 1 && std::strcmp(argv[1], "--writer") == 0) return WriterMain(argc, argv);
  if (argc > 1 && std::strcmp(argv[1], "--job") == 0) return JobMain(argc, argv);
  const Options options = Parse(argc, argv);
  const auto suite_start = std::chrono::steady_clock::now();
  const fs::path dir = fs::temp_directory_path() / ("docstore-suite-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string records = (dir / "records.jsonl").string();

  // The cache holds the 80/20 hot set (a fifth of the documents) with room to
  // spare: 3 KiB a hot document, 64 MiB at least. Set here, not left to the
  // default, which may follow the database's size.
  const int64_t cache_bytes = std::max<int64_t>(64 << 20, options.documents / 5 * 3072);
  setenv("DOCSTORE_CACHE_BYTES", std::to_string(cache_bytes).c_str(), 1);
  setenv("DOCSTORE_PENDING_SLOTS", "65536", 1);

  SuiteFiles files;
  files.extension = (fs::path(options.build) / "docstore").string();
  files.sidecar = (fs::path(options.build) / "docstore-sidecar").string();
  files.redis_socket = (dir / "redis.sock").string();
  files.ids = (dir / "ids.bin").string();
  files.versions = (dir / "versions.bin").string();
  files.python_worker = options.python_worker;
  std::vector<std::string> designs = {"docstore"};
  if (options.mode == "compare") designs = DesignNames();
  std::unique_ptr<RedisServer> redis;
  if (options.mode == "compare") {
    redis = std::make_unique<RedisServer>(files.redis_socket);
    redisContext* probe = redis->Connect();
    if (probe == nullptr) Die("redis-server did not come up on " + files.redis_socket);
    redisFree(probe);
  }
  auto flush_redis = [&] {
    if (!redis) return;
    redisContext* c = redis->Connect();
    freeReplyObject(redisCommand(c, "FLUSHALL"));
    redisFree(c);
  };
  JobArgs job;
  job.extension = files.extension;
  job.redis_socket = files.redis_socket;
  job.ids = files.ids;
  job.out = records;
  job.quick = options.quick;

  Progress("create");
  job.name = "create";
  job.design = "docstore";
  job.database = (dir / "create.db").string();
  RunJob(job);
  RemoveSegment(LastSegment(records));
  fs::remove(job.database);

  // Memory at 10^4, 10^5 and the run's size; the last database is the one
  // every other row reads.
  std::set<int64_t> sizes = {10000, 100000, options.documents};
  if (options.quick) sizes = {10000, options.documents};
  std::string segment, main_segment;
  auto database_of = [&](int64_t size) { return (dir / ("docs-" + Docs(size) + ".db")).string(); };
  for (const int64_t size : sizes) {
    job.database = database_of(size);
    job.documents = size;
    Progress("import " + Docs(size));
    job.name = "import";
    RunJob(job);
    segment = LastSegment(records);
    RemoveSegment(segment);
    Progress("memory " + Docs(size));
    job.name = "memory";
    RunJob(job);
    RemoveSegment(segment);
    if (size != options.documents) fs::remove(job.database);
    if (size == options.documents) main_segment = segment;
  }
  segment = main_segment;
  job.database = files.database = database_of(options.documents);
  job.documents = options.documents;
  const std::vector<int64_t> ids = Ids(options.documents, true, 1 << 20, 2);
  WriteSharedFiles(files, ids, options.documents);

  for (const std::string& design : designs) {
    job.design = design;
    RemoveSegment(segment);
    flush_redis();
    Progress("uncached " + design);
    job.name = "uncached";
    RunJob(job);
    Progress("cached " + design);
    job.name = "cached";
    RunJob(job);
  }
  RemoveSegment(segment);
  Progress("cold->warm");
  job.name = "coldwarm";
  job.design = "docstore";
  RunJob(job);

  // Concurrent: every design at 1, 2, 4 and W workers from C++, W with the
  // writer; W without and with the writer from Python.
  std::vector<int> counts = {1, 2, 4, options.workers};
  std::sort(counts.begin(), counts.end());
  counts.erase(std::unique(counts.begin(), counts.end()), counts.end());
  std::vector<ConcurrentRun> runs;
  for (const std::string& design : designs) {
    for (const int w : counts) runs.push_back({design, "c++", w, false});
    runs.push_back({design, "c++", options.workers, true});
    runs.push_back({design, "python", options.workers, false});
    runs.push_back({design, "python", options.workers, true});
  }
  std::ofstream out_records(records, std::ios::app);
  for (ConcurrentRun& run : runs) {
    const bool slow = run.design == "pass1";
    const double python = run.driver == "python" ? 0.25 : 1.0;
    const uint64_t total = static_cast<uint64_t>((slow ? (options.quick ? 4000 : 20000) : (options.quick ? 200000 : 1000000)) * python);
    run.ops_per_worker = std::max<uint64_t>(1, total / static_cast<uint64_t>(run.workers));
    run.warmup_per_worker = static_cast<uint64_t>((slow ? 200 : (options.quick ? 10000 : 20000)) * python);
    Progress("concurrent " + run.design + " " + run.driver + " x" + std::to_string(run.workers) +
             (run.writer ? " + writer" : ""));
    // Redis starts empty: the other designs' writers changed documents
    // without telling it (only the redis runs' writer DELs).
    if (run.design == "redis") flush_redis();
    const ConcurrentResult r = RunConcurrent(files, run, options.documents);
    out_records << Record("concurrent", run.design)
                       .Add("driver", run.driver)
                       .Add("workers", run.workers)
                       .Add("writer", run.writer ? 1.0 : 0.0)
                       .Add("ops", static_cast<double>(r.ops))
                       .Add("warmup_per_worker", static_cast<double>(run.warmup_per_worker))
                       .Add("ops_per_s", r.ops_per_s)
                       .Add("stale", static_cast<double>(r.stale))
                       .Add("failed", static_cast<double>(r.failed))
                       .Add("writes_per_s", r.writer_seconds > 0 ? static_cast<double>(r.writes) / r.writer_seconds : 0.0)
                       .Add("max_rss_kb", r.max_rss_kb)
                       .Add("max_anon_kb", r.max_anon_kb)
                       .json()
                << '\n';
    out_records.flush();
  }
  RemoveSegment(segment);
  redis.reset();

  // bench-suite.json: the run's settings and its records.
  std::ifstream in(records);
  std::ofstream out(options.out);
  char host[256] = "";
  gethostname(host, sizeof host);
  out << "{\"settings\": " << Record("settings", options.mode)
                                  .Add("docs", static_cast<double>(options.documents))
                                  .Add("workers", options.workers)
                                  .Add("quick", options.quick ? 1.0 : 0.0)
                                  .Add("cache_bytes", static_cast<double>(cache_bytes))
                                  .Add("nproc", static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN)))
                                  .Add("seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - suite_start).count())
                                  .json()
      << ",\n \"records\": [\n";
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    out << (first ? "  " : ",\n  ") << line;
    first = false;
  }
  out << "\n]}\n";
  fs::remove_all(dir);
  Progress("wrote " + options.out);
  return 0;
}
