#include "cache_hooks.h"

#include <cstdio>
#include <string>

namespace docstore {
namespace {

// Runs inside the writer's transaction, before its commit: drops the cached
// copy and raises the fence so that no reader whose snapshot predates this
// write can fill the cache with the older row (see document_cache.h).
void Invalidate(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  auto* state = static_cast<ConnectionState*>(sqlite3_user_data(ctx));
  if (sqlite3_value_type(argv[0]) != SQLITE_INTEGER || sqlite3_value_type(argv[1]) != SQLITE_INTEGER ||
      (argc == 3 && sqlite3_value_type(argv[2]) != SQLITE_TEXT)) {
    sqlite3_result_error(ctx, "docstore_invalidate: expected (integer id, integer clock, text database_id)", -1);
    return;
  }
  std::string database_id;
  if (argc == 3) database_id = reinterpret_cast<const char*>(sqlite3_value_text(argv[2]));
  std::string error;
  if (!state->Invalidate(sqlite3_value_int64(argv[0]), sqlite3_value_int64(argv[1]),
                         argc == 3 ? &database_id : nullptr, &error)) {
    const std::string message = "docstore_invalidate: " + error;
    sqlite3_result_error(ctx, message.c_str(), -1);
  }
}

std::string SettingsJson(const CacheSettings& s) {
  char json[160];
  std::snprintf(json, sizeof json,
                "{\"capacity_bytes\":%llu,\"max_entry_bytes\":%llu,\"mode\":\"%04o\",\"reads\":%s}",
                static_cast<unsigned long long>(s.capacity_bytes),
                static_cast<unsigned long long>(s.max_entry_bytes), static_cast<unsigned>(s.mode),
                s.enabled ? "true" : "false");
  return json;
}

// docstore_cache_config()                         -> the settings as JSON
// docstore_cache_config(capacity, max_entry)      -> sets them, then the same
// Sizes for segments this process creates; an existing segment keeps its
// creator's (docstore_stats shows the sizes in force).
void CacheConfig(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  CacheSettings settings = CurrentCacheSettings();
  if (argc == 2) {
    if (sqlite3_value_type(argv[0]) != SQLITE_INTEGER || sqlite3_value_type(argv[1]) != SQLITE_INTEGER ||
        sqlite3_value_int64(argv[0]) <= 0 || sqlite3_value_int64(argv[1]) <= 0) {
      sqlite3_result_error(
          ctx, "docstore_cache_config: expected (capacity_bytes, max_entry_bytes) as positive integers",
          -1);
      return;
    }
    settings.capacity_bytes = static_cast<uint64_t>(sqlite3_value_int64(argv[0]));
    settings.max_entry_bytes = static_cast<uint64_t>(sqlite3_value_int64(argv[1]));
    std::string error;
    if (!SetCacheSettings(settings, &error)) {
      const std::string message = "docstore_cache_config: " + error;
      sqlite3_result_error(ctx, message.c_str(), -1);
      return;
    }
  }
  const std::string json = SettingsJson(settings);
  sqlite3_result_text(ctx, json.c_str(), -1, SQLITE_TRANSIENT);
}

// docstore_cache_clear() -> how many entries this database's cache dropped.
// Never needed for correctness after SQL writes; it is for benchmarks and
// for after a database file was replaced in place (a restore that bypassed
// the triggers).
void CacheClear(sqlite3_context* ctx, int, sqlite3_value**) {
  auto* state = static_cast<ConnectionState*>(sqlite3_user_data(ctx));
  DocumentCache* cache = state->Cache();
  sqlite3_result_int64(ctx, cache == nullptr ? 0 : static_cast<sqlite3_int64>(cache->Clear()));
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
  for (int arity : {0, 2}) {
    if (rc == SQLITE_OK) {
      rc = sqlite3_create_function_v2(db, "docstore_cache_config", arity, SQLITE_UTF8, nullptr,
                                      CacheConfig, nullptr, nullptr, nullptr);
    }
  }
  if (rc == SQLITE_OK) {
    state->Retain();
    rc = sqlite3_create_function_v2(db, "docstore_cache_clear", 0, SQLITE_UTF8, state, CacheClear,
                                    nullptr, nullptr, ConnectionState::Release);
  }
  return rc;
}

}  // namespace docstore
