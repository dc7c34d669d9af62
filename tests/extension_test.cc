// The extension as an application sees it: loaded with sqlite3_load_extension
// into a real database file. Built three times (tests/CMakeLists.txt):
// against Debian's SQLite, loading build/docstore.so; on a keyed database
// (DOCSTORE_TEST_SQLCIPHER) against Debian's SQLCipher 3, loading
// build/docstore_sqlcipher.so, and against SQLCipher 4, loading docstore.so.
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_database.h"

namespace {

namespace fs = std::filesystem;

using docstore_test::Database;
using docstore_test::QueryResult;

class ExtensionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = docstore_test::ScratchDirectory("ext");
    db_.emplace(path());
    EXPECT_EQ(db_->Value("SELECT docstore_init()"), db_->Value("SELECT value FROM docstore_info WHERE name = 'schema_latest'"));
  }
  void TearDown() override {
    db_.reset();
    fs::remove_all(dir_);
  }
  fs::path path() const { return dir_ / "docs.db"; }

  fs::path dir_;
  std::optional<Database> db_;
};

TEST_F(ExtensionTest, DocGetReturnsTheWholeDocumentAsJson) {
  db_->Exec(
      "INSERT INTO documents(id, title, content, metadata, content_type, created_at, updated_at)"
      " VALUES (7, 'Tab\there \"quoted\" back\\slash', 'line1\nline2 \x01 caf\xC3\xA9 \xF0\x9F\x93\x9A',"
      " '{\"tags\": [\"a\", \"b\"], \"n\": 1.5}', 'text/markdown', '2026-01-01T00:00:00.000Z',"
      " '2026-01-02T00:00:00.000Z')");
  EXPECT_EQ(db_->Value("SELECT doc_get(7)"),
            "{\"id\":7,\"title\":\"Tab\\there \\\"quoted\\\" back\\\\slash\","
            "\"content\":\"line1\\nline2 \\u0001 caf\xC3\xA9 \xF0\x9F\x93\x9A\","
            "\"metadata\":{\"tags\": [\"a\", \"b\"], \"n\": 1.5},\"content_type\":\"text/markdown\","
            "\"created_at\":\"2026-01-01T00:00:00.000Z\",\"updated_at\":\"2026-01-02T00:00:00.000Z\","
            "\"version\":1,\"access_count\":0,\"last_accessed\":null}");
}

TEST_F(ExtensionTest, InvalidUtf8IsReplacedSoTheResultStaysJson) {
  db_->Exec("INSERT INTO documents(id, title) VALUES (1, CAST(x'41FF42C0' AS TEXT))");
  EXPECT_NE(db_->Value("SELECT doc_get(1)").find("\"title\":\"A\xEF\xBF\xBD" "B\xEF\xBF\xBD\""),
            std::string::npos);
}

// {"a\xFF":"b\xFF"} passes json_valid() (JSON1's, and docstore's own on
// SQLite 3.15): doc_get returns it as that object with U+FFFD for the stray
// bytes, never as a string, whether rendered now or served from the cache.
TEST_F(ExtensionTest, MetadataWithInvalidUtf8StaysTheObjectJsonValidAccepted) {
  db_->Exec("INSERT INTO documents(id, metadata) VALUES (1, CAST(x'7B2261FF223A2262FF227D' AS TEXT))");
  const std::string expected = "\"metadata\":{\"a\xEF\xBF\xBD\":\"b\xEF\xBF\xBD\"},";
  const char* hits_sql = "SELECT value FROM docstore_stats WHERE name = 'hits'";
  const long hits_before = std::strtol(db_->Value(hits_sql).c_str(), nullptr, 10);
  EXPECT_NE(db_->Value("SELECT doc_get(1)").find(expected), std::string::npos) << "read from the database";
  EXPECT_NE(db_->Value("SELECT doc_get(1)").find(expected), std::string::npos) << "served from the cache";
  EXPECT_EQ(std::strtol(db_->Value(hits_sql).c_str(), nullptr, 10), hits_before + 1);
#ifndef DOCSTORE_TEST_SQLCIPHER3  // JSON1
  EXPECT_EQ(db_->Value("SELECT json_type(doc_get(1), '$.metadata')"), "object");
#endif
}

