// docstore_verify: the divergence audit from SQL (core/cache_verify.h).
#ifndef DOCSTORE_EXTENSION_VERIFY_VTAB_H_
#define DOCSTORE_EXTENSION_VERIFY_VTAB_H_

#include "connection_state.h"

namespace docstore {

int RegisterVerifyTable(sqlite3* db, ConnectionState* state);

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_VERIFY_VTAB_H_
