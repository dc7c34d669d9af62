// doc_get(id): one document as JSON text.
#ifndef DOCSTORE_EXTENSION_DOC_GET_H_
#define DOCSTORE_EXTENSION_DOC_GET_H_

#include "connection_state.h"

namespace docstore {

int RegisterDocGet(sqlite3* db, ConnectionState* state);

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_DOC_GET_H_