TEST_F(ExtensionTest, AnIntegralRealIdFindsTheDocument) {
  db_->Exec("INSERT INTO documents(id, title) VALUES (3, 'three')");
  EXPECT_EQ(db_->Value("SELECT doc_get(3.0) = doc_get(3)"), "1");
}

TEST_F(ExtensionTest, DocGetManyReturnsRowsInInputOrder) {
  db_->Exec("INSERT INTO documents(id, title) VALUES (1, 'one'), (2, 'two'), (3, 'three')");
  QueryResult r = db_->Query(
      "SELECT id, doc IS NULL, doc = doc_get(id) FROM doc_get_many('[3, 1, 99, 3, -7]')");
  ASSERT_EQ(r.rc, SQLITE_OK) << r.error;
  std::string got;
  for (const auto& row : r.rows) got += *row[0] + ":" + *row[1] + ":" + row[2].value_or("NULL") + " ";
  EXPECT_EQ(got, "3:0:1 1:0:1 99:1:NULL 3:0:1 -7:1:NULL ");
  EXPECT_EQ(db_->Value("SELECT count(*) FROM doc_get_many('[]')"), "0");
  EXPECT_EQ(db_->Value("SELECT count(*) FROM doc_get_many(NULL)"), "0");
}

TEST_F(ExtensionTest, EveryWriteBumpsTheVersionAndIsAudited) {
  db_->Exec("INSERT INTO documents(id, title) VALUES (1, 'one')");
  db_->Exec("UPDATE documents SET title = 'uno' WHERE id = 1");
  db_->Exec("UPDATE documents SET content_type = 'text/x' WHERE id = 1");
  db_->Exec("UPDATE documents SET version = 10 WHERE id = 1");  // an explicit raise is kept
  db_->Exec("UPDATE documents SET title = title WHERE id = 1");
  EXPECT_EQ(db_->Value("SELECT version FROM documents WHERE id = 1"), "11");
  EXPECT_EQ(db_->Value("SELECT group_concat(op || ':' || version, ' ') FROM document_audit"),
            "insert:1 update:2 update:3 update:10 update:11");
  db_->Exec("DELETE FROM documents WHERE id = 1");
  EXPECT_EQ(db_->Value("SELECT op || ':' || version FROM document_audit ORDER BY seq DESC LIMIT 1"),
            "delete:11");
  EXPECT_EQ(db_->Value("SELECT doc_get(1)"), "NULL");
}

TEST_F(ExtensionTest, VersionBumpWorksWithRecursiveTriggersEitherWay) {
  for (const char* setting : {"PRAGMA recursive_triggers = ON", "PRAGMA recursive_triggers = OFF"}) {
    db_->Exec(setting);
    db_->Exec("DELETE FROM documents");
    db_->Exec("INSERT INTO documents(id, title) VALUES (1, 'a')");
    db_->Exec("UPDATE documents SET title = 'b' WHERE id = 1");
    EXPECT_EQ(db_->Value("SELECT version FROM documents WHERE id = 1"), "2") << setting;
  }
}

TEST_F(ExtensionTest, SearchFollowsInsertsUpdatesAndDeletes) {
  db_->Exec("INSERT INTO documents(id, title, content) VALUES (1, 'Apples', 'red fruit'),"
            " (2, 'Bananas', 'yellow fruit, fruit everywhere'), (3, 'Carrots', 'orange root')");
  EXPECT_EQ(db_->Value("SELECT group_concat(id) FROM (SELECT id FROM doc_search('fruit'))"), "2,1");
  EXPECT_EQ(db_->Value("SELECT snippet FROM doc_search('root')"), "orange [root]");
  db_->Exec("UPDATE documents SET content = 'green vegetable' WHERE id = 1");
  EXPECT_EQ(db_->Value("SELECT group_concat(id) FROM doc_search('fruit')"), "2");
  EXPECT_EQ(db_->Value("SELECT group_concat(id) FROM doc_search('vegetable')"), "1");
  db_->Exec("DELETE FROM documents WHERE id = 2");
  EXPECT_EQ(db_->Value("SELECT count(*) FROM doc_search('fruit')"), "0");
  EXPECT_EQ(db_->Value("SELECT count(*) FROM doc_search('bananas')"), "0");
  EXPECT_EQ(db_->Value("SELECT title FROM doc_search('carrots')"), "Carrots");
}

