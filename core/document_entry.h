// THE DOCUMENT ENTRY: what doc_get returns for a document, and what the
// shared cache holds for it. This file and its test are the one place to
// change either: the columns a document is read from, its JSON, the bytes
// of its cache entry, their sealing.
//
// The JSON (doc_get, doc_get_many), one object with every field:
//
//   {"id":42,"title":"...","content":"...","metadata":{"lang":"en"},
//    "content_type":"text/plain","created_at":"2026-11-24T19:30:00.000Z",
//    "updated_at":"...","version":3,"access_count":7,"last_accessed":"..."}
//
// built from one row of kDocumentByIdSql, which reads the document, its
// access row and the database's docstore_clock in one snapshot (the clock is
// what the fill rule of document_cache.h needs). metadata is embedded as the
// JSON value it holds; a row whose metadata is not valid JSON (only possible
// if it was written with CHECK constraints off) shows it as a JSON string, so
// the result always parses. access_count is 0 and last_accessed null for a
// document never flushed.
//
// The cache entry: [head][access trailer][fill time]
//   head     the JSON up to, not including, ,"access_count"
//   trailer  kAccessTrailerBytes: the rest of the JSON, the access fields as
//            flushed so far (,"access_count":7,"last_accessed":"..."}),
//            padded to kAccessFieldsMaxBytes, then one byte: its length.
//            Flushes rewrite it in place (shmcache's PatchTail, before the
//            fill time): counting accesses never evicts a document nor makes
//            it be read again, and a hit finds the JSON ready where it copied
//            it.
//   fill     kFillTimeBytes: when the entry was made (NowMilliseconds, little
//   time     endian), for a segment's TTL (document_cache.h). After the
//            JSON, so a hit moves nothing whether or not the TTL is on.
// For an encrypted database the head is sealed with AES-256-GCM
// (entry_cipher.h), id and version authenticated: [ciphertext][nonce][tag]
// [trailer]. The trailer stays outside the seal so that the sidecar, which
// holds no cache key, can patch it.
//
// kEntryFormat names this layout; shmcache records it at segment creation
// and refuses a segment of another, so builds that lay entries out otherwise
// never share one. Change it whenever the bytes above change.
#ifndef DOCSTORE_CORE_DOCUMENT_ENTRY_H_
#define DOCSTORE_CORE_DOCUMENT_ENTRY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "clock.h"
#include "entry_cipher.h"
#include "sqlite_api.h"
#include "status.h"

namespace docstore {

// 0 sealed heads as [nonce][ciphertext][tag]; 1 kept the access fields as
// binary, rendered by every hit; 2 had no fill time.
inline constexpr uint32_t kEntryFormat = 3;

// One document by id (?1), with its access fields and the snapshot's clock.
extern const char kDocumentByIdSql[];

// The longest ,"access_count":N,"last_accessed":"..."}: 16 + 20 + 17 + 26 + 1.
inline constexpr size_t kAccessFieldsMaxBytes = 80;
inline constexpr size_t kAccessTrailerBytes = kAccessFieldsMaxBytes + 1;
inline constexpr size_t kFillTimeBytes = 8;

// A document's access fields: its flushed count and last access.
struct AccessFields {
  int64_t count = 0;
  bool has_last = false;
  char last[kIsoTimeBytes] = {};  // docstore's ISO time when has_last

  // From a count and last_accessed (nullptr for NULL): kInvalidArgument when
  // last_accessed is not the ISO time docstore writes (such a row is not
  // cached: its trailer could not show it).
  static Status From(int64_t count, const char* last_accessed, AccessFields* out);
};

// A rendered row of kDocumentByIdSql.
struct DocumentRow {
  size_t head_bytes = 0;       // the JSON's first head_bytes bytes are the entry's head
  int64_t version = 0;
  int64_t snapshot_clock = 0;  // docstore_clock in the snapshot the row was read in
  AccessFields access;
  bool cacheable = false;      // its access fields fit a trailer (see AccessFields::From)
};

// Writes the current row of a stepped kDocumentByIdSql statement into *json
// as the doc_get JSON.
DocumentRow RenderDocument(sqlite3_stmt* row, std::string* json);

// Makes entries from rendered documents and turns entries back into JSON,
// plain or sealed.
class EntryCodec {
 public:
  // Plain entries when `cipher` is nullptr, else sealed under it.
  explicit EntryCodec(std::unique_ptr<EntryCipher> cipher = nullptr) : cipher_(std::move(cipher)) {}

  bool sealed() const { return cipher_ != nullptr; }
  // No entry is shorter: a head of 0 bytes (its seal) and a trailer.
  size_t min_entry_bytes() const {
    return kAccessTrailerBytes + kFillTimeBytes + (sealed() ? EntryCipher::kOverhead : 0);
  }

  // The entry of a document: `head` (the JSON's first row.head_bytes bytes),
  // row's access fields and the time it is made. kError only if sealing
  // failed.
  Status Encode(uint64_t id, uint64_t version, std::string_view head, const AccessFields& access, int64_t fill_ms,
                std::string* entry) const;
  // The `stored` bytes of an entry of document `id` at `version`, at
  // `buffer`, become its JSON in place (never longer than the entry);
  // *json_bytes is its length. kError for an entry too short to be one or
  // whose trailer does not add up, or a sealed entry that does not
  // authenticate (tampered with, or sealed under another key): its bytes are
  // wiped, never shown.
  Status DecodeInPlace(uint64_t id, uint64_t version, char* buffer, size_t stored, size_t* json_bytes) const;

  // The trailer of `access`: what a flush writes over an entry's bytes, the
  // last kFillTimeBytes left as they are (PatchTail's before_end).
  static std::string AccessTrailer(const AccessFields& access);
  // When the entry of `stored` bytes (at least min_entry_bytes()) at
  // `buffer` was made.
  static int64_t FillTime(const char* buffer, size_t stored) {
    uint64_t fill = 0;
    for (size_t i = 0; i < kFillTimeBytes; ++i) {
      fill |= uint64_t{static_cast<unsigned char>(buffer[stored - kFillTimeBytes + i])} << (8 * i);
    }
    return static_cast<int64_t>(fill);
  }

 private:
  std::unique_ptr<EntryCipher> cipher_;
};

}  // namespace docstore

#endif  // DOCSTORE_CORE_DOCUMENT_ENTRY_H_
