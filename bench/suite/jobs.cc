#include "jobs.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <random>
#include <unordered_set>

#include "../bench_sqlite.h"
#include "corpus.h"
#include "designs.h"
#include "processes.h"
#include "record.h"

namespace docstore::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

std::vector<int64_t> ReadIds(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  const auto bytes = static_cast<size_t>(in.tellg());
  std::vector<int64_t> ids(bytes / sizeof(int64_t));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(ids.data()), static_cast<std::streamsize>(bytes));
  return ids;
}

sqlite3* OpenWithDocstore(const JobArgs& job) {
  sqlite3* db = nullptr;
  if (sqlite3_open(job.database.c_str(), &db) != SQLITE_OK) Die("open " + job.database);
  LoadExtension(db, job.extension);
  sqlite3_busy_timeout(db, 10000);
  Exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
  return db;
}

double Stat(sqlite3* db, const char* name) {
  sqlite3_stmt* stmt = Prepare(db, "SELECT value FROM docstore_stats WHERE name = ?1");
  sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
  double value = -1;
  if (sqlite3_step(stmt) == SQLITE_ROW) value = sqlite3_column_double(stmt, 0);
  sqlite3_finalize(stmt);
  return value;
}

std::string StatText(sqlite3* db, const char* name) {
  sqlite3_stmt* stmt = Prepare(db, "SELECT value FROM docstore_stats WHERE name = ?1");
  sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
  std::string value;
  if (sqlite3_step(stmt) == SQLITE_ROW) value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  return value;
}

// Latencies in ns: p50, p99, p99.9, and 200 quantiles for the chart's CDF.
void AddLatencies(Record* record, std::vector<double> ns) {
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) { return ns[std::min(ns.size() - 1, static_cast<size_t>(q * static_cast<double>(ns.size())))]; };
  record->Add("p50_ns", at(0.5)).Add("p99_ns", at(0.99)).Add("p999_ns", at(0.999));
  std::vector<double> cdf;
  for (int q = 0; q < 200; ++q) cdf.push_back(at(q / 200.0));
  record->Add("cdf_ns", cdf);
}

// Times each Get of `ids`.
std::vector<double> TimeEach(Reader* reader, const std::vector<int64_t>& ids) {
  std::vector<double> ns;
  ns.reserve(ids.size());
  for (const int64_t id : ids) {
    const auto start = Clock::now();
    const std::string json = reader->Get(id);
    ns.push_back(std::chrono::duration<double, std::nano>(Clock::now() - start).count());
    if (json.empty()) Die("no document " + std::to_string(id));
  }
  return ns;
}

void Emit(const JobArgs& job, const Record& record) {
  std::ofstream(job.out, std::ios::app) << record.json() << '\n';
}

// import: docstore's schema and the documents, 1,000 to a transaction, with
// the indexes the list rows use; the file's size, the segment's name.
void Import(const JobArgs& job) {
  sqlite3* db = OpenWithDocstore(job);
  Exec(db, "SELECT docstore_init()");
  const auto start = Clock::now();
  const double seconds = InsertDocuments(db, 1, job.documents, 1000);
  Exec(db, "CREATE INDEX bench_by_updated ON documents(updated_at);"
           "CREATE INDEX bench_by_category ON documents(json_extract(metadata, '$.category'), updated_at)");
  const double total = Seconds(start);
  Exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  const std::string segment = StatText(db, "segment");
  sqlite3_close(db);
  struct stat st {};
  stat(job.database.c_str(), &st);
  Emit(job, Record("import", "docstore")
                .Add("docs", static_cast<double>(job.documents))
                .Add("seconds", total)
                .Add("docs_per_s", static_cast<double>(job.documents) / seconds)
                .Add("file_bytes", static_cast<double>(st.st_size))
                .Add("segment", segment));
}

