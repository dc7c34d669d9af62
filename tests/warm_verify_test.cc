// The warm start (docstore_cache_warm, docstore-sidecar --warm) and the
// divergence audit (docstore_verify) against real database files and a real
// sidecar process. Built three times like cache_test (SQLite; keyed on
// SQLCipher 3 with docstore_sqlcipher.so and on SQLCipher 4, where entries
// are sealed); ctest runs it with a 4 MiB cache and 256 KiB entries.
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_database.h"

namespace {

namespace fs = std::filesystem;
using docstore_test::Database;
using docstore_test::RunCommand;
using docstore_test::RunShell;

constexpr int kDocuments = 20;

// The sidecar is linked with SQLCipher 4: a SQLCipher 3 database needs the
// setting its application would apply.
#ifdef DOCSTORE_TEST_SQLCIPHER3
constexpr const char* kSidecarCipherArgs = " --cipher-compatibility 3";
#else
constexpr const char* kSidecarCipherArgs = "";
#endif

class WarmVerifyTest : public ::testing::Test {
 protected:
  // kDocuments documents; document i was accessed 100 - i times, so 1 is
  // the most accessed.
  void SetUp() override {
    dir_ = docstore_test::ScratchDirectory("warm");
    db_.emplace(path());
    db_->Exec("PRAGMA journal_mode = WAL");
    db_->Value("SELECT docstore_init()");
    db_->Exec("BEGIN");
    for (int id = 1; id <= kDocuments; ++id) {
      db_->Exec("INSERT INTO documents(id, title, content) VALUES (" + std::to_string(id) + ", 'title " +
                std::to_string(id) + "', 'content " + std::to_string(id) + "')");
      db_->Exec("INSERT INTO document_access(doc_id, access_count) VALUES (" + std::to_string(id) + ", " +
                std::to_string(100 - id) + ")");
    }
    db_->Exec("COMMIT");
  }
  void TearDown() override {
    const std::string segment = Stat("segment");
    db_.reset();
    docstore_test::RemoveSegment(segment);
    fs::remove_all(dir_);
  }
  fs::path path() const { return dir_ / "docs.db"; }

  std::string Stat(const std::string& name) {
    return db_->Value("SELECT value FROM docstore_stats WHERE name = '" + name + "'");
  }
  long StatNumber(const std::string& name) { return std::strtol(Stat(name).c_str(), nullptr, 10); }
  std::string CachedIds() { return db_->Value("SELECT group_concat(id) FROM (SELECT id FROM docstore_cache ORDER BY id)"); }
  // docstore_verify's rows as "id cached_version database_version reason;".
  std::string Divergences() {
    const docstore_test::QueryResult r =
        db_->Query("SELECT id, cached_version, database_version, reason FROM docstore_verify ORDER BY id");
    EXPECT_EQ(r.rc, SQLITE_OK) << r.error;
    std::string out;
    for (const auto& row : r.rows) {
      for (const auto& value : row) out += value.value_or("NULL") + " ";
      out.back() = ';';
    }
    return out;
  }
  // The sidecar's options for this build's key: the test key in an
  // owner-only file ("" for an unkeyed database).
  std::string SidecarKeyOptions() {
#ifdef DOCSTORE_TEST_SQLCIPHER
    const fs::path key_file = dir_ / "key";
    std::ofstream(key_file) << docstore_test::kTestKeyHex << "\n";
    fs::permissions(key_file, fs::perms::owner_read | fs::perms::owner_write);
    return " --key-file " + key_file.string() + " --raw-key" + kSidecarCipherArgs;
#else
    return "";
#endif
  }
  // Drops the segment (a reboot, as far as the cache can tell), and opens
  // the database anew.
  void Reboot() {
    docstore_test::RemoveSegment(Stat("segment"));
    db_.reset();
    db_.emplace(path());
  }

