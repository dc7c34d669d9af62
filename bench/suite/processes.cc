#include "processes.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "../bench_sqlite.h"
#include "../id_sequence.h"
#include "../redis_server.h"
#include "designs.h"

namespace docstore::bench {
namespace {

// A file mapped whole, shared with every process that maps it.
struct Mapping {
  int64_t* words = nullptr;
  size_t count = 0;
};

Mapping MapFile(const std::string& path, bool writable) {
  const int fd = open(path.c_str(), writable ? O_RDWR : O_RDONLY);
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0) Die("open " + path);
  void* base = mmap(nullptr, static_cast<size_t>(st.st_size), writable ? PROT_READ | PROT_WRITE : PROT_READ,
                    MAP_SHARED, fd, 0);
  close(fd);
  if (base == MAP_FAILED) Die("mmap " + path);
  return {static_cast<int64_t*>(base), static_cast<size_t>(st.st_size) / sizeof(int64_t)};
}

std::string ReadLine(int fd) {
  std::string line;
  char c = 0;
  while (read(fd, &c, 1) == 1 && c != '\n') line += c;
  return line;
}

volatile sig_atomic_t writer_stop = 0;

}  // namespace

pid_t Spawn(const std::vector<std::string>& args) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  if (pid < 0) Die("fork");
  return pid;
}

void WaitOk(pid_t pid, const std::string& what) {
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) Die(what + " failed");
}

void ResidentKb(double* rss_kb, double* anon_kb) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) *rss_kb = std::stod(line.substr(6));
    if (line.rfind("RssAnon:", 0) == 0) *anon_kb = std::stod(line.substr(8));
  }
}

void WriteSharedFiles(const SuiteFiles& files, const std::vector<int64_t>& ids, int64_t documents) {
  std::ofstream(files.ids, std::ios::binary)
      .write(reinterpret_cast<const char*>(ids.data()), static_cast<std::streamsize>(ids.size() * sizeof(int64_t)));
  const std::vector<int64_t> zeros(static_cast<size_t>(documents) + 1, 0);
  std::ofstream(files.versions, std::ios::binary)
      .write(reinterpret_cast<const char*>(zeros.data()), static_cast<std::streamsize>(zeros.size() * sizeof(int64_t)));
}

int WorkerMain(int argc, char** argv) {
  if (argc != 14) Die("usage: --worker DESIGN DATABASE EXTENSION REDIS_SOCKET IDS VERSIONS OFFSET WARMUP OPS READY START RESULT");
  const std::string design = argv[2];
  const ReaderConfig config{argv[3], argv[4], argv[5]};
  const Mapping ids = MapFile(argv[6], false);
  const Mapping versions = MapFile(argv[7], false);
  const uint64_t offset = std::stoull(argv[8]), warmup = std::stoull(argv[9]), ops = std::stoull(argv[10]);
  const int ready_fd = std::stoi(argv[11]), start_fd = std::stoi(argv[12]), result_fd = std::stoi(argv[13]);
  const size_t mask = ids.count - 1;
  auto reader = OpenReader(design, config);
  for (uint64_t i = 0; i < warmup; ++i) reader->Get(ids.words[(offset + ids.count - warmup + i) & mask]);
  char byte = 0;
  if (write(ready_fd, &byte, 1) != 1 || read(start_fd, &byte, 1) != 1) return 1;
  uint64_t stale = 0, failed = 0;
  const auto begin = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < ops; ++i) {
    const int64_t id = ids.words[(offset + i) & mask];
    const int64_t committed = __atomic_load_n(&versions.words[id], __ATOMIC_ACQUIRE);
    const std::string json = reader->Get(id);
    if (json.empty()) {
      if (failed++ == 0) std::fprintf(stderr, "%s worker: get %lld failed: %s\n", design.c_str(),
                                       static_cast<long long>(id), LastReadError().c_str());
    } else if (VersionOf(json) < committed) {
      ++stale;
    }
  }
  const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - begin).count();
  double rss = 0, anon = 0;
  ResidentKb(&rss, &anon);
  reader->Finish();
  char line[160];
  const int n = std::snprintf(line, sizeof line, "%llu %.0f %llu %.0f %.0f %llu\n", static_cast<unsigned long long>(ops),
                              ns, static_cast<unsigned long long>(stale), rss, anon,
                              static_cast<unsigned long long>(failed));
  return write(result_fd, line, static_cast<size_t>(n)) == n ? 0 : 1;
}

