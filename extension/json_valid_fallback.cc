#include "json_valid_fallback.h"

#include <string_view>

#include "json_text.h"

namespace docstore {
namespace {

// Same answers as JSON1's json_valid() for text: 1 for one RFC 8259 value,
// 0 otherwise; NULL for NULL.
void JsonValid(sqlite3_context* ctx, int, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return;
  const unsigned char* text = sqlite3_value_text(argv[0]);
  const int size = sqlite3_value_bytes(argv[0]);
  sqlite3_result_int(ctx, text != nullptr && IsValidJson(std::string_view(
                                                 reinterpret_cast<const char*>(text),
                                                 static_cast<size_t>(size))));
}

}  // namespace

int RegisterJsonValidIfMissing(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  const bool present = sqlite3_prepare_v2(db, "SELECT json_valid('1')", -1, &stmt, nullptr) ==
                       SQLITE_OK;
  sqlite3_finalize(stmt);
  if (present) return SQLITE_OK;
  int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
#ifdef SQLITE_INNOCUOUS
  flags |= SQLITE_INNOCUOUS;  // used in a CHECK constraint
#endif
  return sqlite3_create_function_v2(db, "json_valid", 1, flags, nullptr, JsonValid, nullptr,
                                    nullptr, nullptr);
}

}  // namespace docstore
