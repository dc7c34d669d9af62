// doc_get through the shared cache (DESIGN.md invariants 1, 4, 5, 6), single
// process and forked children, against real database files. Built three
// times like extension_test: with SQLite and docstore.so, and on keyed
// databases (sealed entries) with SQLCipher 3 and docstore_sqlcipher.so and
// with SQLCipher 4 and docstore.so. ctest runs it with a 4 MiB cache and
// 256 KiB entries (tests/CMakeLists.txt).
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "test_database.h"

namespace {

namespace fs = std::filesystem;
using docstore_test::Database;
using docstore_test::RunCommand;
using docstore_test::RunShell;

// cache_test run with this variable set to a keyed database's path is the
// "second process" of the keyed test below: it prints whether its doc_get(1)
// was one hit, then the document, and exits before any test runs.
constexpr const char* kSecondProcessVariable = "DOCSTORE_TEST_SECOND_PROCESS";

int ReadAsASecondProcess(const char* path) {
  sqlite3* db = nullptr;
  sqlite3_open(path, &db);
  std::string key_sql = "PRAGMA key = " + docstore_test::TestKeyLiteral();
  sqlite3_exec(db, key_sql.c_str(), nullptr, nullptr, nullptr);
  sqlite3_enable_load_extension(db, 1);
  sqlite3_load_extension(db, DOCSTORE_EXTENSION_PATH, nullptr, nullptr);
  auto text = [db](const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string value = "<error: ";
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* column = sqlite3_column_text(stmt, 0);
      value = column != nullptr ? reinterpret_cast<const char*>(column) : "NULL";
    } else {
      value += std::string(sqlite3_errmsg(db)) + ">";
    }
    sqlite3_finalize(stmt);
    return value;
  };
  const char* hits_sql = "SELECT value FROM docstore_stats WHERE name = 'hits'";
  const long before = std::strtol(text(hits_sql).c_str(), nullptr, 10);
  const std::string json = text("SELECT doc_get(1)");
  const long after = std::strtol(text(hits_sql).c_str(), nullptr, 10);
  std::printf("hits +%ld\n%s\n", after - before, json.c_str());
  sqlite3_close(db);
  return 0;
}

[[maybe_unused]] const int kSecondProcess = [] {
  if (const char* path = std::getenv(kSecondProcessVariable)) std::exit(ReadAsASecondProcess(path));
  return 0;
}();

// Keyed databases' entries are sealed: a 12-byte nonce and a 16-byte tag.
#ifdef DOCSTORE_TEST_SQLCIPHER
constexpr const char* kCacheOn = "on (entries sealed with AES-256-GCM)";
constexpr size_t kSealBytes = 28;
#else
constexpr const char* kCacheOn = "on";
constexpr size_t kSealBytes = 0;
#endif

class CacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = docstore_test::ScratchDirectory("cache");
    db_.emplace(path());
    db_->Exec("PRAGMA journal_mode = WAL");
    db_->Value("SELECT docstore_init()");
    db_->Exec("INSERT INTO documents(id, title, content) VALUES (1, 'one', 'first'), (2, 'two', 'second')");
  }
  void TearDown() override {
    const std::string segment = Stat("segment");
    db_.reset();
    docstore_test::RemoveSegment(segment);
    fs::remove_all(dir_);
  }
  fs::path path() const { return dir_ / "docs.db"; }

  std::string Stat(const std::string& name, Database* db = nullptr) {
    if (db == nullptr) db = &*db_;
    return db->Value("SELECT value FROM docstore_stats WHERE name = '" + name + "'");
  }
  long StatNumber(const std::string& name) { return std::strtol(Stat(name).c_str(), nullptr, 10); }
  std::string CachedCount(int id) {
    return db_->Value("SELECT count(*) FROM docstore_cache WHERE id = " + std::to_string(id));
  }

  fs::path dir_;
  std::optional<Database> db_;
};

TEST_F(CacheTest, ASecondReadIsServedFromTheSegment) {
  const std::string first = db_->Value("SELECT doc_get(1)");
  EXPECT_EQ(Stat("cache_status"), kCacheOn);
  const long hits = StatNumber("hits");
  EXPECT_EQ(db_->Value("SELECT doc_get(1)"), first);
  EXPECT_EQ(StatNumber("hits"), hits + 1);
  docstore_test::QueryResult r =
      db_->Query("SELECT id, bytes, version, recency, referenced FROM docstore_cache WHERE id = 1");
  ASSERT_EQ(r.rows.size(), 1u);
  // The JSON before its access fields, plus an 81-byte trailer holding them
  // rendered (80 bytes of room and their length), the 8-byte fill time, and,
  // sealed, a nonce and a tag.
  const std::string fields = ",\"access_count\":0,\"last_accessed\":null}";
  ASSERT_EQ(first.substr(first.size() - fields.size()), fields);
  EXPECT_EQ(std::stoul(r.rows[0][1].value()) - kSealBytes, first.size() - fields.size() + 81 + 8);
  EXPECT_EQ(r.rows[0][2].value(), "1");
  EXPECT_EQ(r.rows[0][4].value(), "1");
}

