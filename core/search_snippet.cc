#include "search_snippet.h"

#include <algorithm>
#include <utility>

namespace docstore {
namespace {

struct Word {
  size_t begin;
  size_t end;
  bool match;
};

bool Matches(std::string_view word, const std::vector<SearchTerm>& terms, std::string* lower) {
  lower->assign(word);
  for (char& c : *lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return std::any_of(terms.begin(), terms.end(), [&](const SearchTerm& term) {
    return term.prefix ? lower->compare(0, term.word.size(), term.word) == 0 : *lower == term.word;
  });
}

// One column's words, and its best window [start, end) with the number of
// matches inside.
struct Column {
  SnippetText source;
  std::vector<Word> words;
  size_t start = 0;
  size_t end = 0;
  size_t matches = 0;
};

Column Scan(SnippetText source, const std::vector<SearchTerm>& terms) {
  Column column{source, {}, 0, 0, 0};
  std::string lower;
  std::vector<size_t> hits;
  ForEachWord(source.text, [&](size_t begin, size_t end) {
    const bool match = Matches(source.text.substr(begin, end - begin), terms, &lower);
    if (match) hits.push_back(column.words.size());
    column.words.push_back({begin, end, match});
  });
  const size_t n = column.words.size();
  column.end = std::min(n, kSnippetWords);
  if (hits.empty()) return column;
  // The window with the most matches (the earliest of equals), then centred
  // on the matches it holds.
  size_t best_first = 0, best_last = 0;
  for (size_t i = 0, j = 0; i < hits.size(); ++i) {
    j = std::max(j, i);
    while (j + 1 < hits.size() && hits[j + 1] < hits[i] + kSnippetWords) ++j;
    if (j - i + 1 > column.matches) {
      column.matches = j - i + 1;
      best_first = hits[i];
      best_last = hits[j];
    }
  }
  const size_t slack = kSnippetWords - (best_last - best_first + 1);
  size_t start = best_first - std::min(best_first, slack / 2);
  if (n >= kSnippetWords) start = std::min(start, n - kSnippetWords);
  column.start = start;
  column.end = std::min(n, start + kSnippetWords);
  return column;
}

std::string Render(const Column& column) {
  std::string out;
  if (column.words.empty()) return out;
  const std::string_view text = column.source.text;
  size_t at = 0;
  if (column.start > 0) {
    out.append("...");
    at = column.words[column.start].begin;
  }
  for (size_t k = column.start; k < column.end; ++k) {
    const Word& word = column.words[k];
    out.append(text.substr(at, word.begin - at));
    if (word.match) out.push_back('[');
    out.append(text.substr(word.begin, word.end - word.begin));
    if (word.match) out.push_back(']');
    at = word.end;
  }
  if (column.end == column.words.size() && !column.source.truncated) {
    out.append(text.substr(at));
  } else {
    out.append("...");
  }
  return out;
}

}  // namespace

std::string MakeSnippet(SnippetText title, SnippetText content, const std::vector<SearchTerm>& terms) {
  const Column in_title = Scan(title, terms);
  const Column in_content = Scan(content, terms);
  const bool use_title = in_title.matches > in_content.matches || in_content.words.empty();
  return Render(use_title ? in_title : in_content);
}

}  // namespace docstore
