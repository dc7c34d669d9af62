// docstore_cache_warm(N): a warm start from SQL (core/cache_warm.h).
#ifndef DOCSTORE_EXTENSION_CACHE_WARM_FUNCTION_H_
#define DOCSTORE_EXTENSION_CACHE_WARM_FUNCTION_H_

#include "connection_state.h"

namespace docstore {

int RegisterCacheWarm(sqlite3* db, ConnectionState* state);

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_CACHE_WARM_FUNCTION_H_