// create: documents per second into a fresh database, one per transaction
// and 1,000 per transaction.
void Create(const JobArgs& job) {
  sqlite3* db = OpenWithDocstore(job);
  Exec(db, "SELECT docstore_init()");
  const int64_t single = job.quick ? 1000 : 5000, batched = job.quick ? 20000 : 100000;
  const double one = InsertDocuments(db, 1, single, 1);
  const double thousand = InsertDocuments(db, 1 + single, batched, 1000);
  const std::string segment = StatText(db, "segment");
  sqlite3_close(db);
  const auto n_single = static_cast<double>(single), n_batched = static_cast<double>(batched);
  Emit(job, Record("create", "docstore").Add("per_txn", 1.0).Add("docs", n_single).Add("docs_per_s", n_single / one)
                .Add("segment", segment));
  Emit(job, Record("create", "docstore").Add("per_txn", 1000.0).Add("docs", n_batched)
                .Add("docs_per_s", n_batched / thousand));
}

// memory: the segment after every document was read once; and what a
// private LRU of 10,000 documents holds (RssAnon before and after filling it).
void Memory(const JobArgs& job) {
  {
    sqlite3* db = OpenWithDocstore(job);
    sqlite3_stmt* get = Prepare(db, "SELECT doc_get(?1)");
    for (int64_t id = 1; id <= job.documents; ++id) {
      sqlite3_bind_int64(get, 1, id);
      StepOnce(get);
    }
    sqlite3_finalize(get);
    double rss = 0, anon = 0;
    ResidentKb(&rss, &anon);
    const double entries = Stat(db, "entries"), used = Stat(db, "bytes_used");
    Emit(job, Record("memory", "docstore")
                  .Add("docs", static_cast<double>(job.documents))
                  .Add("segment_bytes", Stat(db, "segment_bytes"))
                  .Add("capacity_bytes", Stat(db, "capacity_bytes"))
                  .Add("entries", entries)
                  .Add("bytes_per_cached_doc", used / entries)
                  .Add("rss_kb", rss)
                  .Add("anon_kb", anon));
    sqlite3_close(db);
  }
  double rss0 = 0, anon0 = 0, rss1 = 0, anon1 = 0;
  ResidentKb(&rss0, &anon0);
  const ReaderConfig config{job.database, job.extension, job.redis_socket};
  auto lru = OpenReader("pass2", config);
  const int64_t filled = std::min<int64_t>(job.documents, 10000);
  for (int64_t id = 1; id <= filled; ++id) lru->Get(id);
  ResidentKb(&rss1, &anon1);
  lru->Finish();
  Emit(job, Record("memory", "pass2")
                .Add("docs", static_cast<double>(job.documents))
                .Add("entries", static_cast<double>(filled))
                .Add("bytes_per_cached_doc", (anon1 - anon0) * 1024 / static_cast<double>(filled))
                .Add("rss_kb", rss1)
                .Add("anon_kb", anon1));
}