TEST_F(ExtensionTest, SearchHonoursLimitAndRanksBestFirst) {
  db_->Exec("BEGIN");
  for (int i = 1; i <= 50; ++i) {
    std::string words;
    for (int k = 0; k < i; ++k) words += "needle ";
    db_->Exec("INSERT INTO documents(id, title, content) VALUES (" + std::to_string(i) +
              ", 'doc', '" + words + "hay hay hay hay hay hay hay hay hay hay')");
  }
  db_->Exec("COMMIT");
  QueryResult r = db_->Query("SELECT id, rank FROM doc_search('needle') LIMIT 5");
  ASSERT_EQ(r.rc, SQLITE_OK) << r.error;
  ASSERT_EQ(r.rows.size(), 5u);
  double previous = -1e300;
  for (const auto& row : r.rows) {
    const double rank = std::stod(row[1].value());
    EXPECT_LE(previous, rank) << "ranks must ascend (best first)";
    previous = rank;
  }
  EXPECT_EQ(r.rows[0][0].value(), "50") << "the document with the most needles ranks first";
}

struct BadInput {
  const char* sql;
  const char* error;  // substring of the error message; nullptr: the result is NULL
};

// Each of these is answered with NULL or an error naming the problem, and none
// of them changes the database.
const BadInput kBadInputs[] = {
    {"SELECT doc_get(NULL)", nullptr},
    {"SELECT doc_get(-1)", nullptr},
    {"SELECT doc_get(0)", nullptr},
    {"SELECT doc_get(9223372036854775807)", nullptr},
    {"SELECT doc_get(-9223372036854775808)", nullptr},
    {"SELECT doc_get('1')", "doc_get: expected an integer document id, got text"},
    {"SELECT doc_get('')", "doc_get: expected an integer document id, got text"},
    {"SELECT doc_get(2.0)", nullptr},  // an integral REAL is that integer; no document 2
    {"SELECT doc_get(1.5)", "doc_get: expected an integer document id, got a real"},
    {"SELECT doc_get(1e300)", "doc_get: expected an integer document id, got a real"},
    {"SELECT doc_get(9223372036854775808.0)", "doc_get: expected an integer document id, got a real"},
    {"SELECT doc_get(-1e-300)", "doc_get: expected an integer document id, got a real"},
    {"SELECT doc_get(0.0 / 0)", nullptr},  // SQLite makes NaN a NULL
    {"SELECT doc_get(x'0100000000000000')", "doc_get: expected an integer document id, got a blob"},
    {"SELECT doc_get()", "wrong number of arguments to function doc_get()"},
    {"SELECT doc_get(1, 2)", "wrong number of arguments to function doc_get()"},
    {"SELECT docstore_init(1)", "wrong number of arguments to function docstore_init()"},
    {"SELECT * FROM doc_search(NULL)", "doc_search: the query must be non-empty text"},
    {"SELECT * FROM doc_search('')", "doc_search: the query must be non-empty text"},
    {"SELECT * FROM doc_search(' \t ')", "doc_search: the query must be non-empty text"},
    {"SELECT * FROM doc_search(42)", "doc_search: the query must be non-empty text"},
    {"SELECT * FROM doc_search(x'41')", "doc_search: the query must be non-empty text"},
    {"SELECT * FROM doc_search('\"unterminated')", "doc_search: cannot run full-text query"},
    {"SELECT * FROM doc_search", "doc_search: no query given"},
    {"SELECT * FROM doc_search WHERE title = 'x'", "doc_search: no query given"},
    {"SELECT * FROM doc_search('a', 'b')", "doc_search: unknown mode 'b'"},
    {"SELECT * FROM doc_search('a', 'plain', 'c')", "too many arguments on doc_search()"},
    {"SELECT * FROM doc_search('a', 1)", "doc_search: the mode must be text"},
    {"SELECT * FROM doc_search('+', 'plain')", "doc_search: the query has no word to search for"},
    {"SELECT * FROM doc_get_many('[1,')", "doc_get_many: malformed id array: expected an integer id at byte 3"},
    {"SELECT * FROM doc_get_many('[1.5]')", "doc_get_many: malformed id array: ids must be integers"},
    {"SELECT * FROM doc_get_many('{}')", "doc_get_many: malformed id array: expected '['"},
    {"SELECT * FROM doc_get_many('')", "doc_get_many: malformed id array"},
    {"SELECT * FROM doc_get_many(5)", "doc_get_many: expected a JSON array of integer ids as text"},
    {"SELECT * FROM doc_get_many(x'5b315d')", "doc_get_many: expected a JSON array"},
    {"SELECT * FROM doc_get_many", "doc_get_many: no ids given"},
    {"INSERT INTO documents(title, metadata) VALUES ('x', '{bad')", "metadata_is_json"},
    {"INSERT INTO documents(title, metadata) VALUES ('x', '[1,]')", "metadata_is_json"},
    {"INSERT INTO documents(title, metadata) VALUES ('x', '')", "metadata_is_json"},
    {"UPDATE documents SET metadata = '{\"a\":}' WHERE id = 1", "metadata_is_json"},
    {"INSERT INTO documents(id, title) VALUES (-5, 'negative')", "CHECK constraint failed"},
    {"INSERT INTO documents(id, title) VALUES (0, 'zero')", "CHECK constraint failed"},
    {"INSERT INTO documents(id, title) VALUES (1, 'duplicate')", "a document with this id exists"},
    {"INSERT OR REPLACE INTO documents(id, title) VALUES (1, 'replace')", "use UPDATE to change it"},
    {"REPLACE INTO documents(id, title) VALUES (1, 'replace')", "use UPDATE to change it"},
    {"INSERT OR IGNORE INTO documents(id, title) VALUES (1, 'ignore')", "use UPDATE to change it"},
};

