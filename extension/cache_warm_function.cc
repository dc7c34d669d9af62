// docstore_cache_warm(N) -> how many documents it loaded into the cache.
//
//   SELECT docstore_cache_warm(20000);   -- after a reboot, before traffic
//
// Loads the N most accessed documents (document_access.access_count) that
// are not cached yet into this database's shared cache, as doc_get's misses
// would fill them, in batches of 256 each in its own read transaction; it
// stops early once the cache evicts (it is full). See core/cache_warm.h.
// Writes nothing to the database and counts no access. N = 0 loads nothing.
//
// Errors: N not a non-negative integer (NULL, text, a negative or fractional
// number); no shared cache for this database, or one this process does not
// read (DOCSTORE_CACHE=off, an encrypted database without its cache key);
// called inside a transaction, where the cache cannot catch up first.
// Direct only: it changes what every process sharing the cache holds.
#include "cache_warm_function.h"

#include "cache_warm.h"
#include "sql_values.h"

namespace docstore {
namespace {

void CacheWarmFunction(sqlite3_context* ctx, int, sqlite3_value** argv) {
  auto* state = static_cast<ConnectionState*>(sqlite3_user_data(ctx));
  int64_t documents = 0;
  if (!IntegralValue(argv[0], &documents) || documents < 0) {
    return ResultError(ctx, "docstore_cache_warm",
                       Status::InvalidArgument("expected N, how many of the most accessed documents to load, as a "
                                               "non-negative integer"));
  }
  WarmResult result;
  if (Status status = WarmCache(&state->cache(), static_cast<uint64_t>(documents), &result); !status.ok()) {
    return ResultError(ctx, "docstore_cache_warm", status);
  }
  sqlite3_result_int64(ctx, static_cast<sqlite3_int64>(result.loaded));
}

}  // namespace

int RegisterCacheWarm(sqlite3* db, ConnectionState* state) {
  state->Retain();
  return sqlite3_create_function_v2(db, "docstore_cache_warm", 1, kDirectOnlyFunction, state, CacheWarmFunction,
                                    nullptr, nullptr, ConnectionState::Release);
}

}  // namespace docstore
