// The change-log reader (core/change_log.cc, CatchUp): a database file's
// docstore_clock, docstore_meta and docstore_changes as any writer of the
// file may have left them (any values, any types, gaps, clocks out of range),
// against a published position of any value. CatchUp applies the log or
// resets the cache, and publishes exactly the file's clock with the observed
// state it was given; or it refuses (no clock, another database) and leaves
// the published position alone.
#include <fuzzer/FuzzedDataProvider.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "change_log.h"
#include "document_cache.h"
#include "fuzz_check.h"
#include "shmcache/shmcache.h"
#include "sqlite_api.h"

namespace {

constexpr const char* kDatabaseId = "fuzz-database";

// One segment for the run, its name removed at once: nothing is left in
// /dev/shm whatever happens to the process.
docstore::DocumentCache& Cache() {
  static docstore::DocumentCache cache = [] {
    const std::string name = "/shmcache-fuzz-" + std::to_string(getpid()) + "-log";
    shmcache::Options options;
    options.capacity_bytes = 256 * 1024;
    options.max_entry_bytes = 4096;
    options.shard_count = 2;
    options.value_format = docstore::kEntryFormat;
    shmcache::Error error;
    auto segment = shmcache::Segment::OpenOrCreate(name, options, &error);
    FUZZ_CHECK(segment != nullptr);
    shmcache::Segment::Remove(name);
    return docstore::DocumentCache(std::move(segment), docstore::EntryCodec(), "");
  }();
  return cache;
}

sqlite3* Database() {
  static sqlite3* db = [] {
    sqlite3* opened = nullptr;
    FUZZ_CHECK(sqlite3_open(":memory:", &opened) == SQLITE_OK);
    // Column types as loose as SQLite lets a writer make them.
    FUZZ_CHECK(sqlite3_exec(opened,
                            "CREATE TABLE docstore_clock(id INTEGER PRIMARY KEY, value);"
                            "CREATE TABLE docstore_meta(key TEXT PRIMARY KEY, value);"
                            "CREATE TABLE docstore_changes(clock INTEGER PRIMARY KEY, doc_id, tag);",
                            nullptr, nullptr, nullptr) == SQLITE_OK);
    return opened;
  }();
  return db;
}

// A value as a writer may have stored it: mostly an integer near `near`.
void BindValue(sqlite3_stmt* stmt, int index, FuzzedDataProvider& in, int64_t near) {
  switch (in.ConsumeIntegralInRange(0, 5)) {
    case 0: sqlite3_bind_null(stmt, index); return;
    case 1: sqlite3_bind_int64(stmt, index, in.ConsumeIntegral<int64_t>()); return;
    case 2: sqlite3_bind_double(stmt, index, in.ConsumeFloatingPoint<double>()); return;
    case 3: {
      const std::string text = in.ConsumeRandomLengthString(24);
      sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
      return;
    }
    default:  // wrapping, as near() does
      sqlite3_bind_int64(stmt, index,
                         static_cast<int64_t>(static_cast<uint64_t>(near) +
                                              static_cast<uint64_t>(in.ConsumeIntegralInRange<int64_t>(-3, 3))));
  }
}

void Run(sqlite3* db, const char* sql, FuzzedDataProvider& in, int values, int64_t near) {
  sqlite3_stmt* stmt = nullptr;
  FUZZ_CHECK(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK);
  for (int i = 1; i <= values; ++i) BindValue(stmt, i, in, near);
  sqlite3_step(stmt);  // a row the constraints refuse is a row not there
  sqlite3_finalize(stmt);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  docstore::DocumentCache& cache = Cache();
  sqlite3* db = Database();

  // Where the cache was: a position published by an earlier catch-up.
  shmcache::SourcePosition before;
  before.observed[0] = 1;
  before.clock = in.ConsumeBool() ? in.ConsumeIntegral<uint64_t>() : in.ConsumeIntegralInRange<uint64_t>(0, 20);
  before.tag = in.ConsumeIntegralInRange<uint64_t>(0, 3);
  cache.BeginSourceSync(0)->Publish(before);

  // What the file says now.
  // A clock near the published one, wrapping as the unsigned clock does (the
  // published clock may be INT64_MAX: no signed overflow in the harness).
  auto near = [&before](uint64_t plus) { return static_cast<int64_t>(before.clock + plus); };
  FUZZ_CHECK(sqlite3_exec(db, "DELETE FROM docstore_clock; DELETE FROM docstore_meta; DELETE FROM docstore_changes;",
                          nullptr, nullptr, nullptr) == SQLITE_OK);
  if (in.ConsumeIntegralInRange(0, 7) != 0) Run(db, "INSERT INTO docstore_clock VALUES (1, ?1)", in, 1, near(5));
  if (in.ConsumeIntegralInRange(0, 7) != 0) {
    Run(db, "INSERT INTO docstore_meta VALUES ('database_id', 'fuzz-database')", in, 0, 0);
  } else {
    Run(db, "INSERT INTO docstore_meta VALUES ('database_id', ?1)", in, 1, 0);
  }
  for (int changes = in.ConsumeIntegralInRange(0, 12); changes > 0; --changes) {
    Run(db, "INSERT INTO docstore_changes VALUES (?1, ?2, ?3)", in, 3, near(2));
  }

  shmcache::SourcePosition published = before;
  published.observed = {7, 7, 7, 7, 7, 7};
  sqlite3_stmt* clock = nullptr;
  FUZZ_CHECK(sqlite3_prepare_v2(db, "SELECT value FROM docstore_clock WHERE id = 1", -1, &clock, nullptr) == SQLITE_OK);
  const bool has_clock = sqlite3_step(clock) == SQLITE_ROW;
  const int64_t file_clock = has_clock ? sqlite3_column_int64(clock, 0) : -1;
  sqlite3_finalize(clock);

  docstore::Status status;
  {
    auto sync = cache.BeginSourceSync(0);
    FUZZ_CHECK(sync != nullptr);
    status = docstore::CatchUp(db, &cache, sync.get(), published.observed, kDatabaseId);
  }
  if (status.ok()) {
    FUZZ_CHECK(file_clock >= 0);
    const shmcache::SourcePosition now = cache.Source();
    FUZZ_CHECK(now.observed == published.observed);
    FUZZ_CHECK(now.clock == static_cast<uint64_t>(file_clock));
  } else {
    FUZZ_CHECK(!status.message().empty());
    FUZZ_CHECK(cache.Source() == before);
  }
  return 0;
}