// cached: after a warm-up over the sequence, each get timed alone, then the
// same number untimed for throughput; batches of 10; for docstore and plain
// the list and search rows.
void Cached(const JobArgs& job, const std::vector<int64_t>& ids) {
  const ReaderConfig config{job.database, job.extension, job.redis_socket};
  auto reader = OpenReader(job.design, config);
  const bool slow = job.design == "pass1";
  const size_t warmup = slow ? 2000 : (job.quick ? 50000 : 200000);
  const size_t count = slow ? (job.quick ? 2000 : 10000) : (job.quick ? 50000 : 200000);
  for (size_t i = 0; i < warmup; ++i) reader->Get(ids[i]);
  const std::vector<int64_t> timed(ids.begin() + static_cast<std::ptrdiff_t>(warmup),
                                   ids.begin() + static_cast<std::ptrdiff_t>(warmup + count));
  Record latency("get_cached", job.design);
  AddLatencies(&latency, TimeEach(reader.get(), timed));
  auto start = Clock::now();
  for (size_t i = 0; i < count; ++i) reader->Get(ids[warmup + count + i]);
  latency.Add("ops_per_s", static_cast<double>(count) / Seconds(start)).Add("warmup", static_cast<double>(warmup));
  Emit(job, latency);

  std::vector<double> batch_ns;
  const size_t batches = count / 10;
  start = Clock::now();
  for (size_t b = 0; b < batches; ++b) {
    const std::vector<int64_t> batch(ids.begin() + static_cast<std::ptrdiff_t>(warmup + b * 10),
                                     ids.begin() + static_cast<std::ptrdiff_t>(warmup + b * 10 + 10));
    const auto one = Clock::now();
    reader->GetMany(batch);
    batch_ns.push_back(std::chrono::duration<double, std::nano>(Clock::now() - one).count());
  }
  Record many("batch10", job.design);
  many.Add("docs_per_s", static_cast<double>(batches * 10) / Seconds(start));
  AddLatencies(&many, batch_ns);
  Emit(job, many);
  reader->Finish();
  if (job.design != "docstore" && job.design != "plain") return;

  // Lists and searches: the same statements, each document as doc_get's
  // JSON (docstore) or json_object's (plain).
  sqlite3* db = nullptr;
  if (job.design == "docstore") {
    db = OpenWithDocstore(job);
  } else if (sqlite3_open(job.database.c_str(), &db) != SQLITE_OK) {
    Die("open " + job.database);
  }
  const bool docstore = job.design == "docstore";
  const std::string page = docstore ? "SELECT doc_get(d.id) FROM documents AS d " : DOCSTORE_BENCH_DOCUMENT_JSON_FROM;
  sqlite3_stmt* by_updated = Prepare(db, (page + "ORDER BY d.updated_at DESC LIMIT 20 OFFSET ?1").c_str());
  sqlite3_stmt* by_category = Prepare(
      db, (page + "WHERE json_extract(d.metadata, '$.category') = ?1 ORDER BY d.updated_at DESC LIMIT 20").c_str());
  sqlite3_stmt* search = Prepare(
      db, docstore ? "SELECT id, title, snippet FROM doc_search(?1) LIMIT 10"
                   : "SELECT rowid, title, snippet(documents_fts, -1, '[', ']', '...', 12) FROM documents_fts"
                     " WHERE documents_fts MATCH ?1 ORDER BY rank LIMIT 10");
  auto rows = [](sqlite3_stmt* stmt) {
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(stmt); ++c) sqlite3_column_text(stmt, c);
    }
    sqlite3_reset(stmt);
  };
  // Each of these rows runs its statements up to `most` times or for
  // kBudgetSeconds, whichever ends first: a search of common words over 10^6
  // documents takes tens of milliseconds.
  constexpr double kBudgetSeconds = 10;
  const int most = job.quick ? 500 : 2000;
  auto per_second = [&](const std::function<void(int)>& op) {
    const auto begin = Clock::now();
    int done = 0;
    while (done < most && Seconds(begin) < kBudgetSeconds) op(done++);
    return done / Seconds(begin);
  };
  Emit(job, Record("list_updated", job.design).Add("pages_per_s", per_second([&](int i) {
    sqlite3_bind_int(by_updated, 1, (i % 50) * 20);
    rows(by_updated);
  })));
  Emit(job, Record("list_metadata", job.design).Add("pages_per_s", per_second([&](int i) {
    const std::string category = "c" + std::to_string(i % 20);
    sqlite3_bind_text(by_category, 1, category.c_str(), -1, SQLITE_TRANSIENT);
    rows(by_category);
  })));
  // Two words each, drawn as documents draw theirs (common words often).
  const auto& words = Vocabulary();
  std::mt19937_64 rng(13);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<std::string> queries;
  for (int i = 0; i < most; ++i) {
    const double a = unit(rng), b = unit(rng);
    const auto n = static_cast<double>(words.size());
    queries.push_back(words[static_cast<size_t>(a * a * n)] + " " + words[static_cast<size_t>(b * b * n)]);
  }
  Emit(job, Record("search", job.design).Add("queries_per_s", per_second([&](int i) {
    const std::string& query = queries[static_cast<size_t>(i)];
    sqlite3_bind_text(search, 1, query.c_str(), -1, SQLITE_TRANSIENT);
    rows(search);
  })));
  for (sqlite3_stmt* s : {by_updated, by_category, search}) sqlite3_finalize(s);
  sqlite3_close(db);
}

