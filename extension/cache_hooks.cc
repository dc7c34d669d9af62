#include "cache_hooks.h"

#include <string>

#include "sql_values.h"

namespace docstore {
namespace {

void Invalidate(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  auto* state = static_cast<ConnectionState*>(sqlite3_user_data(ctx));
  if (sqlite3_value_type(argv[0]) != SQLITE_INTEGER || sqlite3_value_type(argv[1]) != SQLITE_INTEGER ||
      (argc == 3 && sqlite3_value_type(argv[2]) != SQLITE_TEXT)) {
    return ResultError(ctx, "docstore_invalidate",
                       Status::InvalidArgument("expected (integer id, integer clock, text database_id)"));
  }
  std::string database_id;
  if (argc == 3) database_id = reinterpret_cast<const char*>(sqlite3_value_text(argv[2]));
  const Status status = state->cache().Invalidate(sqlite3_value_int64(argv[0]), sqlite3_value_int64(argv[1]),
                                                  argc == 3 ? &database_id : nullptr);
  if (!status.ok()) ResultError(ctx, "docstore_invalidate", status);
}

}  // namespace

int RegisterCacheHooks(sqlite3* db, ConnectionState* state) {
  // Called from triggers, so it must be allowed there even with
  // trusted_schema off: its only effect is on docstore's own cache.
  int flags = SQLITE_UTF8;
#ifdef SQLITE_INNOCUOUS
  flags |= SQLITE_INNOCUOUS;
#endif
  // Three arguments from migration 5 on; two from the triggers before it.
  int rc = SQLITE_OK;
  for (int arity : {2, 3}) {
    if (rc != SQLITE_OK) break;
    state->Retain();
    rc = sqlite3_create_function_v2(db, "docstore_invalidate", arity, flags, state, Invalidate, nullptr,
                                    nullptr, ConnectionState::Release);
  }
  return rc;
}

}  // namespace docstore
