// doc_search's snippet: a few words of a document around its best cluster of
// matches, the matches marked [ and ]. No SQLite here.
//
// It is docstore's own rather than the index's snippet(), whose cost grows
// with the square of the matches in a document (FTS5: 25 KB of a repeated
// word 21 ms, 100 KB 261 ms, 5 MB over ten minutes) and which reads the whole
// document. This one looks at most at kSnippetScanChars characters of the
// title and of the content, and takes time linear in them times the query's
// words (at most kMaxSearchQueryWords). Matching is by word, ASCII letters
// compared without case, other bytes as they are; a match beyond the scanned
// prefix leaves the snippet showing the prefix's first words.
#ifndef DOCSTORE_CORE_SEARCH_SNIPPET_H_
#define DOCSTORE_CORE_SEARCH_SNIPPET_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "search_query.h"

namespace docstore {

// How much of each column a snippet looks at, and how many words it shows.
inline constexpr size_t kSnippetScanChars = 32768;
inline constexpr size_t kSnippetWords = 12;

// A column's text as given: at most its first kSnippetScanChars characters;
// `truncated` when it goes on beyond them.
struct SnippetText {
  std::string_view text;
  bool truncated = false;
};

// The kSnippetWords-word window holding the most matches, in the title when it
// holds more of them than the content does, else in the content. "..." stands
// for the text cut off before and after the window.
std::string MakeSnippet(SnippetText title, SnippetText content, const std::vector<SearchTerm>& terms);

}  // namespace docstore

#endif  // DOCSTORE_CORE_SEARCH_SNIPPET_H_