TEST_F(ExtensionTest, BadInputGetsNullOrAClearErrorAndWritesNothing) {
  db_->Exec("INSERT INTO documents(id, title, content) VALUES (1, 'kept', 'kept content')");
  const std::string before = db_->Value(
      "SELECT (SELECT group_concat(id || version || title || metadata) FROM documents) ||"
      " (SELECT count(*) FROM document_audit) || (SELECT count(*) FROM doc_search('kept'))");
  for (const BadInput& bad : kBadInputs) {
    SCOPED_TRACE(bad.sql);
    QueryResult r = db_->Query(bad.sql);
    if (bad.error == nullptr) {
      EXPECT_EQ(r.rc, SQLITE_OK) << r.error;
      ASSERT_EQ(r.rows.size(), 1u);
      EXPECT_FALSE(r.rows[0][0].has_value());
    } else {
      EXPECT_NE(r.rc, SQLITE_OK);
      EXPECT_NE(r.error.find(bad.error), std::string::npos) << "got: " << r.error;
    }
  }
  EXPECT_EQ(db_->Value(
                "SELECT (SELECT group_concat(id || version || title || metadata) FROM documents) ||"
                " (SELECT count(*) FROM document_audit) || (SELECT count(*) FROM doc_search('kept'))"),
            before);
}

TEST_F(ExtensionTest, InitIsIdempotentAndWorksInsideATransaction) {
  db_->Exec("INSERT INTO documents(id, title) VALUES (1, 'survives')");
  EXPECT_EQ(db_->Value("SELECT docstore_init()"), db_->Value("PRAGMA user_version"));
  db_->Exec("BEGIN");
  EXPECT_EQ(db_->Value("SELECT docstore_init()"), db_->Value("PRAGMA user_version"));
  db_->Exec("COMMIT");
  EXPECT_EQ(db_->Value("SELECT title FROM documents"), "survives");
}

TEST_F(ExtensionTest, FunctionsWithEffectsCannotBeCalledFromAView) {
  if (sqlite3_libversion_number() < 3030000) {
    GTEST_SKIP() << "SQLite " << sqlite3_libversion() << " has no SQLITE_DIRECTONLY";
  }
  // A database file's own views and triggers run for whoever opens it.
  for (const char* call : {"docstore_cache_clear()", "doc_flush()", "docstore_tune()", "docstore_init()",
                           "docstore_cache_config()"}) {
    SCOPED_TRACE(call);
    db_->Exec("DROP VIEW IF EXISTS effect");
    db_->Exec(std::string("CREATE VIEW effect AS SELECT ") + call);
    QueryResult r = db_->Query("SELECT * FROM effect");
    EXPECT_NE(r.rc, SQLITE_OK);
    EXPECT_NE(r.error.find("unsafe use of"), std::string::npos) << r.error;
  }
}

