// Eponymous, read-only virtual tables of (name TEXT, value TEXT) rows, made
// afresh by a function on every scan: docstore_info and docstore_stats.
#ifndef DOCSTORE_EXTENSION_NAME_VALUE_VTAB_H_
#define DOCSTORE_EXTENSION_NAME_VALUE_VTAB_H_

#include <string>
#include <utility>
#include <vector>

#include "connection_state.h"

namespace docstore {

using NameValueRows = std::vector<std::pair<std::string, std::string>>;
using NameValueRowsFunction = NameValueRows (*)(ConnectionState* state);

// `close_anchor`: this table's xDisconnect finalizes the connection's cached
// statements (see ConnectionState); exactly one table per connection does.
int RegisterNameValueTable(sqlite3* db, const char* name, ConnectionState* state,
                           NameValueRowsFunction rows, bool close_anchor);

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_NAME_VALUE_VTAB_H_
