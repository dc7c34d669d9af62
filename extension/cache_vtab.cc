// The shared cache, seen from SQL.
//
//   SELECT id, bytes, version, recency, referenced FROM docstore_cache;
//   SELECT * FROM docstore_cache WHERE id = 42;      -- one lookup, not a scan
//   SELECT value FROM docstore_stats WHERE name = 'hit_ratio';
//   SELECT docstore_metrics();   -- the same numbers for Prometheus (text format 0.0.4)
//
// docstore_cache has one row per cached document of this database: the
// bytes of its JSON, the document version it holds, its recency (its rank in
// its shard's eviction order, 0 = the last to go) and whether it was read
// since eviction last passed it (referenced: such an entry gets a second
// chance). Per-entry hit counts are not kept: a hit writes nothing shared. docstore_stats is the
// segment's counters, the same in every process, plus why the cache is off
// when it is (cache_status). docstore_metrics() renders them as
// core/metrics_text.h says, as docstore-sidecar --metrics-listen serves them,
// for a process that runs no sidecar (a cron job can write them to
// node_exporter's textfile directory).
#include "cache_vtab.h"

#include <string>
#include <vector>

#include "cache_settings.h"
#include "clock.h"
#include "metrics_text.h"
#include "name_value_vtab.h"
#include "sql_values.h"

