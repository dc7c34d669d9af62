// docstore_info: what is loaded, and into what.
//
//   SELECT * FROM docstore_info;
//   name             value
//   ---------------  ----------------
//   extension        0.1.0
//   build            sqlite | sqlcipher
//   built_against    3.40.1
//   runtime          3.40.1
//   schema_version   3          (PRAGMA user_version; 0 before docstore_init)
//   schema_latest    3          (what docstore_init() migrates to)
//   fulltext         fts5 | fts4 | none
#include "info_vtab.h"

#include <string>

#include "build_info.h"
#include "name_value_vtab.h"
#include "schema.h"

namespace docstore {
namespace {

NameValueRows InfoRows(ConnectionState* state) {
  sqlite3* db = state->db();
  int schema_version = 0;
  const std::string version_text =
      ReadSchemaVersion(db, &schema_version) ? std::to_string(schema_version) : "unreadable";
  const std::string fulltext = FulltextModule(db);
  return {
      {"extension", kExtensionVersion},
      {"build", kBuildVariant},
      {"built_against", kBuiltAgainstVersion},
      {"runtime", sqlite3_libversion()},
      {"schema_version", version_text},
      {"schema_latest", std::to_string(LatestSchemaVersion())},
      {"fulltext", fulltext.empty() ? "none" : fulltext},
  };
}

}  // namespace

int RegisterInfoModule(sqlite3* db, ConnectionState* state) {
  return RegisterNameValueTable(db, "docstore_info", state, InfoRows, /*close_anchor=*/true);
}

bool ConnectCloseAnchor(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db, "SELECT name FROM docstore_info", -1, &stmt, nullptr);
  sqlite3_finalize(stmt);
  return rc == SQLITE_OK;
}

}  // namespace docstore
