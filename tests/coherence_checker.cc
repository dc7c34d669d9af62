// The no-stale-read checker (DESIGN.md invariant 1), with real processes.
//
// Writer processes update, delete and re-insert a small set of documents whose
// content carries a per-document version k ("k=<k>;"), each write in its own
// transaction; after COMMIT returns, the writer publishes (k, live) for that
// document in a shared array. Writers of three kinds take turns, one at a
// time (a robust mutex among them): one with docstore loaded, one that never
// loads it (plain SQL), and one that never loads it and writes through the
// backup API (copies the database, changes the copy, copies it back page by
// page, as a restore or a replica does). Reader processes call doc_get in a loop and
// compare what they got with what had been published before the call began:
// a live document older than that is a stale read. A NULL is stale when the
// document was live at the published version and still is (checked on the
// reader's own connection after the call, so a committed but not yet
// published delete is not mistaken for one). A supervisor kill -9s random
// readers and writers all along and starts new ones.
//
//   coherence_checker EXTENSION [min_reads]
// Built a second time against SQLCipher 4 (DOCSTORE_CHECKER_KEYED): the
// database is keyed, its cache entries sealed, and the backup writer's copy is
// a keyed file of its own (SQLCipher backs up only between equal keys).
// Runs until at least min_reads (default 100000) reads were checked and at
// least 200 processes were killed; exits 0 when no read was stale, some
// reads were cache hits (docstore_stats), and the divergence audit
// (docstore_verify) listed no entry, neither when readers ran it while the
// writers wrote (one query in 500) nor once everything stopped.
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;

constexpr int kDocuments = 16;
enum WriterKind { kDocstoreWriter, kPlainWriter, kBackupWriter, kWriterKinds };
constexpr int kWriters = kWriterKinds;  // one of each
constexpr int kReaders = 3;

// Published state of a document: k << 1 | live, only ever raised.
struct Shared {
  std::atomic<uint64_t> published[kDocuments + 1];
  std::atomic<uint64_t> reads;
  std::atomic<uint64_t> verified;
  std::atomic<uint64_t> stale;
  std::atomic<uint64_t> audits;       // docstore_verify run by readers while writers write
  std::atomic<uint64_t> divergences;  // rows those audits listed: false divergences
  std::atomic<uint64_t> writes;
  std::atomic<uint64_t> writes_by_kind[kWriterKinds];
  std::atomic<bool> stop;
  pthread_mutex_t writers_mutex;  // robust: a writer is killed holding it
  char first_stale[512];
  char first_divergence[512];
};

Shared* shared = nullptr;
std::string db_path;
std::string extension;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "coherence_checker[%d]: %s\n", getpid(), what.c_str());
  _exit(2);
}

void Exec(sqlite3* db, const char* sql);

// Opens `path`, keyed in the SQLCipher build.
sqlite3* OpenFile(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) Fail("open " + path);
#ifdef DOCSTORE_CHECKER_KEYED
  // A raw key: no key derivation, which would make every short-lived
  // process spend its life opening the database.
  Exec(db, "PRAGMA key = \"x'2f9a6b41d07c95a3e1b4c8d2f7a60935b1c4e7d2a8f3960b5c1d4e7f2a8b3c69'\"");
#endif
  return db;
}

sqlite3* OpenConnection(bool load = true) {
  sqlite3* db = OpenFile(db_path);
  sqlite3_busy_timeout(db, 30000);
  if (!load) return db;
  sqlite3_enable_load_extension(db, 1);
  char* error = nullptr;
  if (sqlite3_load_extension(db, extension.c_str(), nullptr, &error) != SQLITE_OK) {
    Fail(std::string("load: ") + (error ? error : "?"));
  }
  return db;
}

void Exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    Fail(std::string(sql) + ": " + (error ? error : "?"));
  }
}

void RaisePublished(int id, uint64_t value) {
  uint64_t current = shared->published[id].load();
  while (current < value && !shared->published[id].compare_exchange_weak(current, value)) {
  }
}

class WritersLock {
 public:
  WritersLock() {
    if (pthread_mutex_lock(&shared->writers_mutex) == EOWNERDEAD) pthread_mutex_consistent(&shared->writers_mutex);
  }
  ~WritersLock() { pthread_mutex_unlock(&shared->writers_mutex); }
};

