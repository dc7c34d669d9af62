// Eponymous, read-only virtual tables of (name, value) rows, made afresh by a
// function on every scan: docstore_info and docstore_stats. Each value keeps
// its own type: a count is an integer, a ratio a real, a time not yet seen
// NULL, a status text.
#ifndef DOCSTORE_EXTENSION_NAME_VALUE_VTAB_H_
#define DOCSTORE_EXTENSION_NAME_VALUE_VTAB_H_

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "connection_state.h"

namespace docstore {

using NameValue = std::variant<std::monostate, int64_t, double, std::string>;
using NameValueRows = std::vector<std::pair<std::string, NameValue>>;
using NameValueRowsFunction = NameValueRows (*)(ConnectionState* state);

// `close_anchor`: this table's xDisconnect finalizes the connection's cached
// statements (see ConnectionState); exactly one table per connection does.
int RegisterNameValueTable(sqlite3* db, const char* name, ConnectionState* state,
                           NameValueRowsFunction rows, bool close_anchor);

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_NAME_VALUE_VTAB_H_
