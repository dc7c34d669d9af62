// docstore_cache, docstore_stats and docstore_metrics(): looking inside the
// shared cache.
#ifndef DOCSTORE_EXTENSION_CACHE_VTAB_H_
#define DOCSTORE_EXTENSION_CACHE_VTAB_H_

#include "connection_state.h"

namespace docstore {

int RegisterCacheTables(sqlite3* db, ConnectionState* state);

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_CACHE_VTAB_H_
