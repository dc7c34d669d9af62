// doc_touch(id), doc_flush() and the docstore_pending table: deferred access
// counting seen from SQL.
#ifndef DOCSTORE_EXTENSION_ACCESS_FUNCTIONS_H_
#define DOCSTORE_EXTENSION_ACCESS_FUNCTIONS_H_

#include "connection_state.h"

namespace docstore {

int RegisterAccessFunctions(sqlite3* db, ConnectionState* state);

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_ACCESS_FUNCTIONS_H_
