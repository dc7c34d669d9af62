// doc_search with user input and large documents, through the C API, built
// three times like extension_test (SQLite 3.40 with FTS5; SQLCipher 3.4 with
// FTS4; SQLCipher 4 with FTS5). Costs are counted, never timed: in statements
// run (sqlite3_trace_v2's SQLITE_TRACE_STMT, nested statements included: the
// index's per-row lookups, docstore's), in what the plan says it reads, and in
// cases that ran for minutes before (ctest's TIMEOUT fails those if they ever
// hang again).
#include <sqlite3.h>

#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "test_database.h"

namespace {

namespace fs = std::filesystem;

using docstore_test::Database;
using docstore_test::QueryResult;

#ifdef DOCSTORE_TEST_SQLCIPHER3
constexpr bool kFts5 = false;
#else
constexpr bool kFts5 = true;
#endif

class SearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = docstore_test::ScratchDirectory("search");
    db_.emplace(dir_ / "docs.db");
    db_->Value("SELECT docstore_init()");
  }
  void TearDown() override {
    db_.reset();
    fs::remove_all(dir_);
  }

  // The error of a statement that must fail.
  std::string Error(const std::string& sql) {
    QueryResult r = db_->Query(sql);
    EXPECT_NE(r.rc, SQLITE_OK) << sql;
    return r.error;
  }

  // The ids a query returns, comma-separated, in order.
  std::string Ids(const std::string& sql) {
    QueryResult r = db_->Query(sql);
    EXPECT_EQ(r.rc, SQLITE_OK) << sql << ": " << r.error;
    std::string ids;
    for (const auto& row : r.rows) {
      if (!ids.empty()) ids += ',';
      ids += row[0].value_or("NULL");
    }
    return ids;
  }

  // The statements run (or run again) while `sql` runs to its end.
  long Statements(const std::string& sql) {
    long statements = 0;
    sqlite3_trace_v2(db_->handle(), SQLITE_TRACE_STMT,
                     [](unsigned, void* count, void*, void*) { return ++*static_cast<long*>(count), 0; },
                     &statements);
    QueryResult r = db_->Query(sql);
    sqlite3_trace_v2(db_->handle(), 0, nullptr, nullptr);
    EXPECT_EQ(r.rc, SQLITE_OK) << sql << ": " << r.error;
    return statements;
  }

  // What EXPLAIN QUERY PLAN says of doc_search in `sql`.
  std::string Plan(const std::string& sql) {
    QueryResult r = db_->Query("EXPLAIN QUERY PLAN " + sql);
    EXPECT_EQ(r.rc, SQLITE_OK) << r.error;
    for (const auto& row : r.rows) {
      const std::string detail = row.back().value_or("");
      if (detail.find("doc_search") != std::string::npos) return detail;
    }
    return "<no plan>";
  }

  fs::path dir_;
  std::optional<Database> db_;
};

// The case: FTS5's snippet() over one 5 MB document of a repeated
// phrase ran for over ten minutes. Now the snippet looks at a bounded prefix.
TEST_F(SearchTest, SnippetOfAFiveMegabyteRepetitiveDocumentIsBounded) {
  // Made here, not by SQL's replace(): SQLite 3.15's grows its result one
  // match at a time, quadratic under ASan's realloc.
  std::string content;
  for (int i = 0; i < 200000; ++i) content += "lorem ipsum dolor sit amet ";
  sqlite3_stmt* insert = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db_->handle(), "INSERT INTO documents(id, title, content) VALUES (1, 'big', ?1)",
                               -1, &insert, nullptr), SQLITE_OK);
  sqlite3_bind_text(insert, 1, content.data(), static_cast<int>(content.size()), SQLITE_STATIC);
  EXPECT_EQ(sqlite3_step(insert), SQLITE_DONE) << sqlite3_errmsg(db_->handle());
  sqlite3_finalize(insert);
  EXPECT_EQ(db_->Value("SELECT length(content) FROM documents"), "5400000");
  QueryResult r = db_->Query("SELECT id, snippet FROM doc_search('lorem') LIMIT 1");
  ASSERT_EQ(r.rc, SQLITE_OK) << r.error;
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.rows[0][1].value_or("NULL"),
            "[lorem] ipsum dolor sit amet [lorem] ipsum dolor sit amet [lorem] ipsum...");
  EXPECT_EQ(db_->Value("SELECT count(*) FROM doc_search('lorem ipsum', 'plain')"), "1");
}