// One write to document `id` on `db` (its transaction open): the new (k,
// live), which the caller publishes once it committed.
uint64_t WriteOne(sqlite3* db, int id, std::mt19937& rng) {
  sqlite3_stmt* state = nullptr;
  sqlite3_prepare_v2(db, "SELECT k, live FROM checker_state WHERE id = ?1", -1, &state, nullptr);
  sqlite3_bind_int(state, 1, id);
  if (sqlite3_step(state) != SQLITE_ROW) Fail("no checker_state row");
  const int64_t k = sqlite3_column_int64(state, 0) + 1;
  const bool was_live = sqlite3_column_int(state, 1) != 0;
  sqlite3_finalize(state);
  const bool live = was_live ? rng() % 5 != 0 : true;  // live docs: 1 in 5 writes deletes
  const std::string content = "k=" + std::to_string(k) + ";";
  const char* sql = !was_live ? "INSERT INTO documents(id, title, content) VALUES (?1, 'doc', ?2)"
                    : live    ? "UPDATE documents SET content = ?2 WHERE id = ?1"
                              : "DELETE FROM documents WHERE id = ?1";
  sqlite3_stmt* write = nullptr;
  sqlite3_prepare_v2(db, sql, -1, &write, nullptr);
  sqlite3_bind_int(write, 1, id);
  if (live) sqlite3_bind_text(write, 2, content.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(write) != SQLITE_DONE) Fail(std::string("write: ") + sqlite3_errmsg(db));
  sqlite3_finalize(write);
  sqlite3_stmt* save = nullptr;
  sqlite3_prepare_v2(db, "UPDATE checker_state SET k = ?2, live = ?3 WHERE id = ?1", -1, &save, nullptr);
  sqlite3_bind_int(save, 1, id);
  sqlite3_bind_int64(save, 2, k);
  sqlite3_bind_int(save, 3, live);
  if (sqlite3_step(save) != SQLITE_DONE) Fail("save state");
  sqlite3_finalize(save);
  return static_cast<uint64_t>(k) << 1 | (live ? 1 : 0);
}

// Copies all of `from` into `to` with the backup API.
void Backup(sqlite3* to, sqlite3* from) {
  sqlite3_backup* backup = sqlite3_backup_init(to, "main", from, "main");
  if (backup == nullptr) Fail(std::string("backup: ") + sqlite3_errmsg(to));
  int rc;
  while ((rc = sqlite3_backup_step(backup, 5)) == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
  }
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) Fail(std::string("backup step: ") + sqlite3_errstr(rc));
}

[[noreturn]] void Writer(WriterKind kind, unsigned seed) {
  sqlite3* db = OpenConnection(kind == kDocstoreWriter);
  std::mt19937 rng(seed);
  while (!shared->stop.load()) {
    const int id = 1 + static_cast<int>(rng() % kDocuments);
    uint64_t published;
    {
      WritersLock lock;
      if (kind == kBackupWriter) {
        // The database into a copy, one write there, then back, page by page.
        const std::string copy_path = db_path + ".copy-" + std::to_string(getpid());
        unlink(copy_path.c_str());
        // Two connections to the copy, one per direction: sqlite3_backup_init
        // locks destination then source, and one pair of connections taken in
        // both orders is what ThreadSanitizer calls a lock-order inversion.
        sqlite3* copy = OpenFile(copy_path);
        Backup(copy, db);
        Exec(copy, "BEGIN");
        published = WriteOne(copy, id, rng);
        Exec(copy, "COMMIT");
        sqlite3_close(copy);
        sqlite3* back = OpenFile(copy_path);
        Backup(db, back);
        sqlite3_close(back);
        unlink(copy_path.c_str());
      } else {
        Exec(db, "BEGIN IMMEDIATE");
        published = WriteOne(db, id, rng);
        Exec(db, "COMMIT");
      }
    }
    RaisePublished(id, published);
    shared->writes.fetch_add(1);
    shared->writes_by_kind[kind].fetch_add(1);
  }
  _exit(0);
}

void ReportStale(const std::string& what) {
  if (shared->stale.fetch_add(1) == 0) {
    std::snprintf(shared->first_stale, sizeof shared->first_stale, "%s", what.c_str());
  }
}

// The divergence audit while writers write: every row is a false divergence
// (nothing here writes behind the triggers' back).
void Audit(sqlite3_stmt* verify) {
  while (sqlite3_step(verify) == SQLITE_ROW) {
    if (shared->divergences.fetch_add(1) == 0) {
      std::snprintf(shared->first_divergence, sizeof shared->first_divergence,
                    "document %lld cached at version %lld, the database has %s: %s",
                    static_cast<long long>(sqlite3_column_int64(verify, 0)),
                    static_cast<long long>(sqlite3_column_int64(verify, 1)),
                    sqlite3_column_type(verify, 2) == SQLITE_NULL ? "none" : reinterpret_cast<const char*>(sqlite3_column_text(verify, 2)),
                    reinterpret_cast<const char*>(sqlite3_column_text(verify, 3)));
    }
  }
  sqlite3_reset(verify);
  shared->audits.fetch_add(1);
}

