// One database's metrics in the Prometheus text exposition format (version
// 0.0.4): what `docstore-sidecar --metrics-listen` serves on GET /metrics and
// writes to `--metrics-file`, and what `SELECT docstore_metrics()` returns in
// a process that runs no sidecar. kMetricDefinitions (metrics_text.cc) is
// the one list of names, types, meanings and sources; the tests and the
// operations guide are checked against it.
//
// Conventions (prometheus.io/docs/practices/naming): counters end in
// _total; sizes are bytes, times seconds, fractions ratios from 0 to 1;
// variants are labels (result="hit"|"miss"), never name variants. Every
// sample carries database="<path of the database file>", escaped as the
// format requires (\ as \\, " as \", a newline as \n).
//
// What is shown when. docstore_build_info, docstore_cache_up and
// docstore_sidecar_up always; the rest only while a segment is attached,
// since they are its counters: a cache that is off shows
// docstore_cache_up 0 with a reason label, not zeros that look like an idle
// cache. A counter restarts from 0 with a new segment (a reboot, a removed
// segment), which Prometheus's rate() and increase() take as a reset.
//
// docstore_flush_lag_seconds is how long an access may have waited to be
// written to the database: the time since the last committed flush while
// any access waits (an upper bound on the oldest waiting access's age);
// before any flush committed in this segment, the age of the oldest waiting
// document's latest access (a lower bound; the segment keeps no older time);
// 0 when none waits. A working sidecar keeps it near its --interval-ms; it
// grows without bound when flushes stop (no sidecar, a failing one).
#ifndef DOCSTORE_CORE_METRICS_TEXT_H_
#define DOCSTORE_CORE_METRICS_TEXT_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "document_cache.h"

namespace docstore {

// The Content-Type of the text RenderMetrics makes.
inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// A sidecar whose heartbeat (docstore_stats' sidecar_heartbeat) is older
// than this counts as down: it beats every few milliseconds, and a flush that
// holds it up waits a second at most for a busy database.
inline constexpr int64_t kSidecarHeartbeatStaleMs = 10000;

// What one rendering shows, gathered by its caller.
struct MetricsInput {
  std::string database;               // the database file's path (the database label)
  const CacheStats* stats = nullptr;  // its segment's numbers; nullptr when none is attached
  std::string cache_off;              // why reads are not served from the segment here ("" when they are)
  // Whether a sidecar flushes the database, when the caller knows (the
  // sidecar itself); otherwise judged by the segment's heartbeat.
  std::optional<bool> sidecar_up;
  int64_t now_ms = 0;  // the wall clock, in milliseconds since the epoch
};

// One sample: its labels beyond `database` (`name="value",...`, escaped; or
// empty) and its value.
struct MetricSample {
  std::string labels;
  double value;
};

struct MetricDefinition {
  std::string_view name;
  std::string_view type;  // "counter" or "gauge"
  std::string_view help;
  std::string_view source;  // where the number comes from: docstore_stats' row(s)
  // Most are one unlabelled sample: a segment's number divided by `divisor`
  // (1000: milliseconds shown as seconds), none without a segment.
  uint64_t (*number)(const CacheStats& stats) = nullptr;
  uint64_t divisor = 1;
  // The others' samples; none: not shown.
  std::vector<MetricSample> (*samples)(const MetricsInput& input) = nullptr;
};

extern const std::span<const MetricDefinition> kMetricDefinitions;

// Every metric with samples: # HELP and # TYPE lines, then its samples.
std::string RenderMetrics(const MetricsInput& input);

// `text` as a label value between double quotes may hold it.
std::string EscapeLabelValue(std::string_view text);

}  // namespace docstore

#endif  // DOCSTORE_CORE_METRICS_TEXT_H_
