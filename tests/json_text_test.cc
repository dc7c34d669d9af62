// docstore's JSON text helpers, checked against SQLite's own JSON1 as the
// oracle, on hand-picked cases and on many generated ones.
#include "json_text.h"

#include <sqlite3.h>

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace docstore {
namespace {

class Json1Oracle {
 public:
  Json1Oracle() {
    sqlite3_open(":memory:", &db_);
    sqlite3_prepare_v2(db_, "SELECT json_valid(?1)", -1, &valid_, nullptr);
    sqlite3_prepare_v2(db_, "SELECT json_extract('[' || ?1 || ']', '$[0]')", -1, &decode_, nullptr);
  }
  ~Json1Oracle() {
    sqlite3_finalize(valid_);
    sqlite3_finalize(decode_);
    sqlite3_close(db_);
  }
  bool Valid(const std::string& text) {
    sqlite3_bind_text(valid_, 1, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
    sqlite3_step(valid_);
    const bool valid = sqlite3_column_int(valid_, 0) == 1;
    sqlite3_reset(valid_);
    return valid;
  }
  // The string a JSON string literal stands for.
  std::string Decode(const std::string& literal) {
    sqlite3_bind_text(decode_, 1, literal.data(), static_cast<int>(literal.size()), SQLITE_STATIC);
    sqlite3_step(decode_);
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(decode_, 0));
    std::string decoded(text ? text : "<null>", text ? sqlite3_column_bytes(decode_, 0) : 6);
    sqlite3_reset(decode_);
    return decoded;
  }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* valid_ = nullptr;
  sqlite3_stmt* decode_ = nullptr;
};

std::string Quote(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

TEST(AppendJsonString, EscapesWhatJsonRequires) {
  EXPECT_EQ(Quote(""), "\"\"");
  EXPECT_EQ(Quote("plain"), "\"plain\"");
  EXPECT_EQ(Quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Quote("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
  EXPECT_EQ(Quote(std::string("\0\x01\x1f", 3)), "\"\\u0000\\u0001\\u001f\"");
  EXPECT_EQ(Quote("\x7f/"), "\"\x7f/\"");
  EXPECT_EQ(Quote("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
}

TEST(AppendJsonString, ReplacesEachMalformedUtf8ByteWithU_FFFD) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(Quote("\xFF"), "\"" + fffd + "\"");
  EXPECT_EQ(Quote("\xC3"), "\"" + fffd + "\"");                 // truncated
  EXPECT_EQ(Quote("\xC0\xAF"), "\"" + fffd + fffd + "\"");      // overlong
  EXPECT_EQ(Quote("\xED\xA0\x80"), "\"" + fffd + fffd + fffd + "\"");  // surrogate
  EXPECT_EQ(Quote("\xF4\x90\x80\x80"), "\"" + fffd + fffd + fffd + fffd + "\"");  // > U+10FFFF
  EXPECT_EQ(Quote("a\xE2\x82z"), "\"a" + fffd + fffd + "z\"");
}

TEST(AppendValidUtf8, ReplacesEachMalformedByteAndKeepsTheRest) {
  const std::string fffd = "\xEF\xBF\xBD";
  const auto repaired = [](std::string_view text) {
    std::string out = "<";
    AppendValidUtf8(&out, text);
    return out;
  };
  EXPECT_EQ(repaired(""), "<");
  EXPECT_EQ(repaired("{\"a\": \"caf\xC3\xA9\"}\n"), "<{\"a\": \"caf\xC3\xA9\"}\n");
  EXPECT_EQ(repaired("{\"a\xFF\":1}"), "<{\"a" + fffd + "\":1}");
  EXPECT_EQ(repaired("\xC0\xAF\xE2\x82z\xF0\x9F\x98\x80"), "<" + fffd + fffd + fffd + fffd + "z\xF0\x9F\x98\x80");
}

// Metadata that json_valid() accepted stays JSON, and the same value, once
// its stray bytes are replaced: what doc_get returns as the metadata field.
TEST(AppendValidUtf8, KeepsJsonThatJson1AcceptedValid) {
  Json1Oracle oracle;
  std::mt19937_64 rng(16);
  const std::string fragments[] = {"{\"k", "\":", "\"v", "\"", "[", "]", "}", ",", "1",
                                   "\xFF", "\xC3", "\xC3\xA9", "\xED\xA0\x80", "\\\""};
  int accepted = 0;
  for (int i = 0; i < 100000; ++i) {
    std::string text;
    const int parts = 1 + static_cast<int>(rng() % 10);
    for (int p = 0; p < parts; ++p) text += fragments[rng() % std::size(fragments)];
    if (!oracle.Valid(text)) continue;
    ++accepted;
    ASSERT_TRUE(IsValidJson(text)) << text;
    std::string repaired;
    AppendValidUtf8(&repaired, text);
    ASSERT_TRUE(oracle.Valid(repaired)) << text;
    ASSERT_TRUE(IsValidJson(repaired)) << text;
  }
  EXPECT_GT(accepted, 1000);
}

TEST(IsValidJson, AcceptsRfc8259AndNothingElse) {
  for (const char* good : {"0", "-0", "1.5e+10", "\"s\"", "true", "false", "null", "[]", "{}",
                           " [1, {\"a\": [null, \"\\u00e9\\n\"]}] ", "{\"a\":{\"b\":{}}}",
                           "\"caf\xC3\xA9\"",
                           // JSON1 takes any byte inside a string, UTF-8 or not
                           "\"\xFF\"", "{\"a\xFF\":\"\xC3\"}"}) {
    EXPECT_TRUE(IsValidJson(good)) << good;
  }
  for (const char* bad : {"", " ", "01", "1.", ".5", "+1", "1e", "[1,]", "{\"a\"}", "{a:1}",
                          "'s'", "\"\\x\"", "\"\\u12\"", "[1] x", "tru", "nul", "NaN",
                          "\"tab\there\"", "\xFF", "[1,\xC3\xA9]", "[", "{\"a\":1,}", "//"}) {
    EXPECT_FALSE(IsValidJson(bad)) << bad;
  }
  EXPECT_TRUE(IsValidJson(std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']')));
  EXPECT_FALSE(IsValidJson(std::string(kMaxJsonDepth + 1, '[') + std::string(kMaxJsonDepth + 1, ']')));
  EXPECT_FALSE(IsValidJson(std::string(1000000, '[')));  // no stack overflow either
}

// Mutated JSON, bytes that are not UTF-8 included: our validator and JSON1
// must agree.
TEST(IsValidJson, AgreesWithJson1OnGeneratedInput) {
  Json1Oracle oracle;
  std::mt19937_64 rng(20261124);
  const std::string alphabet = "{}[]\":,.-+eE0123456789 \t\ntruefalsn\\u/abcdef\xFF\xC3\xA9";
  const std::string seeds[] = {"{\"a\": [1, 2.5, -3e2, true, false, null, \"x\\ny\"]}",
                               "[[], {}, \"\\u0041\", 0, -0.0]", "\"s\"", "123", "{\"k\":{\"k\":[]}}"};
  int disagreements = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string text = seeds[rng() % std::size(seeds)];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = text.empty() ? 0 : rng() % (text.size() + 1);
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0: text.insert(text.begin() + static_cast<long>(at), c); break;
        case 1: if (at < text.size()) text.erase(at, 1); break;
        default: if (at < text.size()) text[at] = c;
      }
    }
    if (IsValidJson(text) != oracle.Valid(text)) {
      if (++disagreements <= 10) ADD_FAILURE() << "disagree on: " << text;
    }
  }
  EXPECT_EQ(disagreements, 0);
}

// Arbitrary bytes through AppendJsonString always give valid JSON, and valid
// UTF-8 comes back unchanged when JSON1 decodes it.
TEST(AppendJsonString, RoundTripsThroughJson1OnGeneratedInput) {
  Json1Oracle oracle;
  std::mt19937_64 rng(7);
  const std::string fragments[] = {"a", "\"", "\\", "\n", "\t", std::string(1, '\0'), "\x1f",
                                   "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "/", "\x7f"};
  for (int i = 0; i < 50000; ++i) {
    std::string valid_utf8;
    std::string any_bytes;
    const int parts = static_cast<int>(rng() % 12);
    for (int p = 0; p < parts; ++p) {
      valid_utf8 += fragments[rng() % std::size(fragments)];
      any_bytes.push_back(static_cast<char>(rng() & 0xFF));
    }
    const std::string quoted = Quote(valid_utf8);
    ASSERT_TRUE(IsValidJson(quoted)) << quoted;
    ASSERT_TRUE(oracle.Valid(quoted)) << quoted;
    if (valid_utf8.find('\0') == std::string::npos) {
      ASSERT_EQ(oracle.Decode(quoted), valid_utf8);
    }
    const std::string quoted_bytes = Quote(any_bytes);
    ASSERT_TRUE(IsValidJson(quoted_bytes));
    ASSERT_TRUE(oracle.Valid(quoted_bytes));
  }
}

TEST(ParseJsonIdArray, ParsesIntegersInOrder) {
  std::vector<int64_t> ids;
  EXPECT_TRUE(ParseJsonIdArray(" [ 3 ,1,\n4 ] ", &ids).ok());
  EXPECT_EQ(ids, (std::vector<int64_t>{3, 1, 4}));
  EXPECT_TRUE(ParseJsonIdArray("[]", &ids).ok());
  EXPECT_TRUE(ids.empty());
  EXPECT_TRUE(ParseJsonIdArray("[-9223372036854775808, 9223372036854775807, 0, -0]", &ids).ok());
  EXPECT_EQ(ids, (std::vector<int64_t>{INT64_MIN, INT64_MAX, 0, 0}));
}

TEST(ParseJsonIdArray, SaysWhatIsWrongAndWhere) {
  std::vector<int64_t> ids{42};
  const std::pair<const char*, const char*> cases[] = {
      {"", "expected '[' at byte 0"},
      {"{}", "expected '[' at byte 0"},
      {"[1,]", "expected an integer id at byte 3"},
      {"[1 2]", "expected ',' or ']' at byte 3"},
      {"[1", "unterminated array at byte 2"},
      {"[1.5]", "ids must be integers at byte 1"},
      {"[1e3]", "ids must be integers at byte 1"},
      {"[01]", "leading zero in an id at byte 1"},
      {"[\"1\"]", "expected an integer id at byte 1"},
      {"[null]", "expected an integer id at byte 1"},
      {"[9223372036854775808]", "id out of 64-bit range at byte 1"},
      {"[-9223372036854775809]", "id out of 64-bit range at byte 1"},
      {"[99999999999999999999999]", "id out of 64-bit range at byte 1"},
      {"[1] [2]", "unexpected text after the array at byte 4"},
      {"[-]", "expected an integer id at byte 1"},
  };
  for (const auto& [text, message] : cases) {
    const Status status = ParseJsonIdArray(text, &ids);
    EXPECT_EQ(status.code(), Status::Code::kInvalidArgument) << text;
    EXPECT_EQ(status.message(), message) << text;
    EXPECT_TRUE(ids.empty()) << text;
  }
}

// Generated arrays: whatever ParseJsonIdArray accepts is valid JSON that
// json_each reads as the same integers, and mutations never crash it.
TEST(ParseJsonIdArray, AgreesWithJson1OnGeneratedInput) {
  sqlite3* db = nullptr;
  sqlite3_open(":memory:", &db);
  sqlite3_stmt* each = nullptr;
  sqlite3_prepare_v2(db, "SELECT group_concat(value, ',') FROM json_each(?1)", -1, &each, nullptr);
  std::mt19937_64 rng(99);
  const std::string alphabet = "[], -0123456789.e \n";
  std::vector<int64_t> ids;
  int accepted = 0;
  for (int i = 0; i < 100000; ++i) {
    std::string text = "[";
    const int n = static_cast<int>(rng() % 6);
    for (int k = 0; k < n; ++k) {
      if (k) text += ", ";
      text += std::to_string(static_cast<int64_t>(rng()) >> (rng() % 64));
    }
    text += "]";
    if (rng() % 2) text[rng() % text.size()] = alphabet[rng() % alphabet.size()];
    if (!ParseJsonIdArray(text, &ids).ok()) continue;
    ++accepted;
    std::string expected;
    for (size_t k = 0; k < ids.size(); ++k) {
      if (k > 0) expected += ',';
      expected += std::to_string(ids[k]);
    }
    sqlite3_bind_text(each, 1, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
    ASSERT_EQ(sqlite3_step(each), SQLITE_ROW) << text;
    const auto* got = reinterpret_cast<const char*>(sqlite3_column_text(each, 0));
    EXPECT_EQ(got ? got : "", expected) << text;
    sqlite3_reset(each);
  }
  EXPECT_GT(accepted, 10000);
  sqlite3_finalize(each);
  sqlite3_close(db);
}

}  // namespace
}  // namespace docstore
