// Sealing cache entries of an encrypted database: AES-256-GCM (OpenSSL's
// libcrypto, which SQLCipher links too) under the database's cache key
// (docstore_meta.cache_key, migration 6). The document id and version are
// authenticated with each entry, so an entry moved to another id, or a stale
// one relabelled, fails to open like a tampered one.
#ifndef DOCSTORE_CORE_ENTRY_CIPHER_H_
#define DOCSTORE_CORE_ENTRY_CIPHER_H_

#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace docstore {

class EntryCipher {
 public:
  static constexpr size_t kNonceBytes = 12;
  static constexpr size_t kTagBytes = 16;
  static constexpr size_t kOverhead = kNonceBytes + kTagBytes;

  // From 64 hex digits; nullptr for anything else.
  static std::unique_ptr<EntryCipher> FromHexKey(std::string_view hex);
  ~EntryCipher();
  EntryCipher(const EntryCipher&) = delete;
  EntryCipher& operator=(const EntryCipher&) = delete;

  // Appends [ciphertext][nonce][tag] of `plain` to *out. The ciphertext
  // comes first so that Open can decrypt in place where a reader copied the
  // entry: the plaintext starts where the buffer does.
  bool Seal(uint64_t id, uint64_t version, std::string_view plain, std::string* out) const;
  // Decrypts `bytes` bytes of [ciphertext][nonce][tag] at `sealed` in place:
  // on success its first bytes - kOverhead bytes are the plaintext. False
  // (and the bytes wiped) if it does not authenticate.
  bool Open(uint64_t id, uint64_t version, char* sealed, size_t bytes) const;

 private:
  EntryCipher() = default;

  // Contexts with the key schedule done once; each call only sets its nonce
  // (an OpenSSL 3 init that names the cipher costs more than the AES itself).
  mutable std::mutex mutex_;
  EVP_CIPHER_CTX* encrypt_ = nullptr;
  EVP_CIPHER_CTX* decrypt_ = nullptr;
};

}  // namespace docstore

#endif  // DOCSTORE_CORE_ENTRY_CIPHER_H_