  fs::path dir_;
  std::optional<Database> db_;
};

TEST_F(WarmVerifyTest, WarmLoadsTheMostAccessedDocumentsAndCountsNoAccess) {
  Reboot();
  EXPECT_EQ(db_->Value("SELECT docstore_cache_warm(3)"), "3");
  EXPECT_EQ(CachedIds(), "1,2,3");
  EXPECT_EQ(StatNumber("accesses_recorded"), 0);  // a warm load is not an access
  EXPECT_EQ(StatNumber("hits"), 0);
  // Top-up: what is cached stays, the rest is loaded.
  EXPECT_EQ(db_->Value("SELECT docstore_cache_warm(5)"), "2");
  EXPECT_EQ(CachedIds(), "1,2,3,4,5");
  EXPECT_EQ(db_->Value("SELECT docstore_cache_warm(0)"), "0");
  // What it loaded is what doc_get serves, as a hit.
  const std::string json = db_->Value("SELECT doc_get(2)");
  EXPECT_NE(json.find("\"content\":\"content 2\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"access_count\":98"), std::string::npos) << json;
  EXPECT_EQ(StatNumber("hits"), 1);
  // More than there are: every ranked one.
  EXPECT_EQ(db_->Value("SELECT docstore_cache_warm(1000)"), std::to_string(kDocuments - 5));
  EXPECT_EQ(Divergences(), "");
}

TEST_F(WarmVerifyTest, WarmedEntriesAreInvalidatedByWritesLikeAnyFill) {
  EXPECT_EQ(db_->Value("SELECT docstore_cache_warm(2)"), "2");
  Database plain(path(), /*load=*/false);  // a writer without docstore
  plain.Exec("UPDATE documents SET content = 'changed' WHERE id = 1");
  plain.Exec("DELETE FROM documents WHERE id = 2");
  EXPECT_NE(db_->Value("SELECT doc_get(1)").find("\"content\":\"changed\""), std::string::npos);
  EXPECT_EQ(db_->Value("SELECT doc_get(2)"), "NULL");
  EXPECT_EQ(Divergences(), "");
}

TEST_F(WarmVerifyTest, WarmRefusesWhatIsNotACount) {
  for (const char* n : {"NULL", "'5'", "-1", "1.5", "x'05'"}) {
    const docstore_test::QueryResult r = db_->Query(std::string("SELECT docstore_cache_warm(") + n + ")");
    EXPECT_NE(r.rc, SQLITE_OK) << n;
    EXPECT_EQ(r.error,
              "docstore_cache_warm: expected N, how many of the most accessed documents to load, as a non-negative "
              "integer")
        << n;
  }
  EXPECT_EQ(db_->Value("SELECT docstore_cache_warm(2.0)"), "2");  // a REAL holding an integer, as Node binds it
}

TEST_F(WarmVerifyTest, WarmSaysWhyWhenThereIsNoCacheToFill) {
  Database plain(dir_ / "plain.db", /*load=*/true, /*keyed=*/false);
  plain.Value("SELECT docstore_init()");
  plain.Exec("INSERT INTO documents(title, content) VALUES ('a', 'b')");
  const std::string warm_off = RunShell("DOCSTORE_CACHE=off", dir_ / "plain.db", "SELECT docstore_cache_warm(1)");
  EXPECT_NE(warm_off.find("docstore_cache_warm: cannot warm the cache: reads off (DOCSTORE_CACHE=off)"),
            std::string::npos)
      << warm_off;
  const std::string verify_off = RunShell("DOCSTORE_CACHE=off", dir_ / "plain.db", "SELECT * FROM docstore_verify");
  EXPECT_NE(verify_off.find("docstore_verify: this process cannot read the cache's entries: reads off"),
            std::string::npos)
      << verify_off;
  const std::string memory = RunCommand(
#ifdef DOCSTORE_TEST_SQLCIPHER3
      std::string("sqlcipher") +
#else
      std::string("sqlite3") +
#endif
      " -batch :memory: '.load " DOCSTORE_EXTENSION_PATH "' 'SELECT docstore_init()' 'SELECT docstore_cache_warm(1)'");
  EXPECT_NE(memory.find("docstore_cache_warm: cannot warm the cache: no shared cache for this database: off: an "
                        "in-memory or temporary database has nothing to share"),
            std::string::npos)
      << memory;
  docstore_test::RemoveSegment(plain.Value("SELECT value FROM docstore_stats WHERE name = 'segment'"));
}

// ctest's cache is 4 MiB: 40 documents of 150 KB do not fit.
TEST_F(WarmVerifyTest, WarmStopsWhenTheCacheBeginsToEvict) {
  db_->Exec("UPDATE documents SET content = printf('%.*c', 150000, 'x')");
  db_->Exec("INSERT INTO documents(id, title, content) SELECT id + 100, title, content FROM documents");
  db_->Exec("INSERT INTO document_access(doc_id, access_count) SELECT id, 1 FROM documents WHERE id > 100");
  Reboot();
  const long loaded = std::strtol(db_->Value("SELECT docstore_cache_warm(40)").c_str(), nullptr, 10);
  EXPECT_GT(loaded, 0);
  EXPECT_LT(loaded, 40);
  // It stopped at the first fill that evicted: one entry went, the others
  // it loaded are there.
  EXPECT_EQ(StatNumber("evictions"), 1);
  EXPECT_EQ(StatNumber("entries"), loaded - 1);
}

TEST_F(WarmVerifyTest, VerifyIsEmptyWhenEveryWriteWentThroughTheLog) {
  for (int id = 1; id <= kDocuments; ++id) db_->Value("SELECT doc_get(" + std::to_string(id) + ")");
  Database plain(path(), /*load=*/false);
  plain.Exec("UPDATE documents SET title = 'new' WHERE id IN (1, 2)");
  plain.Exec("DELETE FROM documents WHERE id = 3");
  // (SQLite 3.15 has no json_valid() for the metadata CHECK without docstore.)
  db_->Exec("INSERT INTO documents(id, title, content) VALUES (3, 'again', 'reinserted')");
  // Not yet applied to the cache (docstore_verify cannot catch up: its own
  // statement holds a snapshot): entries waiting for an invalidation are no
  // divergence.
  EXPECT_EQ(Divergences(), "");
  for (int id = 1; id <= kDocuments; ++id) db_->Value("SELECT doc_get(" + std::to_string(id) + ")");
  EXPECT_EQ(Divergences(), "");
}

// A write that bypasses the triggers (a forged file, a tool that dropped
// them): the cache keeps what the log never said changed.
TEST_F(WarmVerifyTest, VerifyListsEntriesTheLogNeverInvalidated) {
  EXPECT_EQ(db_->Value("SELECT docstore_cache_warm(5)"), "5");
  db_->Exec("DROP TRIGGER documents_cache_update");
  db_->Exec("DROP TRIGGER documents_cache_delete");
  db_->Exec("UPDATE documents SET content = 'forged' WHERE id = 1");  // version 1 -> 2
  db_->Exec("DELETE FROM documents WHERE id = 2");
  db_->Exec("DROP TRIGGER documents_version_bump");
  db_->Exec("UPDATE documents SET content = 'forged' WHERE id = 3");  // version stays 1
  // Only once the cache has caught up with every commit can an audit inside
  // SQL's snapshot prove a divergence: a read does that.
  EXPECT_EQ(Divergences(), "");
  db_->Value("SELECT doc_get(20)");
  EXPECT_EQ(Divergences(), "1 1 2 stale;2 1 NULL deleted;3 1 1 bytes differ;");
  EXPECT_EQ(db_->Value("SELECT docstore_cache_clear()"), "6");
  EXPECT_EQ(Divergences(), "");
}

// --warm: the sidecar makes the segment no client made yet, and warms it.
TEST_F(WarmVerifyTest, SidecarWarmCreatesTheSegmentAndLoadsTheMostAccessed) {
  Reboot();
  const std::string command = std::string(DOCSTORE_SIDECAR_PATH) + " --once --warm 4" + SidecarKeyOptions();
  int exit_code = -1;
  const std::string output = RunCommand(command + " " + path().string(), &exit_code);
  EXPECT_EQ(exit_code, 0) << output;
  EXPECT_NE(output.find("--warm: loaded 4 of the 4 most accessed documents (0 were cached already)"),
            std::string::npos)
      << output;
  db_.reset();
  db_.emplace(path());
  EXPECT_EQ(CachedIds(), "1,2,3,4");
  EXPECT_EQ(Divergences(), "");
  const long hits = StatNumber("hits");  // docstore_verify's reads count as hits
  EXPECT_NE(db_->Value("SELECT doc_get(4)").find("\"content\":\"content 4\""), std::string::npos);
  EXPECT_EQ(StatNumber("hits"), hits + 1);
  EXPECT_EQ(StatNumber("accesses_recorded"), 1);  // doc_get's, not the warm's
#ifdef DOCSTORE_TEST_SQLCIPHER
  EXPECT_EQ(Stat("cache_status"), "on (entries sealed with AES-256-GCM)");
#endif
  // The segment belongs to the database's owner, as a client's would.
  struct stat segment;
  ASSERT_EQ(stat(("/dev/shm" + Stat("segment")).c_str(), &segment), 0);
  EXPECT_EQ(segment.st_uid, geteuid());
  EXPECT_EQ(segment.st_mode & 0777, 0600u);
}

// Without --once: it warms from its flush loop and flushes all along.
TEST_F(WarmVerifyTest, ARunningSidecarWarmsAndFlushes) {
  Reboot();
  const std::string command =
      std::string("exec ") + DOCSTORE_SIDECAR_PATH + " --interval-ms 5 --warm 3" + SidecarKeyOptions();
  const fs::path log = dir_ / "sidecar.log";
  const pid_t sidecar = fork();
  if (sidecar == 0) {
    execl("/bin/sh", "sh", "-c", (command + " " + path().string() + " 2>" + log.string()).c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  // Once its warm is said to be done, its entries are there.
  auto log_text = [&log] {
    std::ifstream in(log);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  for (int i = 0; i < 3000 && log_text().find("--warm:") == std::string::npos; ++i) usleep(10000);
  EXPECT_NE(log_text().find("--warm: loaded 3 of the 3 most accessed documents"), std::string::npos) << log_text();
  db_.reset();
  db_.emplace(path());
  EXPECT_EQ(CachedIds(), "1,2,3");
  // It flushes: doc_get's access reaches document_access.
  db_->Value("SELECT doc_get(1)");
  kill(sidecar, SIGTERM);
  int status = 0;
  waitpid(sidecar, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << log_text();
  EXPECT_EQ(db_->Value("SELECT access_count FROM document_access WHERE doc_id = 1"), "100");
}

TEST_F(WarmVerifyTest, SidecarWarmRefusesABadCount) {
  int exit_code = -1;
  const std::string output =
      RunCommand(std::string(DOCSTORE_SIDECAR_PATH) + " --warm -3 " + path().string(), &exit_code);
  EXPECT_EQ(exit_code, 2);
  EXPECT_NE(output.find("--warm must be a number from 1 to"), std::string::npos) << output;
}

}  // namespace
