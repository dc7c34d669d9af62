#include "json_text.h"

#include <cstddef>

#include "utf8.h"

namespace docstore {
namespace {

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

// Appends the UTF-8 sequence at text[i], or U+FFFD for its first byte when
// the bytes there are not a well-formed one; returns the bytes consumed.
size_t AppendUtf8SequenceAt(std::string* out, std::string_view text, size_t i) {
  const size_t n = Utf8SequenceLength(text, i);
  if (n == 0) {
    out->append(kReplacementCharacter);
    return 1;
  }
  out->append(text.data() + i, n);
  return n;
}

// A recursive-descent checker over a string_view; `pos_` only moves forward.
class JsonValidator {
 public:
  JsonValidator(std::string_view text, int max_depth) : text_(text), max_depth_(max_depth) {}

  bool ValidDocument() {
    SkipWhitespace();
    if (!Value(0)) return false;
    SkipWhitespace();
    return pos_ == text_.size();
  }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }

  void SkipWhitespace() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\n' || Peek() == '\r')) {
      ++pos_;
    }
  }

  bool Literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool Value(int depth) {
    if (AtEnd()) return false;
    switch (Peek()) {
      case '{': return Object(depth + 1);
      case '[': return Array(depth + 1);
      case '"': return String();
      case 't': return Literal("true");
      case 'f': return Literal("false");
      case 'n': return Literal("null");
      default: return Number();
    }
  }

  bool Object(int depth) {
    if (depth > max_depth_) return false;
    ++pos_;  // '{'
    SkipWhitespace();
    if (!AtEnd() && Peek() == '}') {
      ++pos_;
      return true;
    }
    for (;;) {
      SkipWhitespace();
      if (AtEnd() || Peek() != '"' || !String()) return false;
      SkipWhitespace();
      if (AtEnd() || Peek() != ':') return false;
      ++pos_;
      SkipWhitespace();
      if (!Value(depth)) return false;
      SkipWhitespace();
      if (AtEnd()) return false;
      if (Peek() == '}') {
        ++pos_;
        return true;
      }
      if (Peek() != ',') return false;
      ++pos_;
    }
  }

  bool Array(int depth) {
    if (depth > max_depth_) return false;
    ++pos_;  // '['
    SkipWhitespace();
    if (!AtEnd() && Peek() == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      SkipWhitespace();
      if (!Value(depth)) return false;
      SkipWhitespace();
      if (AtEnd()) return false;
      if (Peek() == ']') {
        ++pos_;
        return true;
      }
      if (Peek() != ',') return false;
      ++pos_;
    }
  }

  static bool IsHex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }

  bool String() {
    ++pos_;  // opening quote
    while (!AtEnd()) {
      const unsigned char c = static_cast<unsigned char>(Peek());
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        ++pos_;
        if (AtEnd()) return false;
        const char e = Peek();
        if (e == 'u') {
          for (int k = 1; k <= 4; ++k) {
            if (pos_ + k >= text_.size() || !IsHex(text_[pos_ + k])) return false;
          }
          pos_ += 5;
          continue;
        }
        if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' &&
            e != 'r' && e != 't') {
          return false;
        }
        ++pos_;
        continue;
      }
      ++pos_;  // any other byte, as JSON1 takes it: UTF-8 is not checked here
    }
    return false;
  }

  bool Digits() {
    const size_t start = pos_;
    while (!AtEnd() && Peek() >= '0' && Peek() <= '9') ++pos_;
    return pos_ > start;
  }

  bool Number() {
    if (!AtEnd() && Peek() == '-') ++pos_;
    if (AtEnd()) return false;
    if (Peek() == '0') {
      ++pos_;
    } else if (!Digits()) {
      return false;
    }
    if (!AtEnd() && Peek() == '.') {
      ++pos_;
      if (!Digits()) return false;
    }
    if (!AtEnd() && (Peek() == 'e' || Peek() == 'E')) {
      ++pos_;
      if (!AtEnd() && (Peek() == '+' || Peek() == '-')) ++pos_;
      if (!Digits()) return false;
    }
    return true;
  }

  std::string_view text_;
  const int max_depth_;
  size_t pos_ = 0;
};

}  // namespace

void AppendJsonString(std::string* out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->reserve(out->size() + text.size() + 2);
  out->push_back('"');
  size_t i = 0;
  while (i < text.size()) {
    // Copy the longest run that needs no escaping in one append.
    size_t run = i;
    while (run < text.size()) {
      const unsigned char c = static_cast<unsigned char>(text[run]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
      ++run;
    }
    out->append(text.data() + i, run - i);
    i = run;
    if (i == text.size()) break;
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      i += AppendUtf8SequenceAt(out, text, i);
      continue;
    }
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xF]);
    }
    ++i;
  }
  out->push_back('"');
}

void AppendValidUtf8(std::string* out, std::string_view text) {
  out->reserve(out->size() + text.size());
  size_t i = 0;
  while (i < text.size()) {
    size_t run = i;
    while (run < text.size() && static_cast<unsigned char>(text[run]) < 0x80) ++run;
    out->append(text.data() + i, run - i);
    i = run;
    if (i < text.size()) i += AppendUtf8SequenceAt(out, text, i);
  }
}

bool IsValidJson(std::string_view text, int max_depth) { return JsonValidator(text, max_depth).ValidDocument(); }

Status ParseJsonIdArray(std::string_view text, std::vector<int64_t>* ids) {
  ids->clear();
  size_t pos = 0;
  const auto skip_whitespace = [&] {
    while (pos < text.size() &&
           (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r')) {
      ++pos;
    }
  };
  const auto is_digit = [&](size_t at) { return at < text.size() && text[at] >= '0' && text[at] <= '9'; };
  const auto fail = [&](std::string_view what, size_t at) {
    ids->clear();
    return Status::InvalidArgument(std::string(what) + " at byte " + std::to_string(at));
  };
  skip_whitespace();
  if (pos >= text.size() || text[pos] != '[') return fail("expected '['", pos);
  ++pos;
  skip_whitespace();
  if (pos < text.size() && text[pos] == ']') {
    ++pos;
  } else {
    for (;;) {
      skip_whitespace();
      const size_t start = pos;
      const bool negative = pos < text.size() && text[pos] == '-';
      if (negative) ++pos;
      if (!is_digit(pos)) return fail("expected an integer id", start);
      if (text[pos] == '0' && is_digit(pos + 1)) return fail("leading zero in an id", start);
      // Accumulated negatively so that INT64_MIN fits.
      int64_t value = 0;
      for (; is_digit(pos); ++pos) {
        const int digit = text[pos] - '0';
        if (value < (INT64_MIN + digit) / 10) return fail("id out of 64-bit range", start);
        value = value * 10 - digit;
      }
      if (pos < text.size() && (text[pos] == '.' || text[pos] == 'e' || text[pos] == 'E')) {
        return fail("ids must be integers", start);
      }
      if (!negative) {
        if (value == INT64_MIN) return fail("id out of 64-bit range", start);
        value = -value;
      }
      ids->push_back(value);
      skip_whitespace();
      if (pos >= text.size()) return fail("unterminated array", pos);
      if (text[pos] == ']') {
        ++pos;
        break;
      }
      if (text[pos] != ',') return fail("expected ',' or ']'", pos);
      ++pos;
    }
  }
  skip_whitespace();
  if (pos != text.size()) return fail("unexpected text after the array", pos);
  return Status::Ok();
}

}  // namespace docstore
