// The metrics text: names and types by Prometheus's conventions, every
// definition rendered with its HELP and TYPE, the database label escaped,
// and the values a real segment's counters give.
#include "metrics_text.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "clock.h"
#include "docstore_version.h"
#include "shmcache/shmcache.h"

namespace docstore {
namespace {

// The lines of `text` that start with `prefix`.
std::vector<std::string> LinesStartingWith(const std::string& text, const std::string& prefix) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) lines.push_back(line);
  }
  return lines;
}

TEST(MetricDefinitions, FollowPrometheusNaming) {
  std::set<std::string_view> names;
  const std::regex name_pattern("docstore_[a-z_]+[a-z]");
  for (const MetricDefinition& m : kMetricDefinitions) {
    SCOPED_TRACE(std::string(m.name));
    EXPECT_TRUE(names.insert(m.name).second) << "defined twice";
    EXPECT_TRUE(std::regex_match(std::string(m.name), name_pattern));
    ASSERT_TRUE(m.type == "counter" || m.type == "gauge");
    const bool total = m.name.ends_with("_total");
    EXPECT_EQ(total, m.type == "counter") << "counters, and only they, end in _total";
    for (const char* unit : {"_ms", "milliseconds", "percent", "_kb", "_mb"}) {
      EXPECT_EQ(m.name.find(unit), std::string_view::npos) << "base units: seconds, bytes, ratios";
    }
    EXPECT_FALSE(m.help.empty());
    EXPECT_TRUE(m.help.ends_with(".") || m.help.ends_with(")")) << m.help;
    EXPECT_FALSE(m.source.empty());
  }
  for (const char* required :
       {"docstore_cache_requests_total", "docstore_cache_evictions_total", "docstore_cache_bytes",
        "docstore_cache_limit_bytes", "docstore_cache_entries", "docstore_lock_recoveries_total",
        "docstore_auth_failures_total", "docstore_access_pending", "docstore_access_flushed_total",
        "docstore_flush_failures_total", "docstore_flush_lag_seconds", "docstore_sidecar_up", "docstore_cache_up"}) {
    EXPECT_TRUE(names.count(required)) << required;
  }
}

// A real segment of its own, removed at the end.
class MetricsTextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = "/shmcache-test-metrics-" + std::to_string(getpid());
    shmcache::Segment::Remove(name_);
    shmcache::Options options;
    options.capacity_bytes = 1 << 20;
    options.max_entry_bytes = 4096;
    shmcache::Error error;
    auto segment = shmcache::Segment::OpenOrCreate(name_, options, &error);
    ASSERT_NE(segment, nullptr) << error.message;
    segment_ = segment.get();
    cache_ = std::make_unique<DocumentCache>(std::move(segment), EntryCodec(), "");
  }
  void TearDown() override { shmcache::Segment::Remove(name_); }

  std::string name_;
  shmcache::Segment* segment_ = nullptr;
  std::unique_ptr<DocumentCache> cache_;
};

TEST_F(MetricsTextTest, EveryDefinitionRenderedWithHelpAndType) {
  const CacheStats stats = cache_->Stats();
  MetricsInput input{"/var/lib/app/docs.db", &stats, "", std::nullopt, NowMilliseconds()};
  const std::string text = RenderMetrics(input);
  for (const MetricDefinition& m : kMetricDefinitions) {
    const std::string name(m.name);
    if (name == "docstore_last_flush_timestamp_seconds" || name == "docstore_sidecar_heartbeat_timestamp_seconds") {
      EXPECT_EQ(text.find(name), std::string::npos) << name << " before anything happened";
      continue;
    }
    EXPECT_EQ(LinesStartingWith(text, "# HELP " + name + " ").size(), 1u) << name;
    EXPECT_EQ(LinesStartingWith(text, "# TYPE " + name + " ").size(), 1u) << name;
    EXPECT_EQ(LinesStartingWith(text, "# TYPE " + name + " ")[0], "# TYPE " + name + " " + std::string(m.type));
    EXPECT_FALSE(LinesStartingWith(text, name + "{database=\"/var/lib/app/docs.db\"").empty()) << name;
  }
  EXPECT_EQ(text.back(), '\n');
  EXPECT_FALSE(LinesStartingWith(text, "docstore_build_info{database=\"/var/lib/app/docs.db\",version=\"" +
                                           std::string(kDocstoreVersion) + "\",commit=\"")
                   .empty())
      << text;
}

TEST_F(MetricsTextTest, ValuesAfterKnownHitsAndMisses) {
  ASSERT_EQ(segment_->Put(1, "one", 1), shmcache::Status::kOk);
  std::string value;
  for (int i = 0; i < 3; ++i) ASSERT_EQ(segment_->Get(1, &value), shmcache::Status::kOk);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(segment_->Get(2, &value), shmcache::Status::kNotFound);
  ASSERT_TRUE(cache_->RecordAccess(1));
  const CacheStats stats = cache_->Stats();
  const std::string text = RenderMetrics({"/d.db", &stats, "", std::nullopt, NowMilliseconds()});
  auto line = [&](const std::string& prefix) {
    const auto lines = LinesStartingWith(text, prefix);
    return lines.size() == 1 ? lines[0] : std::string("not one line in:\n").append(text);
  };
  EXPECT_EQ(line("docstore_cache_requests_total{database=\"/d.db\",result=\"hit\"}"),
            "docstore_cache_requests_total{database=\"/d.db\",result=\"hit\"} 3");
  EXPECT_EQ(line("docstore_cache_requests_total{database=\"/d.db\",result=\"miss\"}"),
            "docstore_cache_requests_total{database=\"/d.db\",result=\"miss\"} 2");
  EXPECT_EQ(line("docstore_cache_entries{"), "docstore_cache_entries{database=\"/d.db\"} 1");
  EXPECT_EQ(line("docstore_cache_inserts_total{"), "docstore_cache_inserts_total{database=\"/d.db\"} 1");
  EXPECT_EQ(line("docstore_access_pending{"), "docstore_access_pending{database=\"/d.db\"} 1");
  EXPECT_EQ(line("docstore_cache_up{"), "docstore_cache_up{database=\"/d.db\"} 1");
  EXPECT_EQ(line("docstore_sidecar_up{"), "docstore_sidecar_up{database=\"/d.db\"} 0");
  EXPECT_EQ(line("docstore_cache_limit_bytes{"),
            "docstore_cache_limit_bytes{database=\"/d.db\"} " + std::to_string(stats.cache.capacity_bytes));
}

