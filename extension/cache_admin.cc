// docstore_cache_config()                         -> the settings as JSON
// docstore_cache_config(capacity, max_entry)      -> sets them, then the same
//   {"capacity_bytes":67108864,"max_entry_bytes":1048576,"mode":"0600","reads":true}
// Sizes for segments this process creates (core/cache_settings.h); an
// existing segment keeps its creator's (docstore_stats shows the sizes in
// force).
//
// docstore_cache_clear() -> how many entries this database's cache dropped.
// Never needed for correctness after SQL writes; it is for benchmarks and
// for after a database file was replaced in place (a restore that bypassed
// the triggers).
#include "cache_admin.h"

#include <cstdio>
#include <string>

#include "cache_settings.h"
#include "sql_values.h"

namespace docstore {
namespace {

std::string SettingsJson(const CacheSettings& s) {
  char json[160];
  std::snprintf(json, sizeof json,
                "{\"capacity_bytes\":%llu,\"max_entry_bytes\":%llu,\"mode\":\"%04o\",\"reads\":%s}",
                static_cast<unsigned long long>(s.capacity_bytes),
                static_cast<unsigned long long>(s.max_entry_bytes), static_cast<unsigned>(s.mode),
                s.enabled ? "true" : "false");
  return json;
}

void CacheConfig(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  CacheSettings settings = CurrentCacheSettings();
  if (argc == 2) {
    if (sqlite3_value_type(argv[0]) != SQLITE_INTEGER || sqlite3_value_type(argv[1]) != SQLITE_INTEGER ||
        sqlite3_value_int64(argv[0]) <= 0 || sqlite3_value_int64(argv[1]) <= 0) {
      return ResultError(ctx, "docstore_cache_config",
                         Status::InvalidArgument("expected (capacity_bytes, max_entry_bytes) as positive integers"));
    }
    settings.capacity_bytes = static_cast<uint64_t>(sqlite3_value_int64(argv[0]));
    settings.max_entry_bytes = static_cast<uint64_t>(sqlite3_value_int64(argv[1]));
    if (Status status = SetCacheSettings(settings); !status.ok()) {
      return ResultError(ctx, "docstore_cache_config", status);
    }
  }
  const std::string json = SettingsJson(settings);
  sqlite3_result_text(ctx, json.c_str(), -1, SQLITE_TRANSIENT);
}

void CacheClear(sqlite3_context* ctx, int, sqlite3_value**) {
  auto* state = static_cast<ConnectionState*>(sqlite3_user_data(ctx));
  DocumentCache* cache = state->cache().Cache();
  uint64_t entries = 0;
  if (cache != nullptr) {
    if (Status status = cache->Clear(&entries); !status.ok()) return ResultError(ctx, "docstore_cache_clear", status);
  }
  sqlite3_result_int64(ctx, static_cast<sqlite3_int64>(entries));
}

}  // namespace

int RegisterCacheAdmin(sqlite3* db, ConnectionState* state) {
  int rc = SQLITE_OK;
  for (int arity : {0, 2}) {
    if (rc == SQLITE_OK) {
      rc = sqlite3_create_function_v2(db, "docstore_cache_config", arity, kDirectOnlyFunction, nullptr, CacheConfig,
                                      nullptr, nullptr, nullptr);
    }
  }
  if (rc == SQLITE_OK) {
    state->Retain();
    rc = sqlite3_create_function_v2(db, "docstore_cache_clear", 0, kDirectOnlyFunction, state, CacheClear, nullptr,
                                    nullptr, ConnectionState::Release);
  }
  return rc;
}

}  // namespace docstore
