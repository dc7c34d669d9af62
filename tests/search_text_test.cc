// doc_search's text side without SQLite: the query limits, the plain mode's
// quoting, the words a snippet marks, and the snippet itself.
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "search_query.h"
#include "search_snippet.h"

namespace docstore {
namespace {

std::string Words(const std::vector<SearchTerm>& terms) {
  std::string out;
  for (const SearchTerm& term : terms) out += term.word + (term.prefix ? "* " : " ");
  return out;
}

std::string Repeat(const std::string& piece, size_t times) {
  std::string out;
  for (size_t i = 0; i < times; ++i) out += piece;
  return out;
}

TEST(CheckSearchQuery, NamesTheLimitThatWasPassed) {
  EXPECT_TRUE(CheckSearchQuery("sqlite AND cache").ok());
  EXPECT_EQ(CheckSearchQuery(" \t\n").message(), "the query must be non-empty text");
  EXPECT_TRUE(CheckSearchQuery(Repeat("w ", kMaxSearchQueryWords)).ok());
  EXPECT_EQ(CheckSearchQuery(Repeat("w ", kMaxSearchQueryWords + 1)).message(),
            "the query has 33 words; at most 32 are allowed");
  EXPECT_EQ(CheckSearchQuery(Repeat("w ", 8000)).message(), "the query is 16000 bytes; at most 4096 are allowed");
  // Every token an index could make counts: unicode61 splits at an em dash.
  EXPECT_TRUE(CheckSearchQuery("caf\xC3\xA9 na\xC3\xAFve \xE6\x9D\xB1\xE4\xBA\xAC \xD0\x9C\xD0\xB8\xD1\x80 " +
                               Repeat("w ", kMaxSearchQueryWords - 4)).ok());
  EXPECT_TRUE(CheckSearchQuery(Repeat("a\xE2\x80\x94", 16)).ok());  // a—a—...: 32
  EXPECT_EQ(CheckSearchQuery(Repeat("a\xE2\x80\x94", 17)).message(), "the query has 34 words; at most 32 are allowed");
  EXPECT_EQ(CheckSearchQuery(Repeat("\xFF", 33)).message(), "the query has 33 words; at most 32 are allowed");
  EXPECT_TRUE(CheckSearchQuery(std::string(kMaxSearchQueryBytes, 'x')).ok());
  EXPECT_FALSE(CheckSearchQuery(std::string(kMaxSearchQueryBytes + 1, 'x')).ok());
}

TEST(ParseSearchMode, KnowsFtsAndPlain) {
  SearchMode mode = SearchMode::kPlain;
  EXPECT_TRUE(ParseSearchMode("fts", &mode).ok());
  EXPECT_EQ(mode, SearchMode::kFts);
  EXPECT_TRUE(ParseSearchMode("plain", &mode).ok());
  EXPECT_EQ(mode, SearchMode::kPlain);
  EXPECT_NE(ParseSearchMode("PLAIN", &mode).message().find("unknown mode 'PLAIN'"), std::string::npos);
}

TEST(IndexQuery, PlainModeQuotesEachWordAndDropsPunctuation) {
  std::string q;
  EXPECT_TRUE(IndexQuery("e-mail don't c++ \" AND NEAR( x\"y", SearchMode::kPlain, &q).ok());
  EXPECT_EQ(q, "\"e-mail\" \"don't\" \"c++\" \"AND\" \"NEAR(\" \"x y\"");
  EXPECT_EQ(IndexQuery("\" ++ (", SearchMode::kPlain, &q).message(),
            "the query has no word to search for (only punctuation)");
  EXPECT_TRUE(IndexQuery("a NEAR b", SearchMode::kFts, &q).ok());
  EXPECT_EQ(q, "a NEAR b");
}

TEST(SearchTerms, LeavesOutOperatorsColumnsAndDistances) {
  EXPECT_EQ(Words(SearchTerms("Apple AND pie* OR NOT title:crust NEAR(a b, 5) \"and OR\"", SearchMode::kFts)),
            "apple pie* crust a b and or ");  // crust: a NOT term, absent from the rows
  EXPECT_EQ(Words(SearchTerms("{title content}: x", SearchMode::kFts)), "x ");
  EXPECT_EQ(Words(SearchTerms("AND e-mail x*", SearchMode::kPlain)), "and e mail x ");
}

TEST(MakeSnippet, MarksMatchesInAWindowAroundThem) {
  const std::vector<SearchTerm> root{{"root", false}};
  EXPECT_EQ(MakeSnippet({"Carrots"}, {"orange root"}, root), "orange [root]");
  // Twelve words, centred on the match, "..." where text is cut off.
  const std::string text = "w0 w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 Root, w12 w13 w14 w15 w16 w17 w18 w19 w20.";
  EXPECT_EQ(MakeSnippet({""}, {text}, root), "...w6 w7 w8 w9 w10 [Root], w12 w13 w14 w15 w16 w17...");
  EXPECT_EQ(MakeSnippet({""}, {"root w1 w2."}, root), "[root] w1 w2.");
  EXPECT_EQ(MakeSnippet({""}, {"root w1 w2.", true}, root), "[root] w1 w2...");
}

TEST(MakeSnippet, PrefersTheWindowAndColumnWithMostMatches) {
  const std::vector<SearchTerm> terms{{"cat", false}, {"dog", true}};
  const std::string content = "cat " + Repeat("x ", 20) + "cat dogs doghouse " + Repeat("y ", 20);
  EXPECT_EQ(MakeSnippet({"A cat"}, {content}, terms),
            "...x x x x [cat] [dogs] [doghouse] y y y y y...");
  EXPECT_EQ(MakeSnippet({"cat dog cat dog"}, {content}, terms), "[cat] [dog] [cat] [dog]");
  EXPECT_EQ(MakeSnippet({"Title"}, {"no match here"}, terms), "no match here");
  EXPECT_EQ(MakeSnippet({"Title"}, {""}, terms), "Title");
}

// Any bytes: plain mode gives whole phrases (an even number of quotes, none
// inside a phrase), and the snippet stays within its window of the text.
TEST(SearchText, AnyBytesGiveWholePhrasesAndBoundedSnippets) {
  std::mt19937_64 rng(6);
  const std::string alphabet = "aB9 \"*:{},()-+^\t\xC3\xA9\xFF";
  for (int i = 0; i < 20000; ++i) {
    std::string query, text;
    for (int k = static_cast<int>(rng() % 24); k > 0; --k) query.push_back(alphabet[rng() % alphabet.size()]);
    for (int k = static_cast<int>(rng() % 200); k > 0; --k) text.push_back(alphabet[rng() % alphabet.size()]);
    std::string index_query;
    if (IndexQuery(query, SearchMode::kPlain, &index_query).ok()) {
      size_t quotes = 0;
      for (size_t at = 0; at < index_query.size(); ++at) {
        if (index_query[at] != '"') continue;
        ++quotes;
        // A phrase's closing quote ends the query or precedes a space.
        if (quotes % 2 == 0) {
          ASSERT_TRUE(at + 1 == index_query.size() || index_query[at + 1] == ' ') << query;
        }
      }
      ASSERT_EQ(quotes % 2, 0u) << query;
    }
    for (const SearchMode mode : {SearchMode::kFts, SearchMode::kPlain}) {
      const std::string snippet = MakeSnippet({text.substr(0, 20)}, {text, i % 2 == 0}, SearchTerms(query, mode));
      ASSERT_LE(snippet.size(), text.size() + 2 * kSnippetWords + 6) << query << " / " << text;
    }
  }
}

}  // namespace
}  // namespace docstore
