// docstore_cache_config()                          -> the settings, and what is in force, as JSON
// docstore_cache_config(capacity, max_entry)       -> sets them, then the same
// docstore_cache_config(capacity, max_entry, ttl_ms)
//   {"capacity_bytes":null,"max_entry_bytes":1048576,"mode":"0600","reads":true,"ttl_ms":0,
//    "in_force":{"segment":"/docstore-...","segment_bytes":8388608,"max_entry_bytes":1048576,"ttl_ms":0,
//                "capacity_reason":"default: 2 x database size 12.0 KiB, at least 1.0 MiB"},
//    "note":"this database's segment was made by this process with these settings"}
// The settings are those of segments this process creates
// (core/cache_settings.h; capacity_bytes null or 0: it follows the database,
// ttl_ms 0: none). Setting them attaches this connection's database's segment
// at once, so the answer says what is in force for it: made now with them,
// or an existing segment whose creator's sizes and TTL stay (the settings
// then apply only to segments this process creates later). Once this process
// uses a segment, setting them is an error that says what is in force.
// in_force is null while the database has no segment (no schema yet, or no
// cache: the note says why).
//
// docstore_cache_clear() -> how many entries this database's cache dropped.
// Never needed for correctness after SQL writes; it is for benchmarks and
// for after a database file was replaced in place (a restore that bypassed
// the triggers).
#include "cache_admin.h"

#include <cstdio>
#include <string>
#include <string_view>

#include "cache_settings.h"
#include "json_text.h"
#include "sql_values.h"

namespace docstore {
namespace {

std::string SettingsJson(const CacheSettings& s) {
  char json[200];
  std::snprintf(json, sizeof json, "\"max_entry_bytes\":%llu,\"mode\":\"%04o\",\"reads\":%s,\"ttl_ms\":%llu",
                static_cast<unsigned long long>(s.max_entry_bytes), static_cast<unsigned>(s.mode),
                s.enabled ? "true" : "false", static_cast<unsigned long long>(s.ttl_ms));
  return "{\"capacity_bytes\":" + (s.capacity_bytes == 0 ? std::string("null") : std::to_string(s.capacity_bytes)) +
         "," + json;
}

std::string JsonString(std::string_view text) {
  std::string json;
  AppendJsonString(&json, text);
  return json;
}

// What this connection's database's segment has, or null.
std::string InForceJson(CacheClient& client) {
  DocumentCache* cache = client.Cache();
  if (cache == nullptr) return "null";
  const CacheStats s = cache->Stats();
  return "{\"segment\":" + JsonString(s.segment) + ",\"segment_bytes\":" + std::to_string(s.limits.segment_bytes) +
         ",\"max_entry_bytes\":" + std::to_string(s.limits.max_entry_bytes) +
         ",\"ttl_ms\":" + std::to_string(s.ttl_ms) + ",\"capacity_reason\":" + JsonString(s.capacity_reason) + "}";
}

// In words: whose settings the database's segment has.
std::string Note(CacheClient& client, bool set_now) {
  DocumentCache* cache = client.Cache();
  if (cache == nullptr) {
    return "no segment for this database yet (" + client.unavailable() +
           "): these settings apply when this process creates one";
  }
  if (cache->made_here()) {
    return set_now ? "this database's segment was made by this process with these settings"
                   : "this database's segment was made by this process";
  }
  return "this database's segment existed: its creator's settings are in force (in_force); these settings apply "
         "only to segments this process creates later";
}

void CacheConfig(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  auto* state = static_cast<ConnectionState*>(sqlite3_user_data(ctx));
  CacheSettings settings = CurrentCacheSettings();
  if (argc >= 2) {
    for (int i = 0; i < argc; ++i) {
      if (sqlite3_value_type(argv[i]) != SQLITE_INTEGER || sqlite3_value_int64(argv[i]) < 0) {
        return ResultError(ctx, "docstore_cache_config",
                           Status::InvalidArgument("expected (capacity_bytes, max_entry_bytes[, ttl_ms]) as integers,"
                                                   " capacity_bytes and ttl_ms 0 or more (0: the default), "
                                                   "max_entry_bytes more than 0"));
      }
    }
    if (sqlite3_value_int64(argv[1]) == 0) {
      return ResultError(ctx, "docstore_cache_config", Status::InvalidArgument("max_entry_bytes must be more than 0"));
    }
    settings.capacity_bytes = static_cast<uint64_t>(sqlite3_value_int64(argv[0]));
    settings.capacity_from = settings.capacity_bytes == 0 ? "" : "docstore_cache_config";
    settings.max_entry_bytes = static_cast<uint64_t>(sqlite3_value_int64(argv[1]));
    if (argc == 3) settings.ttl_ms = static_cast<uint64_t>(sqlite3_value_int64(argv[2]));
    if (Status status = SetCacheSettings(settings); !status.ok()) {
      const std::string in_force = InForceJson(state->cache());
      return ResultError(ctx, "docstore_cache_config",
                         in_force == "null" ? status
                                            : Status::Error(status.message() + "; in force for this database: " +
                                                            in_force));
    }
  }
  const std::string json = SettingsJson(settings) + ",\"in_force\":" + InForceJson(state->cache()) +
                           ",\"note\":" + JsonString(Note(state->cache(), argc >= 2)) + "}";
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
  for (int arity : {0, 2, 3}) {
    if (rc == SQLITE_OK) {
      state->Retain();
      rc = sqlite3_create_function_v2(db, "docstore_cache_config", arity, kDirectOnlyFunction, state, CacheConfig,
                                      nullptr, nullptr, ConnectionState::Release);
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
