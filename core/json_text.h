// JSON text helpers for docstore. No SQLite here: doc_get builds its JSON in
// C++ because SQLCipher 3.4 (SQLite 3.15) has no JSON1.
#ifndef DOCSTORE_CORE_JSON_TEXT_H_
#define DOCSTORE_CORE_JSON_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace docstore {

// Appends `text` as a quoted JSON string. Quotes, backslashes and control
// characters are escaped; valid UTF-8 is copied as is; every byte that is not
// part of a well-formed UTF-8 sequence (overlong forms, surrogates, code
// points above U+10FFFF, truncated sequences) becomes U+FFFD, so the output is
// always valid JSON in valid UTF-8 whatever bytes a row holds.
void AppendJsonString(std::string* out, std::string_view text);

// Appends `text` with each byte that is not part of a well-formed UTF-8
// sequence replaced by U+FFFD, by the same rule as AppendJsonString.
void AppendValidUtf8(std::string* out, std::string_view text);

// True when `text` is one JSON value under RFC 8259, optionally surrounded by
// whitespace, nested at most `max_depth` deep (SQLite's limit, 1000 since
// 3.45, by default): the answers of SQLite's json_valid(), which does not
// check the UTF-8 of the bytes inside strings either (outside strings a byte
// >= 0x80 is a syntax error). Such text passed through AppendValidUtf8 stays
// the same JSON value, in valid UTF-8.
inline constexpr int kMaxJsonDepth = 1000;
bool IsValidJson(std::string_view text, int max_depth = kMaxJsonDepth);

// Parses a JSON array of integers, e.g. "[3, 1, 4]", into `ids`, in order.
// kInvalidArgument says what is wrong and at which byte (and leaves `ids`
// empty).
Status ParseJsonIdArray(std::string_view text, std::vector<int64_t>* ids);

}  // namespace docstore

#endif  // DOCSTORE_CORE_JSON_TEXT_H_
