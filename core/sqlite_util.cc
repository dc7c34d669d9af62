#include "sqlite_util.h"

#include <cstring>

namespace docstore {

#if SQLITE_VERSION_NUMBER >= 3034000
bool ReadTransactionMayBeOpen(sqlite3* db) { return sqlite3_txn_state(db, "main") != SQLITE_TXN_NONE; }
#else
namespace {

// Whether the program of `sql` has an OP_Transaction on main (database 0).
bool OpensMain(sqlite3* db, const char* sql) {
  sqlite3_stmt* explain = nullptr;
  const std::string text = std::string("EXPLAIN ") + sql;
  if (sqlite3_prepare_v2(db, text.c_str(), -1, &explain, nullptr) != SQLITE_OK) {
    sqlite3_finalize(explain);
    return true;
  }
  bool opens = false;
  while (!opens && sqlite3_step(explain) == SQLITE_ROW) {
    const char* opcode = reinterpret_cast<const char*>(sqlite3_column_text(explain, 1));
    opens = opcode != nullptr && std::strcmp(opcode, "Transaction") == 0 && sqlite3_column_int(explain, 2) == 0;
  }
  sqlite3_finalize(explain);
  return opens;
}

}  // namespace

bool ReadTransactionMayBeOpen(sqlite3* db) {
  if (!sqlite3_get_autocommit(db)) return true;
  for (sqlite3_stmt* stmt = sqlite3_next_stmt(db, nullptr); stmt != nullptr; stmt = sqlite3_next_stmt(db, stmt)) {
    if (!sqlite3_stmt_busy(stmt)) continue;
    const char* sql = sqlite3_sql(stmt);
    if (sql == nullptr || OpensMain(db, sql)) return true;
  }
  return false;
}
#endif

Status PrepareOnSchema(sqlite3* db, const char* sql, sqlite3_stmt** stmt) {
  if (sqlite3_prepare_v2(db, sql, -1, stmt, nullptr) == SQLITE_OK) return Status::Ok();
  Status error = Status::InvalidArgument(std::string(sqlite3_errmsg(db)) +
                                         " (no docstore schema here? run SELECT docstore_init())");
  sqlite3_finalize(*stmt);
  *stmt = nullptr;
  return error;
}

}  // namespace docstore