int WriterMain(int argc, char** argv) {
  if (argc != 8) Die("usage: --writer DATABASE IDS VERSIONS REDIS_SOCKET DOCUMENTS RESULT");
  signal(SIGTERM, [](int) { writer_stop = 1; });
  const std::string database = argv[2], redis_socket = argv[5];
  const Mapping versions = MapFile(argv[4], true);
  const int64_t documents = std::stoll(argv[6]);
  const int result_fd = std::stoi(argv[7]);
  // Its own 80/20 sequence: the hot documents are written most, as they are read most.
  const std::vector<int64_t> ids = Ids(documents, true, 1 << 20, 9);
  sqlite3* db = nullptr;
  if (sqlite3_open(database.c_str(), &db) != SQLITE_OK) Die("writer: open " + database);
  sqlite3_busy_timeout(db, 10000);
  Exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
  redisContext* redis = redis_socket == "-" ? nullptr : RedisServer::ConnectTo(redis_socket);
  sqlite3_stmt* update = Prepare(db, "UPDATE documents SET metadata = json_set(metadata, '$.w', ?2) WHERE id = ?1");
  sqlite3_stmt* version = Prepare(db, "SELECT version FROM documents WHERE id = ?1");
  // 1% of the documents per second, in ten commits a second.
  const int64_t per_tick = std::max<int64_t>(1, documents / 1000);
  uint64_t writes = 0, next = 0;
  const auto begin = std::chrono::steady_clock::now();
  auto tick = begin;
  while (!writer_stop) {
    std::vector<std::pair<int64_t, int64_t>> committed;
    Exec(db, "BEGIN IMMEDIATE");
    for (int64_t k = 0; k < per_tick; ++k) {
      const int64_t id = ids[next++ & (ids.size() - 1)];
      sqlite3_bind_int64(update, 1, id);
      sqlite3_bind_int64(update, 2, static_cast<int64_t>(writes));
      if (sqlite3_step(update) != SQLITE_DONE) Die(std::string("writer: ") + sqlite3_errmsg(db));
      sqlite3_reset(update);
      sqlite3_bind_int64(version, 1, id);
      if (sqlite3_step(version) != SQLITE_ROW) Die("writer: no version");
      committed.emplace_back(id, sqlite3_column_int64(version, 0));
      sqlite3_reset(version);
      ++writes;
    }
    Exec(db, "COMMIT");
    if (redis != nullptr) {
      // The application invalidates what it wrote, in one command, right
      // after its commit; the versions are published after that, so a read
      // in between is not counted: what remains is the design's own race (a
      // reader that missed fills Redis from the snapshot it read before the
      // commit, after the DEL).
      std::vector<std::string> keys = {"DEL"};
      for (const auto& entry : committed) keys.push_back("doc:" + std::to_string(entry.first));
      std::vector<const char*> argv;
      for (const auto& k : keys) argv.push_back(k.c_str());
      freeReplyObject(redisCommandArgv(redis, static_cast<int>(argv.size()), argv.data(), nullptr));
    }
    for (const auto& [id, v] : committed) __atomic_store_n(&versions.words[id], v, __ATOMIC_RELEASE);
    // A writer that fell behind does not burst to catch up (it would hold
    // the write lock without a pause): its achieved rate is reported.
    tick = std::max(tick + std::chrono::milliseconds(100), std::chrono::steady_clock::now());
    std::this_thread::sleep_until(tick);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  sqlite3_finalize(update);
  sqlite3_finalize(version);
  sqlite3_close(db);
  if (redis != nullptr) redisFree(redis);
  char line[64];
  const int n = std::snprintf(line, sizeof line, "%llu %.3f\n", static_cast<unsigned long long>(writes), seconds);
  return write(result_fd, line, static_cast<size_t>(n)) == n ? 0 : 1;
}

ConcurrentResult RunConcurrent(const SuiteFiles& files, const ConcurrentRun& run, int64_t documents) {
  setenv("DOCSTORE_BENCH_POINT_SQL", kPointJsonSql, 1);
  setenv("DOCSTORE_BENCH_COUNT_SQL", kCountAccessSql, 1);
  int ready[2], start[2], result[2], writer_result[2];
  if (pipe(ready) != 0 || pipe(start) != 0 || pipe(result) != 0 || pipe(writer_result) != 0) Die("pipe");
  pid_t sidecar = -1;
  if (run.design == "docstore") sidecar = Spawn({files.sidecar, files.database});
  std::vector<pid_t> workers;
  const uint64_t length = [&] {
    struct stat st {};
    stat(files.ids.c_str(), &st);
    return static_cast<uint64_t>(st.st_size) / sizeof(int64_t);
  }();
  for (int w = 0; w < run.workers; ++w) {
    // Each worker starts at its own place in the one sequence.
    const uint64_t offset = static_cast<uint64_t>(w) * (length / static_cast<uint64_t>(run.workers));
    std::vector<std::string> args;
    if (run.driver == "python") {
      args = {"/usr/bin/python3", files.python_worker};
    } else {
      args = {"/proc/self/exe", "--worker"};
    }
    for (const std::string& a :
         {run.design, files.database, files.extension, files.redis_socket, files.ids, files.versions,
          std::to_string(offset), std::to_string(run.warmup_per_worker), std::to_string(run.ops_per_worker),
          std::to_string(ready[1]), std::to_string(start[0]), std::to_string(result[1])}) {
      args.push_back(a);
    }
    workers.push_back(Spawn(args));
  }
  // Only the workers hold the write ends now: one that dies ends the run
  // with a message instead of a wait for a line that never comes.
  close(ready[1]);
  close(result[1]);
  char byte = 0;
  for (int w = 0; w < run.workers; ++w) {
    if (read(ready[0], &byte, 1) != 1) Die("a worker did not get ready");
  }
  pid_t writer = -1;
  if (run.writer) {
    writer = Spawn({"/proc/self/exe", "--writer", files.database, files.ids, files.versions,
                    run.design == "redis" ? files.redis_socket : "-", std::to_string(documents),
                    std::to_string(writer_result[1])});
  }
  for (int w = 0; w < run.workers; ++w) {
    if (write(start[1], &byte, 1) != 1) Die("pipe write");
  }
  ConcurrentResult out;
  for (int w = 0; w < run.workers; ++w) {
    std::istringstream line(ReadLine(result[0]));
    uint64_t ops = 0, stale = 0, failed = 0;
    double ns = 0, rss = 0, anon = 0;
    if (!(line >> ops >> ns >> stale >> rss >> anon >> failed)) Die(run.design + "/" + run.driver + ": a worker failed");
    out.ops += ops;
    out.stale += stale;
    out.failed += failed;
    out.slowest_seconds = std::max(out.slowest_seconds, ns / 1e9);
    out.max_rss_kb = std::max(out.max_rss_kb, rss);
    out.max_anon_kb = std::max(out.max_anon_kb, anon);
  }
  for (const pid_t pid : workers) WaitOk(pid, run.design + " worker");
  if (writer > 0) {
    kill(writer, SIGTERM);
    std::istringstream line(ReadLine(writer_result[0]));
    line >> out.writes >> out.writer_seconds;
    WaitOk(writer, "the writer");
  }
  if (sidecar > 0) {
    kill(sidecar, SIGTERM);
    WaitOk(sidecar, "docstore-sidecar");
  }
  for (int fd : {ready[0], start[0], start[1], result[0], writer_result[0], writer_result[1]}) {
    close(fd);
  }
  out.ops_per_s = static_cast<double>(out.ops) / out.slowest_seconds;
  // The versions file keeps what this run's writer published: versions only
  // move forward, so they stay lower bounds for every later run.
  return out;
}

}  // namespace docstore::bench