// uncached: the first read of each distinct id in sequence order, in a fresh
// process (docstore: on a fresh segment; redis: flushed), each timed alone.
void Uncached(const JobArgs& job, const std::vector<int64_t>& ids) {
  const ReaderConfig config{job.database, job.extension, job.redis_socket};
  auto reader = OpenReader(job.design, config);
  const size_t want = std::min<size_t>(static_cast<size_t>(job.documents) / 2,
                                       job.design == "pass1" ? 5000 : (job.quick ? 20000 : 50000));
  std::vector<int64_t> first;
  std::unordered_set<int64_t> seen;
  for (size_t i = 0; i < ids.size() && first.size() < want; ++i) {
    if (seen.insert(ids[i]).second) first.push_back(ids[i]);
  }
  const auto start = Clock::now();
  std::vector<double> ns = TimeEach(reader.get(), first);
  const double seconds = Seconds(start);
  reader->Finish();
  Record record("get_uncached", job.design);
  AddLatencies(&record, std::move(ns));
  record.Add("ops_per_s", static_cast<double>(first.size()) / seconds);
  Emit(job, record);
}

// coldwarm: on a fresh segment, the first 10^5 reads of the sequence and the
// next 10^5: hit ratio and reads per second of each.
void ColdWarm(const JobArgs& job, const std::vector<int64_t>& ids) {
  sqlite3* db = OpenWithDocstore(job);
  sqlite3_stmt* get = Prepare(db, "SELECT doc_get(?1)");
  constexpr size_t kReads = 100000;
  for (int phase = 0; phase < 2; ++phase) {
    const double hits = std::max(0.0, Stat(db, "hits")), misses = std::max(0.0, Stat(db, "misses"));
    const auto start = Clock::now();
    for (size_t i = phase * kReads; i < (phase + 1) * kReads; ++i) {
      sqlite3_bind_int64(get, 1, ids[i]);
      StepOnce(get);
    }
    const double seconds = Seconds(start);
    const double h = Stat(db, "hits") - hits, m = Stat(db, "misses") - misses;
    Emit(job, Record("coldwarm", "docstore")
                  .Add("phase", phase == 0 ? "first 1e5" : "next 1e5")
                  .Add("hit_ratio", h / (h + m))
                  .Add("ops_per_s", kReads / seconds));
  }
  sqlite3_finalize(get);
  sqlite3_close(db);
}

}  // namespace

std::vector<std::string> JobCommand(const JobArgs& job) {
  return {"/proc/self/exe", "--job", job.name, job.design, job.database, job.extension, job.redis_socket, job.ids,
          job.out, std::to_string(job.documents), job.quick ? "1" : "0"};
}

int JobMain(int argc, char** argv) {
  if (argc != 11) Die("usage: --job NAME DESIGN DATABASE EXTENSION REDIS_SOCKET IDS OUT DOCUMENTS QUICK");
  JobArgs job{argv[2], argv[3], argv[4], argv[5], argv[6], argv[7], argv[8], std::stoll(argv[9]),
              std::string(argv[10]) == "1"};
  if (job.name == "import") return Import(job), 0;
  if (job.name == "create") return Create(job), 0;
  if (job.name == "memory") return Memory(job), 0;
  const std::vector<int64_t> ids = ReadIds(job.ids);
  if (job.name == "cached") return Cached(job, ids), 0;
  if (job.name == "uncached") return Uncached(job, ids), 0;
  if (job.name == "coldwarm") return ColdWarm(job, ids), 0;
  Die("unknown job " + job.name);
}

}  // namespace docstore::bench
