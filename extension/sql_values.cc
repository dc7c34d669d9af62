#include "sql_values.h"

#include <cmath>
#include <string>

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

std::string Message(const char* function, const Status& status) {
  return std::string(function) + ": " + status.message();
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

Status ReadDocumentId(sqlite3_value* arg, std::optional<int64_t>* id) {
  id->reset();
  const int type = sqlite3_value_type(arg);
  if (type == SQLITE_NULL) return Status::Ok();
  int64_t value = 0;
  if (!IntegralValue(arg, &value)) {
    return Status::InvalidArgument(std::string("expected an integer document id, got ") + TypeName(type));
  }
  *id = value;
  return Status::Ok();
}

void ResultError(sqlite3_context* ctx, const char* function, const Status& status) {
  const std::string message = Message(function, status);
  sqlite3_result_error(ctx, message.c_str(), static_cast<int>(message.size()));
}

void SetVtabError(sqlite3_vtab* vtab, const char* function, const Status& status) {
  sqlite3_free(vtab->zErrMsg);
  vtab->zErrMsg = sqlite3_mprintf("%s", Message(function, status).c_str());
}

}  // namespace docstore