// 200 matching documents: count(*) reads nothing per row beyond the index's
// ranking, and a snippet or title is read for the rows returned only. Before,
// every row's snippet was made (reading its document through the index's
// content statement, and on FTS5 its bm25 once more) whatever was asked:
// count(*) ran 415 statements more than the index's ranked MATCH.
TEST_F(SearchTest, SnippetsAndTitlesAreMadeOnlyForRowsReadThatAskForThem) {
  db_->Exec("BEGIN");
  for (int i = 1; i <= 200; ++i) {
    db_->Exec("INSERT INTO documents(id, title, content) VALUES (" + std::to_string(i) +
              ", 'doc " + std::to_string(i) + "', replace(hex(zeroblob(" + std::to_string(i) +
              ")), '00', 'needle hay hay hay '))");
  }
  db_->Exec("COMMIT");
  const std::string ranked =
      kFts5 ? "SELECT rowid FROM documents_fts WHERE documents_fts MATCH 'needle' ORDER BY rank"
            : "SELECT docid FROM documents_fts WHERE documents_fts MATCH 'needle'"
              " ORDER BY docstore_fts4_rank(matchinfo(documents_fts, 'pcnalx'))";
  const long index_first = Statements(ranked + " LIMIT 1");
  const long index_count = Statements("SELECT count(*) FROM (" + ranked + ")");
  const long first = Statements("SELECT id, title, snippet FROM doc_search('needle') LIMIT 1");
  const long count = Statements("SELECT count(*) FROM doc_search('needle')");
  const long ids = Statements("SELECT id FROM doc_search('needle')");
  const long all = Statements("SELECT id, title, snippet FROM doc_search('needle')");
  // The query's set-up (and one row's lookups), not 200 rows' worth.
  EXPECT_LT(count - index_count, 50) << count << " statements vs the index's " << index_count;
  EXPECT_LT(first - index_first, 50) << first << " statements vs the index's " << index_first;
  EXPECT_EQ(ids, count);
  // Asked for on every row, title and snippet are looked up on every row.
  EXPECT_GE(all - ids, 2 * 200) << all << " vs " << ids;
  EXPECT_EQ(db_->Value("SELECT snippet FROM doc_search('needle') WHERE id = 3"),
            "[needle] hay hay hay [needle] hay hay hay [needle] hay hay hay ");
  EXPECT_EQ(db_->Value("SELECT title FROM doc_search('needle') ORDER BY rank LIMIT 1"), "doc 200");
}

// The plan reads title and snippet only when the statement uses them.
TEST_F(SearchTest, ThePlanSaysWhatItReads) {
  EXPECT_NE(Plan("SELECT count(*) FROM doc_search('x')").find("INDEX 1:ranked matches"), std::string::npos);
  EXPECT_NE(Plan("SELECT id, rank FROM doc_search('x')").find("INDEX 17:ranked matches, rank"), std::string::npos);
  EXPECT_NE(Plan("SELECT title FROM doc_search('x', 'plain')").find("INDEX 7:ranked matches, title"),
            std::string::npos);
  EXPECT_NE(Plan("SELECT id FROM doc_search('x') WHERE snippet LIKE '%['").find("INDEX 9:ranked matches, snippet"),
            std::string::npos);
  EXPECT_NE(Plan("SELECT * FROM doc_search('x')").find("INDEX 29:ranked matches, rank, title, snippet"),
            std::string::npos);
}

