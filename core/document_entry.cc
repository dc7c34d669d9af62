#include "document_entry.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <utility>

#include "json_text.h"

namespace docstore {

// access_count and last_accessed come from document_access, which flushes
// write without touching the document row. The column order is Column's.
const char kDocumentByIdSql[] =
    "SELECT d.id, d.title, d.content, d.metadata, d.content_type, d.created_at,"
    " d.updated_at, d.version, a.access_count, a.last_accessed,"
    " (SELECT value FROM main.docstore_clock WHERE id = 1)"
    " FROM main.documents AS d LEFT JOIN main.document_access AS a ON a.doc_id = d.id"
    " WHERE d.id = ?1";

namespace {

enum Column {
  kId, kTitle, kContent, kMetadata, kContentType, kCreatedAt, kUpdatedAt, kVersion,
  kAccessCount, kLastAccessed, kSnapshotClock,
};

// The head's fields after the id, in order: the JSON name and its column.
constexpr std::pair<const char*, Column> kHeadFields[] = {
    {",\"title\":", kTitle},
    {",\"content\":", kContent},
    {",\"metadata\":", kMetadata},
    {",\"content_type\":", kContentType},
    {",\"created_at\":", kCreatedAt},
    {",\"updated_at\":", kUpdatedAt},
    {",\"version\":", kVersion},
};

// Column `column` of the current row as a JSON value: NULL as null, integers
// and finite reals as numbers, text and blobs as strings.
void AppendColumnAsJson(std::string* out, sqlite3_stmt* stmt, int column) {
  switch (sqlite3_column_type(stmt, column)) {
    case SQLITE_INTEGER:
      out->append(std::to_string(sqlite3_column_int64(stmt, column)));
      return;
    case SQLITE_FLOAT: {
      const double value = sqlite3_column_double(stmt, column);
      if (!std::isfinite(value)) {
        out->append("null");  // JSON has no Inf or NaN
        return;
      }
      char buffer[32];
      const int n = std::snprintf(buffer, sizeof buffer, "%.17g", value);
      out->append(buffer, static_cast<size_t>(n));
      return;
    }
    case SQLITE_TEXT: {
      // column_text converts a UTF-16 database's text to UTF-8; call it
      // before column_bytes so the length is the UTF-8 one.
      const unsigned char* text = sqlite3_column_text(stmt, column);
      const int size = sqlite3_column_bytes(stmt, column);
      AppendJsonString(out, std::string_view(reinterpret_cast<const char*>(text), static_cast<size_t>(size)));
      return;
    }
    case SQLITE_BLOB: {
      const void* bytes = sqlite3_column_blob(stmt, column);
      const int size = sqlite3_column_bytes(stmt, column);
      AppendJsonString(out, std::string_view(static_cast<const char*>(bytes), static_cast<size_t>(size)));
      return;
    }
    default:
      out->append("null");
  }
}

// metadata as the JSON value json_valid() accepted, or as a string when it is
// not JSON (written without the CHECK, e.g. by an older schema). Bytes that
// are not UTF-8 can only sit inside its strings, where U+FFFD replaces them:
// the value keeps its type whatever its bytes. It sits one level inside the
// document's object, which must stay within kMaxJsonDepth as a whole:
// metadata nested kMaxJsonDepth deep (valid on its own) would make a document
// that SQLite 3.45+ calls malformed, so it is shown as a string.
void AppendMetadata(std::string* out, sqlite3_stmt* stmt) {
  if (sqlite3_column_type(stmt, kMetadata) == SQLITE_TEXT) {
    const unsigned char* text = sqlite3_column_text(stmt, kMetadata);
    const std::string_view json(reinterpret_cast<const char*>(text),
                                static_cast<size_t>(sqlite3_column_bytes(stmt, kMetadata)));
    if (IsValidJson(json, kMaxJsonDepth - 1)) {
      AppendValidUtf8(out, json);
      return;
    }
  }
  AppendColumnAsJson(out, stmt, kMetadata);
}

// Writes ,"access_count":N,"last_accessed":"..."} at `out` (at most
// kAccessFieldsMaxBytes); returns its length.
size_t FormatAccessFields(char* out, const AccessFields& access) {
  char* at = out;
  auto put = [&at](std::string_view text) {
    std::memcpy(at, text.data(), text.size());
    at += text.size();
  };
  put(",\"access_count\":");
  at = std::to_chars(at, at + 20, access.count).ptr;
  put(",\"last_accessed\":");
  if (access.has_last) {
    put("\"");
    put(std::string_view(access.last, kIsoTimeBytes));
    put("\"");
  } else {
    put("null");
  }
  put("}");
  return static_cast<size_t>(at - out);
}

}  // namespace

Status AccessFields::From(int64_t count, const char* last_accessed, AccessFields* out) {
  *out = AccessFields{};
  out->count = count;
  if (last_accessed == nullptr) return Status::Ok();
  if (!IsIsoTime(last_accessed)) {
    return Status::InvalidArgument(std::string("last_accessed '") + last_accessed + "' is not docstore's ISO time");
  }
  out->has_last = true;
  std::memcpy(out->last, last_accessed, kIsoTimeBytes);
  return Status::Ok();
}

DocumentRow RenderDocument(sqlite3_stmt* row, std::string* json) {
  json->clear();
  json->append("{\"id\":");
  AppendColumnAsJson(json, row, kId);
  for (const auto& [name, column] : kHeadFields) {
    json->append(name);
    if (column == kMetadata) {
      AppendMetadata(json, row);
    } else {
      AppendColumnAsJson(json, row, column);
    }
  }
  DocumentRow rendered;
  rendered.head_bytes = json->size();
  rendered.version = sqlite3_column_int64(row, kVersion);
  rendered.snapshot_clock = sqlite3_column_int64(row, kSnapshotClock);
  // The access fields: kept apart in the entry (an integer and docstore's ISO
  // time); a row holding anything else is shown as it is, but not cached.
  const int count_type = sqlite3_column_type(row, kAccessCount);
  const int last_type = sqlite3_column_type(row, kLastAccessed);
  const char* last = last_type == SQLITE_TEXT ? reinterpret_cast<const char*>(sqlite3_column_text(row, kLastAccessed))
                                              : nullptr;
  rendered.cacheable = (count_type == SQLITE_INTEGER || count_type == SQLITE_NULL) &&
                       (last_type == SQLITE_TEXT || last_type == SQLITE_NULL) &&
                       AccessFields::From(sqlite3_column_int64(row, kAccessCount), last, &rendered.access).ok() &&
                       rendered.snapshot_clock >= 0;
  json->append(",\"access_count\":");
  if (count_type == SQLITE_NULL) {
    json->append("0");  // never accessed: no document_access row yet
  } else {
    AppendColumnAsJson(json, row, kAccessCount);
  }
  json->append(",\"last_accessed\":");
  AppendColumnAsJson(json, row, kLastAccessed);
  json->push_back('}');
  return rendered;
}

Status EntryCodec::Encode(uint64_t id, uint64_t version, std::string_view head, const AccessFields& access,
                          int64_t fill_ms, std::string* entry) const {
  entry->clear();
  if (cipher_ != nullptr) {
    if (!cipher_->Seal(id, version, head, entry)) return Status::Error("sealing the cache entry failed");
  } else {
    entry->assign(head);
  }
  entry->append(AccessTrailer(access));
  for (size_t i = 0; i < kFillTimeBytes; ++i) {
    entry->push_back(static_cast<char>(static_cast<uint64_t>(fill_ms) >> (8 * i)));
  }
  return Status::Ok();
}

Status EntryCodec::DecodeInPlace(uint64_t id, uint64_t version, char* buffer, size_t stored,
                                 size_t* json_bytes) const {
  if (stored < min_entry_bytes()) return Status::Error("a cache entry too short to be one");
  const size_t seal = min_entry_bytes() - kAccessTrailerBytes - kFillTimeBytes;
  const size_t trailer = stored - kFillTimeBytes - kAccessTrailerBytes;
  const auto fields = static_cast<unsigned char>(buffer[trailer + kAccessTrailerBytes - 1]);
  if (fields == 0 || fields > kAccessFieldsMaxBytes) {
    std::memset(buffer, 0, stored);
    return Status::Error("a cache entry whose access fields do not add up");
  }
  if (cipher_ != nullptr && !cipher_->Open(id, version, buffer, trailer)) {
    return Status::Error("a sealed cache entry did not authenticate");
  }
  const size_t head = trailer - seal;
  if (seal != 0) std::memmove(buffer + head, buffer + trailer, fields);
  *json_bytes = head + fields;
  return Status::Ok();
}

std::string EntryCodec::AccessTrailer(const AccessFields& access) {
  std::string trailer(kAccessTrailerBytes, '\0');
  trailer.back() = static_cast<char>(FormatAccessFields(trailer.data(), access));
  return trailer;
}

}  // namespace docstore
