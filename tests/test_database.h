// A database connection for tests: opens a file (keyed under
// DOCSTORE_TEST_SQLCIPHER), loads the extension, runs SQL and collects rows.
#ifndef DOCSTORE_TESTS_TEST_DATABASE_H_
#define DOCSTORE_TESTS_TEST_DATABASE_H_

#include <sqlite3.h>

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

class Database {
 public:
  // Under DOCSTORE_TEST_SQLCIPHER the database is keyed unless `keyed` is false.
  explicit Database(const fs::path& path, bool load = true, bool keyed = true) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) ADD_FAILURE() << sqlite3_errmsg(db_);
#ifdef DOCSTORE_TEST_SQLCIPHER
    if (keyed) Exec("PRAGMA key = 'correct horse battery staple'");
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

}  // namespace docstore_test

#endif  // DOCSTORE_TESTS_TEST_DATABASE_H_
