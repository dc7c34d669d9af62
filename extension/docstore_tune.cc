// docstore_tune(): the connection settings docstore is designed around.
//
//   SELECT docstore_tune();
//   {"journal_mode":"wal","synchronous":"normal","cache_size_kib":65536,
//    "busy_timeout_ms":5000,"mmap_size":268435456,"encrypted":false,"cipher":null}
//
// WAL (readers never block the writer, nor the writer them), synchronous =
// NORMAL (durable at checkpoints, safe against corruption), a 64 MiB page
// cache, a 5 s busy timeout, and memory-mapped I/O of up to 256 MiB — except
// on an encrypted database, where mmap would bypass the codec and is set to 0.
// It reads the cipher settings in force where the runtime is SQLCipher
// (cipher_version, kdf_iter, cipher_page_size, cipher_memory_security; null
// where a version has no such setting) and never changes them. It refuses to
// run inside a transaction (the journal mode cannot change there), and on a
// keyed database before PRAGMA key (nothing can be read yet).
#include "docstore_tune.h"

#include <string>

#include "cache_client.h"
#include "json_text.h"
#include "sql_values.h"
#include "sqlite_util.h"

namespace docstore {
namespace {

constexpr int kCacheSizeKib = 65536;
constexpr int kBusyTimeoutMs = 5000;
constexpr long long kMmapBytes = 256ll << 20;

void AppendNumberOrNull(std::string* json, const std::string& value) {
  if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) {
    json->append("null");
  } else {
    json->append(value);
  }
}

void Tune(sqlite3_context* ctx, int, sqlite3_value**) {
  sqlite3* db = sqlite3_context_db_handle(ctx);
  if (!sqlite3_get_autocommit(db)) {
    return ResultError(ctx, "docstore_tune",
                       Status::InvalidArgument("call it outside a transaction (the journal mode cannot change inside one)"));
  }
  int rc = SQLITE_OK;
  QueryText(db, "SELECT count(*) FROM sqlite_master", &rc);
  if (rc != SQLITE_OK) {
    return ResultError(ctx, "docstore_tune",
                       Status::Error(std::string("cannot read the database (") + sqlite3_errmsg(db) +
                                     "): if it is encrypted, run PRAGMA key first; docstore_tune never changes"
                                     " cipher settings"));
  }
  const char* path = sqlite3_db_filename(db, "main");
  const bool encrypted = path != nullptr && *path != '\0' && DatabaseIsEncrypted(db);

  const std::string journal_mode = QueryText(db, "PRAGMA journal_mode = WAL", &rc);
  if (rc != SQLITE_OK) {
    return ResultError(ctx, "docstore_tune",
                       Status::Error(std::string("cannot set journal_mode = WAL: ") + sqlite3_errmsg(db)));
  }
  QueryText(db, "PRAGMA synchronous = NORMAL");
  QueryText(db, "PRAGMA cache_size = -" + std::to_string(kCacheSizeKib));
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  // The codec encrypts pages on their way through the pager; mmap'd reads
  // would skip it.
  QueryText(db, "PRAGMA mmap_size = " + std::to_string(encrypted ? 0 : kMmapBytes));
  const std::string mmap_size = QueryText(db, "PRAGMA mmap_size");

  std::string json = "{\"journal_mode\":";
  AppendJsonString(&json, journal_mode);
  json += ",\"synchronous\":\"normal\",\"cache_size_kib\":" + std::to_string(kCacheSizeKib) +
          ",\"busy_timeout_ms\":" + std::to_string(kBusyTimeoutMs) + ",\"mmap_size\":";
  AppendNumberOrNull(&json, mmap_size);
  json += std::string(",\"encrypted\":") + (encrypted ? "true" : "false") + ",\"cipher\":";
  const std::string cipher_version = QueryText(db, "PRAGMA cipher_version");
  if (cipher_version.empty()) {
    json += "null";  // not a SQLCipher runtime
  } else {
    json += "{\"version\":";
    AppendJsonString(&json, cipher_version);
    json += ",\"kdf_iter\":";
    AppendNumberOrNull(&json, encrypted ? QueryText(db, "PRAGMA kdf_iter") : "");
    json += ",\"page_size\":";
    AppendNumberOrNull(&json, encrypted ? QueryText(db, "PRAGMA cipher_page_size") : "");
    json += ",\"memory_security\":";
    const std::string memory_security = QueryText(db, "PRAGMA cipher_memory_security");
    json += memory_security.empty() ? "null" : (memory_security == "0" ? "false" : "true");
    json += "}";
  }
  json += "}";
  sqlite3_result_text(ctx, json.c_str(), static_cast<int>(json.size()), SQLITE_TRANSIENT);
}

}  // namespace

int RegisterDocstoreTune(sqlite3* db) {
  return sqlite3_create_function_v2(db, "docstore_tune", 0, kDirectOnlyFunction, nullptr, Tune, nullptr, nullptr, nullptr);
}

}  // namespace docstore
