// doc_get(id): the whole document as one JSON object, or NULL. Served from
// the database's shared cache (document_cache.h) when it holds the id. A
// document found counts one access, recorded in shared memory and written to
// document_access later (access_flusher.h): the JSON shows the counts flushed
// so far.
//
//   SELECT doc_get(42);
//   {"id":42,"title":"...","content":"...","metadata":{"lang":"en"},
//    "content_type":"text/plain","created_at":"2026-11-24T19:30:00.000Z",
//    "updated_at":"...","version":3,"access_count":7,"last_accessed":"..."}
//
// metadata is embedded as the JSON value it holds (not as a string). A row
// whose metadata is not valid JSON (only possible if it was written with CHECK
// constraints off) shows it as a JSON string instead, so the result always
// parses. NULL id, or no such document: NULL. A text or blob id, or a real
// with a fraction: an error.
#include "doc_get.h"

#include <string>

#include "document_reader.h"
#include "sql_values.h"

namespace docstore {
namespace {

void DocGet(sqlite3_context* ctx, int, sqlite3_value** argv) {
  auto* state = static_cast<ConnectionState*>(sqlite3_user_data(ctx));
  int64_t id = 0;
  if (ReadDocumentId(ctx, "doc_get", argv[0], &id) != IdArgument::kId) return;  // NULL or error
  DocumentCache* cache = state->Cache();
  std::string error;
  if (cache != nullptr && cache->reads_enabled()) {
    // A hit: one copy, from the segment into memory SQLite takes over.
    char* text = nullptr;
    const size_t length = cache->Get(id, [&](size_t capacity) {
      sqlite3_free(text);  // called again if a writer got in the way
      text = static_cast<char*>(sqlite3_malloc64(capacity));
      return text;
    });
    if (length != 0) {
      if (!state->RecordAccess(id, &error)) {
        sqlite3_free(text);
        const std::string message = "doc_get: " + error;
        sqlite3_result_error(ctx, message.c_str(), -1);
        return;
      }
      sqlite3_result_text64(ctx, text, length, sqlite3_free, SQLITE_UTF8);
      return;
    }
    sqlite3_free(text);
  }
  std::string& json = state->scratch();
  switch (ReadDocumentThrough(state, id, &json, &error)) {
    case LookupResult::kFound:
      if (!state->RecordAccess(id, &error)) break;
      sqlite3_result_text(ctx, json.data(), static_cast<int>(json.size()), SQLITE_TRANSIENT);
      return;
    case LookupResult::kMissing:
      return;  // NULL
    case LookupResult::kError:
      break;
  }
  const std::string message = "doc_get: " + error;
  sqlite3_result_error(ctx, message.c_str(), -1);
}

}  // namespace

int RegisterDocGet(sqlite3* db, ConnectionState* state) {
  state->Retain();
  return sqlite3_create_function_v2(db, "doc_get", 1, SQLITE_UTF8, state, DocGet, nullptr, nullptr,
                                    ConnectionState::Release);
}

}  // namespace docstore
