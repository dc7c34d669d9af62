#include "connection_state.h"

#include "document_entry.h"
#include "info_vtab.h"

namespace docstore {
namespace {

constexpr const char* kStatementSql[] = {
    /* kDocumentById */ kDocumentByIdSql,
};
static_assert(std::size(kStatementSql) == static_cast<size_t>(CachedStatement::kCount));

}  // namespace

void ConnectionState::Release(void* state) {
  auto* self = static_cast<ConnectionState*>(state);
  if (--self->references_ == 0) delete self;
}

Status ConnectionState::Statement(CachedStatement which, sqlite3_stmt** stmt) {
  sqlite3_stmt*& slot = statements_[static_cast<size_t>(which)];
  *stmt = nullptr;
  if (slot != nullptr) {
    // Only a nested call could find it running; resetting it would pull the
    // rows out from under the outer caller, so refuse instead.
    if (sqlite3_stmt_busy(slot)) return Status::Error("a cached statement is already running (nested call)");
    *stmt = slot;
    return Status::Ok();
  }
  if (sqlite3_prepare_v2(db_, kStatementSql[static_cast<size_t>(which)], -1, &slot, nullptr) != SQLITE_OK) {
    const std::string error = sqlite3_errmsg(db_);
    const bool unreadable = (sqlite3_errcode(db_) & 0xff) == SQLITE_NOTADB;
    sqlite3_finalize(slot);
    slot = nullptr;
    const Status schema = CheckSchema();
    if (schema.ok()) return Status::Error(error);
    // SQLite's words where they add to ours ("no such table: main.documents").
    return unreadable ? schema : Status::Error(error + " (" + schema.message() + ")");
  }
  // A statement is cached only while something will finalize it at close.
  if (!close_anchor_connected_ && !ConnectCloseAnchor(db_)) {
    const Status error = Status::Error(std::string("could not connect docstore_info, its close hook: ") +
                                       sqlite3_errmsg(db_));
    sqlite3_finalize(slot);
    slot = nullptr;
    return error;
  }
  *stmt = slot;
  return Status::Ok();
}

Status ConnectionState::CheckSchema() {
  if (!cache_.MainDatabaseId().empty()) return Status::Ok();
  sqlite3_stmt* probe = nullptr;
  const int rc = sqlite3_prepare_v2(db_, "SELECT 1 FROM main.sqlite_master", -1, &probe, nullptr);
  sqlite3_finalize(probe);
  // SQLCipher 4 says SQLITE_NOTADB once for a page that fails its check,
  // then whatever its codec's error became.
  if (rc == SQLITE_NOTADB || (rc != SQLITE_OK && DatabaseIsEncrypted(db_))) {
    return Status::Error("the database cannot be read: wrong key, or not a database");
  }
  return Status::Error("the main database has no docstore schema: run SELECT docstore_init()");
}

Status ConnectionState::ReadDocument(int64_t id, std::string* json) {
  sqlite3_stmt* by_id = nullptr;
  if (Status status = Statement(CachedStatement::kDocumentById, &by_id); !status.ok()) return status;
  StatementUse use(by_id);
  return cache_.ReadThrough(by_id, id, json);
}

Status ConnectionState::LoadDocument(int64_t id, std::string* json) {
  DocumentCache* cache = cache_.CacheForHit();
  if (cache != nullptr && cache->Get(id, json)) return Status::Ok();
  return ReadDocument(id, json);
}

void ConnectionState::FinalizeStatements() {
  for (sqlite3_stmt*& stmt : statements_) {
    sqlite3_finalize(stmt);
    stmt = nullptr;
  }
}

}  // namespace docstore
