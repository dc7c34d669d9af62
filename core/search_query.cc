#include "search_query.h"

#include <algorithm>

#include "utf8.h"

namespace docstore {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string AsciiLower(std::string_view word) {
  std::string lower(word);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

// The first byte at or after `i` (or before it, going back) that is not a
// space; '\0' at either end.
char NextNonSpace(std::string_view text, size_t i) {
  while (i < text.size() && IsSpace(text[i])) ++i;
  return i < text.size() ? text[i] : '\0';
}
char PreviousNonSpace(std::string_view text, size_t i) {
  while (i > 0 && IsSpace(text[i - 1])) --i;
  return i > 0 ? text[i - 1] : '\0';
}

// Letters of alphabets that both tokenizers keep inside a word: Latin,
// Greek, Cyrillic, Hebrew, Arabic, kana, CJK ideographs, Hangul (symbols and
// marks in those blocks left out).
bool IsCommonLetter(char32_t c) {
  return (c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7) || c == 0x386 ||
         (c >= 0x388 && c <= 0x3F5) || (c >= 0x400 && c <= 0x481) || (c >= 0x48A && c <= 0x52F) ||
         (c >= 0x5D0 && c <= 0x5EA) || (c >= 0x620 && c <= 0x64A) ||
         (c >= 0x3041 && c <= 0x3096) || (c >= 0x30A1 && c <= 0x30FA) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xAC00 && c <= 0xD7A3);
}

// At least as many as the tokens either index makes of `query`: each run of
// ASCII letters and digits and common letters counts once, and every other
// character outside ASCII (punctuation, symbols, emoji, other scripts, bytes
// that are not UTF-8) once by itself, since FTS5's unicode61 may split words
// there ('a—b—c' is one word to ForEachWord but three tokens to unicode61:
// 680 of them in one phrase took 4 s).
size_t CountQueryWords(std::string_view query) {
  size_t words = 0;
  bool in_run = false;
  size_t i = 0;
  while (i < query.size()) {
    const auto byte = static_cast<unsigned char>(query[i]);
    size_t length = 1;
    bool letter = (byte >= '0' && byte <= '9') || (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z');
    if (byte >= 0x80) {
      length = std::max<size_t>(1, Utf8SequenceLength(query, i));
      letter = length > 1 && IsCommonLetter(Utf8CodePoint(query, i, length));
      if (!letter) ++words;
    }
    if (letter && !in_run) ++words;
    in_run = letter;
    i += length;
  }
  return words;
}

void AddTerm(std::vector<SearchTerm>* terms, std::string_view word, bool prefix) {
  SearchTerm term{AsciiLower(word), prefix};
  const bool known = std::any_of(terms->begin(), terms->end(), [&](const SearchTerm& t) {
    return t.word == term.word && t.prefix == term.prefix;
  });
  if (!known) terms->push_back(std::move(term));
}

}  // namespace

Status ParseSearchMode(std::string_view name, SearchMode* mode) {
  if (name == "fts") {
    *mode = SearchMode::kFts;
  } else if (name == "plain") {
    *mode = SearchMode::kPlain;
  } else {
    return Status::InvalidArgument("unknown mode '" + std::string(name) +
                                   "'; the modes are 'fts' (the full-text query language, the default)"
                                   " and 'plain' (the words as they are)");
  }
  return Status::Ok();
}

Status CheckSearchQuery(std::string_view query) {
  if (std::all_of(query.begin(), query.end(), IsSpace)) {
    return Status::InvalidArgument("the query must be non-empty text");
  }
  if (query.size() > kMaxSearchQueryBytes) {
    return Status::InvalidArgument("the query is " + std::to_string(query.size()) + " bytes; at most " +
                                   std::to_string(kMaxSearchQueryBytes) + " are allowed");
  }
  const size_t words = CountQueryWords(query);
  if (words > kMaxSearchQueryWords) {
    return Status::InvalidArgument("the query has " + std::to_string(words) + " words; at most " +
                                   std::to_string(kMaxSearchQueryWords) + " are allowed");
  }
  return Status::Ok();
}

Status IndexQuery(std::string_view query, SearchMode mode, std::string* index_query) {
  index_query->clear();
  if (mode == SearchMode::kFts) {
    index_query->assign(query);
    return Status::Ok();
  }
  size_t i = 0;
  while (i < query.size()) {
    while (i < query.size() && IsSpace(query[i])) ++i;
    const size_t begin = i;
    while (i < query.size() && !IsSpace(query[i])) ++i;
    const std::string_view piece = query.substr(begin, i - begin);
    bool has_word = false;
    ForEachWord(piece, [&](size_t, size_t) { has_word = true; });
    if (!has_word) continue;
    if (!index_query->empty()) index_query->push_back(' ');
    index_query->push_back('"');
    for (const char c : piece) index_query->push_back(c == '"' ? ' ' : c);
    index_query->push_back('"');
  }
  if (index_query->empty()) {
    return Status::InvalidArgument("the query has no word to search for (only punctuation)");
  }
  return Status::Ok();
}

std::vector<SearchTerm> SearchTerms(std::string_view query, SearchMode mode) {
  std::vector<SearchTerm> terms;
  // Where the quotes and braces are, to tell phrase words from operators and
  // column names.
  size_t scanned = 0;
  bool in_quotes = false;
  bool in_braces = false;
  ForEachWord(query, [&](size_t begin, size_t end) {
    const std::string_view word = query.substr(begin, end - begin);
    if (mode == SearchMode::kPlain) {
      AddTerm(&terms, word, false);
      return;
    }
    for (; scanned < begin; ++scanned) {
      if (query[scanned] == '"') in_quotes = !in_quotes;
      if (!in_quotes && query[scanned] == '{') in_braces = true;
      if (!in_quotes && query[scanned] == '}') in_braces = false;
    }
    scanned = end;
    const bool prefix = end < query.size() && query[end] == '*';
    if (!in_quotes) {
      const bool is_operator = word == "AND" || word == "OR" || word == "NOT" || word == "NEAR";
      const bool is_column = in_braces || NextNonSpace(query, end) == ':';
      const bool is_near_distance = PreviousNonSpace(query, begin) == ',';
      if (is_operator || is_column || is_near_distance) return;
    }
    AddTerm(&terms, word, prefix);
  });
  return terms;
}

}  // namespace docstore
