// docstore_info: what is loaded, and into what; docstore_version(): the
// version alone (the convention of vec_version(), sqlean_version()).
//
//   SELECT docstore_version();  -- '0.2.0'
//   SELECT * FROM docstore_info;
//   name             value
//   ---------------  ----------------
//   extension        0.2.0
//   commit           the git commit it was built from
//   build            sqlite | sqlcipher
//   built_against    3.40.1
//   runtime          3.40.1
//   cipher_runtime   4.6.1 community | none   (PRAGMA cipher_version: the SQLCipher loaded into)
//   schema_version   3          (PRAGMA user_version; 0 before docstore_init)
//   schema_latest    3          (what docstore_init() migrates to)
//   fulltext         fts5 | fts4 | none
//   segment_layout   4          (the shared segments' layout this build makes and reads)
//   value_format     2          (the cache entries' format: another build's segment is refused)
#include "info_vtab.h"

#include <string>

#include "build_info.h"
#include "document_entry.h"
#include "name_value_vtab.h"
#include "schema.h"
#include "shmcache/shmcache.h"
#include "sqlite_util.h"

namespace docstore {
namespace {

NameValueRows InfoRows(ConnectionState* state) {
  sqlite3* db = state->db();
  int schema_version = 0;
  const NameValue schema_version_value =
      ReadSchemaVersion(db, &schema_version) ? NameValue(int64_t{schema_version}) : NameValue("unreadable");
  const std::string fulltext = FulltextModule(db);
  const std::string cipher = QueryText(db, "PRAGMA cipher_version");
  return {
      {"extension", kDocstoreVersion},
      {"commit", kDocstoreCommit},
      {"build", kBuildVariant},
      {"built_against", kBuiltAgainstVersion},
      {"runtime", sqlite3_libversion()},
      {"cipher_runtime", cipher.empty() ? std::string("none") : cipher},
      {"schema_version", schema_version_value},
      {"schema_latest", int64_t{LatestSchemaVersion()}},
      {"fulltext", fulltext.empty() ? std::string("none") : fulltext},
      {"segment_layout", int64_t{shmcache::LayoutVersion()}},
      {"value_format", int64_t{kEntryFormat}},
  };
}

void Version(sqlite3_context* ctx, int, sqlite3_value**) {
  sqlite3_result_text(ctx, kDocstoreVersion, -1, SQLITE_STATIC);
}

}  // namespace

int RegisterInfoModule(sqlite3* db, ConnectionState* state) {
  int flags = SQLITE_UTF8;
#ifdef SQLITE_DETERMINISTIC
  flags |= SQLITE_DETERMINISTIC;
#endif
  const int rc = sqlite3_create_function_v2(db, "docstore_version", 0, flags, nullptr, Version, nullptr, nullptr,
                                            nullptr);
  if (rc != SQLITE_OK) return rc;
  return RegisterNameValueTable(db, "docstore_info", state, InfoRows, /*close_anchor=*/true);
}

bool ConnectCloseAnchor(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db, "SELECT name FROM docstore_info", -1, &stmt, nullptr);
  sqlite3_finalize(stmt);
  return rc == SQLITE_OK;
}

}  // namespace docstore
