// core/json_text: the validator that decides whether metadata is embedded
// in doc_get's JSON as the value it holds, and the writer of every JSON
// string doc_get emits.
//  - Any bytes quoted by AppendJsonString are one valid JSON string.
//  - IsValidJson agrees with SQLite's json_valid() (what the documents
//    table's CHECK constraint runs) on ASCII text without NUL and nested
//    within kMaxJsonDepth; on any other text it accepts nothing SQLite
//    refuses (it is stricter only on purpose: UTF-8 and depth).
#include <sqlite3.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "json_text.h"

namespace {

// SQLite's verdict, from one connection and statement kept for the run.
bool SqliteJsonValid(std::string_view text) {
  static sqlite3_stmt* stmt = [] {
    sqlite3* db = nullptr;
    sqlite3_stmt* prepared = nullptr;
    FUZZ_CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
    FUZZ_CHECK(sqlite3_prepare_v2(db, "SELECT json_valid(?1)", -1, &prepared, nullptr) == SQLITE_OK);
    return prepared;
  }();
  sqlite3_bind_text(stmt, 1, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
  FUZZ_CHECK(sqlite3_step(stmt) == SQLITE_ROW);
  const bool valid = sqlite3_column_int(stmt, 0) == 1;
  sqlite3_reset(stmt);
  return valid;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  std::string quoted;
  docstore::AppendJsonString(&quoted, text);
  FUZZ_CHECK(docstore::IsValidJson(quoted));

  const bool ours = docstore::IsValidJson(text);
  const bool sqlite = SqliteJsonValid(text);
  // SQLite reads text up to its first NUL and does not check UTF-8; its
  // depth limit is higher (2000 in 3.40).
  const bool comparable =
      std::none_of(text.begin(), text.end(), [](char c) { return c == '\0' || static_cast<unsigned char>(c) >= 0x80; }) &&
      std::count_if(text.begin(), text.end(), [](char c) { return c == '[' || c == '{'; }) <= docstore::kMaxJsonDepth;
  if (comparable) {
    FUZZ_CHECK(ours == sqlite);
  } else if (ours) {
    FUZZ_CHECK(sqlite);
  }
  return 0;
}
