// doc_get(id): the whole document as one JSON object, or NULL.
//
//   SELECT doc_get(42);
//   {"id":42,"title":"...","content":"...","metadata":{"lang":"en"},
//    "content_type":"text/plain","created_at":"2026-11-24T19:30:00.000Z",
//    "updated_at":"...","version":3,"access_count":7,"last_accessed":"..."}
//
// metadata is embedded as the JSON value it holds (not as a string). A row
// whose metadata is not valid JSON (only possible if it was written with CHECK
// constraints off) shows it as a JSON string instead, so the result always
// parses. NULL id, or no such document: NULL. A text, real or blob id: error.
#include "doc_get.h"

#include <string_view>

#include "json_text.h"
#include "sql_values.h"

namespace docstore {
namespace {

// Column order of CachedStatement::kDocumentById.
enum DocumentColumn {
  kId, kTitle, kContent, kMetadata, kContentType, kCreatedAt, kUpdatedAt, kVersion,
  kAccessCount, kLastAccessed,
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

void DocGet(sqlite3_context* ctx, int, sqlite3_value** argv) {
  auto* state = static_cast<ConnectionState*>(sqlite3_user_data(ctx));
  int64_t id = 0;
  if (ReadDocumentId(ctx, "doc_get", argv[0], &id) != IdArgument::kId) return;  // NULL or error
  std::string error;
  sqlite3_stmt* stmt = state->Statement(CachedStatement::kDocumentById, &error);
  if (stmt == nullptr) {
    const std::string message = "doc_get: " + error;
    sqlite3_result_error(ctx, message.c_str(), -1);
    return;
  }
  StatementUse use(stmt);
  sqlite3_bind_int64(stmt, 1, id);
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) return;  // no such document: NULL
  if (rc != SQLITE_ROW) {
    const std::string message = std::string("doc_get: ") + sqlite3_errmsg(state->db());
    sqlite3_result_error(ctx, message.c_str(), -1);
    sqlite3_result_error_code(ctx, rc);
    return;
  }
  std::string& json = state->scratch();
  BuildDocumentJson(&json, stmt);
  sqlite3_result_text(ctx, json.data(), static_cast<int>(json.size()), SQLITE_TRANSIENT);
}

}  // namespace

int RegisterDocGet(sqlite3* db, ConnectionState* state) {
  state->Retain();
  return sqlite3_create_function_v2(db, "doc_get", 1, SQLITE_UTF8, state, DocGet, nullptr, nullptr,
                                    ConnectionState::Release);
}

}  // namespace docstore
