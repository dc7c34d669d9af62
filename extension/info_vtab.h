// docstore_info: an eponymous virtual table of (name, value) rows describing
// the loaded build and the database it serves. It doubles as the connection's
// close hook: see ConnectionState.
#ifndef DOCSTORE_EXTENSION_INFO_VTAB_H_
#define DOCSTORE_EXTENSION_INFO_VTAB_H_

#include "connection_state.h"

namespace docstore {

int RegisterInfoModule(sqlite3* db, ConnectionState* state);

// Makes SQLite connect docstore_info now, so that its xDisconnect runs when
// the connection closes. False (with the error in the connection) on failure.
bool ConnectCloseAnchor(sqlite3* db);

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_INFO_VTAB_H_
