// A database connection for tests: opens a file (keyed under
// DOCSTORE_TEST_SQLCIPHER), loads the extension, runs SQL and collects rows.
#ifndef DOCSTORE_TESTS_TEST_DATABASE_H_
#define DOCSTORE_TESTS_TEST_DATABASE_H_

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace docstore_test {

namespace fs = std::filesystem;

struct QueryResult {
  int rc = SQLITE_OK;
  std::string error;
  std::vector<std::vector<std::optional<std::string>>> rows;
};

// Keyed test databases take a raw 256-bit key, which SQLCipher uses without
// key derivation: the suites open keyed databases hundreds of times (120
// sidecars in one test), and PBKDF2 at SQLCipher 4's default 256,000
// iterations would cost minutes of CI under the sanitizers. Passphrases, with
// default and other KDF settings, are covered where they matter: the sidecar's
// cipher options (access_test), a SQLCipher 3 file opened by SQLCipher 4
// (cache_test), the Node SQLCipher 4 client and the sqlcipher shell tests.
// What SELECT docstore_init() returns: the number of sql/'s last migration.
inline const std::string kSchemaVersion = "7";

inline constexpr const char* kTestKeyHex = "8e2f6b41d07c95a3e1b4c8d2f7a60935b1c4e7d2a8f3960b5c1d4e7f2a8b3c69";
// As SQLCipher takes it: PRAGMA key = "x'...'" and ATTACH ... KEY "x'...'".
inline std::string TestKeyLiteral() { return std::string("\"x'") + kTestKeyHex + "'\""; }

// ATTACH `file` AS `name`, with the test key under DOCSTORE_TEST_SQLCIPHER
// (SQLCipher would otherwise apply the main database's derived key, which
// fails on a file with a salt of its own).
inline std::string AttachSql(const fs::path& file, const std::string& name) {
  std::string sql = "ATTACH '" + file.string() + "' AS " + name;
#ifdef DOCSTORE_TEST_SQLCIPHER
  sql += " KEY " + TestKeyLiteral();
#endif
  return sql;
}

class Database {
 public:
  // Under DOCSTORE_TEST_SQLCIPHER the database is keyed unless `keyed` is false.
  explicit Database(const fs::path& path, bool load = true, bool keyed = true) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) ADD_FAILURE() << sqlite3_errmsg(db_);
#ifdef DOCSTORE_TEST_SQLCIPHER
    if (keyed) Exec("PRAGMA key = " + TestKeyLiteral());
#else
    (void)keyed;
#endif
    sqlite3_busy_timeout(db_, 10000);
    if (load) Load();
  }
  ~Database() {
    if (db_ != nullptr) sqlite3_close_v2(db_);
  }

  void Load() {
    sqlite3_enable_load_extension(db_, 1);
    char* error = nullptr;
    const int rc = sqlite3_load_extension(db_, DOCSTORE_EXTENSION_PATH, nullptr, &error);
    ASSERT_EQ(rc, SQLITE_OK) << (error ? error : "");
    sqlite3_free(error);
  }

  QueryResult Query(const std::string& sql) {
    QueryResult result;
    sqlite3_stmt* stmt = nullptr;
    result.rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
    if (result.rc == SQLITE_OK) {
      while ((result.rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        auto& row = result.rows.emplace_back();
        for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
          if (text == nullptr) {
            row.emplace_back(std::nullopt);
          } else {
            row.emplace_back(std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt, i))));
          }
        }
      }
      if (result.rc == SQLITE_DONE) result.rc = SQLITE_OK;
    }
    if (result.rc != SQLITE_OK) result.error = sqlite3_errmsg(db_);
    sqlite3_finalize(stmt);
    return result;
  }

  // The single value of a query that must succeed; "NULL" for SQL NULL.
  std::string Value(const std::string& sql) {
    QueryResult r = Query(sql);
    EXPECT_EQ(r.rc, SQLITE_OK) << sql << ": " << r.error;
    if (r.rows.empty() || r.rows[0].empty()) return "<no row>";
    return r.rows[0][0].value_or("NULL");
  }

  void Exec(const std::string& sql) {
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << sql << ": " << (error ? error : "");
    sqlite3_free(error);
  }

  // Closes with sqlite3_close (not _v2), which fails if docstore left any
  // statement unfinalized.
  int CloseStrict() {
    const int rc = sqlite3_close(db_);
    if (rc == SQLITE_OK) db_ = nullptr;
    return rc;
  }

  sqlite3* handle() { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

// A new, empty directory for the running test:
// <tmp>/docstore-<prefix>-<pid>-<test name>.
inline fs::path ScratchDirectory(const std::string& prefix) {
  const fs::path dir = fs::temp_directory_path() /
                       ("docstore-" + prefix + "-" + std::to_string(getpid()) + "-" +
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Removes a database's cache segment, given its name as docstore_stats shows
// it ("/docstore-..."); anything else (an error text) is left alone.
inline void RemoveSegment(const std::string& segment) {
  if (segment.size() > 1 && segment[0] == '/') unlink(("/dev/shm" + segment).c_str());
}

// What `command` prints (stdout and stderr) when /bin/sh runs it. A
// sanitizer runtime in LD_PRELOAD (set by ctest for the sanitizer builds)
// goes to the command, not to the shell, which TSan's would crash.
inline std::string RunCommand(std::string command, int* exit_code = nullptr) {
  if (const char* preload = getenv("LD_PRELOAD"); preload != nullptr && *preload != '\0') {
    command = "LD_PRELOAD='" + std::string(preload) + "' " + command;
  }
  int fds[2];
  if (pipe(fds) != 0) return "<pipe failed>";
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    unsetenv("LD_PRELOAD");
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  std::string output;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof buffer)) > 0) output.append(buffer, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (exit_code != nullptr) *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return output;
}

// What `sql` prints when the shell of this build's extension (sqlite3, or
// sqlcipher for SQLCipher 3; SQLCipher 4 has no shell here) runs it on the unkeyed database `db` after loading the extension, in a new
// process (so that `environment`'s cache settings apply).
inline std::string RunShell(const std::string& environment, const fs::path& db, const std::string& sql) {
#ifdef DOCSTORE_TEST_SQLCIPHER3
  const char* shell = "sqlcipher";
#else
  const char* shell = "sqlite3";
#endif
  return RunCommand(environment + " " + shell + " -batch '" + db.string() + "' '.load " + DOCSTORE_EXTENSION_PATH +
                    "' \"" + sql + "\"");
}

}  // namespace docstore_test

#endif  // DOCSTORE_TESTS_TEST_DATABASE_H_
