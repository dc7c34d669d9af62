// sql_shell DATABASE < SCRIPT: the few things of the sqlite3 shell's batch
// mode that tests/run_sql_script.sh and plain_shell_write_test.sh use, for a
// SQLite that ships no shell (SQLCipher 4, linked from DOCSTORE_SQLCIPHER4).
//
//   - a line ".load PATH" loads an extension; any other dot-command is an error;
//   - SQL runs statement by statement as it completes (sqlite3_complete);
//   - rows print in list mode: columns joined by '|', NULL as nothing;
//   - an error prints "Error: near line N: MESSAGE" on stderr, and the script
//     goes on; the exit code is 1 if any statement failed.
#include <sqlite3.h>

#include <cstdio>
#include <iostream>
#include <string>

namespace {

// Runs every statement in `sql`; false if one failed.
bool RunStatements(sqlite3* db, const std::string& sql, int line) {
  const char* next = sql.c_str();
  bool ok = true;
  while (*next != '\0') {
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v2(db, next, -1, &stmt, &tail);
    if (rc == SQLITE_OK && stmt != nullptr) {
      while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        std::string row;
        for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
          if (i > 0) row += '|';
          const unsigned char* text = sqlite3_column_text(stmt, i);
          if (text != nullptr) row.append(reinterpret_cast<const char*>(text), static_cast<size_t>(sqlite3_column_bytes(stmt, i)));
        }
        std::printf("%s\n", row.c_str());
      }
      if (rc == SQLITE_DONE) rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK) {
      std::fprintf(stderr, "Error: near line %d: %s\n", line, sqlite3_errmsg(db));
      ok = false;
    }
    sqlite3_finalize(stmt);
    if (tail == nullptr || tail == next) break;
    next = tail;
  }
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: sql_shell DATABASE < SCRIPT\n");
    return 2;
  }
  sqlite3* db = nullptr;
  if (sqlite3_open(argv[1], &db) != SQLITE_OK) {
    std::fprintf(stderr, "Error: cannot open %s: %s\n", argv[1], sqlite3_errmsg(db));
    return 1;
  }
  sqlite3_enable_load_extension(db, 1);
  bool ok = true;
  std::string pending;
  int line_number = 0, statement_line = 0;
  for (std::string line; std::getline(std::cin, line);) {
    ++line_number;
    if (pending.empty() && line.rfind(".", 0) == 0) {
      if (line.rfind(".load ", 0) != 0) {
        std::fprintf(stderr, "Error: near line %d: unknown command: %s\n", line_number, line.c_str());
        ok = false;
        continue;
      }
      char* error = nullptr;
      if (sqlite3_load_extension(db, line.substr(6).c_str(), nullptr, &error) != SQLITE_OK) {
        std::fprintf(stderr, "Error: near line %d: %s\n", line_number, error != nullptr ? error : "load failed");
        ok = false;
      }
      sqlite3_free(error);
      continue;
    }
    if (pending.empty()) statement_line = line_number;
    pending += line;
    pending += '\n';
    if (sqlite3_complete(pending.c_str())) {
      ok = RunStatements(db, pending, statement_line) && ok;
      pending.clear();
    }
  }
  if (pending.find_first_not_of(" \t\r\n") != std::string::npos) ok = RunStatements(db, pending, statement_line) && ok;
  sqlite3_close(db);
  return ok ? 0 : 1;
}
