// SQLite helpers shared by docstore's benchmarks: a failed call ends the run.
// Includes whichever sqlite3.h the target's include path provides (SQLite or
// SQLCipher).
#ifndef DOCSTORE_BENCH_BENCH_SQLITE_H_
#define DOCSTORE_BENCH_BENCH_SQLITE_H_

#include <sqlite3.h>

#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <random>
#include <string>

namespace docstore::bench {

[[noreturn]] inline void Die(const std::string& what) {
  std::fprintf(stderr, "bench: %s\n", what.c_str());
  std::exit(1);
}

inline void Exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    Die(sql + ": " + (error ? error : "?"));
  }
}

inline sqlite3_stmt* Prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
    Die(std::string(sql) + ": " + sqlite3_errmsg(db));
  }
  return stmt;
}

// The comparison designs' read: a prepared point-select building the same
// JSON as doc_get.
#define DOCSTORE_BENCH_DOCUMENT_JSON_FROM                                                       \
  "SELECT json_object('id', d.id, 'title', d.title, 'content', d.content,"                        \
  " 'metadata', json(d.metadata), 'content_type', d.content_type, 'created_at', d.created_at,"    \
  " 'updated_at', d.updated_at, 'version', d.version, 'access_count', coalesce(a.access_count, 0)," \
  " 'last_accessed', a.last_accessed)"                                                            \
  " FROM documents AS d LEFT JOIN document_access AS a ON a.doc_id = d.id "
constexpr const char* kPointJsonSql = DOCSTORE_BENCH_DOCUMENT_JSON_FROM "WHERE d.id = ?1";

// The seed design's access count, written per read (Pass 1) or per batch (Pass 2).
constexpr const char* kCountAccessSql =
    "UPDATE document_access SET access_count = access_count + 1,"
    " last_accessed = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE doc_id = ?1";

// Loads the docstore extension at `path` into `db`.
// Column `i` of the current row as text; "" for NULL (a docstore_stats time
// not seen yet).
inline std::string ColumnText(sqlite3_stmt* stmt, int i) {
  const unsigned char* text = sqlite3_column_text(stmt, i);
  return text != nullptr ? reinterpret_cast<const char*>(text) : "";
}

inline void LoadExtension(sqlite3* db, const std::string& path) {
  sqlite3_enable_load_extension(db, 1);
  char* error = nullptr;
  if (sqlite3_load_extension(db, path.c_str(), nullptr, &error) != SQLITE_OK) {
    Die("load " + path + ": " + (error ? error : "?"));
  }
}

// docstore's schema and `count` documents of about 1 KiB of text each, with
// their document_access rows (the read-then-UPDATE baseline updates them).
inline void PopulateDocuments(sqlite3* db, int count) {
  Exec(db, "SELECT docstore_init()");
  static const char* kWords[] = {"shared", "memory", "cache", "segment", "process", "reader",
                                 "writer", "sqlite", "document", "version", "lock", "flush",
                                 "sidecar", "access", "index", "query", "page", "journal"};
  std::mt19937_64 rng(1);
  Exec(db, "BEGIN");
  sqlite3_stmt* insert = Prepare(
      db, "INSERT INTO documents(id, title, content, metadata) VALUES (?1, ?2, ?3, ?4)");
  sqlite3_stmt* access = Prepare(
      db, "INSERT INTO document_access(doc_id, access_count) VALUES (?1, 0)");
  for (int id = 1; id <= count; ++id) {
    std::string content;
    while (content.size() < 900) {
      content += kWords[rng() % std::size(kWords)];
      content += ' ';
    }
    const std::string title = "Document " + std::to_string(id);
    const std::string metadata = "{\"n\":" + std::to_string(id) + ",\"tags\":[\"bench\"]}";
    sqlite3_bind_int(insert, 1, id);
    sqlite3_bind_text(insert, 2, title.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert, 3, content.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert, 4, metadata.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(insert) != SQLITE_DONE) Die(sqlite3_errmsg(db));
    sqlite3_reset(insert);
    sqlite3_bind_int(access, 1, id);
    if (sqlite3_step(access) != SQLITE_DONE) Die(sqlite3_errmsg(db));
    sqlite3_reset(access);
  }
  sqlite3_finalize(insert);
  sqlite3_finalize(access);
  Exec(db, "COMMIT");
}

// Steps a one-row statement and touches every column's bytes, as a caller
// reading the result would.
inline size_t StepOnce(sqlite3_stmt* stmt) {
  size_t bytes = 0;
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      sqlite3_column_text(stmt, i);
      bytes += static_cast<size_t>(sqlite3_column_bytes(stmt, i));
    }
  }
  sqlite3_reset(stmt);
  return bytes;
}

}  // namespace docstore::bench

#endif  // DOCSTORE_BENCH_BENCH_SQLITE_H_
