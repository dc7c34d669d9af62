// docstore_init(): create or migrate the document schema.
//
//   SELECT docstore_init();   -- returns the schema version now in force
//
// Migrations are the files of sql/, applied in name order. A file named
// NNN_what.sql belongs to schema version NNN; NNN_what.fts5.sql and
// NNN_what.fts4.sql are alternatives, of which the one the runtime supports is
// applied (FTS5 where it is compiled in, FTS4 otherwise: SQLCipher 3.4).
// PRAGMA user_version records how far a database has come, so running
// docstore_init() again does nothing, and a database from a newer docstore is
// refused rather than half-understood.
#include "schema.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "embedded_sql.h"
#include "sql_values.h"
#include "sqlite_util.h"

namespace docstore {
namespace {

struct Migration {
  int version;
  std::string_view variant;  // "", "fts5" or "fts4"
  const char* sql;
};

Migration ParseMigrationName(const EmbeddedSqlFile& file) {
  const std::string_view name = file.name;
  Migration m{std::atoi(file.name), "", file.text};
  const std::string_view stem = name.substr(0, name.size() - std::string_view(".sql").size());
  const size_t dot = stem.rfind('.');
  if (dot != std::string_view::npos) m.variant = stem.substr(dot + 1);
  return m;
}

bool RuntimeHasFts5(sqlite3* db) {
  // fts5() is the function FTS5 registers to hand out its API; compiling a
  // call to it succeeds exactly when FTS5 is present, and runs nothing.
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db, "SELECT fts5(NULL)", -1, &stmt, nullptr);
  sqlite3_finalize(stmt);
  return rc == SQLITE_OK;
}

Status ApplyPendingMigrations(sqlite3* db, int* schema_version) {
  int version = 0;
  if (!ReadSchemaVersion(db, &version)) {
    return Status::Error(std::string("cannot read PRAGMA user_version: ") + sqlite3_errmsg(db));
  }
  const int latest = LatestSchemaVersion();
  if (version > latest) {
    return Status::Error("the database is at schema version " + std::to_string(version) +
           ", newer than this docstore build knows (" + std::to_string(latest) +
           "); load a newer docstore");
  }
  const std::string_view fulltext = RuntimeHasFts5(db) ? "fts5" : "fts4";
  for (size_t i = 0; i < kEmbeddedSqlFileCount; ++i) {
    const Migration m = ParseMigrationName(kEmbeddedSqlFiles[i]);
    if (m.version <= version) continue;
    if (!m.variant.empty() && m.variant != fulltext) continue;
    if (Status status = Exec(db, m.sql); !status.ok()) {
      return status.WithContext(kEmbeddedSqlFiles[i].name);
    }
  }
  if (version < latest) {
    const std::string pragma = "PRAGMA user_version = " + std::to_string(latest);
    if (Status status = Exec(db, pragma.c_str()); !status.ok()) return status;
  }
  *schema_version = latest;
  return Status::Ok();
}

void DocstoreInit(sqlite3_context* ctx, int, sqlite3_value**) {
  sqlite3* db = sqlite3_context_db_handle(ctx);
  int version = 0;
  if (Status status = MigrateSchema(db, &version); !status.ok()) return ResultError(ctx, "docstore_init", status);
  sqlite3_result_int(ctx, version);
}

void RefuseWriteThroughOldTriggers(sqlite3_context* ctx, int, sqlite3_value**) {
  ResultError(ctx, "docstore_invalidate",
              Status::Error("this database's write triggers are from an older docstore; run SELECT docstore_init()"
                            " once to migrate it (after that, any tool can write documents)"));
}

}  // namespace

int LatestSchemaVersion() {
  int latest = 0;
  for (size_t i = 0; i < kEmbeddedSqlFileCount; ++i) {
    latest = std::max(latest, ParseMigrationName(kEmbeddedSqlFiles[i]).version);
  }
  return latest;
}

Status MigrateSchema(sqlite3* db, int* schema_version) {
  // Outside a transaction take the write lock up front, so two processes
  // initialising at once queue on the busy handler instead of both reading
  // version 0 and one failing on the upgrade to a write lock.
  const bool own_transaction = sqlite3_get_autocommit(db) != 0;
  if (Status status = Exec(db, own_transaction ? "BEGIN IMMEDIATE" : "SAVEPOINT docstore_init"); !status.ok()) {
    return status;
  }
  Status status = ApplyPendingMigrations(db, schema_version);
  if (status.ok()) {
    status = Exec(db, own_transaction ? "COMMIT" : "RELEASE docstore_init");
    if (status.ok()) return status;
  }
  Exec(db, own_transaction ? "ROLLBACK" : "ROLLBACK TO docstore_init; RELEASE docstore_init");
  return status;
}

bool ReadSchemaVersion(sqlite3* db, int* version) {
  sqlite3_stmt* stmt = nullptr;
  bool ok = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr) == SQLITE_OK &&
            sqlite3_step(stmt) == SQLITE_ROW;
  if (ok) *version = sqlite3_column_int(stmt, 0);
  sqlite3_finalize(stmt);
  return ok;
}

std::string FulltextModule(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  std::string module;
  if (sqlite3_prepare_v2(db,
                         "SELECT lower(sql) FROM sqlite_master"
                         " WHERE type = 'table' AND name = 'documents_fts'",
                         -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    const char* sql = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    const std::string_view text = sql != nullptr ? sql : "";
    if (text.find("using fts5") != std::string_view::npos) {
      module = "fts5";
    } else if (text.find("using fts4") != std::string_view::npos) {
      module = "fts4";
    }
  }
  sqlite3_finalize(stmt);
  return module;
}

int RegisterSchemaFunctions(sqlite3* db) {
  int rc = sqlite3_create_function_v2(db, "docstore_init", 0, kDirectOnlyFunction, nullptr, DocstoreInit, nullptr,
                                      nullptr, nullptr);
  // The write triggers of schemas before migration 7 called
  // docstore_invalidate(id, clock[, database_id]); it is gone, and a write
  // through them says what to do instead of "no such function".
  int trigger_flags = SQLITE_UTF8;
#ifdef SQLITE_INNOCUOUS
  trigger_flags |= SQLITE_INNOCUOUS;  // it only ever fails
#endif
  for (int arity : {2, 3}) {
    if (rc == SQLITE_OK) {
      rc = sqlite3_create_function_v2(db, "docstore_invalidate", arity, trigger_flags, nullptr,
                                      RefuseWriteThroughOldTriggers, nullptr, nullptr, nullptr);
    }
  }
  return rc;
}

}  // namespace docstore
