#include "corpus.h"

#include <chrono>
#include <random>

#include "../bench_sqlite.h"

namespace docstore::bench {

const std::vector<std::string>& Vocabulary() {
  // 2,000 pronounceable words of two to four syllables, the same every run.
  static const std::vector<std::string> words = [] {
    static const char* kSyllables[] = {"ka", "lo", "mi", "ne", "tu", "ra", "so", "vi", "de", "pa",
                                       "zo", "be", "ti", "mu", "ga", "fe", "ri", "no", "sa", "che"};
    std::mt19937_64 rng(11);
    std::vector<std::string> out;
    while (out.size() < 2000) {
      std::string word;
      const int syllables = 2 + static_cast<int>(rng() % 3);
      for (int s = 0; s < syllables; ++s) word += kSyllables[rng() % std::size(kSyllables)];
      out.push_back(word);
    }
    return out;
  }();
  return words;
}

double InsertDocuments(sqlite3* db, int64_t first_id, int64_t count, int per_transaction) {
  const auto& words = Vocabulary();
  // Zipf-like word frequencies: a word's rank squared picks it, so a few
  // words are common and most are rare, as in text.
  std::mt19937_64 rng(static_cast<uint64_t>(first_id));
  std::uniform_real_distribution<double> unit(0, 1);
  sqlite3_stmt* insert =
      Prepare(db, "INSERT INTO documents(id, title, content, metadata) VALUES (?1, ?2, ?3, ?4)");
  sqlite3_stmt* access = Prepare(db, "INSERT INTO document_access(doc_id, access_count) VALUES (?1, 0)");
  const auto start = std::chrono::steady_clock::now();
  for (int64_t id = first_id; id < first_id + count; ++id) {
    if ((id - first_id) % per_transaction == 0) Exec(db, "BEGIN");
    std::string content;
    while (content.size() < 900) {
      const double u = unit(rng);
      content += words[static_cast<size_t>(u * u * static_cast<double>(words.size()))];
      content += ' ';
    }
    const std::string title = "Document " + std::to_string(id) + " " + words[static_cast<size_t>(id) % words.size()];
    const std::string metadata =
        "{\"category\":\"c" + std::to_string(id % 20) + "\",\"n\":" + std::to_string(id) + "}";
    sqlite3_bind_int64(insert, 1, id);
    sqlite3_bind_text(insert, 2, title.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert, 3, content.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert, 4, metadata.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(insert) != SQLITE_DONE) Die(sqlite3_errmsg(db));
    sqlite3_reset(insert);
    sqlite3_bind_int64(access, 1, id);
    if (sqlite3_step(access) != SQLITE_DONE) Die(sqlite3_errmsg(db));
    sqlite3_reset(access);
    if ((id - first_id + 1) % per_transaction == 0 || id + 1 == first_id + count) Exec(db, "COMMIT");
  }
  sqlite3_finalize(insert);
  sqlite3_finalize(access);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace docstore::bench
