// Deferred access counting (DESIGN.md invariant 2) with real processes:
// clients counting accesses, docstore-sidecar flushing them, both killed with
// SIGKILL; the database must end up with every access that returned, once.
// Built twice like extension_test (SQLite with docstore.so, SQLCipher 3 with
// docstore_sqlcipher.so, there on a keyed database with the sidecar given the
// key through a file).
#include <signal.h>
#include <sqlite3.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_database.h"

namespace {

namespace fs = std::filesystem;
using docstore_test::Database;
using docstore_test::RunCommand;
using docstore_test::RunShell;

constexpr int kDocuments = 50;

// The sidecar is linked with SQLCipher 4: a SQLCipher 3 database needs the
// setting its application would apply.
#ifdef DOCSTORE_TEST_SQLCIPHER3
const std::vector<const char*> kSidecarCipherArgs = {"--cipher-compatibility", "3"};
#else
const std::vector<const char*> kSidecarCipherArgs = {};
#endif

// Per-document counts of accesses that returned, shared by forked clients.
struct SharedCounts {
  std::atomic<uint64_t> returned[kDocuments + 1];
  std::atomic<bool> stop;
};

class AccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = docstore_test::ScratchDirectory("access");
    db_.emplace(path());
    db_->Exec("PRAGMA journal_mode = WAL");
    db_->Value("SELECT docstore_init()");
    db_->Exec("BEGIN");
    for (int id = 1; id <= kDocuments; ++id) {
      db_->Exec("INSERT INTO documents(id, title) VALUES (" + std::to_string(id) + ", 'd')");
    }
    db_->Exec("COMMIT");
    void* memory = mmap(nullptr, sizeof(SharedCounts), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(memory, MAP_FAILED);
    shared_ = new (memory) SharedCounts{};
#ifdef DOCSTORE_TEST_SQLCIPHER
    key_file_ = dir_ / "key";
    std::ofstream(key_file_) << docstore_test::kTestKeyHex << "\n";
    fs::permissions(key_file_, fs::perms::owner_read | fs::perms::owner_write);
#endif
  }
  void TearDown() override {
    const std::string segment = db_->Value("SELECT value FROM docstore_stats WHERE name = 'segment'");
    db_.reset();
    docstore_test::RemoveSegment(segment);
    munmap(shared_, sizeof(SharedCounts));
    fs::remove_all(dir_);
  }
  fs::path path() const { return dir_ / "docs.db"; }

  std::map<int, uint64_t> Flushed() {
    std::map<int, uint64_t> counts;
    docstore_test::QueryResult r = db_->Query("SELECT doc_id, access_count FROM document_access");
    for (const auto& row : r.rows) counts[std::stoi(*row[0])] = std::stoull(*row[1]);
    return counts;
  }

