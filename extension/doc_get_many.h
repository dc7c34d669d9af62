// doc_get_many(ids): many documents in one call.
#ifndef DOCSTORE_EXTENSION_DOC_GET_MANY_H_
#define DOCSTORE_EXTENSION_DOC_GET_MANY_H_

#include "connection_state.h"

namespace docstore {

int RegisterDocGetMany(sqlite3* db, ConnectionState* state);

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_DOC_GET_MANY_H_
