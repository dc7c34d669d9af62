// The document schema: created and migrated from the .sql files under sql/,
// which the build embeds (see embed_sql.cmake).
#ifndef DOCSTORE_EXTENSION_SCHEMA_H_
#define DOCSTORE_EXTENSION_SCHEMA_H_

#include <string>

#include "sqlite_api.h"
#include "status.h"

namespace docstore {

// The user_version docstore_init() migrates to.
int LatestSchemaVersion();

// Brings the schema to LatestSchemaVersion() in one transaction (a savepoint
// when the caller already has one open). Nothing of a failed migration
// remains.
Status MigrateSchema(sqlite3* db, int* schema_version);

bool ReadSchemaVersion(sqlite3* db, int* version);

// "fts5" or "fts4" by how documents_fts was created, "" when it does not exist.
std::string FulltextModule(sqlite3* db);

// SELECT docstore_init()
int RegisterSchemaFunctions(sqlite3* db);

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_SCHEMA_H_