namespace docstore {
namespace {

// Why this connection's reads are not served from the attached cache, or "".
const std::string& CacheOff(const CacheClient& client, const CacheStats& s) {
  return !s.reads_off.empty() ? s.reads_off : client.watch_off();
}

// docstore_stats's rows, from the numbers core gives.
NameValueRows StatsRows(ConnectionState* state) {
  NameValueRows rows;
  CacheClient& client = state->cache();
  DocumentCache* cache = client.Cache();
  if (cache == nullptr) {
    rows.emplace_back("cache_status", client.unavailable());
  } else {
    const CacheStats s = cache->Stats();
    auto n = [](uint64_t v) { return NameValue(static_cast<int64_t>(v)); };
    auto time_or_null = [](uint64_t ms) { return ms == 0 ? NameValue() : NameValue(IsoTime(static_cast<int64_t>(ms))); };
    const uint64_t lookups = s.cache.hits + s.cache.misses;
    const double ratio = lookups == 0 ? 0.0 : static_cast<double>(s.cache.hits) / static_cast<double>(lookups);
    const std::string& off = CacheOff(client, s);
    const std::string status = !off.empty() ? off : s.sealed ? "on (entries sealed with AES-256-GCM)" : "on";
    rows = {
        {"cache_status", status},
        {"access_counting", client.counting_off().empty() ? std::string("on") : client.counting_off()},
        {"segment", s.segment},
        {"hits", n(s.cache.hits)},
        {"misses", n(s.cache.misses)},
        {"hit_ratio", ratio},
        {"inserts", n(s.cache.inserts)},
        {"evictions", n(s.cache.evictions)},
        {"entries", n(s.cache.entries)},
        {"value_bytes", n(s.cache.value_bytes)},
        {"bytes_used", n(s.cache.chunk_bytes_used)},
        {"capacity_bytes", n(s.cache.capacity_bytes)},
        {"segment_bytes", n(s.limits.segment_bytes)},
        {"capacity_reason", s.capacity_reason},
        {"max_entry_bytes", n(s.limits.max_entry_bytes)},
        {"shards", n(s.limits.shard_count)},
        {"database_path", s.database_path},
        {"ttl_ms", n(s.ttl_ms)},
        {"ttl_expired", n(s.ttl_expired)},
        {"fills_skipped", n(s.fills_skipped)},
        {"fills_refused_too_large", n(s.cache.refused_too_large)},
        {"invalidations", n(s.cache.invalidations)},
        {"catch_ups", n(s.catch_ups)},
        {"changes_applied", n(s.changes_applied)},
        {"cache_resets", n(s.resets)},
        {"source_clock", n(s.source_clock)},
        {"lock_recoveries", n(s.cache.lock_recoveries + s.pending.lock_recoveries)},
        {"errors", n(s.cache.corruption_resets)},
        {"auth_failures", n(s.auth_failures)},
        {"accesses_recorded", n(s.pending.recorded)},
        {"pending_documents", n(s.pending.keys)},
        {"pending_accesses", n(s.pending.accesses)},
        {"pending_capacity", n(s.pending.capacity)},
        {"pending_fullest_percent", n(s.pending.fullest_percent)},
        {"pending_full", n(s.pending.refused_full)},
        {"flushes", n(s.flushes)},
        {"rows_flushed", n(s.rows_flushed)},
        {"accesses_flushed", n(s.accesses_flushed)},
        {"flush_failures", n(s.flush_failures)},
        {"inline_flushes", n(s.inline_flushes)},
        {"last_flush", time_or_null(s.last_flush_ms)},
        {"flush_lag_ms", n(s.flush_lag_ms)},
        {"sidecar_pid", n(s.sidecar_pid)},
        {"sidecar_heartbeat", time_or_null(s.sidecar_heartbeat_ms)},
    };
  }
  if (const std::string error = CacheSettingsEnvironmentError(); !error.empty()) {
    rows.emplace_back("settings_error", error);
  }
  return rows;
}

void Metrics(sqlite3_context* ctx, int, sqlite3_value**) {
  auto* state = static_cast<ConnectionState*>(sqlite3_user_data(ctx));
  CacheClient& client = state->cache();
  MetricsInput input;
  const char* path = sqlite3_db_filename(state->db(), "main");
  input.database = path != nullptr ? path : "";
  CacheStats stats;
  if (DocumentCache* cache = client.Cache(); cache != nullptr) {
    stats = cache->Stats();
    input.stats = &stats;
    input.cache_off = CacheOff(client, stats);
  } else {
    input.cache_off = client.unavailable();
  }
  input.now_ms = NowMilliseconds();
  const std::string text = RenderMetrics(input);
  sqlite3_result_text64(ctx, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

enum CacheColumn { kId, kBytes, kVersion, kRecency, kReferenced };

struct CacheTable {
  sqlite3_vtab base;  // must be first
  ConnectionState* state;
};

struct CacheCursor {
  sqlite3_vtab_cursor base;  // must be first
  std::vector<shmcache::EntryInfo> rows;
  size_t row = 0;
};

enum Plan { kScan = 0, kLookupById = 1 };

int CacheConnect(sqlite3* db, void* aux, int, const char* const*, sqlite3_vtab** out, char**) {
  const int rc = sqlite3_declare_vtab(
      db, "CREATE TABLE x(id INTEGER, bytes INTEGER, version INTEGER, recency INTEGER, referenced INTEGER)");
  if (rc != SQLITE_OK) return rc;
  auto* table = new CacheTable{};
  table->state = static_cast<ConnectionState*>(aux);
  *out = &table->base;
  return SQLITE_OK;
}

int CacheDisconnect(sqlite3_vtab* vtab) {
  delete reinterpret_cast<CacheTable*>(vtab);
  return SQLITE_OK;
}

// `id = ?` is one hash lookup in the segment, so it is taken whenever it is
// offered; anything else scans every shard (each copied under its lock).
int CacheBestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
  for (int i = 0; i < info->nConstraint; ++i) {
    const auto& c = info->aConstraint[i];
    if (c.usable && c.iColumn == kId && c.op == SQLITE_INDEX_CONSTRAINT_EQ) {
      info->aConstraintUsage[i].argvIndex = 1;
      info->aConstraintUsage[i].omit = 1;
      info->idxNum = kLookupById;
      info->estimatedCost = 1;
      info->estimatedRows = 1;
      info->idxFlags = SQLITE_INDEX_SCAN_UNIQUE;
      return SQLITE_OK;
    }
  }
  info->idxNum = kScan;
  info->estimatedCost = 1e6;
  info->estimatedRows = 100000;
  return SQLITE_OK;
}

int CacheOpen(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
  *out = &(new CacheCursor{})->base;
  return SQLITE_OK;
}

int CacheClose(sqlite3_vtab_cursor* cursor) {
  delete reinterpret_cast<CacheCursor*>(cursor);
  return SQLITE_OK;
}

int CacheFilter(sqlite3_vtab_cursor* base, int plan, const char*, int argc, sqlite3_value** argv) {
  auto* cursor = reinterpret_cast<CacheCursor*>(base);
  cursor->rows.clear();
  cursor->row = 0;
  DocumentCache* cache = reinterpret_cast<CacheTable*>(base->pVtab)->state->cache().Cache();
  if (cache == nullptr) return SQLITE_OK;
  if (plan == kLookupById && argc == 1) {
    // id = 'abc' or id = 1.5 matches no row, as it would in a table.
    int64_t id = 0;
    if (!IntegralValue(argv[0], &id)) return SQLITE_OK;
    shmcache::EntryInfo info;
    if (cache->Lookup(id, &info)) cursor->rows.push_back(info);
    return SQLITE_OK;
  }
  cache->ForEach([cursor](const shmcache::EntryInfo& info) { cursor->rows.push_back(info); });
  return SQLITE_OK;
}

int CacheNext(sqlite3_vtab_cursor* base) {
  ++reinterpret_cast<CacheCursor*>(base)->row;
  return SQLITE_OK;
}

int CacheEof(sqlite3_vtab_cursor* base) {
  auto* cursor = reinterpret_cast<CacheCursor*>(base);
  return cursor->row >= cursor->rows.size();
}

int CacheColumnValue(sqlite3_vtab_cursor* base, sqlite3_context* ctx, int column) {
  auto* cursor = reinterpret_cast<CacheCursor*>(base);
  const shmcache::EntryInfo& e = cursor->rows[cursor->row];
  const uint64_t values[] = {e.key, e.bytes, e.version, e.recency, e.referenced ? 1u : 0u};
  sqlite3_result_int64(ctx, static_cast<sqlite3_int64>(values[column]));
  return SQLITE_OK;
}

int CacheRowid(sqlite3_vtab_cursor* base, sqlite3_int64* rowid) {
  auto* cursor = reinterpret_cast<CacheCursor*>(base);
  *rowid = static_cast<sqlite3_int64>(cursor->rows[cursor->row].key);
  return SQLITE_OK;
}

sqlite3_module MakeCacheModule() {
  sqlite3_module m{};
  m.xConnect = CacheConnect;  // eponymous only
  m.xBestIndex = CacheBestIndex;
  m.xDisconnect = CacheDisconnect;
  m.xOpen = CacheOpen;
  m.xClose = CacheClose;
  m.xFilter = CacheFilter;
  m.xNext = CacheNext;
  m.xEof = CacheEof;
  m.xColumn = CacheColumnValue;
  m.xRowid = CacheRowid;
  return m;
}

const sqlite3_module kCacheModule = MakeCacheModule();

}  // namespace

int RegisterCacheTables(sqlite3* db, ConnectionState* state) {
  int rc = RegisterNameValueTable(db, "docstore_stats", state, StatsRows, /*close_anchor=*/false);
  if (rc != SQLITE_OK) return rc;
  state->Retain();
  rc = sqlite3_create_module_v2(db, "docstore_cache", &kCacheModule, state, ConnectionState::Release);
  if (rc != SQLITE_OK) return rc;
  state->Retain();
  return sqlite3_create_function_v2(db, "docstore_metrics", 0, SQLITE_UTF8, state, Metrics, nullptr, nullptr,
                                    ConnectionState::Release);
}

}  // namespace docstore
