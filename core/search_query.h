// What doc_search does with a query before the full-text engine sees it: the
// limits on its size, the plain-text mode's quoting, and the words a snippet
// marks. No SQLite here.
//
// A word is a run of ASCII letters and digits and of bytes >= 0x80, as both
// indexes split text at ASCII punctuation and spaces (FTS5's unicode61, FTS4's
// simple tokenizer; they differ on non-ASCII text: unicode61 folds case and
// diacritics and splits at non-ASCII punctuation, simple does neither).
#ifndef DOCSTORE_CORE_SEARCH_QUERY_H_
#define DOCSTORE_CORE_SEARCH_QUERY_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace docstore {

// Bounds on one query, refused before it runs rather than allowed to run for
// minutes: the engines' work grows with the square of the number of phrases
// (FTS5 merges every phrase's positions for each row it ranks). Over the
// 116 MB demo database, the costliest word repeated ('the the ...', every
// document matching) ranks in 0.05 s once, 0.64 s 16 times, 2.5 s 32 times,
// 7.6 s 64 times, 3.8 s for the index's bare MATCH 2,000 times; 32 distinct
// common words ORed take 0.6 s. The costliest queries within the limits are
// 32 one-letter prefixes (a* b* ...: 9.9 s, the bare MATCH 3.3 s) and a NEAR
// of 31 repeats (8.8 s, bare 3.6 s): linear in the data, the index's own work
// ranked, and left so (see doc_search.cc). Words are counted so that no index makes
// more tokens of the query: runs of ASCII letters and digits and of the
// letters of common alphabets count once, any other character outside ASCII
// (punctuation such as an em dash, symbols, other scripts) once by itself;
// operators count too.
inline constexpr size_t kMaxSearchQueryBytes = 4096;
inline constexpr size_t kMaxSearchQueryWords = 32;

enum class SearchMode {
  kFts,    // the index's own query language (FTS5's or FTS4's)
  kPlain,  // the user's words as they are: every word must occur
};

// 'fts' or 'plain'; anything else is kInvalidArgument naming the modes.
Status ParseSearchMode(std::string_view name, SearchMode* mode);

// kInvalidArgument when the query is empty or blank, or over either limit
// (the message names the limit and the query's size).
Status CheckSearchQuery(std::string_view query);

// The query to hand the index: the query itself in kFts mode; in kPlain mode
// each whitespace-separated piece holding a word becomes one quoted phrase
// ("e-mail" "don t" "c"), pieces without a word are dropped, and the phrases
// are ANDed. Quotes inside a piece become spaces: FTS4 has no escape for them,
// and both tokenizers split there anyway. kInvalidArgument when no word is left.
Status IndexQuery(std::string_view query, SearchMode mode, std::string* index_query);

// A word a snippet marks: ASCII-lowercased, and a prefix when the query said
// word* (FTS mode).
struct SearchTerm {
  std::string word;
  bool prefix = false;
};

// The words of the query that a match can consist of. In kFts mode the
// operators AND, OR, NOT and NEAR and column names ("title:") are left out.
std::vector<SearchTerm> SearchTerms(std::string_view query, SearchMode mode);

// Calls on_word(begin, end) for each word of `text`, in order, as byte
// offsets.
template <typename OnWord>
void ForEachWord(std::string_view text, OnWord on_word) {
  const auto is_word_byte = [](unsigned char c) {
    return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  };
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !is_word_byte(static_cast<unsigned char>(text[i]))) ++i;
    const size_t begin = i;
    while (i < text.size() && is_word_byte(static_cast<unsigned char>(text[i]))) ++i;
    if (i > begin) on_word(begin, i);
  }
}

}  // namespace docstore

#endif  // DOCSTORE_CORE_SEARCH_QUERY_H_
