// The first column of the first row of a statement, as text: for pragmas and
// one-value lookups. Shared by the extension (docstore_tune), the sidecar and
// the benchmarks, each with the SQLite that sqlite_api.h gives it.
#ifndef DOCSTORE_EXTENSION_QUERY_TEXT_H_
#define DOCSTORE_EXTENSION_QUERY_TEXT_H_

#include <string>

#include "sqlite_api.h"

namespace docstore {

// "" when there is no row, the value is NULL, or the statement failed; *rc
// (if given) is SQLITE_OK for a row or none, else the error code.
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

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_QUERY_TEXT_H_
