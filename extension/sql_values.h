// Reading SQL arguments and writing SQL values as JSON, shared by docstore's
// functions.
#ifndef DOCSTORE_EXTENSION_SQL_VALUES_H_
#define DOCSTORE_EXTENSION_SQL_VALUES_H_

#include <cstdint>
#include <string>

#include "sqlite_api.h"

namespace docstore {

enum class IdArgument {
  kId,       // *id holds the document id
  kNull,     // SQL NULL: the caller returns NULL
  kInvalid,  // not an integer: an error naming `function` is already set on ctx
};

// An INTEGER, or a REAL holding an integral value within int64 (Node's
// better-sqlite3 binds every JavaScript number as a REAL): true, with *value.
bool IntegralValue(sqlite3_value* arg, int64_t* value);

// Document ids are SQL integers, or REALs holding an integral value (Node's
// better-sqlite3 binds every JavaScript number as a REAL). Text, blobs and
// reals with a fraction are errors rather than conversions: '12abc' or 1.5
// silently becoming a lookup would hide bugs.
IdArgument ReadDocumentId(sqlite3_context* ctx, const char* function, sqlite3_value* arg,
                          int64_t* id);

// Appends column `column` of the current row as a JSON value: NULL as null,
// integers and finite reals as numbers, text and blobs as strings.
void AppendColumnAsJson(std::string* out, sqlite3_stmt* stmt, int column);

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_SQL_VALUES_H_
