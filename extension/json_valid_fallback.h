// json_valid(x) for runtimes without JSON1 (SQLite 3.15 inside SQLCipher 3.4),
// where documents.metadata's CHECK constraint needs it.
#ifndef DOCSTORE_EXTENSION_JSON_VALID_FALLBACK_H_
#define DOCSTORE_EXTENSION_JSON_VALID_FALLBACK_H_

#include "sqlite_api.h"

namespace docstore {

// Registers json_valid only when the connection has none of its own.
int RegisterJsonValidIfMissing(sqlite3* db);

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_JSON_VALID_FALLBACK_H_
