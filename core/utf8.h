// UTF-8 as docstore reads it (RFC 3629; table 3-7 of Unicode): one home for
// the JSON writer's replacement of bad bytes and doc_search's word counting.
#ifndef DOCSTORE_CORE_UTF8_H_
#define DOCSTORE_CORE_UTF8_H_

#include <cstddef>
#include <string_view>

namespace docstore {

// Length of the well-formed UTF-8 sequence starting at text[i] (1..4), or 0
// when the bytes there are not one (overlong forms, surrogates, code points
// above U+10FFFF, truncated sequences, stray continuation bytes).
size_t Utf8SequenceLength(std::string_view text, size_t i);

// The code point of the well-formed sequence of `length` bytes (from
// Utf8SequenceLength) at text[i].
char32_t Utf8CodePoint(std::string_view text, size_t i, size_t length);

}  // namespace docstore

#endif  // DOCSTORE_CORE_UTF8_H_
