// doc_search's text side without SQLite: the query limits, the plain mode's
// quoting, the words a snippet marks, and the snippet itself.
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

}  // namespace
}  // namespace docstore