TEST_F(CacheTest, LookupByIdIsAnIndexedPlanNotAScan) {
  docstore_test::QueryResult r = db_->Query("EXPLAIN QUERY PLAN SELECT * FROM docstore_cache WHERE id = 1");
  ASSERT_FALSE(r.rows.empty());
  EXPECT_NE(r.rows[0].back().value().find("INDEX 1:"), std::string::npos) << r.rows[0].back().value();
  r = db_->Query("EXPLAIN QUERY PLAN SELECT * FROM docstore_cache");
  EXPECT_NE(r.rows[0].back().value().find("INDEX 0:"), std::string::npos) << r.rows[0].back().value();
  db_->Value("SELECT doc_get(2)");
  EXPECT_EQ(db_->Value("SELECT id FROM docstore_cache WHERE id = 2.0"), "2");
  EXPECT_EQ(db_->Value("SELECT count(*) FROM docstore_cache WHERE id = 'x'"), "0");
}

TEST_F(CacheTest, AWriteInvalidatesAndTheNextReadSeesIt) {
  Database other(path());
  EXPECT_NE(db_->Value("SELECT doc_get(1)").find("\"title\":\"one\""), std::string::npos);
  const long catch_ups = StatNumber("catch_ups");
  other.Exec("UPDATE documents SET title = 'uno' WHERE id = 1");
  EXPECT_NE(db_->Value("SELECT doc_get(1)").find("\"title\":\"uno\""), std::string::npos);
  EXPECT_EQ(StatNumber("catch_ups"), catch_ups + 1);  // the file said what changed
  EXPECT_EQ(db_->Value("SELECT version FROM docstore_cache WHERE id = 1"), "2");
  other.Exec("DELETE FROM documents WHERE id = 1");
  EXPECT_EQ(db_->Value("SELECT doc_get(1)"), "NULL");
}

TEST_F(CacheTest, ATransactionReadsItsOwnWritesAndRollbackLeavesNothingCached) {
  db_->Value("SELECT doc_get(1)");
  EXPECT_EQ(CachedCount(1), "1");
  db_->Exec("BEGIN");
  db_->Exec("UPDATE documents SET title = 'changed' WHERE id = 1");
  db_->Exec("INSERT INTO documents(id, title) VALUES (9, 'new')");
  EXPECT_NE(db_->Value("SELECT doc_get(1)").find("\"title\":\"changed\""), std::string::npos);
  EXPECT_NE(db_->Value("SELECT doc_get(9)").find("\"title\":\"new\""), std::string::npos);
  EXPECT_EQ(CachedCount(9), "0");  // nothing uncommitted is cached
  db_->Exec("ROLLBACK");
  EXPECT_EQ(db_->Value("SELECT group_concat(id || ':' || version) FROM docstore_cache"), "1:1");
  EXPECT_NE(db_->Value("SELECT doc_get(1)").find("\"title\":\"one\""), std::string::npos);
  EXPECT_EQ(db_->Value("SELECT doc_get(9)"), "NULL");
  EXPECT_GE(StatNumber("fills_skipped"), 2);
}

