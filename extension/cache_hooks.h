// docstore_invalidate(id, clock): called by the schema's triggers on every
// document write (sql/003_cache_coherence.sql). docstore_cache_config(): the
// cache sizes this process creates segments with.
#ifndef DOCSTORE_EXTENSION_CACHE_HOOKS_H_
#define DOCSTORE_EXTENSION_CACHE_HOOKS_H_

#include "connection_state.h"

namespace docstore {

int RegisterCacheHooks(sqlite3* db, ConnectionState* state);

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_CACHE_HOOKS_H_
