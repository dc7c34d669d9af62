// One line of bench-suite.json's "records": a flat JSON object naming the
// row, the design and what was measured, built field by field.
#ifndef DOCSTORE_BENCH_SUITE_RECORD_H_
#define DOCSTORE_BENCH_SUITE_RECORD_H_

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace docstore::bench {

class Record {
 public:
  Record(const std::string& row, const std::string& design) {
    Add("row", row);
    Add("design", design);
  }
  Record& Add(const std::string& key, const std::string& value) {
    Key(key);
    text_ += '"' + value + '"';  // names and numbers only: nothing to escape
    return *this;
  }
  Record& Add(const std::string& key, const char* value) { return Add(key, std::string(value)); }
  Record& Add(const std::string& key, double value) {
    Key(key);
    text_ += Number(value);
    return *this;
  }
  Record& Add(const std::string& key, const std::vector<double>& values) {
    Key(key);
    text_ += '[';
    for (size_t i = 0; i < values.size(); ++i) text_ += (i ? "," : "") + Number(values[i]);
    text_ += ']';
    return *this;
  }
  std::string json() const { return text_ + '}'; }

 private:
  void Key(const std::string& key) { text_ += (text_.empty() ? "{\"" : ", \"") + key + "\": "; }
  static std::string Number(double v) {
    if (!std::isfinite(v)) return "null";
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.6g", v);
    return buffer;
  }
  std::string text_;
};

}  // namespace docstore::bench

#endif  // DOCSTORE_BENCH_SUITE_RECORD_H_
