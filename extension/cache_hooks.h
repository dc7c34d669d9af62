// docstore_invalidate(id, clock[, database_id]): called by the schema's
// triggers on every document write (sql/003 and sql/005), before the write
// commits; core/document_cache.h says why.
#ifndef DOCSTORE_EXTENSION_CACHE_HOOKS_H_
#define DOCSTORE_EXTENSION_CACHE_HOOKS_H_

#include "connection_state.h"

namespace docstore {

int RegisterCacheHooks(sqlite3* db, ConnectionState* state);

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_CACHE_HOOKS_H_
