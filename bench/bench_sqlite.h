// SQLite helpers shared by docstore's benchmarks: a failed call ends the run.
// Includes whichever sqlite3.h the target's include path provides (SQLite or
// SQLCipher).
#ifndef DOCSTORE_BENCH_BENCH_SQLITE_H_
#define DOCSTORE_BENCH_BENCH_SQLITE_H_

#include <sqlite3.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace docstore::bench {

[[noreturn]] inline void Die(const std::string& what) {
  std::fprintf(stderr, "bench: %s\n", what.c_str());
  std::exit(1);
}

inline void Exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    Die(sql + ": " + (error ? error : "?"));
  }
}

inline sqlite3_stmt* Prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
    Die(std::string(sql) + ": " + sqlite3_errmsg(db));
  }
  return stmt;
}

// The first column of the first row of `sql`, "" if none.
inline std::string Text(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = Prepare(db, sql);
  std::string text;
  if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
    text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  return text;
}

// Steps a one-row statement and touches every column's bytes, as a caller
// reading the result would.
inline size_t StepOnce(sqlite3_stmt* stmt) {
  size_t bytes = 0;
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      sqlite3_column_text(stmt, i);
      bytes += static_cast<size_t>(sqlite3_column_bytes(stmt, i));
    }
  }
  sqlite3_reset(stmt);
  return bytes;
}

}  // namespace docstore::bench

#endif  // DOCSTORE_BENCH_BENCH_SQLITE_H_
