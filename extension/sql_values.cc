#include "sql_values.h"

#include <cmath>
#include <cstdio>
#include <string_view>

#include "json_text.h"

namespace docstore {
namespace {

const char* TypeName(int type) {
  switch (type) {
    case SQLITE_TEXT: return "text";
    case SQLITE_FLOAT: return "a real with a fraction or out of range";
    case SQLITE_BLOB: return "a blob";
    default: return "a value of unknown type";
  }
}

}  // namespace

bool IntegralValue(sqlite3_value* arg, int64_t* value) {
  switch (sqlite3_value_type(arg)) {
    case SQLITE_INTEGER:
      *value = sqlite3_value_int64(arg);
      return true;
    case SQLITE_FLOAT: {
      // 7.0 means 7. The range check is on [-2^63, 2^63), where the
      // conversion is exact.
      const double real = sqlite3_value_double(arg);
      if (real >= -9223372036854775808.0 && real < 9223372036854775808.0 && real == std::trunc(real)) {
        *value = static_cast<int64_t>(real);
        return true;
      }
      return false;
    }
    default:
      return false;
  }
}

IdArgument ReadDocumentId(sqlite3_context* ctx, const char* function, sqlite3_value* arg,
                          int64_t* id) {
  const int type = sqlite3_value_type(arg);
  if (type == SQLITE_NULL) return IdArgument::kNull;
  if (IntegralValue(arg, id)) return IdArgument::kId;
  char* message = sqlite3_mprintf("%s: expected an integer document id, got %s", function,
                                  TypeName(type));
  sqlite3_result_error(ctx, message, -1);
  sqlite3_free(message);
  return IdArgument::kInvalid;
}

void AppendColumnAsJson(std::string* out, sqlite3_stmt* stmt, int column) {
  switch (sqlite3_column_type(stmt, column)) {
    case SQLITE_INTEGER:
      out->append(std::to_string(sqlite3_column_int64(stmt, column)));
      return;
    case SQLITE_FLOAT: {
      const double value = sqlite3_column_double(stmt, column);
      if (!std::isfinite(value)) {
        out->append("null");  // JSON has no Inf or NaN
        return;
      }
      char buffer[32];
      const int n = std::snprintf(buffer, sizeof buffer, "%.17g", value);
      out->append(buffer, static_cast<size_t>(n));
      return;
    }
    case SQLITE_TEXT: {
      // column_text converts a UTF-16 database's text to UTF-8; call it
      // before column_bytes so the length is the UTF-8 one.
      const unsigned char* text = sqlite3_column_text(stmt, column);
      const int size = sqlite3_column_bytes(stmt, column);
      AppendJsonString(out, std::string_view(reinterpret_cast<const char*>(text),
                                             static_cast<size_t>(size)));
      return;
    }
    case SQLITE_BLOB: {
      const void* bytes = sqlite3_column_blob(stmt, column);
      const int size = sqlite3_column_bytes(stmt, column);
      AppendJsonString(out, std::string_view(static_cast<const char*>(bytes),
                                             static_cast<size_t>(size)));
      return;
    }
    default:
      out->append("null");
  }
}

}  // namespace docstore
