// Reading one document as JSON: the single path doc_get and doc_get_many
// share.
#include "document_reader.h"

#include <string_view>

#include "json_text.h"
#include "segment_counters.h"
#include "sql_values.h"

namespace docstore {
namespace {

// Column order of CachedStatement::kDocumentById.
enum DocumentColumn {
  kId, kTitle, kContent, kMetadata, kContentType, kCreatedAt, kUpdatedAt, kVersion,
  kAccessCount, kLastAccessed, kSnapshotClock,
};

void AppendMetadata(std::string* out, sqlite3_stmt* stmt) {
  if (sqlite3_column_type(stmt, kMetadata) == SQLITE_TEXT) {
    const unsigned char* text = sqlite3_column_text(stmt, kMetadata);
    const std::string_view json(reinterpret_cast<const char*>(text),
                                static_cast<size_t>(sqlite3_column_bytes(stmt, kMetadata)));
    if (IsValidJson(json)) {
      out->append(json);
      return;
    }
  }
  AppendColumnAsJson(out, stmt, kMetadata);
}

void BuildDocumentJson(std::string* out, sqlite3_stmt* stmt) {
  out->clear();
  out->append("{\"id\":");
  AppendColumnAsJson(out, stmt, kId);
  out->append(",\"title\":");
  AppendColumnAsJson(out, stmt, kTitle);
  out->append(",\"content\":");
  AppendColumnAsJson(out, stmt, kContent);
  out->append(",\"metadata\":");
  AppendMetadata(out, stmt);
  out->append(",\"content_type\":");
  AppendColumnAsJson(out, stmt, kContentType);
  out->append(",\"created_at\":");
  AppendColumnAsJson(out, stmt, kCreatedAt);
  out->append(",\"updated_at\":");
  AppendColumnAsJson(out, stmt, kUpdatedAt);
  out->append(",\"version\":");
  AppendColumnAsJson(out, stmt, kVersion);
  out->append(",\"access_count\":");
  if (sqlite3_column_type(stmt, kAccessCount) == SQLITE_NULL) {
    out->append("0");  // never accessed: no document_access row yet
  } else {
    AppendColumnAsJson(out, stmt, kAccessCount);
  }
  out->append(",\"last_accessed\":");
  AppendColumnAsJson(out, stmt, kLastAccessed);
  out->push_back('}');
}

}  // namespace

LookupResult ReadDocumentThrough(ConnectionState* state, int64_t id, std::string* json,
                                 std::string* error) {
  sqlite3_stmt* stmt = state->Statement(CachedStatement::kDocumentById, error);
  if (stmt == nullptr) return LookupResult::kError;
  StatementUse use(stmt);
  sqlite3_bind_int64(stmt, 1, id);
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) return LookupResult::kMissing;
  if (rc != SQLITE_ROW) {
    *error = sqlite3_errmsg(state->db());
    return LookupResult::kError;
  }
  BuildDocumentJson(json, stmt);
  DocumentCache* cache = state->Cache();
  if (cache != nullptr && cache->reads_enabled()) {
    if (state->CanFill()) {
      cache->Fill(id, *json, sqlite3_column_int64(stmt, kVersion),
                  sqlite3_column_int64(stmt, kSnapshotClock));
    } else {
      AddSegmentCounter(cache->segment(), SegmentCounter::kFillsSkippedInTransaction, 1);
    }
  }
  return LookupResult::kFound;
}

LookupResult LoadDocument(ConnectionState* state, int64_t id, std::string* json, std::string* error) {
  DocumentCache* cache = state->Cache();
  if (cache != nullptr && cache->reads_enabled() && cache->Get(id, json)) return LookupResult::kFound;
  return ReadDocumentThrough(state, id, json, error);
}

}  // namespace docstore
