// The document entry (document_entry.h): the JSON of every field, the cache
// entry's round trip plain and sealed, a tampered or relabelled entry, the
// access trailer patched in place.
#include "document_entry.h"

#include <gtest/gtest.h>

#include <string>

#include "json_text.h"
#include "sqlite_util.h"

namespace docstore {
namespace {

constexpr const char* kHexKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
// A fill time as an entry records it.
constexpr int64_t kFillMs = 1764547200123;

// The tables kDocumentByIdSql reads, as the migrations make them (only the
// columns it reads).
class DocumentEntryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    ASSERT_TRUE(Exec(db_,
                     "CREATE TABLE documents(id INTEGER PRIMARY KEY, title, content, metadata, content_type,"
                     " created_at, updated_at, version);"
                     "CREATE TABLE document_access(doc_id INTEGER PRIMARY KEY, access_count, last_accessed);"
                     "CREATE TABLE docstore_clock(id INTEGER PRIMARY KEY, value);"
                     "INSERT INTO docstore_clock VALUES (1, 17);")
                    .ok());
    ASSERT_EQ(sqlite3_prepare_v2(db_, kDocumentByIdSql, -1, &by_id_, nullptr), SQLITE_OK) << sqlite3_errmsg(db_);
  }
  void TearDown() override {
    sqlite3_finalize(by_id_);
    sqlite3_close(db_);
  }

  // Renders document `id`; false when there is none.
  bool Render(int64_t id, std::string* json, DocumentRow* row) {
    sqlite3_reset(by_id_);
    sqlite3_bind_int64(by_id_, 1, id);
    if (sqlite3_step(by_id_) != SQLITE_ROW) return false;
    *row = RenderDocument(by_id_, json);
    return true;
  }

