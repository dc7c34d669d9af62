// The cache's administration from SQL: docstore_cache_config() (the settings
// this process creates segments with) and docstore_cache_clear().
#ifndef DOCSTORE_EXTENSION_CACHE_ADMIN_H_
#define DOCSTORE_EXTENSION_CACHE_ADMIN_H_

#include "connection_state.h"

namespace docstore {

int RegisterCacheAdmin(sqlite3* db, ConnectionState* state);

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_CACHE_ADMIN_H_
