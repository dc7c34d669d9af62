#include "metrics_text.h"

#include <charconv>
#include <cmath>

#include "docstore_version.h"
#include "sqlite_api.h"

namespace docstore {
namespace {

using Samples = std::vector<MetricSample>;

double Seconds(uint64_t ms) { return static_cast<double>(ms) / 1000.0; }

std::string Label(std::string_view name, std::string_view value) {
  return std::string(name) + "=\"" + EscapeLabelValue(value) + "\"";
}

static_assert(kSidecarHeartbeatStaleMs == 10000, "docstore_sidecar_up's help says 10 s");
bool SidecarUp(const MetricsInput& in) {
  if (in.sidecar_up.has_value()) return *in.sidecar_up;
  if (in.stats == nullptr || in.stats->sidecar_pid == 0) return false;
  const auto beat = static_cast<int64_t>(in.stats->sidecar_heartbeat_ms);
  return in.now_ms - beat <= kSidecarHeartbeatStaleMs;
}

const MetricDefinition kDefinitions[] = {
    {"docstore_build_info", "gauge", "docstore's version and git commit, and the SQLite version it runs on (always 1).",
     "docstore_info", nullptr, 1,
     [](const MetricsInput&) -> Samples {
       return {{Label("version", kDocstoreVersion) + "," + Label("commit", kDocstoreCommit) + "," +
                    Label("sqlite", sqlite3_libversion()),
                1}};
     }},
    {"docstore_cache_up", "gauge",
     "1 when reads of the database are served from its shared-memory cache here; 0 when they go to the "
     "database, with the reason (docstore_stats' cache_status).",
     "cache_status", nullptr, 1,
     [](const MetricsInput& in) -> Samples {
       if (in.cache_off.empty()) return {{"", 1}};
       return {{Label("reason", in.cache_off), 0}};
     }},
    {"docstore_sidecar_up", "gauge",
     "1 when a docstore-sidecar flushes the database's accesses: the one serving these metrics, or one whose "
     "heartbeat is at most 10 s old.",
     "sidecar_pid, sidecar_heartbeat", nullptr, 1,
     [](const MetricsInput& in) -> Samples {
       return {{"", SidecarUp(in) ? 1.0 : 0.0}};
     }},
    {"docstore_sidecar_heartbeat_timestamp_seconds", "gauge",
     "When the sidecar last showed it was alive, in seconds since the epoch.", "sidecar_heartbeat", nullptr, 1,
     [](const MetricsInput& in) -> Samples {
       if (in.stats == nullptr || in.stats->sidecar_heartbeat_ms == 0) return {};
       return {{"", Seconds(in.stats->sidecar_heartbeat_ms)}};
     }},
    {"docstore_cache_requests_total", "counter",
     "Lookups of a document in the shared cache, by result: hit (served from shared memory) or miss (read "
     "from the database).",
     "hits, misses", nullptr, 1,
     [](const MetricsInput& in) -> Samples {
       if (in.stats == nullptr) return {};
       return {{Label("result", "hit"), static_cast<double>(in.stats->cache.hits)},
               {Label("result", "miss"), static_cast<double>(in.stats->cache.misses)}};
     }},
    {"docstore_cache_inserts_total", "counter", "Documents put into the cache after a miss.", "inserts",
     [](const CacheStats& s) { return s.cache.inserts; }},
    {"docstore_cache_evictions_total", "counter", "Documents evicted to make room for others.", "evictions",
     [](const CacheStats& s) { return s.cache.evictions; }},
    {"docstore_cache_invalidations_total", "counter", "Cached documents dropped because the database changed them.",
     "invalidations", [](const CacheStats& s) { return s.cache.invalidations; }},
    {"docstore_cache_fills_skipped_total", "counter",
     "Misses not put into the cache: read from a snapshot older than a change (fenced), inside a write "
     "transaction, or not cacheable.",
     "fills_skipped", [](const CacheStats& s) { return s.fills_skipped; }},
    {"docstore_cache_fills_too_large_total", "counter",
     "Misses not put into the cache because the document is larger than the largest entry.", "fills_refused_too_large",
     [](const CacheStats& s) { return s.cache.refused_too_large; }},
    {"docstore_cache_entries", "gauge", "Documents in the cache.", "entries",
     [](const CacheStats& s) { return s.cache.entries; }},
    {"docstore_cache_bytes", "gauge",
     "Bytes of cache memory holding entries: their values, headers and the unused ends of their chunks.", "bytes_used",
     [](const CacheStats& s) { return s.cache.chunk_bytes_used; }},
    {"docstore_cache_value_bytes", "gauge", "Bytes of the cached documents' values alone.", "value_bytes",
     [](const CacheStats& s) { return s.cache.value_bytes; }},
    {"docstore_cache_limit_bytes", "gauge",
     "Bytes of cache memory for entries; a full cache evicts the least recently used.", "capacity_bytes",
     [](const CacheStats& s) { return s.cache.capacity_bytes; }},
    {"docstore_cache_max_entry_bytes", "gauge", "The largest document the cache takes, in bytes.", "max_entry_bytes",
     [](const CacheStats& s) { return s.limits.max_entry_bytes; }},
    {"docstore_segment_bytes", "gauge",
     "Bytes of the shared-memory segment, reserved at its creation: the cache, the pending-access tables "
     "and the header.",
     "segment_bytes", [](const CacheStats& s) { return s.limits.segment_bytes; }},
    {"docstore_cache_catch_ups_total", "counter", "Times the cache caught up with the database's change log.",
     "catch_ups", [](const CacheStats& s) { return s.catch_ups; }},
    {"docstore_cache_changes_applied_total", "counter", "Document changes those catch-ups applied.", "changes_applied",
     [](const CacheStats& s) { return s.changes_applied; }},
    {"docstore_cache_resets_total", "counter",
     "Catch-ups that cleared the whole cache because the change log could not say what changed (a restored "
     "or replaced file, a pruned log).",
     "cache_resets", [](const CacheStats& s) { return s.resets; }},
    {"docstore_lock_recoveries_total", "counter",
     "Locks in the segment recovered from a process that died holding them (its shard's entries were "
     "dropped).",
     "lock_recoveries", [](const CacheStats& s) { return s.cache.lock_recoveries + s.pending.lock_recoveries; }},
    {"docstore_cache_corruption_resets_total", "counter",
     "Shards of the segment found inconsistent and reset (their entries dropped).", "errors",
     [](const CacheStats& s) { return s.cache.corruption_resets; }},
    {"docstore_auth_failures_total", "counter",
     "Sealed (encrypted) cache entries that did not authenticate, read from the database instead.", "auth_failures",
     [](const CacheStats& s) { return s.auth_failures; }},
    {"docstore_access_recorded_total", "counter", "Accesses (doc_get, doc_touch) counted in shared memory.",
     "accesses_recorded", [](const CacheStats& s) { return s.pending.recorded; }},
    {"docstore_access_pending", "gauge", "Accesses counted but not yet written to the database.", "pending_accesses",
     [](const CacheStats& s) { return s.pending.accesses; }},
    {"docstore_access_pending_documents", "gauge", "Documents with accesses not yet written.", "pending_documents",
     [](const CacheStats& s) { return s.pending.keys; }},
    {"docstore_access_pending_slots", "gauge", "Documents the pending-access tables hold at once, over all shards.",
     "pending_capacity", [](const CacheStats& s) { return s.pending.capacity; }},
    {"docstore_access_pending_fullest_ratio", "gauge",
     "How full the fullest shard's pending-access table is, from 0 to 1; at 1 a reader flushes before it "
     "counts.",
     "pending_fullest_percent", [](const CacheStats& s) { return s.pending.fullest_percent; }, 100},
    {"docstore_access_pending_full_total", "counter",
     "Accesses that found their pending-access table full: the reader flushed it itself first.", "pending_full",
     [](const CacheStats& s) { return s.pending.refused_full; }},
    {"docstore_access_flushed_total", "counter", "Accesses written to the database's document_access table.",
     "accesses_flushed", [](const CacheStats& s) { return s.accesses_flushed; }},
    {"docstore_flushes_total", "counter", "Flushes of pending accesses that committed.", "flushes",
     [](const CacheStats& s) { return s.flushes; }},
    {"docstore_flushes_inline_total", "counter",
     "Of those, flushes a client made itself (a full pending table, or doc_flush()) rather than the sidecar.",
     "inline_flushes", [](const CacheStats& s) { return s.inline_flushes; }},
    {"docstore_flush_rows_total", "counter", "document_access rows those flushes wrote.", "rows_flushed",
     [](const CacheStats& s) { return s.rows_flushed; }},
    {"docstore_flush_failures_total", "counter",
     "Flushes that rolled back (a busy or read-only database, a full disk); their accesses wait for the next.",
     "flush_failures", [](const CacheStats& s) { return s.flush_failures; }},
    {"docstore_last_flush_timestamp_seconds", "gauge",
     "When a flush last committed, in seconds since the epoch (absent before the first).", "last_flush", nullptr, 1,
     [](const MetricsInput& in) -> Samples {
       if (in.stats == nullptr || in.stats->last_flush_ms == 0) return {};
       return {{"", Seconds(in.stats->last_flush_ms)}};
     }},
    {"docstore_flush_lag_seconds", "gauge",
     "How long an access may have waited to be written: seconds since the last committed flush while any "
     "access waits (before the first flush, since the oldest waiting document's latest access); 0 when none "
     "waits.",
     "flush_lag_ms", [](const CacheStats& s) { return s.flush_lag_ms; }, 1000},
};

// Backslashes and newlines escaped, as HELP text needs; double quotes too
// for a label value.
std::string Escape(std::string_view text, bool in_quotes) {
  std::string out;
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && in_quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

// Integral values as integers (exact up to 2^53), others in the shortest
// form that reads back the same.
void AppendValue(double value, std::string* out) {
  char buffer[64];
  const bool integral = std::nearbyint(value) == value && std::fabs(value) < 9007199254740992.0;
  const auto result = integral ? std::to_chars(buffer, buffer + sizeof buffer, static_cast<int64_t>(value))
                               : std::to_chars(buffer, buffer + sizeof buffer, value);
  out->append(buffer, result.ptr);
}

}  // namespace

const std::span<const MetricDefinition> kMetricDefinitions(kDefinitions);

std::string EscapeLabelValue(std::string_view text) { return Escape(text, /*in_quotes=*/true); }

std::string RenderMetrics(const MetricsInput& input) {
  const std::string database = Label("database", input.database);
  std::string text;
  for (const MetricDefinition& metric : kMetricDefinitions) {
    Samples samples;
    if (metric.samples != nullptr) {
      samples = metric.samples(input);
    } else if (input.stats != nullptr) {
      samples = {{"", static_cast<double>(metric.number(*input.stats)) / static_cast<double>(metric.divisor)}};
    }
    if (samples.empty()) continue;
    text.append("# HELP ")
        .append(metric.name)
        .append(" ")
        .append(Escape(metric.help, /*in_quotes=*/false))
        .append("\n");
    text.append("# TYPE ").append(metric.name).append(" ").append(metric.type).append("\n");
    for (const MetricSample& sample : samples) {
      text.append(metric.name).append("{").append(database);
      if (!sample.labels.empty()) text.append(",").append(sample.labels);
      text.append("} ");
      AppendValue(sample.value, &text);
      text.append("\n");
    }
  }
  return text;
}

}  // namespace docstore
