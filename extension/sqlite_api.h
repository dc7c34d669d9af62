// Every extension source includes SQLite through this header, so that all of
// them call through the one sqlite3_api table that the loading runtime handed
// to sqlite3_docstore_init (see docstore.cc). Which sqlite3ext.h this finds is
// chosen by the build: /usr/include for docstore.so, /usr/include/sqlcipher for
// docstore_sqlcipher.so.
#ifndef DOCSTORE_EXTENSION_SQLITE_API_H_
#define DOCSTORE_EXTENSION_SQLITE_API_H_

#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT3

#endif  // DOCSTORE_EXTENSION_SQLITE_API_H_