// A rolled-back write leaves no fence behind that stops fills: the writer's
// next read brings it down, and the document it fills is served to others.
TEST_F(CacheTest, FillsResumeAfterARolledBackWrite) {
  db_->Exec("BEGIN");
  db_->Exec("UPDATE documents SET title = 'rolled back' WHERE id = 1");
  db_->Exec("ROLLBACK");
  const std::string json = db_->Value("SELECT doc_get(1)");
  EXPECT_NE(json.find("\"title\":\"one\""), std::string::npos) << json;
  EXPECT_EQ(CachedCount(1), "1");
  const pid_t child = fork();
  if (child == 0) {
    int code = 1;
    {
      Database db(path());
      const long hits = std::strtol(db.Value("SELECT value FROM docstore_stats WHERE name = 'hits'").c_str(), nullptr, 10);
      const bool served = db.Value("SELECT doc_get(1)") == json;
      const long after = std::strtol(db.Value("SELECT value FROM docstore_stats WHERE name = 'hits'").c_str(), nullptr, 10);
      code = !served ? 2 : after != hits + 1 ? 3 : 0;
    }
    _exit(code);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "2: another document, 3: not a hit";
  // A write that commits afterwards still keeps the old version from being served.
  db_->Exec("UPDATE documents SET title = 'committed' WHERE id = 1");
  EXPECT_NE(db_->Value("SELECT doc_get(1)").find("committed"), std::string::npos);
}

TEST_F(CacheTest, AReadInsideAWritingStatementIsNotCached) {
  db_->Exec("CREATE TABLE copies(doc TEXT)");
  db_->Exec("UPDATE documents SET title = 'edited' WHERE id = 2");
  db_->Exec("INSERT INTO copies SELECT doc_get(2)");
  EXPECT_NE(db_->Value("SELECT doc FROM copies").find("edited"), std::string::npos);
  db_->Exec("UPDATE documents SET content = doc_get(1) WHERE id = 1");
  EXPECT_EQ(CachedCount(1), "0");
  EXPECT_NE(db_->Value("SELECT doc_get(1)").find("\"version\":2"), std::string::npos);
}

TEST_F(CacheTest, AnotherProcessServesWhatThisOneCached) {
  const std::string json = db_->Value("SELECT doc_get(2)");
  const pid_t child = fork();
  if (child == 0) {
    int code = 1;
    {
      Database db(path());
      const bool served = db.Value("SELECT doc_get(2)") == json &&
                          db.Value("SELECT referenced FROM docstore_cache WHERE id = 2") == "1";
      db.Exec("UPDATE documents SET title = 'from child' WHERE id = 2");
      code = served ? 0 : 2;
    }
    _exit(code);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(db_->Value("SELECT doc_get(2)").find("from child"), std::string::npos);
}

TEST_F(CacheTest, OneFileByTwoPathsSharesOneSegmentAndACopyDoesNot) {
  fs::create_symlink(path(), dir_ / "link.db");
  Database via_link(dir_ / "link.db");
  Database via_dots(dir_ / "." / "docs.db");
  const std::string segment = Stat("segment");
  EXPECT_EQ(Stat("segment", &via_link), segment);
  EXPECT_EQ(Stat("segment", &via_dots), segment);
  db_->Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  fs::copy_file(path(), dir_ / "copy.db");
  Database copy(dir_ / "copy.db");
  const std::string copy_segment = Stat("segment", &copy);
  EXPECT_NE(copy_segment, segment);
  docstore_test::RemoveSegment(copy_segment);
}

TEST_F(CacheTest, SegmentIsOwnerOnlyAndHasTheConfiguredSize) {
  struct stat st;
  ASSERT_EQ(stat(("/dev/shm" + Stat("segment")).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(Stat("segment_bytes"), "4194304");  // DOCSTORE_CACHE_BYTES
  EXPECT_EQ(Stat("max_entry_bytes"), "262144");
  const docstore_test::QueryResult r = db_->Query("SELECT docstore_cache_config(8388608, 65536)");
  EXPECT_NE(r.error.find("settings apply before the first use"), std::string::npos) << r.error;
}

TEST_F(CacheTest, SizesApplyToNewSegmentsAndTheFirstCreatorsSizeWins) {
  const std::string small = "DOCSTORE_CACHE_BYTES=1048576 DOCSTORE_CACHE_MAX_ENTRY_BYTES=65536";
  const std::string segment_bytes = "SELECT value FROM docstore_stats WHERE name = 'segment_bytes';";
  // A database's segment exists (4 MiB): a process asking for less joins it.
  // (Unkeyed databases throughout: the shell cannot key them.)
  {
    Database plain(dir_ / "plain.db", true, /*keyed=*/false);
    plain.Value("SELECT docstore_init()");
    const std::string segment = Stat("segment", &plain);
    EXPECT_EQ(RunShell(small, dir_ / "plain.db", segment_bytes), "4194304\n");
    docstore_test::RemoveSegment(segment);
  }
  // A new database gets the size of the process that creates its segment.
  EXPECT_EQ(RunShell(small, dir_ / "env.db", "SELECT docstore_init();" + segment_bytes),
            docstore_test::kSchemaVersion + "\n1048576\n");
  EXPECT_EQ(RunShell("", dir_ / "sql.db",
                     "SELECT docstore_cache_config(2097152, 65536) IS NOT NULL;"
                     "SELECT docstore_init();" + segment_bytes),
            "1\n" + docstore_test::kSchemaVersion + "\n2097152\n");
  EXPECT_NE(RunShell("DOCSTORE_CACHE_BYTES=lots", dir_ / "bad.db", "SELECT value FROM docstore_stats WHERE name = 'settings_error';")
                .find("DOCSTORE_CACHE_BYTES='lots' is not a byte count"),
            std::string::npos);
  for (const char* name : {"env.db", "sql.db"}) {
    Database db(dir_ / name, true, false);
    docstore_test::RemoveSegment(Stat("segment", &db));
  }
}

TEST_F(CacheTest, DocstoreStatsSaysWhyTheSegmentHasItsSize) {
  EXPECT_EQ(Stat("capacity_reason"), "DOCSTORE_CACHE_BYTES");
  EXPECT_EQ(Stat("database_path"), fs::canonical(path()).string());
  // Another process joins a segment: the size is its creator's. (Unkeyed:
  // the shell cannot key a database.)
  Database plain(dir_ / "plain.db", true, /*keyed=*/false);
  plain.Value("SELECT docstore_init()");
  const std::string segment = Stat("segment", &plain);
  EXPECT_EQ(Stat("capacity_reason", &plain), "DOCSTORE_CACHE_BYTES");
  EXPECT_EQ(RunShell("", dir_ / "plain.db", "SELECT value FROM docstore_stats WHERE name = 'capacity_reason';"),
            "the segment existed: its creator's size (DOCSTORE_CACHE_BYTES)\n");
  docstore_test::RemoveSegment(segment);
}

TEST_F(CacheTest, TheDefaultSizeFollowsTheDatabase) {
  // Neither size set: a small database gets the least segment that holds
  // four 1 MiB entries per shard, not 64 MiB.
  const std::string sizes =
      "SELECT docstore_init() > 0; SELECT doc_get(1) IS NULL;"
      "SELECT value FROM docstore_stats WHERE name = 'segment_bytes';"
      "SELECT value LIKE 'default: 2 x database size %.0 KiB, at least 1.0 MiB%' FROM docstore_stats"
      " WHERE name = 'capacity_reason';"
      "SELECT value LIKE '%, raised to 8.0 MiB to hold entries of up to 1.0 MiB' FROM docstore_stats"
      " WHERE name = 'capacity_reason';";
  EXPECT_EQ(RunShell("DOCSTORE_CACHE_BYTES= DOCSTORE_CACHE_MAX_ENTRY_BYTES=", dir_ / "small.db", sizes),
            "1\n1\n8388608\n1\n1\n");
  // With 64 KiB entries the 1 MiB floor holds.
  EXPECT_EQ(RunShell("DOCSTORE_CACHE_BYTES= DOCSTORE_CACHE_MAX_ENTRY_BYTES=65536", dir_ / "smaller.db", sizes),
            "1\n1\n1048576\n1\n0\n");
  for (const char* name : {"small.db", "smaller.db"}) {
    Database db(dir_ / name, true, false);
    docstore_test::RemoveSegment(Stat("segment", &db));
  }
}

TEST_F(CacheTest, CacheConfigSaysWhichSettingsApply) {
  const fs::path db = dir_ / "config.db";
  // RunShell puts the SQL inside double quotes.
  auto quoted = [](std::string sql) {
    for (size_t at = 0; (at = sql.find('"', at)) != std::string::npos; at += 2) sql.insert(at, 1, '\\');
    return sql;
  };
  const std::string made = RunShell("", db, quoted(
                                    "SELECT docstore_init();"
                                    "SELECT docstore_cache_config(2097152, 65536, 0) LIKE "
                                    "'%\"in_force\":{%\"segment_bytes\":2097152,%made by this process with these settings%';"));
  EXPECT_EQ(made, docstore_test::kSchemaVersion + "\n1\n");
  // Asked for by a process that finds the segment made: the creator's stay,
  // and the answer says so.
  const std::string joined = RunShell("", db, quoted(
                                      "SELECT docstore_cache_config(4194304, 65536, 1000) LIKE "
                                      "'{\"capacity_bytes\":4194304,%\"ttl_ms\":1000,\"in_force\":{%\"segment_bytes\":"
                                      "2097152,%\"ttl_ms\":0,%its creator''s settings are in force%later\"}';"
                                      "SELECT value FROM docstore_stats WHERE name = 'segment_bytes';"));
  EXPECT_EQ(joined, "1\n2097152\n");
  // Once this process uses a segment, setting them is an error naming what
  // is in force.
  const std::string late = RunShell("", db,
                                    "SELECT doc_get(1) IS NULL; SELECT docstore_cache_config(4194304, 65536);");
  EXPECT_NE(late.find("; in force for this database: {\"segment\":"), std::string::npos) << late;
  EXPECT_NE(late.find("\"segment_bytes\":2097152"), std::string::npos) << late;
  EXPECT_NE(late.find("settings apply before the first use"), std::string::npos) << late;
  Database handle(db, true, false);
  docstore_test::RemoveSegment(Stat("segment", &handle));
}

TEST_F(CacheTest, AnEntryOlderThanTheSegmentsTtlIsReadAgain) {
  const fs::path db = dir_ / "ttl.db";
  const std::string stats =
      "SELECT name || '=' || value FROM docstore_stats WHERE name IN ('ttl_ms', 'ttl_expired', 'hits') ORDER BY name;";
  // The creator's TTL (50 ms) is the segment's: a fill, then (sooner than
  // 50 ms or not) a hit or an expiry.
  const std::string first = RunShell("DOCSTORE_CACHE_TTL_MS=50", db,
                                     "SELECT docstore_init();"
                                     "INSERT INTO documents(id, title) VALUES (1, 'one');"
                                     "SELECT doc_get(1) IS NOT NULL;" + stats);
  EXPECT_EQ(first, docstore_test::kSchemaVersion + "\n1\nhits=0\nttl_expired=0\nttl_ms=50\n");
  usleep(200 * 1000);  // past the TTL: what follows holds however long it took
  // A process without the variable reads the same TTL; the entry, older
  // than it, is a miss, erased, and filled again.
  const std::string second = RunShell("", db,
                                      "SELECT doc_get(1) IS NOT NULL;"
                                      "SELECT count(*) FROM docstore_cache WHERE id = 1;" + stats);
  EXPECT_EQ(second, "1\n1\nhits=0\nttl_expired=1\nttl_ms=50\n");
  Database handle(db, true, false);
  docstore_test::RemoveSegment(Stat("segment", &handle));
}

TEST_F(CacheTest, AnEntryLargerThanTheLimitIsServedFromTheDatabase) {
  const std::string big(300 * 1024, 'x');
  db_->Exec("INSERT INTO documents(id, title, content) VALUES (3, 'big', '" + big + "')");
  for (int i = 0; i < 2; ++i) {
    EXPECT_NE(db_->Value("SELECT doc_get(3)").find(big), std::string::npos);
  }
  EXPECT_EQ(CachedCount(3), "0");
  EXPECT_EQ(Stat("fills_refused_too_large"), "2");
}

TEST_F(CacheTest, AFullCacheEvictsAndStaysWithinItsCapacity) {
  db_->Exec("BEGIN");
  for (int id = 10; id < 2010; ++id) {
    db_->Exec("INSERT INTO documents(id, title, content) VALUES (" + std::to_string(id) +
              ", 't', printf('%.4000c', 'a') || '" + std::to_string(id) + "')");
  }
  db_->Exec("COMMIT");
  for (int round = 0; round < 2; ++round) {
    for (int id = 10; id < 2010; ++id) {
      const std::string json = db_->Value("SELECT doc_get(" + std::to_string(id) + ")");
      // (Appended, not "a" + to_string(): GCC 12 warns falsely on that, PR 105329.)
      std::string tail = "a";
      tail += std::to_string(id) + "\"";
      ASSERT_NE(json.find(tail), std::string::npos) << id;
    }
  }
  EXPECT_GT(StatNumber("evictions"), 0);
  EXPECT_LE(StatNumber("bytes_used"), StatNumber("capacity_bytes"));
  EXPECT_LT(StatNumber("capacity_bytes"), 4194304);
}

TEST_F(CacheTest, DocGetManyIsServedFromTheCacheToo) {
  db_->Value("SELECT doc_get(1)");
  const long hits = StatNumber("hits");
  EXPECT_EQ(db_->Value("SELECT count(doc) FROM doc_get_many('[1, 2, 1]')"), "3");
  EXPECT_EQ(StatNumber("hits"), hits + 2);  // 1 twice; 2 missed, then filled
  EXPECT_EQ(CachedCount(2), "1");
}

TEST_F(CacheTest, AnUnusableSegmentIsReportedAndReadsAndWritesStillWork) {
  const std::string json = db_->Value("SELECT doc_get(1)");
  const std::string shm_file = "/dev/shm" + Stat("segment");
  db_.reset();
  {
    const int fd = open(shm_file.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(pwrite(fd, "NOTMAGIC", 8, 0), 8);
    close(fd);
  }
  db_.emplace(path());
  EXPECT_EQ(db_->Value("SELECT doc_get(1)"), json);
  EXPECT_NE(Stat("cache_status").find("not a shmcache segment"), std::string::npos) << Stat("cache_status");
  db_->Exec("UPDATE documents SET title = 'written uncached' WHERE id = 1");
  EXPECT_NE(db_->Value("SELECT doc_get(1)").find("\"title\":\"written uncached\""), std::string::npos);
  // Once the damaged segment is gone, a new connection makes a new one.
  db_.reset();
  unlink(shm_file.c_str());
  db_.emplace(path());
  EXPECT_NE(db_->Value("SELECT doc_get(1)").find("\"title\":\"written uncached\""), std::string::npos);
  EXPECT_EQ(Stat("cache_status"), kCacheOn);
}

TEST_F(CacheTest, AWriteThroughAnAttachedDatabaseReachesItsOwnCache) {
  // docs.db cached by this connection; another connection has it ATTACHed
  // (and itself as main: an in-memory database) and writes it there.
  EXPECT_NE(db_->Value("SELECT doc_get(1)").find("\"title\":\"one\""), std::string::npos);
  Database memory(":memory:", true, false);
  memory.Exec(docstore_test::AttachSql(path(), "d"));
  memory.Exec("UPDATE d.documents SET title = 'via attach' WHERE id = 1");
  EXPECT_NE(db_->Value("SELECT doc_get(1)").find("\"title\":\"via attach\""), std::string::npos);
  memory.Exec("DETACH d");
  // The other way round: docs.db main, another docstore database attached
  // and written: its own cache learns of it, docs.db's is untouched.
  Database other(dir_ / "other.db");
  other.Value("SELECT docstore_init()");
  other.Exec("INSERT INTO documents(id, title) VALUES (1, 'other')");
  EXPECT_NE(other.Value("SELECT doc_get(1)").find("\"title\":\"other\""), std::string::npos);
  db_->Exec(docstore_test::AttachSql(dir_ / "other.db", "o"));
  db_->Exec("UPDATE o.documents SET title = 'other, changed' WHERE id = 1");
  db_->Exec("DETACH o");
  EXPECT_NE(other.Value("SELECT doc_get(1)").find("\"title\":\"other, changed\""), std::string::npos);
  EXPECT_NE(db_->Value("SELECT doc_get(1)").find("\"title\":\"via attach\""), std::string::npos);
  docstore_test::RemoveSegment(Stat("segment", &other));
}

// docstore never opens and closes the database file itself: a close(2) would
// drop SQLite's locks, and another process closing would then find itself the
// last connection and delete the WAL under this one.
TEST_F(CacheTest, AttachingKeepsTheConnectionsLocks) {
  EXPECT_NE(db_->Value("SELECT doc_get(1)").find("\"title\":\"one\""), std::string::npos);
  EXPECT_EQ(Stat("cache_status"), kCacheOn);
  {
    Database other(path(), /*load=*/false);
    EXPECT_EQ(other.Value("SELECT count(*) FROM documents"), "2");
  }
  EXPECT_TRUE(fs::exists(path().string() + "-wal")) << "another connection's close deleted the WAL";
}

TEST_F(CacheTest, RollbackJournalModeIsWatchedThroughTheHeadersChangeCounter) {
  db_.reset();
  {
    Database setup(path());
    setup.Exec("PRAGMA journal_mode = DELETE");
  }
  db_.emplace(path());
  EXPECT_NE(db_->Value("SELECT doc_get(1)").find("\"title\":\"one\""), std::string::npos);
  const long hits = StatNumber("hits");
  EXPECT_NE(db_->Value("SELECT doc_get(1)").find("\"title\":\"one\""), std::string::npos);
  EXPECT_EQ(StatNumber("hits"), hits + 1);
  Database plain(path(), /*load=*/false);
  plain.Exec("UPDATE documents SET title = 'rollback mode' WHERE id = 1");
  EXPECT_NE(db_->Value("SELECT doc_get(1)").find("\"title\":\"rollback mode\""), std::string::npos);
  EXPECT_EQ(db_->Value("PRAGMA journal_mode"), "delete");
}

TEST_F(CacheTest, ASegmentRemovedWhileInUseIsLeftForTheCurrentOne) {
  EXPECT_NE(db_->Value("SELECT doc_get(1)").find("\"title\":\"one\""), std::string::npos);
  const std::string old_segment = Stat("segment");
  ASSERT_EQ(unlink(("/dev/shm" + old_segment).c_str()), 0);
  // A process that comes later makes a new segment, caches the document...
  Database later(path());
  EXPECT_NE(later.Value("SELECT doc_get(1)").find("\"title\":\"one\""), std::string::npos);
  // ... and a writer without docstore changes it.
  Database plain(path(), /*load=*/false);
  plain.Exec("UPDATE documents SET title = 'after the rm' WHERE id = 1");
  // This connection notices the change, and that its segment is gone.
  EXPECT_NE(db_->Value("SELECT doc_get(1)").find("\"title\":\"after the rm\""), std::string::npos);
  EXPECT_NE(db_->Value("SELECT doc_get(1)").find("\"title\":\"after the rm\""), std::string::npos);
  EXPECT_EQ(Stat("cache_status"), kCacheOn);
  struct stat st;
  EXPECT_EQ(stat(("/dev/shm" + Stat("segment")).c_str(), &st), 0) << "still on the removed segment";
  EXPECT_EQ(Stat("segment"), Stat("segment", &later));
  EXPECT_NE(later.Value("SELECT doc_get(1)").find("\"title\":\"after the rm\""), std::string::npos);
}

TEST_F(CacheTest, InMemoryDatabasesWorkUncached) {
  Database memory(":memory:", true, false);
  memory.Value("SELECT docstore_init()");
  memory.Exec("INSERT INTO documents(id, title) VALUES (1, 'm')");
  EXPECT_NE(memory.Value("SELECT doc_get(1)").find("\"title\":\"m\""), std::string::npos);
  EXPECT_NE(Stat("cache_status", &memory).find("in-memory"), std::string::npos);
}

std::string FileBytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

// The bytes of this segment's file under /dev/shm.
std::string SegmentBytes(const std::string& segment) { return FileBytes("/dev/shm" + segment); }

TEST_F(CacheTest, APlainDatabasesDocumentsAreInTheSegmentAsTheyAre) {
  // What the keyed test below must not find, this one finds.
  const std::string marker = "plain-marker-" + std::to_string(getpid());
  Database plain(dir_ / "plain.db", true, /*keyed=*/false);
  plain.Value("SELECT docstore_init()");
  plain.Exec("INSERT INTO documents(id, title) VALUES (5, '" + marker + "')");
  plain.Value("SELECT doc_get(5)");
  const std::string segment = Stat("segment", &plain);
  EXPECT_NE(SegmentBytes(segment).find(marker), std::string::npos);
  docstore_test::RemoveSegment(segment);
}

#ifdef DOCSTORE_TEST_SQLCIPHER
TEST_F(CacheTest, AKeyedWalDatabaseIsWatchedAndItsShmHoldsNoPlaintext) {
  const std::string before = "B" + std::to_string(getpid()) + "before";
  const std::string after = "A" + std::to_string(getpid()) + "after";
  EXPECT_EQ(db_->Value("PRAGMA journal_mode"), "wal");
  db_->Exec("INSERT INTO documents(id, title) VALUES (3, '" + before + "')");
  EXPECT_NE(db_->Value("SELECT doc_get(3)").find(before), std::string::npos);
  const long hits = StatNumber("hits");
  EXPECT_NE(db_->Value("SELECT doc_get(3)").find(before), std::string::npos);
  EXPECT_EQ(StatNumber("hits"), hits + 1);
  {
    Database plain(path(), /*load=*/false);  // keyed, docstore not loaded
    plain.Exec("UPDATE documents SET title = '" + after + "' WHERE id = 3");
  }
  EXPECT_NE(db_->Value("SELECT doc_get(3)").find(after), std::string::npos);
  for (const char* suffix : {"-shm", "-wal"}) {
    const std::string bytes = FileBytes(path().string() + suffix);
    EXPECT_FALSE(bytes.empty()) << suffix;
    EXPECT_EQ(bytes.find(before), std::string::npos) << "plaintext in " << suffix;
    EXPECT_EQ(bytes.find(after), std::string::npos) << "plaintext in " << suffix;
  }
}

TEST_F(CacheTest, AKeyedDatabaseIsCachedSealedAndATamperedEntryIsNeverServed) {
  Database keyed(dir_ / "keyed.db");  // PRAGMA key
  keyed.Value("SELECT docstore_init()");
  const std::string marker = "M" + std::to_string(getpid());
  // Small enough for one chunk, so that the byte flipped below is the tag's.
  keyed.Exec("INSERT INTO documents(id, title, content_type, created_at, updated_at) VALUES (1, '" + marker +
             "', 't', 'c', 'u')");
  const std::string json = keyed.Value("SELECT doc_get(1)");
  EXPECT_NE(json.find(marker), std::string::npos);
  EXPECT_EQ(keyed.Value("SELECT doc_get(1)"), json);
  EXPECT_EQ(keyed.Value("SELECT count(*) FROM docstore_cache"), "1");
  // A second process, started afresh (it derives the cache key from the
  // database itself), is served the sealed entry: one hit, the same JSON.
  int exit_code = -1;
  const std::string second = RunCommand(kSecondProcessVariable + ("=" + (dir_ / "keyed.db").string()) + " " +
                                            fs::read_symlink("/proc/self/exe").string(),
                                        &exit_code);
  EXPECT_EQ(exit_code, 0) << second;
  EXPECT_EQ(second, "hits +1\n" + json + "\n");
  {
    // The wrong key: SQLCipher cannot read the database, so docstore never
    // learns its id (the segment's name) nor its cache key.
    Database wrong(dir_ / "keyed.db", /*load=*/false, /*keyed=*/false);
    wrong.Exec("PRAGMA key = 'not the key'");
    wrong.Load();
    for (const char* sql : {"SELECT doc_get(1)", "SELECT count(*) FROM docstore_cache"}) {
      const docstore_test::QueryResult r = wrong.Query(sql);
      // SQLCipher 4 reports a page that fails authentication as SQLITE_NOTADB
      // once, then, its codec holding the error, as SQLITE_NOMEM.
      EXPECT_TRUE(r.error.find("not a database") != std::string::npos || r.error == "out of memory")
          << sql << ": " << r.error;
#ifdef DOCSTORE_TEST_SQLCIPHER3
      // SQLite 3.15 prepares a call without reading the schema: docstore
      // itself finds the file unreadable, and says what may be wrong.
      if (std::string(sql) == "SELECT doc_get(1)") {
        EXPECT_NE(r.error.find("wrong key, or not a database"), std::string::npos) << r.error;
      }
#endif
      EXPECT_TRUE(r.rows.empty()) << sql;
    }
  }
  EXPECT_NE(Stat("cache_status", &keyed).find("AES-256-GCM"), std::string::npos);
  const std::string segment = Stat("segment", &keyed);
  EXPECT_EQ(SegmentBytes(segment).find(marker), std::string::npos) << "plaintext in shared memory";

  // The access fields sit in plaintext after the sealed JSON, rendered: flush
  // them so that they mark where the entry's tag ends, and flip a byte of it.
  keyed.Value("SELECT doc_flush()");
  const std::string fields =
      ",\"access_count\":" + keyed.Value("SELECT access_count FROM document_access WHERE doc_id = 1") +
      ",\"last_accessed\":\"" + keyed.Value("SELECT last_accessed FROM document_access WHERE doc_id = 1");
  const std::string bytes = SegmentBytes(segment);
  const size_t at = bytes.find(fields);
  ASSERT_NE(at, std::string::npos);
  {
    const int fd = open(("/dev/shm" + segment).c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    const char flipped = static_cast<char>(bytes[at - 1] ^ 0x01);  // the tag's last byte
    ASSERT_EQ(pwrite(fd, &flipped, 1, static_cast<off_t>(at - 1)), 1);
    close(fd);
  }
  const std::string after = keyed.Value("SELECT doc_get(1)");
  EXPECT_NE(after.find(marker), std::string::npos) << after;
  EXPECT_EQ(Stat("auth_failures", &keyed), "1");
  // Read again from the database and sealed afresh.
  EXPECT_EQ(keyed.Value("SELECT doc_get(1)"), after);
  EXPECT_EQ(Stat("auth_failures", &keyed), "1");
  docstore_test::RemoveSegment(segment);
}
#endif

#if defined(DOCSTORE_TEST_SQLCIPHER) && !defined(DOCSTORE_TEST_SQLCIPHER3)
// Debian's sqlcipher shell (SQLCipher 3.4.1) makes and caches a database;
// this process (SQLCipher 4) opens the same file with cipher_compatibility = 3
// and is served from the same segment; its write is seen by the shell.
TEST_F(CacheTest, ASqlcipher3DatabaseOpenedThroughSqlcipher4SharesItsOneSegment) {
  const fs::path file = dir_ / "v3.db";
  auto sqlcipher3 = [&](const std::string& sql) {
    return RunCommand("sqlcipher -batch '" + file.string() + "' <<'SQL'\nPRAGMA key = 'v3 key';\n.load " +
                      DOCSTORE_SQLCIPHER3_EXTENSION_PATH + "\n" + sql + "\nSQL");
  };
  const std::string made = sqlcipher3(
      "SELECT docstore_init();"
      "INSERT INTO documents(id, title) VALUES (1, 'three');"
      "SELECT doc_get(1) LIKE '%\"title\":\"three\"%';"
      "SELECT value FROM docstore_stats WHERE name = 'segment';");
  ASSERT_EQ(made.substr(0, 4), docstore_test::kSchemaVersion + "\n1\n") << made;
  const std::string segment = made.substr(4, made.size() - 5);
  ASSERT_EQ(segment.rfind("/docstore-", 0), 0u) << made;

  Database v4(file, /*load=*/false, /*keyed=*/false);
  v4.Exec("PRAGMA key = 'v3 key'; PRAGMA cipher_compatibility = 3");
  v4.Load();
  EXPECT_EQ(Stat("segment", &v4), segment);
  const long hits = std::strtol(Stat("hits", &v4).c_str(), nullptr, 10);
  EXPECT_NE(v4.Value("SELECT doc_get(1)").find("\"title\":\"three\""), std::string::npos);
  EXPECT_EQ(std::strtol(Stat("hits", &v4).c_str(), nullptr, 10), hits + 1) << "not served from the shell's entry";
  EXPECT_TRUE(v4.Value("PRAGMA cipher_version").starts_with("4."));

  v4.Exec("UPDATE documents SET title = 'four' WHERE id = 1");
  EXPECT_NE(v4.Value("SELECT doc_get(1)").find("\"title\":\"four\""), std::string::npos);
  EXPECT_EQ(sqlcipher3("SELECT doc_get(1) LIKE '%\"title\":\"four\"%';"
                       "SELECT CAST(value AS INTEGER) > 1 FROM docstore_stats WHERE name = 'hits';"
                       "SELECT value FROM docstore_stats WHERE name = 'segment';"),
            "1\n1\n" + segment + "\n");
  docstore_test::RemoveSegment(segment);
}
#endif

}  // namespace
