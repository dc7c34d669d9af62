// doc_get(id): the whole document as one JSON object, or NULL. Served from
// the database's shared cache (core/document_cache.h) when it holds the id. A
// document found counts one access, recorded in shared memory and written to
// document_access later (core/access_flusher.h): the JSON shows the counts
// flushed so far. The JSON's fields are core/document_entry.h's.
//
//   SELECT doc_get(42);
//   {"id":42,"title":"...","content":"...","metadata":{"lang":"en"},
//    "content_type":"text/plain","created_at":"2026-11-24T19:30:00.000Z",
//    "updated_at":"...","version":3,"access_count":7,"last_accessed":"..."}
//
// NULL id, or no such document: NULL. A text or blob id, or a real with a
// fraction: an error.
#include "doc_get.h"

#include <cstdlib>
#include <optional>
#include <string>

#include "connection_state.h"
#include "sql_values.h"

namespace docstore {
namespace {

void DocGet(sqlite3_context* ctx, int, sqlite3_value** argv) {
  auto* state = static_cast<ConnectionState*>(sqlite3_user_data(ctx));
  std::optional<int64_t> id;
  if (Status status = ReadDocumentId(argv[0], &id); !status.ok()) return ResultError(ctx, "doc_get", status);
  if (!id) return;  // NULL
  CacheClient& client = state->cache();
  if (DocumentCache* cache = client.CacheForHit()) {
    // A hit: one copy, from the segment into memory SQLite takes over. It
    // comes from malloc, not sqlite3_malloc: SQLite's allocator takes a
    // mutex for its statistics on every call, and SQLite frees the result
    // with the destructor given, free.
    char* text = nullptr;
    const size_t length = cache->Get(*id, [&text](size_t capacity) {
      std::free(text);  // called again if a writer got in the way
      text = static_cast<char*>(std::malloc(capacity));
      return text;
    });
    if (length != 0) {
      if (Status status = client.RecordAccess(cache, *id); !status.ok()) {
        std::free(text);
        return ResultError(ctx, "doc_get", status);
      }
      sqlite3_result_text64(ctx, text, length, std::free, SQLITE_UTF8);
      return;
    }
    std::free(text);
  }
  std::string& json = state->scratch();
  Status status = state->ReadDocument(*id, &json);
  if (status.IsNotFound()) return;  // NULL
  if (status.ok()) status = client.RecordAccess(*id);
  if (!status.ok()) return ResultError(ctx, "doc_get", status);
  sqlite3_result_text(ctx, json.data(), static_cast<int>(json.size()), SQLITE_TRANSIENT);
}

}  // namespace

int RegisterDocGet(sqlite3* db, ConnectionState* state) {
  state->Retain();
  return sqlite3_create_function_v2(db, "doc_get", 1, SQLITE_UTF8, state, DocGet, nullptr, nullptr,
                                    ConnectionState::Release);
}

}  // namespace docstore