[[noreturn]] void Reader(unsigned seed) {
  sqlite3* db = OpenConnection();
  std::mt19937 rng(seed);
  sqlite3_stmt *get, *truth, *verify;
  sqlite3_prepare_v2(db, "SELECT doc_get(?1)", -1, &get, nullptr);
  sqlite3_prepare_v2(db, "SELECT k, live FROM checker_state WHERE id = ?1", -1, &truth, nullptr);
  sqlite3_prepare_v2(db, "SELECT id, cached_version, database_version, reason FROM docstore_verify", -1, &verify,
                     nullptr);
  while (!shared->stop.load()) {
    if (rng() % 500 == 0) Audit(verify);
    const int id = 1 + static_cast<int>(rng() % kDocuments);
    const uint64_t before = shared->published[id].load();
    const int64_t published_k = static_cast<int64_t>(before >> 1);
    sqlite3_bind_int(get, 1, id);
    if (sqlite3_step(get) != SQLITE_ROW) Fail(std::string("doc_get: ") + sqlite3_errmsg(db));
    const char* json = reinterpret_cast<const char*>(sqlite3_column_text(get, 0));
    shared->reads.fetch_add(1);
    if (json != nullptr) {
      const char* at = std::strstr(json, "\"content\":\"k=");
      if (at == nullptr) Fail(std::string("unexpected document: ") + json);
      const int64_t got = std::strtoll(at + 13, nullptr, 10);
      shared->verified.fetch_add(1);
      if (got < published_k) {
        ReportStale("doc " + std::to_string(id) + ": got k=" + std::to_string(got) +
                    " after k=" + std::to_string(published_k) + " was published");
      }
    } else if (before & 1) {
      sqlite3_bind_int(truth, 1, id);
      if (sqlite3_step(truth) == SQLITE_ROW && sqlite3_column_int64(truth, 0) == published_k) {
        shared->verified.fetch_add(1);
        ReportStale("doc " + std::to_string(id) + ": got NULL though k=" +
                    std::to_string(published_k) + " is live and was published");
      }
      sqlite3_reset(truth);
    }
    sqlite3_reset(get);
  }
  _exit(0);
}

