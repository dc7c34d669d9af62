#include "connection_state.h"

#include "info_vtab.h"

namespace docstore {
namespace {

// access_count and last_accessed come from document_access, which the
// sidecar writes without touching the document row.
constexpr const char* kStatementSql[] = {
    /* kDocumentById */
    "SELECT d.id, d.title, d.content, d.metadata, d.content_type, d.created_at,"
    " d.updated_at, d.version, a.access_count, a.last_accessed"
    " FROM documents AS d LEFT JOIN document_access AS a ON a.doc_id = d.id"
    " WHERE d.id = ?1",
};
static_assert(std::size(kStatementSql) == static_cast<size_t>(CachedStatement::kCount));

}  // namespace

void ConnectionState::Release(void* state) {
  auto* self = static_cast<ConnectionState*>(state);
  if (--self->references_ == 0) delete self;
}

sqlite3_stmt* ConnectionState::Statement(CachedStatement which, std::string* error) {
  sqlite3_stmt*& slot = statements_[static_cast<size_t>(which)];
  if (slot != nullptr) {
    // Only a nested call could find it running; resetting it would pull the
    // rows out from under the outer caller, so refuse instead.
    if (sqlite3_stmt_busy(slot)) {
      *error = "docstore: a cached statement is already running (nested call)";
      return nullptr;
    }
    return slot;
  }
  if (sqlite3_prepare_v2(db_, kStatementSql[static_cast<size_t>(which)], -1, &slot, nullptr) !=
      SQLITE_OK) {
    *error = sqlite3_errmsg(db_);
    sqlite3_finalize(slot);
    slot = nullptr;
    return nullptr;
  }
  // A statement is cached only while something will finalize it at close.
  if (!close_anchor_connected_ && !ConnectCloseAnchor(db_)) {
    *error = "docstore: could not connect docstore_info, its close hook: ";
    *error += sqlite3_errmsg(db_);
    sqlite3_finalize(slot);
    slot = nullptr;
    return nullptr;
  }
  return slot;
}

bool ConnectionState::Invalidate(int64_t, int64_t, std::string*) { return true; }

void ConnectionState::FinalizeStatements() {
  for (sqlite3_stmt*& stmt : statements_) {
    sqlite3_finalize(stmt);
    stmt = nullptr;
  }
}

}  // namespace docstore