  // A forked client: doc_touch or doc_get on random documents until told
  // to stop (or killed), counting in shared memory each call that returned.
  pid_t SpawnClient(unsigned seed) {
    const pid_t pid = fork();
    if (pid != 0) return pid;
    alarm(120);
    int code = 0;
    {
      Database db(path());
      sqlite3_stmt* touch = nullptr;
      sqlite3_stmt* get = nullptr;
      sqlite3_prepare_v2(db.handle(), "SELECT doc_touch(?1)", -1, &touch, nullptr);
      sqlite3_prepare_v2(db.handle(), "SELECT doc_get(?1) IS NOT NULL", -1, &get, nullptr);
      std::mt19937 rng(seed);
      while (!shared_->stop.load() && code == 0) {
        const int id = 1 + static_cast<int>(rng() % kDocuments);
        sqlite3_stmt* stmt = rng() % 2 == 0 ? touch : get;
        sqlite3_bind_int(stmt, 1, id);
        if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_int(stmt, 0) == 1) {
          shared_->returned[id].fetch_add(1);
        } else {
          std::fprintf(stderr, "client: %s\n", sqlite3_errmsg(db.handle()));
          code = 1;
        }
        sqlite3_reset(stmt);
      }
      sqlite3_finalize(touch);
      sqlite3_finalize(get);
    }
    _exit(code);
  }

  // docstore-sidecar on this database, as a child process.
  pid_t SpawnSidecar(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {DOCSTORE_SIDECAR_PATH, "--interval-ms", "5"};
    args.insert(args.end(), extra.begin(), extra.end());
    if (!key_file_.empty()) {
      args.push_back("--key-file");
      args.push_back(key_file_.string());
      args.push_back("--raw-key");
    }
    for (const char* arg : kSidecarCipherArgs) args.push_back(arg);
    args.push_back(path().string());
    const pid_t pid = fork();
    if (pid == 0) {
      std::vector<char*> argv;
      for (std::string& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    return pid;
  }

  bool WaitForHeartbeat(pid_t sidecar) {
    for (int i = 0; i < 2000; ++i) {
      if (db_->Value("SELECT value FROM docstore_stats WHERE name = 'sidecar_pid'") == std::to_string(sidecar)) {
        return true;
      }
      usleep(1000);
    }
    return false;
  }

  int RunSidecarOnce() {
    const pid_t pid = SpawnSidecar({"--once"});
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  fs::path dir_;
  fs::path key_file_;
  std::optional<Database> db_;
  SharedCounts* shared_ = nullptr;
};

TEST_F(AccessTest, ProcessesTimesAccessesAreAllCountedAfterAFlush) {
  constexpr int kProcesses = 4, kAccesses = 3000;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = fork();
    if (pid == 0) {
      int failures = 0;
      {
        Database db(path());
        for (int i = 0; i < kAccesses; ++i) {
          // Process p touches documents p+1, p+2, ... cyclically: overlapping.
          const std::string id = std::to_string(1 + (p + i) % kDocuments);
          const std::string sql = i % 2 == 0 ? "SELECT doc_touch(" + id + ")" : "SELECT doc_get(" + id + ") IS NOT NULL";
          failures += db.Value(sql) != "1";
        }
      }
      _exit(failures == 0 ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_TRUE(Flushed().empty()) << "a read wrote to the database";
  std::map<int, uint64_t> expected;
  for (int p = 0; p < kProcesses; ++p) {
    for (int i = 0; i < kAccesses; ++i) ++expected[1 + (p + i) % kDocuments];
  }
  EXPECT_EQ(db_->Value("SELECT doc_flush()"), std::to_string(kProcesses * kAccesses));
  EXPECT_EQ(Flushed(), expected);
  EXPECT_EQ(db_->Value("SELECT doc_flush()"), "0");
  EXPECT_EQ(db_->Value("SELECT count(*) FROM docstore_pending"), "0");
}

TEST_F(AccessTest, TheSidecarKilledMidFlushLosesAndDoublesNothing) {
  std::vector<pid_t> clients;
  for (unsigned i = 0; i < 2; ++i) clients.push_back(SpawnClient(100 + i));
  std::mt19937 rng(5);
  int kills = 0;
  for (; kills < 120; ++kills) {
    const pid_t sidecar = SpawnSidecar({});
    // Killed at a random moment of its flushing: after its first heartbeat,
    // which it gives just before its first flush (once it has opened the
    // database: a keyed one costs a key derivation, a sanitizer build more).
    ASSERT_TRUE(WaitForHeartbeat(sidecar)) << "sidecar " << sidecar << " never started";
    usleep(static_cast<useconds_t>(rng() % 15000));
    kill(sidecar, SIGKILL);
    waitpid(sidecar, nullptr, 0);
  }
  shared_->stop = true;
  for (pid_t pid : clients) {
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  ASSERT_EQ(RunSidecarOnce(), 0);
  std::map<int, uint64_t> expected;
  for (int id = 1; id <= kDocuments; ++id) {
    if (shared_->returned[id] != 0) expected[id] = shared_->returned[id];
  }
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(Flushed(), expected) << "after " << kills << " sidecars killed";
  EXPECT_GT(std::stoull(db_->Value("SELECT value FROM docstore_stats WHERE name = 'flushes'")), 10u);
}

TEST_F(AccessTest, ClientsKilledMidTouchNeitherWedgeNorLoseWhatReturned) {
  const pid_t sidecar = SpawnSidecar({});
  std::vector<pid_t> clients;
  unsigned seed = 200;
  for (int i = 0; i < 3; ++i) clients.push_back(SpawnClient(seed++));
  std::mt19937 rng(9);
  int kills = 0;
  for (; kills < 60; ++kills) {
    usleep(static_cast<useconds_t>(1000 + rng() % 8000));
    pid_t& victim = clients[rng() % clients.size()];
    kill(victim, SIGKILL);
    waitpid(victim, nullptr, 0);
    victim = SpawnClient(seed++);
  }
  shared_->stop = true;
  for (pid_t pid : clients) waitpid(pid, nullptr, 0);
  kill(sidecar, SIGTERM);
  int status = 0;
  waitpid(sidecar, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "SIGTERM: a last flush, then exit 0";
  ASSERT_EQ(RunSidecarOnce(), 0);
  const std::map<int, uint64_t> flushed = Flushed();
  uint64_t total_returned = 0, total_flushed = 0;
  for (int id = 1; id <= kDocuments; ++id) {
    const uint64_t returned = shared_->returned[id];
    const auto it = flushed.find(id);
    const uint64_t got = it == flushed.end() ? 0 : it->second;
    EXPECT_GE(got, returned) << "document " << id;
    total_returned += returned;
    total_flushed += got;
  }
  // A client killed inside doc_touch may have counted the access it was
  // making before it could return.
  EXPECT_LE(total_flushed, total_returned + static_cast<uint64_t>(kills));
  EXPECT_EQ(db_->Value("SELECT doc_touch(1)"), "1") << "a lock stayed held";
}

TEST_F(AccessTest, WithoutASidecarAFullTableIsFlushedByTheClient) {
  // 16 slots per shard, 3000 documents touched twice: the clients must flush.
  const std::string output = RunShell(
      "DOCSTORE_PENDING_SLOTS=16", dir_ / "small.db",
      "SELECT docstore_init();"
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)"
      "  INSERT INTO documents(id, title) SELECT i, 'd' FROM n;"
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000)"
      "  SELECT sum(doc_touch(1 + i % 3000)) FROM n;"
      "SELECT doc_flush() >= 0;"
      "SELECT count(*), sum(access_count), min(access_count) FROM document_access;"
      "SELECT CAST(value AS INTEGER) > 10 FROM docstore_stats WHERE name = 'inline_flushes';"
      "SELECT CAST(value AS INTEGER) < 1000 FROM docstore_stats WHERE name = 'pending_capacity';"
      "SELECT value FROM docstore_stats WHERE name = 'segment';");
  const size_t segment = output.rfind("/docstore-");
  ASSERT_NE(segment, std::string::npos) << output;
  EXPECT_EQ(output.substr(0, segment), docstore_test::kSchemaVersion + "\n6000\n1\n3000|6000|2\n1\n1\n");
  docstore_test::RemoveSegment(output.substr(segment, output.size() - segment - 1));
}

TEST_F(AccessTest, ClientsFillingTheTableAnotherJustFlushedStillCountEveryAccess) {
  // A small pending table, no sidecar, three clients touching 3000 documents:
  // while a client's inline flush writes the table it froze, the others fill
  // the one it switched to, so its access may find that one full too. It
  // must flush again rather than fail ("still full after a flush", which
  // scripts/soak met).
  constexpr int kClients = 3, kTouches = 30000, kMany = 3000;
  // Made by a shell, whose process reads DOCSTORE_PENDING_SLOTS (this one
  // has settled its settings); unkeyed, as the shell cannot key it.
  const fs::path contended = dir_ / "contended.db";
  RunShell("DOCSTORE_PENDING_SLOTS=64", contended,
           "PRAGMA journal_mode = WAL; SELECT docstore_init();"
           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
               std::to_string(kMany) + ") INSERT INTO documents(id, title) SELECT i, 'd' FROM n;"
               "SELECT doc_touch(1);");
  Database setup(contended, true, /*keyed=*/false);
  ASSERT_LT(std::stoull(setup.Value("SELECT value FROM docstore_stats WHERE name = 'pending_capacity'")), 1000u);
  std::vector<pid_t> clients;
  for (int c = 0; c < kClients; ++c) {
    const pid_t pid = fork();
    if (pid == 0) {
      alarm(120);
      int failures = 0;
      {
        Database db(contended, true, /*keyed=*/false);
        sqlite3_stmt* touch = nullptr;
        sqlite3_prepare_v2(db.handle(), "SELECT doc_touch(?1)", -1, &touch, nullptr);
        std::mt19937 rng(static_cast<unsigned>(300 + c));
        for (int i = 0; i < kTouches; ++i) {
          sqlite3_bind_int(touch, 1, 1 + static_cast<int>(rng() % kMany));
          if (sqlite3_step(touch) != SQLITE_ROW || sqlite3_column_int(touch, 0) != 1) {
            if (failures++ == 0) std::fprintf(stderr, "client %d: %s\n", c, sqlite3_errmsg(db.handle()));
          }
          sqlite3_reset(touch);
        }
        sqlite3_finalize(touch);
      }
      _exit(failures == 0 ? 0 : 1);
    }
    clients.push_back(pid);
  }
  for (pid_t pid : clients) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a doc_touch failed (its error is above)";
  }
  setup.Value("SELECT doc_flush()");
  EXPECT_EQ(setup.Value("SELECT sum(access_count) FROM document_access"),
            std::to_string(1 + kClients * kTouches));
  EXPECT_GT(std::stoull(setup.Value("SELECT value FROM docstore_stats WHERE name = 'inline_flushes'")), 10u);
  docstore_test::RemoveSegment(setup.Value("SELECT value FROM docstore_stats WHERE name = 'segment'"));
}

TEST_F(AccessTest, ABusyDatabaseKeepsAccessesPendingUntilItClearsAndAReadOnlyOneCountsNone) {
  for (int i = 0; i < 5; ++i) db_->Value("SELECT doc_touch(7)");
  // Another connection holds the write lock.
  Database writer(path());
  writer.Exec("PRAGMA busy_timeout = 0");
  writer.Exec("BEGIN IMMEDIATE");
  sqlite3_busy_timeout(db_->handle(), 0);
  docstore_test::QueryResult r = db_->Query("SELECT doc_flush()");
  EXPECT_NE(r.error.find("locked"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("stay pending"), std::string::npos) << r.error;
  EXPECT_EQ(RunSidecarOnce(), 1);
  EXPECT_EQ(db_->Value("SELECT sum(count) FROM docstore_pending"), "5");
  writer.Exec("COMMIT");
  // A read-only connection counts no accesses (they could never be
  // written from there) and says so; its doc_flush has nothing to write.
  {
    sqlite3* readonly = nullptr;
    ASSERT_EQ(sqlite3_open_v2(path().c_str(), &readonly, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
#ifdef DOCSTORE_TEST_SQLCIPHER
    sqlite3_exec(readonly, ("PRAGMA key = " + docstore_test::TestKeyLiteral()).c_str(), nullptr, nullptr, nullptr);
#endif
    sqlite3_enable_load_extension(readonly, 1);
    ASSERT_EQ(sqlite3_load_extension(readonly, DOCSTORE_EXTENSION_PATH, nullptr, nullptr), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(readonly, "SELECT doc_touch(7), doc_flush()", -1, &stmt, nullptr);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_ROW) << sqlite3_errmsg(readonly);
    EXPECT_EQ(sqlite3_column_int(stmt, 1), 0);
    sqlite3_finalize(stmt);
    sqlite3_prepare_v2(readonly, "SELECT value FROM docstore_stats WHERE name = 'access_counting'", -1, &stmt, nullptr);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    EXPECT_NE(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))).find("read-only"),
              std::string::npos);
    sqlite3_finalize(stmt);
    sqlite3_close(readonly);
  }
  EXPECT_EQ(db_->Value("SELECT sum(count) FROM docstore_pending"), "5");
  EXPECT_GE(std::stoull(db_->Value("SELECT value FROM docstore_stats WHERE name = 'flush_failures'")), 2u);
  sqlite3_busy_timeout(db_->handle(), 5000);
  db_->Value("SELECT doc_flush()");
  EXPECT_EQ(db_->Value("SELECT access_count FROM document_access WHERE doc_id = 7"), "5");
  EXPECT_NE(db_->Value("SELECT doc_get(7)").find("\"access_count\":5"), std::string::npos);
}

#ifdef DOCSTORE_TEST_SQLCIPHER
// A database keyed the way an application may key it: `key_sql` right after
// opening, before the first read. Five accesses to document 1 pending.
void MakeKeyedDatabase(const fs::path& file, const std::string& key_sql) {
  Database db(file, /*load=*/false, /*keyed=*/false);
  db.Exec(key_sql);
  db.Load();
  db.Value("SELECT docstore_init()");
  db.Exec("INSERT INTO documents(id, title) VALUES (1, 'd')");
  for (int i = 0; i < 5; ++i) db.Value("SELECT doc_touch(1)");
}

// docstore-sidecar --once on `file`, the key from `key`'s text in an
// owner-only file: its exit code, and what it printed after `output`.
int SidecarOnce(const fs::path& file, const std::string& key, const std::string& options, std::string* output) {
  const fs::path key_file = file.string() + ".key";
  std::ofstream(key_file) << key << "\n";
  fs::permissions(key_file, fs::perms::owner_read | fs::perms::owner_write);
  std::string command = std::string(DOCSTORE_SIDECAR_PATH) + " --once --key-file " + key_file.string() + " " + options;
  for (const char* arg : kSidecarCipherArgs) command += std::string(" ") + arg;
  int exit_code = -1;
  *output = RunCommand(command + " " + file.string(), &exit_code);
  return exit_code;
}

// document 1's flushed access count in `file`, opened with `key_sql`; its
// segment removed.
std::string FlushedCountOfDocument1(const fs::path& file, const std::string& key_sql) {
  Database db(file, /*load=*/false, /*keyed=*/false);
  db.Exec(key_sql);
  db.Load();
  const std::string count = db.Value("SELECT access_count FROM document_access WHERE doc_id = 1");
  docstore_test::RemoveSegment(db.Value("SELECT value FROM docstore_stats WHERE name = 'segment'"));
  return count;
}

TEST_F(AccessTest, TheSidecarOpensWithTheApplicationsCipherSettings) {
  std::string output;
  // A passphrase and this line's default settings (the sidecar's SQLCipher 4
  // reads a SQLCipher 3 file with --cipher-compatibility 3, kSidecarCipherArgs).
  const fs::path plain_key = dir_ / "default.db";
  MakeKeyedDatabase(plain_key, "PRAGMA key = 'default key'");
  EXPECT_EQ(SidecarOnce(plain_key, "default key", "", &output), 0) << output;
  EXPECT_EQ(FlushedCountOfDocument1(plain_key, "PRAGMA key = 'default key'"), "5");
  // A passphrase with fewer KDF iterations and larger pages than the defaults.
  const fs::path tuned = dir_ / "tuned.db";
  const std::string tuned_key = "PRAGMA key = 'tuned key'; PRAGMA kdf_iter = 1000; PRAGMA cipher_page_size = 8192";
  MakeKeyedDatabase(tuned, tuned_key);
  EXPECT_EQ(SidecarOnce(tuned, "tuned key", "", &output), 1);
  EXPECT_NE(output.find("wrong key or cipher settings?"), std::string::npos) << output;
  // SQLCipher's own log lines about the failed page are not printed.
  EXPECT_EQ(output.find("ERROR CORE"), std::string::npos) << output;
  EXPECT_EQ(SidecarOnce(tuned, "tuned key", "--kdf-iter 1000 --cipher-page-size 8192", &output), 0) << output;
  EXPECT_EQ(FlushedCountOfDocument1(tuned, tuned_key), "5");
  // A raw 256-bit key: no key derivation at all.
  const std::string hex = "2dd29ca851e7b56e4697b0e1f08507293d761a05ce4d1b628663f411a8086d99";
  const fs::path raw = dir_ / "raw.db";
  const std::string raw_key = "PRAGMA key = \"x'" + hex + "'\"";
  MakeKeyedDatabase(raw, raw_key);
  EXPECT_EQ(SidecarOnce(raw, hex.substr(1), "--raw-key", &output), 1);
  EXPECT_NE(output.find("--raw-key: the key must be 64 hex digits (256 bits), or 96 with the salt; it has 63 digits"),
            std::string::npos)
      << output;
  EXPECT_EQ(SidecarOnce(raw, hex, "--raw-key", &output), 0) << output;
  EXPECT_EQ(FlushedCountOfDocument1(raw, raw_key), "5");
}
#endif

TEST_F(AccessTest, TheSidecarRefusesAKeyFileOthersCanReadOrItsGroupCanChange) {
  const fs::path key = dir_ / "key";
  std::ofstream(key) << "k\n";
  auto sidecar_with_key_mode = [&](fs::perms mode, int* exit_code) {
    fs::permissions(key, mode);
    return RunCommand(std::string(DOCSTORE_SIDECAR_PATH) + " --once --key-file " + key.string() + " " + path().string(),
                      exit_code);
  };
  constexpr fs::perms kOwner = fs::perms::owner_read | fs::perms::owner_write;
  int exit_code = 0;
  std::string output = sidecar_with_key_mode(kOwner | fs::perms::group_read | fs::perms::others_read, &exit_code);
  EXPECT_EQ(exit_code, 1);
  EXPECT_NE(output.find("can be read by others (mode 644)"), std::string::npos) << output;
  output = sidecar_with_key_mode(kOwner | fs::perms::group_read | fs::perms::group_write, &exit_code);
  EXPECT_EQ(exit_code, 1);
  EXPECT_NE(output.find("can be changed by its group (mode 660)"), std::string::npos) << output;
  // 0640, as Debian keeps a service's secrets: the key is read (whether it
  // opens this database is another matter).
  output = sidecar_with_key_mode(kOwner | fs::perms::group_read, &exit_code);
  EXPECT_EQ(output.find("the key file"), std::string::npos) << output;
}

}  // namespace
