#include "cache_hooks.h"

namespace docstore {
namespace {

// Runs inside the writer's transaction, before its commit: drops the cached
// copy and raises the fence so that no reader whose snapshot predates this
// write can fill the cache with the older row (see document_cache.h).
void Invalidate(sqlite3_context* ctx, int, sqlite3_value** argv) {
  auto* state = static_cast<ConnectionState*>(sqlite3_user_data(ctx));
  if (sqlite3_value_type(argv[0]) != SQLITE_INTEGER ||
      sqlite3_value_type(argv[1]) != SQLITE_INTEGER) {
    sqlite3_result_error(ctx, "docstore_invalidate: expected (integer id, integer clock)", -1);
    return;
  }
  std::string error;
  if (!state->Invalidate(sqlite3_value_int64(argv[0]), sqlite3_value_int64(argv[1]), &error)) {
    const std::string message = "docstore_invalidate: " + error;
    sqlite3_result_error(ctx, message.c_str(), -1);
  }
}

}  // namespace

int RegisterCacheHooks(sqlite3* db, ConnectionState* state) {
  // Called from triggers, so it must be allowed there even with
  // trusted_schema off: its only effect is on docstore's own cache.
  int flags = SQLITE_UTF8;
#ifdef SQLITE_INNOCUOUS
  flags |= SQLITE_INNOCUOUS;
#endif
  state->Retain();
  return sqlite3_create_function_v2(db, "docstore_invalidate", 2, flags, state, Invalidate, nullptr,
                                    nullptr, ConnectionState::Release);
}

}  // namespace docstore
