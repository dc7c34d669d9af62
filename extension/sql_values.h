// The SQL boundary: reading SQL arguments, and turning a Status into the SQL
// error a user sees ("<function>: <message>"), for docstore's functions and
// virtual tables.
#ifndef DOCSTORE_EXTENSION_SQL_VALUES_H_
#define DOCSTORE_EXTENSION_SQL_VALUES_H_

#include <cstdint>
#include <optional>

#include "sqlite_api.h"
#include "status.h"

namespace docstore {

// An INTEGER, or a REAL holding an integral value within int64 (Node's
// better-sqlite3 binds every JavaScript number as a REAL): true, with *value.
bool IntegralValue(sqlite3_value* arg, int64_t* value);

// Document ids are SQL integers, or REALs holding an integral value. Text,
// blobs and reals with a fraction are kInvalidArgument rather than
// conversions: '12abc' or 1.5 silently becoming a lookup would hide bugs.
// SQL NULL leaves *id empty: the caller returns NULL.
Status ReadDocumentId(sqlite3_value* arg, std::optional<int64_t>* id);

// Flags of a function with effects beyond its result (it writes the
// database, changes or clears the shared cache): never callable from a
// trigger or view, where a database file's own schema could call it for
// whoever opens the file (SQLITE_DIRECTONLY; SQLite 3.15 has no such flag).
#ifdef SQLITE_DIRECTONLY
inline constexpr int kDirectOnlyFunction = SQLITE_UTF8 | SQLITE_DIRECTONLY;
#else
inline constexpr int kDirectOnlyFunction = SQLITE_UTF8;
#endif

// The function's result is the error "<function>: <status's message>".
void ResultError(sqlite3_context* ctx, const char* function, const Status& status);
// The same, as a virtual table's error message (its xFilter/xNext then
// returns SQLITE_ERROR).
void SetVtabError(sqlite3_vtab* vtab, const char* function, const Status& status);

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_SQL_VALUES_H_
