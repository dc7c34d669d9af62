// doc_search(query [, mode]): full-text search over documents, FTS5 or FTS4
// alike; usage, modes and limits in doc_search.cc.
#ifndef DOCSTORE_EXTENSION_DOC_SEARCH_H_
#define DOCSTORE_EXTENSION_DOC_SEARCH_H_

#include "sqlite_api.h"

namespace docstore {

int RegisterDocSearch(sqlite3* db);

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_DOC_SEARCH_H_