// Words as a user types them, in 'plain' mode, the same on FTS5 and FTS4.
TEST_F(SearchTest, PlainModeTakesTheWordsAsTheyAre) {
  db_->Exec("INSERT INTO documents(id, title, content) VALUES"
            " (1, 'Mail', 'send an e-mail today'), (2, 'Calm', 'don''t panic'),"
            " (3, 'Lang', 'c++ templates'), (4, 'Ops', 'cats AND dogs NEAR the door'),"
            " (5, 'Quote', 'she said \"hello\" twice')");
  EXPECT_EQ(Ids("SELECT id FROM doc_search('e-mail', 'plain')"), "1");
  EXPECT_EQ(Ids("SELECT id FROM doc_search('don''t', 'plain')"), "2");
  EXPECT_EQ(Ids("SELECT id FROM doc_search('c++', 'plain')"), "3");
  EXPECT_EQ(Ids("SELECT id FROM doc_search('AND', 'plain')"), "4");
  EXPECT_EQ(Ids("SELECT id FROM doc_search('NEAR(', 'plain')"), "4");
  EXPECT_EQ(Ids("SELECT id FROM doc_search('\"hello\" \"', 'plain')"), "5");
  EXPECT_EQ(Ids("SELECT id FROM doc_search('cats door', 'plain')"), "4") << "every word must occur";
  EXPECT_EQ(Ids("SELECT id FROM doc_search('cats panic', 'plain')"), "");
  EXPECT_EQ(Ids("SELECT id FROM doc_search('templates', 'fts')"), "3");
  EXPECT_EQ(db_->Value("SELECT snippet FROM doc_search('E-Mail', 'plain')"), "send an [e]-[mail] today");
  EXPECT_NE(Error("SELECT * FROM doc_search('\" (', 'plain')").find("doc_search: the query has no word"),
            std::string::npos);
  EXPECT_NE(Error("SELECT * FROM doc_search('x', 'words')").find("doc_search: unknown mode 'words'"),
            std::string::npos);
  EXPECT_NE(Error("SELECT * FROM doc_search('x', NULL)").find("doc_search: the mode must be text"),
            std::string::npos);
  // The default stays the index's query language; its errors point at 'plain'.
  if (kFts5) {
    const std::string error = Error("SELECT * FROM doc_search('e-mail')");
    EXPECT_NE(error.find("cannot run full-text query 'e-mail'"), std::string::npos) << error;
    EXPECT_NE(error.find("no such column: mail"), std::string::npos) << error;
    EXPECT_NE(error.find("doc_search(query, 'plain')"), std::string::npos) << error;
  }
}

// A query over either limit is refused before it runs, naming the limit (a
// query of 8,000 words ran 33 s; its cost grew with the square of its words).
TEST_F(SearchTest, QueriesOverTheLimitsAreRefusedNamingThem) {
  db_->Exec("INSERT INTO documents(id, content) VALUES (1, 'w')");
  std::string words_32, words_8000;
  for (int i = 0; i < 32; ++i) words_32 += "w ";
  const std::string words_33 = words_32 + "w";
  for (int i = 0; i < 8000; ++i) words_8000 += "w ";
  EXPECT_EQ(Ids("SELECT id FROM doc_search('" + words_32 + "')"), "1");
  EXPECT_NE(Error("SELECT id FROM doc_search('" + words_33 + "')")
                .find("doc_search: the query has 33 words; at most 32 are allowed"),
            std::string::npos);
  EXPECT_NE(Error("SELECT id FROM doc_search('" + words_33 + "', 'plain')").find("at most 32 are allowed"),
            std::string::npos);
  // One word to a space-splitter, 17 tokens to FTS5: counted as FTS5 sees it.
  std::string dashed = "w";
  for (int i = 0; i < 16; ++i) dashed += "\xE2\x80\x94w";
  EXPECT_NE(Error("SELECT id FROM doc_search('" + dashed + "', 'plain')").find("the query has 33 words"),
            std::string::npos);
  EXPECT_NE(Error("SELECT id FROM doc_search('" + words_8000 + "')")
                .find("doc_search: the query is 16000 bytes; at most 4096 are allowed"),
            std::string::npos);
}

}  // namespace
