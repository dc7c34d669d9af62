// doc_get on an encrypted database: the sealed cache (AES-256-GCM per hit)
// beside a prepared point-select of the same document's columns through
// SQLCipher's own decrypted page cache. Built twice (bench/CMakeLists.txt):
//
//   cipher3_bench OUT.json build/docstore_sqlcipher [--quick]   Debian's SQLCipher 3.4.1
//   cipher_bench  OUT.json build/docstore [--quick]             SQLCipher 4 (linked)
//
// Entries, named <line>/...: docget_hit and baseline_point_select (10^4
// documents of about 1 KiB, 80/20 id sequence, all cached and warm),
// docget_miss (each document once after the cache is emptied: the read, the
// seal and the fill); and, to show where a hit's time goes,
// docget_hit_unkeyed (the same hits on an unkeyed database) and
// entry_open_<N>b (copying and opening one sealed entry of N bytes, no SQL).
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "bench_report.h"
#include "bench_sqlite.h"
#include "entry_cipher.h"
#include "sqlite_util.h"

namespace {

namespace fs = std::filesystem;
using docstore::bench::Measure;
using docstore::bench::Result;
using docstore::bench::Die;
using docstore::bench::Exec;
using docstore::bench::Prepare;
using docstore::bench::StepOnce;
using docstore::bench::LoadExtension;
using docstore::bench::PopulateDocuments;

constexpr int kDocuments = 10000;

// A database at `file` (keyed unless `key` is empty) with docstore loaded and
// tuned, and kDocuments documents of about 1 KiB.
sqlite3* MakeDatabase(const fs::path& file, const std::string& key, const char* extension) {
  sqlite3* db = nullptr;
  if (sqlite3_open(file.c_str(), &db) != SQLITE_OK) Die("open");
  if (!key.empty()) Exec(db, "PRAGMA key = '" + key + "'");
  LoadExtension(db, extension);
  Exec(db, "SELECT docstore_tune()");
  PopulateDocuments(db, kDocuments);
  return db;
}

// Closes `db` and removes its cache segment.
void CloseDatabase(sqlite3* db) {
  const std::string segment = docstore::QueryText(db, "SELECT value FROM docstore_stats WHERE name = 'segment'");
  sqlite3_close(db);
  if (segment.rfind("/docstore-", 0) == 0) unlink(("/dev/shm" + segment).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  const std::string line = DOCSTORE_CIPHER_LINE;
  if (argc < 3) Die("usage: " + line + "_bench OUT.json EXTENSION [--quick]");
  const bool quick = argc > 3 && std::string(argv[3]) == "--quick";
  const uint64_t ops = quick ? 20000 : 200000;
  setenv("DOCSTORE_CACHE_BYTES", "67108864", 1);
  setenv("DOCSTORE_PENDING_SLOTS", "65536", 1);
  const fs::path dir = fs::temp_directory_path() / ("docstore-" + line + "-bench-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::mt19937_64 rng(2);
  std::vector<int64_t> ids(1 << 20);
  for (auto& id : ids) id = 1 + static_cast<int64_t>(rng() % 10 < 8 ? rng() % (kDocuments / 5) : rng() % kDocuments);
  const size_t mask = ids.size() - 1;
  std::vector<Result> results;
  // doc_get hits on `db`, the whole cache filled first.
  auto measure_hits = [&](sqlite3* db, const std::string& name) {
    sqlite3_stmt* doc_get = Prepare(db, "SELECT doc_get(?1)");
    for (int id = 1; id <= kDocuments; ++id) {
      sqlite3_bind_int(doc_get, 1, id);
      StepOnce(doc_get);
    }
    Exec(db, "SELECT doc_flush()");
    results.push_back(Measure(name, ops, [&](uint64_t i) {
      sqlite3_bind_int64(doc_get, 1, ids[i & mask]);
      StepOnce(doc_get);
    }));
    Exec(db, "SELECT doc_flush()");
    sqlite3_finalize(doc_get);
  };

  sqlite3* db = MakeDatabase(dir / "keyed.db", "cipher bench key", argv[2]);
  measure_hits(db, line + "/docget_hit");
  sqlite3_stmt* point = Prepare(
      db, "SELECT id, title, content, metadata, content_type, created_at, updated_at, version"
          " FROM documents WHERE id = ?1");
  for (int id = 1; id <= kDocuments; ++id) {  // warm the page cache
    sqlite3_bind_int(point, 1, id);
    StepOnce(point);
  }
  results.push_back(Measure(line + "/baseline_point_select", ops, [&](uint64_t i) {
    sqlite3_bind_int64(point, 1, ids[i & mask]);
    StepOnce(point);
  }));
  sqlite3_finalize(point);
  Exec(db, "SELECT docstore_cache_clear()");
  std::vector<int64_t> permutation(kDocuments);
  for (int i = 0; i < kDocuments; ++i) permutation[static_cast<size_t>(i)] = i + 1;
  std::shuffle(permutation.begin(), permutation.end(), std::mt19937_64(4));
  sqlite3_stmt* doc_get = Prepare(db, "SELECT doc_get(?1)");
  results.push_back(Measure(line + "/docget_miss", kDocuments, [&](uint64_t i) {
    sqlite3_bind_int64(doc_get, 1, permutation[i]);
    StepOnce(doc_get);
  }, 1));
  sqlite3_finalize(doc_get);
  const std::string document = docstore::QueryText(db, "SELECT doc_get(1)");
  if (document.empty()) Die("doc_get(1) returned nothing");
  std::fprintf(stderr, "  SQLCipher %s on SQLite %s, %s\n", docstore::QueryText(db, "PRAGMA cipher_version").c_str(),
               sqlite3_libversion(),
               docstore::QueryText(db, "SELECT value FROM docstore_stats WHERE name = 'cache_status'").c_str());
  CloseDatabase(db);

  // Where a hit's time goes: the same hits on an unkeyed database (no seal),
  // and opening one sealed entry of document 1's size (the copy out of the
  // segment, then AES-256-GCM in place) without SQL around it.
  db = MakeDatabase(dir / "plain.db", "", argv[2]);
  measure_hits(db, line + "/docget_hit_unkeyed");
  CloseDatabase(db);
  const auto cipher = docstore::EntryCipher::FromHexKey(std::string(64, 'a'));
  std::string sealed;
  if (cipher == nullptr || !cipher->Seal(1, 1, document, &sealed)) Die("seal");
  std::string buffer(sealed.size(), '\0');
  results.push_back(Measure(line + "/entry_open_" + std::to_string(document.size()) + "b", ops, [&](uint64_t) {
    std::memcpy(buffer.data(), sealed.data(), sealed.size());
    if (!cipher->Open(1, 1, buffer.data(), buffer.size())) Die("open");
  }));
  std::fprintf(stderr, "  %s: baseline_point_select / docget_hit = %.2f\n", line.c_str(),
               results[1].ns_per_op / results[0].ns_per_op);
  fs::remove_all(dir);
  docstore::bench::WriteJson(argv[1], results);
  return 0;
}