TEST_F(ExtensionTest, InitRefusesASchemaNewerThanItKnows) {
  db_->Exec("PRAGMA user_version = 999");
  QueryResult r = db_->Query("SELECT docstore_init()");
  EXPECT_NE(r.rc, SQLITE_OK);
  EXPECT_NE(r.error.find("newer than this docstore build knows"), std::string::npos) << r.error;
  EXPECT_EQ(db_->Value("PRAGMA user_version"), "999");
}

TEST_F(ExtensionTest, InitOnAFreshFileIsAllOrNothing) {
  // A table in the way makes migration 1 fail midway: nothing it did may stay.
  Database fresh(dir_ / "fresh.db");
  fresh.Exec("CREATE TABLE document_audit(x)");
  QueryResult r = fresh.Query("SELECT docstore_init()");
  EXPECT_NE(r.rc, SQLITE_OK);
  EXPECT_NE(r.error.find("001_documents.sql"), std::string::npos) << r.error;
  EXPECT_EQ(fresh.Value("SELECT count(*) FROM sqlite_master WHERE name = 'documents'"), "0");
  EXPECT_EQ(fresh.Value("PRAGMA user_version"), "0");
}

TEST_F(ExtensionTest, ConcurrentInitFromManyProcessesSucceedsOnce) {
  const fs::path shared = dir_ / "race.db";
  // The file must exist first: SQLCipher picks a new database's random salt
  // when a connection first reads it, so processes that all find no file each
  // encrypt with their own salt and all but one fail (not docstore's race).
  Database(shared, /*load=*/false).Exec("PRAGMA user_version = 0");
  std::vector<pid_t> children;
  for (int i = 0; i < 4; ++i) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      Database child(shared);
      const bool ok = child.Value("SELECT docstore_init()") != "<no row>" &&
                      !::testing::Test::HasFailure();
      _exit(ok ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  Database check(shared);
  EXPECT_EQ(check.Value("SELECT count(*) FROM sqlite_master WHERE name = 'documents'"), "1");
}

TEST_F(ExtensionTest, CloseSucceedsAfterUseBecauseCachedStatementsAreFinalized) {
  db_->Exec("INSERT INTO documents(id, title) VALUES (1, 'x')");
  EXPECT_NE(db_->Value("SELECT doc_get(1)"), "NULL");
  EXPECT_EQ(db_->Value("SELECT count(*) FROM doc_search('x')"), "1");
  EXPECT_EQ(db_->CloseStrict(), SQLITE_OK);
  db_.reset();
}

TEST_F(ExtensionTest, LoadingTwiceKeepsWorkingAndClosesCleanly) {
  db_->Exec("INSERT INTO documents(id, title) VALUES (1, 'x')");
  EXPECT_NE(db_->Value("SELECT doc_get(1)"), "NULL");
  db_->Load();
  EXPECT_NE(db_->Value("SELECT doc_get(1)"), "NULL");
  EXPECT_EQ(db_->Value("SELECT count(*) FROM docstore_info"), "11");
  // One version, the project's, in docstore_version() and docstore_info.
  EXPECT_EQ(db_->Value("SELECT docstore_version()"), DOCSTORE_VERSION);
  EXPECT_EQ(db_->Value("SELECT value FROM docstore_info WHERE name = 'extension'"), DOCSTORE_VERSION);
  EXPECT_EQ(db_->CloseStrict(), SQLITE_OK);
  db_.reset();
}

TEST_F(ExtensionTest, FunctionsWithoutTheSchemaSayWhatToDo) {
  Database bare(dir_ / "bare.db");
  QueryResult r = bare.Query("SELECT doc_get(1)");
  EXPECT_NE(r.error.find("no such table: main.documents"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("run SELECT docstore_init()"), std::string::npos) << r.error;
  r = bare.Query("SELECT * FROM doc_search('x')");
  EXPECT_NE(r.error.find("run SELECT docstore_init()"), std::string::npos) << r.error;
  // Counting and flushing accesses need the schema as much as reading does.
  for (const char* sql : {"SELECT doc_touch(1)", "SELECT doc_flush()"}) {
    r = bare.Query(sql);
    EXPECT_NE(r.error.find("the main database has no docstore schema: run SELECT docstore_init()"), std::string::npos)
        << sql << ": " << r.error;
  }
  // An in-memory database with the schema tracks nothing, and says so with 0.
  Database memory(":memory:");
  EXPECT_EQ(memory.Value("SELECT docstore_init() > 0"), "1");
  EXPECT_EQ(memory.Value("SELECT doc_touch(1)"), "0");
  EXPECT_EQ(memory.Value("SELECT doc_flush()"), "0");
}

TEST_F(ExtensionTest, StatsAndInfoValuesKeepTheirTypes) {
  db_->Exec("INSERT INTO documents(id, title, content) VALUES (1, 'a', 'b')");
  EXPECT_EQ(db_->Value("SELECT doc_get(1) IS NOT NULL"), "1");
  for (const char* name : {"hits", "misses", "entries", "capacity_bytes", "pending_accesses", "sidecar_pid"}) {
    EXPECT_EQ(db_->Value(std::string("SELECT typeof(value) FROM docstore_stats WHERE name = '") + name + "'"),
              "integer")
        << name;
  }
  EXPECT_EQ(db_->Value("SELECT typeof(value) FROM docstore_stats WHERE name = 'hit_ratio'"), "real");
  EXPECT_EQ(db_->Value("SELECT typeof(value) FROM docstore_stats WHERE name = 'cache_status'"), "text");
  // A time not seen yet is NULL, not ''.
  EXPECT_EQ(db_->Value("SELECT typeof(value) FROM docstore_stats WHERE name = 'sidecar_heartbeat'"), "null");
  EXPECT_EQ(db_->Value("SELECT typeof(value) FROM docstore_info WHERE name = 'schema_version'"), "integer");
  EXPECT_EQ(db_->Value("SELECT value + 0 = value FROM docstore_stats WHERE name = 'misses'"), "1");
}

TEST_F(ExtensionTest, TuneAppliesTheSettingsAndReportsTheCipherInForce) {
  const std::string json = db_->Value("SELECT docstore_tune()");
  EXPECT_NE(json.find("{\"journal_mode\":\"wal\",\"synchronous\":\"normal\",\"cache_size_kib\":65536,"
                      "\"busy_timeout_ms\":5000,"), std::string::npos) << json;
  EXPECT_EQ(db_->Value("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(db_->Value("PRAGMA synchronous"), "1");
  EXPECT_EQ(db_->Value("PRAGMA cache_size"), "-65536");
#ifdef DOCSTORE_TEST_SQLCIPHER
  // Keyed: no mmap, and the cipher settings as they are.
  EXPECT_EQ(db_->Value("PRAGMA mmap_size"), "0");
  EXPECT_NE(json.find("\"mmap_size\":0,\"encrypted\":true,\"cipher\":{\"version\":\"" +
                      db_->Value("PRAGMA cipher_version") + "\",\"kdf_iter\":" + db_->Value("PRAGMA kdf_iter") +
                      ",\"page_size\":" + db_->Value("PRAGMA cipher_page_size") + ","),
            std::string::npos)
      << json;
#else
  EXPECT_EQ(db_->Value("PRAGMA mmap_size"), "268435456");
  EXPECT_NE(json.find("\"mmap_size\":268435456,\"encrypted\":false,\"cipher\":null}"), std::string::npos) << json;
#endif
  db_->Exec("BEGIN");
  QueryResult r = db_->Query("SELECT docstore_tune()");
  EXPECT_NE(r.error.find("outside a transaction"), std::string::npos) << r.error;
  db_->Exec("ROLLBACK");
}

#ifdef DOCSTORE_TEST_SQLCIPHER
TEST_F(ExtensionTest, TuneRefusesAKeyedDatabaseBeforeTheKey) {
  const std::string journal_mode = db_->Value("PRAGMA journal_mode");
  {
    Database unkeyed(path(), true, /*keyed=*/false);
    sqlite3_stmt* stmt = nullptr;
    const int prepared = sqlite3_prepare_v2(unkeyed.handle(), "SELECT docstore_tune()", -1, &stmt, nullptr);
    const std::string prepare_error = sqlite3_errmsg(unkeyed.handle());
    sqlite3_finalize(stmt);
#ifdef DOCSTORE_TEST_SQLCIPHER3
    // SQLite 3.15 prepares a call without reading the schema: docstore_tune
    // itself finds it unreadable.
    ASSERT_EQ(prepared, SQLITE_OK) << prepare_error;
    QueryResult r = unkeyed.Query("SELECT docstore_tune()");
    EXPECT_NE(r.error.find("run PRAGMA key first"), std::string::npos) << r.error;
#else
    // SQLite 3.51 reads the schema to prepare any statement: SQLite refuses
    // before docstore_tune runs.
    EXPECT_EQ(prepared, SQLITE_NOTADB) << prepare_error;
    EXPECT_EQ(prepare_error, "file is not a database");
#endif
  }
  // Nothing was changed.
  Database reopened(path());
  EXPECT_EQ(reopened.Value("PRAGMA journal_mode"), journal_mode);
  EXPECT_EQ(reopened.Value("SELECT count(*) FROM documents"), db_->Value("SELECT count(*) FROM documents"));
}
#endif

TEST_F(ExtensionTest, InfoDescribesTheBuildAndRuntime) {
  EXPECT_EQ(db_->Value("SELECT value FROM docstore_info WHERE name = 'runtime'"), sqlite3_libversion());
#ifdef DOCSTORE_TEST_SQLCIPHER3
  EXPECT_EQ(db_->Value("SELECT value FROM docstore_info WHERE name = 'build'"), "sqlcipher");
  EXPECT_EQ(db_->Value("SELECT value FROM docstore_info WHERE name = 'fulltext'"), "fts4");
#else
  EXPECT_EQ(db_->Value("SELECT value FROM docstore_info WHERE name = 'build'"), "sqlite");
  EXPECT_EQ(db_->Value("SELECT value FROM docstore_info WHERE name = 'fulltext'"), "fts5");
#endif
  const std::string cipher = db_->Value("PRAGMA cipher_version");
  EXPECT_EQ(db_->Value("SELECT value FROM docstore_info WHERE name = 'cipher_runtime'"),
            cipher == "<no row>" || cipher == "NULL" ? "none" : cipher);
  for (const char* name : {"segment_layout", "value_format"}) {
    EXPECT_EQ(db_->Value(std::string("SELECT value GLOB '[1-9]*' FROM docstore_info WHERE name = '") + name + "'"), "1")
        << name;
  }
}

// docstore_metrics(): docstore_stats' numbers in Prometheus's text format,
// labelled with the database's path.
TEST_F(ExtensionTest, MetricsShowTheStatsNumbers) {
  db_->Exec("INSERT INTO documents(id, title) VALUES (1, 'one')");
  for (const char* sql : {"SELECT doc_get(1)", "SELECT doc_get(1)", "SELECT doc_get(1)", "SELECT doc_get(2)"}) {
    db_->Value(sql);
  }
  const std::string text = db_->Value("SELECT docstore_metrics()");
  const std::string database = "{database=\"" + path().string();
  auto stat = [&](const char* name) {
    return db_->Value(std::string("SELECT value FROM docstore_stats WHERE name = '") + name + "'");
  };
  EXPECT_NE(text.find("\ndocstore_cache_requests_total" + database + "\",result=\"hit\"} " + stat("hits") + "\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\ndocstore_cache_requests_total" + database + "\",result=\"miss\"} " + stat("misses") + "\n"),
            std::string::npos)
      << text;
  EXPECT_NE(stat("hits"), "0");
  EXPECT_NE(text.find("\ndocstore_cache_up" + database + "\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\ndocstore_access_pending" + database + "\"} " + stat("pending_accesses") + "\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE docstore_cache_requests_total counter\n"), std::string::npos) << text;
}

}  // namespace
