// Every source shared by the extension includes SQLite through this header.
// In the extension, all of them call through the one sqlite3_api table that
// the loading runtime handed to sqlite3_docstore_init (see docstore.cc); which
// sqlite3ext.h that is is chosen by the build: /usr/include for docstore.so,
// /usr/include/sqlcipher for docstore_sqlcipher.so. docstore-sidecar, which
// compiles some of the same sources, and the benchmarks that use
// query_text.h link SQLite themselves (DOCSTORE_SQLITE_LINKED).
#ifndef DOCSTORE_EXTENSION_SQLITE_API_H_
#define DOCSTORE_EXTENSION_SQLITE_API_H_

#ifdef DOCSTORE_SQLITE_LINKED
#include <sqlite3.h>
#else
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT3
#endif

#endif  // DOCSTORE_EXTENSION_SQLITE_API_H_