// A writer of `kind`, or a reader when kind is kWriterKinds.
pid_t Spawn(int kind, unsigned seed) {
  const pid_t pid = fork();
  if (pid < 0) Fail("fork");
  if (pid == 0) {
    if (kind < kWriterKinds) Writer(static_cast<WriterKind>(kind), seed);
    Reader(seed);
  }
  return pid;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) Fail("usage: coherence_checker EXTENSION [min_reads]");
  extension = argv[1];
  const uint64_t min_reads = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 100000;
  const fs::path dir = fs::temp_directory_path() / ("docstore-coherence-" + std::to_string(getpid()));
  fs::create_directories(dir);
  db_path = (dir / "docs.db").string();

  void* memory = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) Fail("mmap");
  shared = new (memory) Shared{};
  {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&shared->writers_mutex, &attr);
    pthread_mutexattr_destroy(&attr);
  }

  {
    sqlite3* db = OpenConnection();
    Exec(db, "PRAGMA journal_mode = WAL");
    Exec(db, "SELECT docstore_init()");
    Exec(db, "CREATE TABLE checker_state(id INTEGER PRIMARY KEY, k INTEGER NOT NULL, live INTEGER NOT NULL)");
    Exec(db, "BEGIN");
    for (int id = 1; id <= kDocuments; ++id) {
      const std::string sql = "INSERT INTO documents(id, title, content) VALUES (" + std::to_string(id) +
                              ", 'doc', 'k=1;'); INSERT INTO checker_state VALUES (" +
                              std::to_string(id) + ", 1, 1);";
      Exec(db, sql.c_str());
      shared->published[id] = 1 << 1 | 1;
    }
    Exec(db, "COMMIT");
    sqlite3_close(db);
  }

  std::vector<pid_t> writers, readers;
  unsigned seed = 1;
  for (int kind = 0; kind < kWriters; ++kind) writers.push_back(Spawn(kind, seed++));
  for (int i = 0; i < kReaders; ++i) readers.push_back(Spawn(kWriterKinds, seed++));

  // Kill -9 a random reader or writer every few milliseconds and replace it,
  // until enough reads were checked (or a minute passes).
  std::mt19937 rng(42);
  uint64_t kills = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  constexpr uint64_t kMinKills = 200;
  while ((shared->verified.load() < min_reads || kills < kMinKills) && shared->stale.load() == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 20));
    const bool writer = rng() % 2 == 0;
    auto& group = writer ? writers : readers;
    const size_t slot = rng() % group.size();  // a writer's slot is its kind
    pid_t& victim = group[slot];
    kill(victim, SIGKILL);
    int status = 0;
    waitpid(victim, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0) Fail("a child failed before it was killed");
    victim = Spawn(writer ? static_cast<int>(slot) : kWriterKinds, seed++);
    ++kills;
  }
  shared->stop = true;
  bool child_failed = false;
  for (pid_t pid : writers) {
    int status = 0;
    waitpid(pid, &status, 0);
    child_failed |= !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  for (pid_t pid : readers) {
    int status = 0;
    waitpid(pid, &status, 0);
    child_failed |= !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  std::printf("coherence: %llu reads (%llu checked), %llu writes (%llu with docstore, %llu plain, %llu by backup),"
              " %llu processes killed, %llu stale\n",
              static_cast<unsigned long long>(shared->reads.load()),
              static_cast<unsigned long long>(shared->verified.load()),
              static_cast<unsigned long long>(shared->writes.load()),
              static_cast<unsigned long long>(shared->writes_by_kind[kDocstoreWriter].load()),
              static_cast<unsigned long long>(shared->writes_by_kind[kPlainWriter].load()),
              static_cast<unsigned long long>(shared->writes_by_kind[kBackupWriter].load()),
              static_cast<unsigned long long>(kills),
              static_cast<unsigned long long>(shared->stale.load()));
  if (shared->stale.load() != 0) std::printf("first stale read: %s\n", shared->first_stale);
  std::printf("audits while writing: %llu, %llu false divergences\n",
              static_cast<unsigned long long>(shared->audits.load()),
              static_cast<unsigned long long>(shared->divergences.load()));
  if (shared->divergences.load() != 0) std::printf("first divergence: %s\n", shared->first_divergence);
  // The run proves something only if reads were served from the shared cache.
  uint64_t cache_hits = 0;
  uint64_t divergences = 0;
  std::string segment;
  {
    sqlite3* db = OpenConnection();
    sqlite3_stmt* stmt = nullptr;
    // The audit, after a doc_get has caught the cache up with the last
    // writes (docstore_verify's own statement cannot).
    sqlite3_exec(db, "SELECT doc_get(1)", nullptr, nullptr, nullptr);
    if (sqlite3_prepare_v2(db, "SELECT id, cached_version, ifnull(database_version, 'NULL'), reason FROM docstore_verify",
                           -1, &stmt, nullptr) != SQLITE_OK) {
      Fail(std::string("docstore_verify: ") + sqlite3_errmsg(db));
    }
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      ++divergences;
      std::printf("divergence: document %s cached at version %s, the database has %s: %s\n",
                  reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)),
                  reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1)),
                  reinterpret_cast<const char*>(sqlite3_column_text(stmt, 2)),
                  reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3)));
    }
    if (rc != SQLITE_DONE) Fail(std::string("docstore_verify: ") + sqlite3_errmsg(db));
    sqlite3_finalize(stmt);
    std::printf("audit: %llu divergences (docstore_verify)\n", static_cast<unsigned long long>(divergences));
    sqlite3_prepare_v2(db, "SELECT name, value FROM docstore_stats", -1, &stmt, nullptr);
    std::string line = "cache:";
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      const std::string name = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      const unsigned char* text = sqlite3_column_text(stmt, 1);  // NULL: a time not seen yet
      const std::string value = text != nullptr ? reinterpret_cast<const char*>(text) : "";
      if (name == "hits") cache_hits = std::strtoull(value.c_str(), nullptr, 10);
      if (name == "segment") segment = value;
      if (name == "hits" || name == "misses" || name == "fills_skipped" || name == "catch_ups" ||
          name == "changes_applied" || name == "cache_resets" || name == "lock_recoveries" ||
          name == "cache_status") {
        line += " " + name + "=" + value;
      }
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    std::printf("%s\n", line.c_str());
  }
  fs::remove_all(dir);
  if (!segment.empty()) unlink(("/dev/shm" + segment).c_str());  // the database is gone
  bool every_kind_wrote = true;
  for (const auto& writes : shared->writes_by_kind) every_kind_wrote &= writes.load() > 0;
  const bool pass = shared->stale.load() == 0 && divergences == 0 && shared->divergences.load() == 0 &&
                    shared->audits.load() > 0 && shared->verified.load() >= min_reads &&
                    kills >= kMinKills && !child_failed && cache_hits > 0 && every_kind_wrote;
  std::printf("%s\n", pass ? "PASS" : "FAIL");
  return pass ? 0 : 1;
}
