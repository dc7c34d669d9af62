// Every source of core/ and extension/ includes SQLite through this header.
// In the extension (and the core library built for it), all of them call
// through the one sqlite3_api table that the loading runtime handed to
// sqlite3_docstore_init (see extension/docstore.cc); which sqlite3ext.h that
// is is chosen by the build: /usr/include for docstore.so,
// /usr/include/sqlcipher for docstore_sqlcipher.so. docstore-sidecar, the
// core library built for it, the core tests and the benchmarks link SQLite
// themselves (DOCSTORE_SQLITE_LINKED).
#ifndef DOCSTORE_CORE_SQLITE_API_H_
#define DOCSTORE_CORE_SQLITE_API_H_

#ifdef DOCSTORE_SQLITE_LINKED
#include <sqlite3.h>
#else
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT3
#endif

#endif  // DOCSTORE_CORE_SQLITE_API_H_