TEST_F(MetricsTextTest, DatabasePathEscaped) {
  const CacheStats stats = cache_->Stats();
  const std::string path = "/tmp/a \"quoted\" dir\\with\nnewline.db";
  const std::string text = RenderMetrics({path, &stats, "", true, NowMilliseconds()});
  const std::string escaped = "{database=\"/tmp/a \\\"quoted\\\" dir\\\\with\\nnewline.db\"";
  EXPECT_EQ(LinesStartingWith(text, "docstore_sidecar_up" + escaped)[0], "docstore_sidecar_up" + escaped + "} 1");
  // Every line is a comment or a sample: the newline did not split one.
  for (const auto& sample : LinesStartingWith(text, "docstore_")) EXPECT_NE(sample.find(escaped), std::string::npos);
  EXPECT_EQ(LinesStartingWith(text, "docstore_").size() + LinesStartingWith(text, "# ").size(),
            static_cast<size_t>(std::count(text.begin(), text.end(), '\n')));
}

TEST(MetricsTextWithoutSegment, CacheUpZeroWithReasonAndNoCounters) {
  MetricsInput input{"/d.db", nullptr, "no segment yet: \"x\"", true, NowMilliseconds()};
  const std::string text = RenderMetrics(input);
  EXPECT_EQ(LinesStartingWith(text, "docstore_cache_up{")[0],
            "docstore_cache_up{database=\"/d.db\",reason=\"no segment yet: \\\"x\\\"\"} 0");
  EXPECT_EQ(LinesStartingWith(text, "docstore_sidecar_up{")[0], "docstore_sidecar_up{database=\"/d.db\"} 1");
  EXPECT_TRUE(LinesStartingWith(text, "docstore_cache_requests_total").empty()) << "no zeros for a cache that is off";
  EXPECT_EQ(LinesStartingWith(text, "# TYPE ").size(), 3u) << text;  // build_info, cache_up, sidecar_up
}

TEST(MetricsTextSidecar, UpByHeartbeat) {
  CacheStats stats;
  const int64_t now = 1'800'000'000'000;
  stats.sidecar_pid = 42;
  stats.sidecar_heartbeat_ms = now - 1000;
  stats.flush_lag_ms = 1234;
  stats.pending.fullest_percent = 50;
  auto text = [&] { return RenderMetrics({"/d.db", &stats, "", std::nullopt, now}); };
  EXPECT_EQ(LinesStartingWith(text(), "docstore_sidecar_up{")[0], "docstore_sidecar_up{database=\"/d.db\"} 1");
  EXPECT_EQ(LinesStartingWith(text(), "docstore_sidecar_heartbeat_timestamp_seconds{")[0],
            "docstore_sidecar_heartbeat_timestamp_seconds{database=\"/d.db\"} 1799999999");
  EXPECT_EQ(LinesStartingWith(text(), "docstore_flush_lag_seconds{")[0],
            "docstore_flush_lag_seconds{database=\"/d.db\"} 1.234");
  EXPECT_EQ(LinesStartingWith(text(), "docstore_access_pending_fullest_ratio{")[0],
            "docstore_access_pending_fullest_ratio{database=\"/d.db\"} 0.5");
  stats.sidecar_heartbeat_ms = now - kSidecarHeartbeatStaleMs - 1;
  EXPECT_EQ(LinesStartingWith(text(), "docstore_sidecar_up{")[0], "docstore_sidecar_up{database=\"/d.db\"} 0");
  stats.sidecar_heartbeat_ms = now;
  stats.sidecar_pid = 0;  // stopped
  EXPECT_EQ(LinesStartingWith(text(), "docstore_sidecar_up{")[0], "docstore_sidecar_up{database=\"/d.db\"} 0");
}

// Before any flush committed, the lag is the age of the oldest waiting
// document's latest access.
TEST_F(MetricsTextTest, FlushLagBeforeAnyFlush) {
  EXPECT_EQ(cache_->Stats().flush_lag_ms, 0u) << "nothing waits";
  const int64_t now = NowMilliseconds();
  ASSERT_EQ(segment_->RecordAccess(7, now - 60'000), shmcache::Status::kOk);
  ASSERT_EQ(segment_->RecordAccess(8, now - 5'000), shmcache::Status::kOk);
  const uint64_t lag = cache_->Stats().flush_lag_ms;
  EXPECT_GE(lag, 60'000u);
  EXPECT_LT(lag, 3'600'000u);
}

}  // namespace
}  // namespace docstore
