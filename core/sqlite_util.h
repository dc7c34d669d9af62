// Small helpers over the SQLite API, for core/, the extension, the sidecar
// and the benchmarks, each with the SQLite that sqlite_api.h gives it.
#ifndef DOCSTORE_CORE_SQLITE_UTIL_H_
#define DOCSTORE_CORE_SQLITE_UTIL_H_

#include <string>

#include "sqlite_api.h"
#include "status.h"

namespace docstore {

// The first column of the first row of a statement, as text: for pragmas and
// one-value lookups. "" when there is no row, the value is NULL, or the
// statement failed; *rc (if given) is SQLITE_OK for a row or none, else the
// error code.
inline std::string QueryText(sqlite3* db, const std::string& sql, int* rc = nullptr) {
  sqlite3_stmt* stmt = nullptr;
  std::string value;
  int result = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  if (result == SQLITE_OK) {
    result = sqlite3_step(stmt);
    if (result == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    if (result == SQLITE_ROW || result == SQLITE_DONE) result = SQLITE_OK;
  }
  sqlite3_finalize(stmt);
  if (rc != nullptr) *rc = result;
  return value;
}

// Runs `sql` (any number of statements); the connection's message on failure.
inline Status Exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) == SQLITE_OK) return Status::Ok();
  Status error = Status::Error(message != nullptr ? message : sqlite3_errmsg(db));
  sqlite3_free(message);
  return error;
}

// Prepares `sql`, which reads docstore's schema, into *stmt (nullptr on
// failure, with a message that names the likely cause: no schema yet).
Status PrepareOnSchema(sqlite3* db, const char* sql, sqlite3_stmt** stmt);

// Whether a statement that writes is running on `db` (SQLite 3.15 has no
// sqlite3_txn_state to ask).
inline bool WriteStatementRunning(sqlite3* db) {
  for (sqlite3_stmt* stmt = sqlite3_next_stmt(db, nullptr); stmt != nullptr; stmt = sqlite3_next_stmt(db, stmt)) {
    if (sqlite3_stmt_busy(stmt) && !sqlite3_stmt_readonly(stmt)) return true;
  }
  return false;
}

// Whether `db` may have a write transaction open on its main database (what
// it reads then may be its own uncommitted writes). Cheap: asked on every
// cache hit.
inline bool InWriteTransaction(sqlite3* db) {
#if SQLITE_VERSION_NUMBER >= 3034000
  return sqlite3_txn_state(db, "main") == SQLITE_TXN_WRITE;
#else
  return !sqlite3_get_autocommit(db) || WriteStatementRunning(db);
#endif
}

// Whether `db` may have a read transaction open on its main database, so
// that the next statement would read in a snapshot taken earlier rather than
// now. On SQLite 3.15, which cannot say, a running statement counts unless
// its program never opens a transaction on main (SELECT doc_get(?) runs in
// one that does not): looked up with EXPLAIN, so this is for rare paths.
bool ReadTransactionMayBeOpen(sqlite3* db);

}  // namespace docstore

#endif  // DOCSTORE_CORE_SQLITE_UTIL_H_