  // Encodes document `id` at row.version, copies the entry into a buffer as a
  // reader would, decodes it as document `read_id` at `read_version`.
  static Status RoundTrip(const EntryCodec& write, const EntryCodec& read, uint64_t id, uint64_t read_id,
                          uint64_t read_version, const std::string& json, const DocumentRow& row, std::string* out,
                          void (*damage)(std::string*) = nullptr) {
    std::string entry;
    if (Status s = write.Encode(id, static_cast<uint64_t>(row.version), std::string_view(json).substr(0, row.head_bytes),
                                row.access, kFillMs, &entry);
        !s.ok()) {
      return s;
    }
    if (damage != nullptr) damage(&entry);
    std::string buffer = entry;
    size_t bytes = 0;
    Status s = read.DecodeInPlace(read_id, read_version, buffer.data(), entry.size(), &bytes);
    *out = s.ok() ? buffer.substr(0, bytes) : buffer;
    return s;
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* by_id_ = nullptr;
};

TEST_F(DocumentEntryTest, EveryFieldInItsPlace) {
  ASSERT_TRUE(Exec(db_,
                   "INSERT INTO documents VALUES (42, 'T \"q\"', 'line\nnext', '{\"lang\":\"en\",\"n\":[1,2]}',"
                   " 'text/plain', '2026-11-24T19:30:00.000Z', '2026-11-25T08:00:00.000Z', 3);"
                   "INSERT INTO document_access VALUES (42, 7, '2026-11-30T12:00:00.123Z');")
                  .ok());
  std::string json;
  DocumentRow row;
  ASSERT_TRUE(Render(42, &json, &row));
  EXPECT_EQ(json,
            "{\"id\":42,\"title\":\"T \\\"q\\\"\",\"content\":\"line\\nnext\",\"metadata\":{\"lang\":\"en\",\"n\":[1,2]},"
            "\"content_type\":\"text/plain\",\"created_at\":\"2026-11-24T19:30:00.000Z\","
            "\"updated_at\":\"2026-11-25T08:00:00.000Z\",\"version\":3,"
            "\"access_count\":7,\"last_accessed\":\"2026-11-30T12:00:00.123Z\"}");
  EXPECT_EQ(json.substr(row.head_bytes, 16), ",\"access_count\":");
  EXPECT_EQ(row.version, 3);
  EXPECT_EQ(row.snapshot_clock, 17);
  EXPECT_TRUE(row.cacheable);
  EXPECT_EQ(row.access.count, 7);
  EXPECT_TRUE(row.access.has_last);
}

TEST_F(DocumentEntryTest, NullsANeverAccessedDocumentAndMetadataThatIsNotJson) {
  ASSERT_TRUE(Exec(db_, "INSERT INTO documents(id, metadata, version) VALUES (1, 'not {json', 1)").ok());
  std::string json;
  DocumentRow row;
  ASSERT_TRUE(Render(1, &json, &row));
  EXPECT_EQ(json,
            "{\"id\":1,\"title\":null,\"content\":null,\"metadata\":\"not {json\",\"content_type\":null,"
            "\"created_at\":null,\"updated_at\":null,\"version\":1,\"access_count\":0,\"last_accessed\":null}");
  EXPECT_TRUE(row.cacheable);
  EXPECT_FALSE(Render(2, &json, &row));
}

TEST_F(DocumentEntryTest, MetadataTooDeepToEmbedIsShownAsAString) {
  // Both are valid JSON on their own; inside the document's object the second
  // would be kMaxJsonDepth + 1 deep, which SQLite 3.45+ refuses to parse.
  const std::string deepest = std::string(kMaxJsonDepth - 1, '[') + std::string(kMaxJsonDepth - 1, ']');
  const std::string too_deep = "[" + deepest + "]";
  ASSERT_TRUE(IsValidJson(too_deep));
  const std::string insert = "INSERT INTO documents(id, metadata, version) VALUES (1, '" + deepest + "', 1), (2, '" +
                             too_deep + "', 1)";
  ASSERT_TRUE(Exec(db_, insert.c_str()).ok());
  std::string json;
  DocumentRow row;
  ASSERT_TRUE(Render(1, &json, &row));
  EXPECT_NE(json.find(",\"metadata\":" + deepest + ","), std::string::npos);
  EXPECT_TRUE(IsValidJson(json));
  ASSERT_TRUE(Render(2, &json, &row));
  EXPECT_NE(json.find(",\"metadata\":\"" + too_deep + "\","), std::string::npos);
  EXPECT_TRUE(IsValidJson(json));
}

TEST_F(DocumentEntryTest, AccessFieldsATrailerCannotHoldAreShownButNotCached) {
  ASSERT_TRUE(Exec(db_,
                   "INSERT INTO documents(id, version) VALUES (1, 1), (2, 1);"
                   "INSERT INTO document_access VALUES (1, 2, 'yesterday'), (2, 'many', NULL);")
                  .ok());
  std::string json;
  DocumentRow row;
  ASSERT_TRUE(Render(1, &json, &row));
  EXPECT_NE(json.find("\"access_count\":2,\"last_accessed\":\"yesterday\"}"), std::string::npos) << json;
  EXPECT_FALSE(row.cacheable);
  ASSERT_TRUE(Render(2, &json, &row));
  EXPECT_NE(json.find("\"access_count\":\"many\""), std::string::npos) << json;
  EXPECT_FALSE(row.cacheable);
}

TEST_F(DocumentEntryTest, APlainEntryRoundTripsAndItsTrailerIsPatchedInPlace) {
  ASSERT_TRUE(Exec(db_, "INSERT INTO documents(id, title, version) VALUES (5, 'five', 2)").ok());
  std::string json, decoded;
  DocumentRow row;
  ASSERT_TRUE(Render(5, &json, &row));
  const EntryCodec plain;
  ASSERT_TRUE(RoundTrip(plain, plain, 5, 5, 2, json, row, &decoded).ok());
  EXPECT_EQ(decoded, json);
  // The entry holds the head as it is (a plain database's cache shows it).
  std::string entry;
  ASSERT_TRUE(plain.Encode(5, 2, std::string_view(json).substr(0, row.head_bytes), row.access, kFillMs, &entry).ok());
  EXPECT_EQ(entry.substr(0, row.head_bytes), json.substr(0, row.head_bytes));
  EXPECT_EQ(entry.size(), row.head_bytes + kAccessTrailerBytes + kFillTimeBytes);
  EXPECT_EQ(EntryCodec::FillTime(entry.data(), entry.size()), kFillMs);
  // A flush's new fields overwrite the trailer, before the fill time.
  AccessFields flushed;
  ASSERT_TRUE(AccessFields::From(9, "2026-12-01T00:00:00.000Z", &flushed).ok());
  entry.replace(entry.size() - kFillTimeBytes - kAccessTrailerBytes, kAccessTrailerBytes,
                EntryCodec::AccessTrailer(flushed));
  EXPECT_EQ(EntryCodec::FillTime(entry.data(), entry.size()), kFillMs);
  std::string buffer = entry;
  size_t bytes = 0;
  ASSERT_TRUE(plain.DecodeInPlace(5, 2, buffer.data(), entry.size(), &bytes).ok());
  EXPECT_EQ(buffer.substr(0, bytes), json.substr(0, row.head_bytes) +
                                         ",\"access_count\":9,\"last_accessed\":\"2026-12-01T00:00:00.000Z\"}");
  EXPECT_FALSE(AccessFields::From(1, "2026-12-01 00:00:00", &flushed).ok());
}

TEST_F(DocumentEntryTest, ASealedEntryRoundTripsAndHidesItsHead) {
  ASSERT_TRUE(Exec(db_,
                   "INSERT INTO documents(id, title, content, version) VALUES (8, 'MARKER-TITLE', 'secret', 4);"
                   "INSERT INTO document_access VALUES (8, 123456789012, '2026-11-30T12:00:00.123Z');")
                  .ok());
  std::string json, decoded;
  DocumentRow row;
  ASSERT_TRUE(Render(8, &json, &row));
  const EntryCodec sealed(EntryCipher::FromHexKey(kHexKey));
  ASSERT_TRUE(sealed.sealed());
  ASSERT_TRUE(RoundTrip(sealed, sealed, 8, 8, 4, json, row, &decoded).ok());
  EXPECT_EQ(decoded, json);
  std::string entry;
  ASSERT_TRUE(sealed.Encode(8, 4, std::string_view(json).substr(0, row.head_bytes), row.access, kFillMs, &entry).ok());
  EXPECT_EQ(entry.size(), row.head_bytes + EntryCipher::kOverhead + kAccessTrailerBytes + kFillTimeBytes);
  EXPECT_EQ(entry.find("MARKER"), std::string::npos);
  EXPECT_EQ(entry.find("secret"), std::string::npos);
}

TEST_F(DocumentEntryTest, ATamperedOrRelabelledSealedEntryIsNeverShown) {
  ASSERT_TRUE(Exec(db_, "INSERT INTO documents(id, title, version) VALUES (3, 'MARKER', 1)").ok());
  std::string json, decoded;
  DocumentRow row;
  ASSERT_TRUE(Render(3, &json, &row));
  const EntryCodec sealed(EntryCipher::FromHexKey(kHexKey));
  // A flipped ciphertext byte, and a flipped tag byte.
  EXPECT_FALSE(RoundTrip(sealed, sealed, 3, 3, 1, json, row, &decoded, [](std::string* e) { (*e)[0] ^= 1; }).ok());
  EXPECT_EQ(decoded.find("MARKER"), std::string::npos);
  EXPECT_FALSE(RoundTrip(sealed, sealed, 3, 3, 1, json, row, &decoded, [](std::string* e) {
                 char& tag = (*e)[e->size() - kFillTimeBytes - kAccessTrailerBytes - 1];
                 tag = static_cast<char>(tag ^ 0x40);
               }).ok());
  // Moved to another id, or shown as another version.
  EXPECT_FALSE(RoundTrip(sealed, sealed, 3, 4, 1, json, row, &decoded).ok());
  EXPECT_FALSE(RoundTrip(sealed, sealed, 3, 3, 2, json, row, &decoded).ok());
  // Sealed under another key.
  const EntryCodec other(EntryCipher::FromHexKey(std::string(64, 'a')));
  EXPECT_FALSE(RoundTrip(other, sealed, 3, 3, 1, json, row, &decoded).ok());
  // Too short to be an entry at all, or a trailer that does not add up.
  constexpr size_t kShortest = kAccessTrailerBytes + kFillTimeBytes;
  char tiny[kShortest] = {};
  size_t bytes = 0;
  EXPECT_FALSE(sealed.DecodeInPlace(3, 1, tiny, kShortest, &bytes).ok());
  EXPECT_FALSE(EntryCodec().DecodeInPlace(3, 1, tiny, kShortest - 1, &bytes).ok());
  EXPECT_FALSE(EntryCodec().DecodeInPlace(3, 1, tiny, kShortest, &bytes).ok());  // length 0
  tiny[kAccessTrailerBytes - 1] = static_cast<char>(kAccessFieldsMaxBytes + 1);
  EXPECT_FALSE(EntryCodec().DecodeInPlace(3, 1, tiny, kShortest, &bytes).ok());
  EXPECT_EQ(EntryCipher::FromHexKey("not hex"), nullptr);
}

}  // namespace
}  // namespace docstore
