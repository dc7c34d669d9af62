// doc_get on an encrypted database: the sealed cache (AES-256-GCM per hit)
// beside a prepared point-select of the same document's columns through
// SQLCipher's own decrypted page cache. Built twice (bench/CMakeLists.txt):
//
//   cipher3_bench OUT.json build/docstore_sqlcipher [--quick]   Debian's SQLCipher 3.4.1
//   cipher_bench  OUT.json build/docstore [--quick]             SQLCipher 4 (linked)
//
// Entries, named <line>/...: docget_hit and baseline_point_select (10^4
// documents of about 1 KiB, 80/20 id sequence, all cached and warm), and
// docget_miss (each document once after the cache is emptied: the read, the
// seal and the fill).
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "bench_report.h"
#include "bench_sqlite.h"

namespace {

namespace fs = std::filesystem;
using docstore::bench::Measure;
using docstore::bench::Result;
using docstore::bench::Die;
using docstore::bench::Exec;
using docstore::bench::Prepare;
using docstore::bench::StepOnce;

}  // namespace

int main(int argc, char** argv) {
  const std::string line = DOCSTORE_CIPHER_LINE;
  if (argc < 3) Die("usage: " + line + "_bench OUT.json EXTENSION [--quick]");
  const bool quick = argc > 3 && std::string(argv[3]) == "--quick";
  const uint64_t ops = quick ? 20000 : 200000;
  constexpr int kDocuments = 10000;
  setenv("DOCSTORE_CACHE_BYTES", "67108864", 1);
  setenv("DOCSTORE_PENDING_SLOTS", "65536", 1);
  const fs::path dir = fs::temp_directory_path() / ("docstore-" + line + "-bench-" + std::to_string(getpid()));
  fs::create_directories(dir);
  sqlite3* db = nullptr;
  if (sqlite3_open((dir / "keyed.db").c_str(), &db) != SQLITE_OK) Die("open");
  Exec(db, "PRAGMA key = 'cipher bench key'");
  sqlite3_enable_load_extension(db, 1);
  char* error = nullptr;
  if (sqlite3_load_extension(db, argv[2], nullptr, &error) != SQLITE_OK) Die(std::string("load: ") + (error ? error : "?"));
  Exec(db, "SELECT docstore_init()");
  Exec(db, "SELECT docstore_tune()");
  Exec(db, "BEGIN");
  sqlite3_stmt* insert = Prepare(db, "INSERT INTO documents(id, title, content) VALUES (?1, ?2, ?3)");
  std::mt19937_64 rng(1);
  for (int id = 1; id <= kDocuments; ++id) {
    std::string content;
    while (content.size() < 900) content += std::to_string(rng()) + ' ';
    const std::string title = "Document " + std::to_string(id);
    sqlite3_bind_int(insert, 1, id);
    sqlite3_bind_text(insert, 2, title.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert, 3, content.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(insert) != SQLITE_DONE) Die(sqlite3_errmsg(db));
    sqlite3_reset(insert);
  }
  sqlite3_finalize(insert);
  Exec(db, "COMMIT");

  std::vector<int64_t> ids(1 << 20);
  for (auto& id : ids) id = 1 + static_cast<int64_t>(rng() % 10 < 8 ? rng() % (kDocuments / 5) : rng() % kDocuments);
  const size_t mask = ids.size() - 1;
  sqlite3_stmt* doc_get = Prepare(db, "SELECT doc_get(?1)");
  sqlite3_stmt* point = Prepare(
      db, "SELECT id, title, content, metadata, content_type, created_at, updated_at, version"
          " FROM documents WHERE id = ?1");
  for (int id = 1; id <= kDocuments; ++id) {  // fill the cache and warm the page cache
    for (sqlite3_stmt* stmt : {doc_get, point}) {
      sqlite3_bind_int(stmt, 1, id);
      StepOnce(stmt);
    }
  }
  Exec(db, "SELECT doc_flush()");
  std::vector<Result> results;
  results.push_back(Measure(line + "/docget_hit", ops, [&](uint64_t i) {
    sqlite3_bind_int64(doc_get, 1, ids[i & mask]);
    StepOnce(doc_get);
  }));
  Exec(db, "SELECT doc_flush()");
  results.push_back(Measure(line + "/baseline_point_select", ops, [&](uint64_t i) {
    sqlite3_bind_int64(point, 1, ids[i & mask]);
    StepOnce(point);
  }));
  Exec(db, "SELECT docstore_cache_clear()");
  std::vector<int64_t> permutation(kDocuments);
  for (int i = 0; i < kDocuments; ++i) permutation[static_cast<size_t>(i)] = i + 1;
  std::shuffle(permutation.begin(), permutation.end(), std::mt19937_64(4));
  results.push_back(Measure(line + "/docget_miss", kDocuments, [&](uint64_t i) {
    sqlite3_bind_int64(doc_get, 1, permutation[i]);
    StepOnce(doc_get);
  }, 1));
  std::fprintf(stderr, "  %s: baseline_point_select / docget_hit = %.2f\n", line.c_str(),
               results[1].ns_per_op / results[0].ns_per_op);
  std::fprintf(stderr, "  SQLCipher %s on SQLite %s\n", docstore::bench::Text(db, "PRAGMA cipher_version").c_str(),
               sqlite3_libversion());
  sqlite3_stmt* stats = Prepare(db, "SELECT value FROM docstore_stats WHERE name IN ('segment', 'hit_ratio', 'cache_status')");
  std::string segment;
  while (sqlite3_step(stats) == SQLITE_ROW) {
    const std::string value = reinterpret_cast<const char*>(sqlite3_column_text(stats, 0));
    if (value.rfind("/docstore-", 0) == 0) segment = value;
    std::fprintf(stderr, "  %s\n", value.c_str());
  }
  sqlite3_finalize(stats);
  sqlite3_finalize(doc_get);
  sqlite3_finalize(point);
  sqlite3_close(db);
  if (!segment.empty()) unlink(("/dev/shm" + segment).c_str());
  fs::remove_all(dir);
  docstore::bench::WriteJson(argv[1], results);
  return 0;
}
