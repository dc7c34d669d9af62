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

// The JSON up to (not including) its access fields.
void BuildDocumentHead(std::string* out, sqlite3_stmt* stmt) {
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
  BuildDocumentHead(json, stmt);
  const size_t head = json->size();
  json->append(",\"access_count\":");
  if (sqlite3_column_type(stmt, kAccessCount) == SQLITE_NULL) {
    json->append("0");  // never accessed: no document_access row yet
  } else {
    AppendColumnAsJson(json, stmt, kAccessCount);
  }
  json->append(",\"last_accessed\":");
  AppendColumnAsJson(json, stmt, kLastAccessed);
  json->push_back('}');
  // The cache keeps the access fields apart (document_cache.h), as an integer
  // and docstore's ISO time; a row holding anything else is not cached.
  const int64_t access_count = sqlite3_column_int64(stmt, kAccessCount);
  const char* last_accessed = sqlite3_column_type(stmt, kLastAccessed) == SQLITE_TEXT
                                  ? reinterpret_cast<const char*>(sqlite3_column_text(stmt, kLastAccessed))
                                  : nullptr;
  DocumentCache* cache = state->Cache();
  if (cache != nullptr && cache->reads_enabled()) {
    const int count_type = sqlite3_column_type(stmt, kAccessCount);
    const int last_type = sqlite3_column_type(stmt, kLastAccessed);
    if (state->CanFill() && (count_type == SQLITE_INTEGER || count_type == SQLITE_NULL) &&
        (last_type == SQLITE_TEXT || last_type == SQLITE_NULL)) {
      cache->Fill(id, std::string_view(*json).substr(0, head), access_count, last_accessed,
                  sqlite3_column_int64(stmt, kVersion), sqlite3_column_int64(stmt, kSnapshotClock));
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
