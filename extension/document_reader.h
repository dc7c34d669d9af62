// Reading one document as its JSON text (see doc_get.cc for the format).
#ifndef DOCSTORE_EXTENSION_DOCUMENT_READER_H_
#define DOCSTORE_EXTENSION_DOCUMENT_READER_H_

#include <cstdint>
#include <string>

#include "connection_state.h"

namespace docstore {

enum class LookupResult { kFound, kMissing, kError };

// Reads the document through the connection and caches it when that is
// safe (see document_cache.h). kFound: *json holds the document. kMissing: no
// such id. kError: *error says why (the connection's message; the caller
// prefixes its own name).
LookupResult ReadDocumentThrough(ConnectionState* state, int64_t id, std::string* json,
                                 std::string* error);

// The document from the shared cache, or else ReadDocumentThrough.
LookupResult LoadDocument(ConnectionState* state, int64_t id, std::string* json, std::string* error);

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_DOCUMENT_READER_H_
