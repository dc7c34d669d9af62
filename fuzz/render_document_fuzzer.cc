// doc_get's rendering (core/document_entry): a document row of any values
// and types - metadata above all, which is embedded as the JSON it holds -
// becomes JSON that always parses, with metadata as it is (bytes that are
// not UTF-8 inside its strings replaced by U+FFFD) when it is valid
// JSON that fits inside the document; a cacheable row's entry, plain or
// sealed, decodes to that same JSON, and a sealed entry with any byte
// changed is refused.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "clock.h"
#include "document_entry.h"
#include "entry_cipher.h"
#include "fuzz_check.h"
#include "json_text.h"
#include "sqlite_api.h"

namespace {

constexpr int kColumns = 11;  // kDocumentByIdSql's
constexpr int kMetadataColumn = 4;

// A statement whose one row is whatever is bound to it, in
// kDocumentByIdSql's column order.
sqlite3_stmt* RowStatement() {
  static sqlite3_stmt* stmt = [] {
    sqlite3* db = nullptr;
    sqlite3_stmt* prepared = nullptr;
    FUZZ_CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
    FUZZ_CHECK(sqlite3_prepare_v2(db, "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11", -1, &prepared,
                                  nullptr) == SQLITE_OK);
    return prepared;
  }();
  return stmt;
}

const docstore::EntryCodec& SealedCodec() {
  static const docstore::EntryCodec codec(docstore::EntryCipher::FromHexKey(std::string(64, '7')));
  return codec;
}

// Binds column `column` (1-based) as the provider says: NULL, an integer, a
// real (Inf and NaN included), text, a blob, or docstore's ISO time.
void BindColumn(sqlite3_stmt* stmt, int column, FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 5)) {
    case 0: sqlite3_bind_null(stmt, column); return;
    case 1: sqlite3_bind_int64(stmt, column, in.ConsumeIntegral<int64_t>()); return;
    case 2: sqlite3_bind_double(stmt, column, in.ConsumeFloatingPoint<double>()); return;
    case 3: {
      const std::string text = in.ConsumeRandomLengthString(64);
      sqlite3_bind_text(stmt, column, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
      return;
    }
    case 4: {
      const std::string bytes = in.ConsumeRandomLengthString(64);
      sqlite3_bind_blob(stmt, column, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
      return;
    }
    default: {
      const std::string iso = docstore::IsoTime(in.ConsumeIntegralInRange<int64_t>(0, 253402300799999));
      sqlite3_bind_text(stmt, column, iso.data(), static_cast<int>(iso.size()), SQLITE_TRANSIENT);
    }
  }
}

// The entry of a rendered row, decoded again as a hit would.
std::string RoundTrip(const docstore::EntryCodec& codec, const std::string& json, const docstore::DocumentRow& row,
                      size_t flip) {
  const uint64_t id = 1;
  const auto version = static_cast<uint64_t>(row.version);
  std::string entry;
  FUZZ_CHECK(codec.Encode(id, version, std::string_view(json).substr(0, row.head_bytes), row.access, 0, &entry).ok());
  if (flip != 0) entry[flip % (entry.size() - docstore::kAccessTrailerBytes - docstore::kFillTimeBytes)] ^= 1;
  size_t json_bytes = 0;
  if (!codec.DecodeInPlace(id, version, entry.data(), entry.size(), &json_bytes).ok()) return "(refused)";
  FUZZ_CHECK(json_bytes <= entry.size());
  entry.resize(json_bytes);
  return entry;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  sqlite3_stmt* stmt = RowStatement();
  for (int column = 1; column <= kColumns; ++column) {
    if (column != kMetadataColumn) BindColumn(stmt, column, in);
  }
  const size_t flip = in.ConsumeIntegral<uint16_t>();
  // metadata takes the rest, as text: the case that matters.
  const std::string metadata = in.ConsumeRemainingBytesAsString();
  sqlite3_bind_text(stmt, kMetadataColumn, metadata.data(), static_cast<int>(metadata.size()), SQLITE_TRANSIENT);
  FUZZ_CHECK(sqlite3_step(stmt) == SQLITE_ROW);

  std::string json;
  const docstore::DocumentRow row = docstore::RenderDocument(stmt, &json);
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);

  FUZZ_CHECK(docstore::IsValidJson(json));
  FUZZ_CHECK(json.rfind("{\"id\":", 0) == 0);
  FUZZ_CHECK(json.compare(row.head_bytes, 16, ",\"access_count\":") == 0);
  // Embedded when it fits one level inside the document's object, bytes
  // that are not UTF-8 (inside its strings) replaced.
  if (docstore::IsValidJson(metadata, docstore::kMaxJsonDepth - 1)) {
    std::string embedded;
    docstore::AppendValidUtf8(&embedded, metadata);
    FUZZ_CHECK(json.find(",\"metadata\":" + embedded + ",") != std::string::npos);
  }
  if (!row.cacheable) return 0;
  FUZZ_CHECK(RoundTrip(docstore::EntryCodec(), json, row, 0) == json);
  FUZZ_CHECK(RoundTrip(SealedCodec(), json, row, 0) == json);
  FUZZ_CHECK(RoundTrip(SealedCodec(), json, row, flip + 1) == "(refused)");
  return 0;
}
