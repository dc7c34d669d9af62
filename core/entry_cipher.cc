#include "entry_cipher.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>

namespace docstore {
namespace {

// The id and version, as the additional authenticated data.
std::array<unsigned char, 16> Associated(uint64_t id, uint64_t version) {
  std::array<unsigned char, 16> aad{};
  std::memcpy(aad.data(), &id, 8);
  std::memcpy(aad.data() + 8, &version, 8);
  return aad;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::unique_ptr<EntryCipher> EntryCipher::FromHexKey(std::string_view hex) {
  if (hex.size() != 64) return nullptr;
  std::array<unsigned char, 32> key{};
  bool valid = true;
  for (size_t i = 0; i < 32 && valid; ++i) {
    const int high = HexValue(hex[2 * i]);
    const int low = HexValue(hex[2 * i + 1]);
    valid = high >= 0 && low >= 0;
    key[i] = static_cast<unsigned char>(high * 16 + low);
  }
  std::unique_ptr<EntryCipher> cipher(new EntryCipher());
  cipher->encrypt_ = EVP_CIPHER_CTX_new();
  cipher->decrypt_ = EVP_CIPHER_CTX_new();
  valid = valid && cipher->encrypt_ != nullptr && cipher->decrypt_ != nullptr &&
          EVP_EncryptInit_ex(cipher->encrypt_, EVP_aes_256_gcm(), nullptr, key.data(), nullptr) == 1 &&
          EVP_DecryptInit_ex(cipher->decrypt_, EVP_aes_256_gcm(), nullptr, key.data(), nullptr) == 1;
  OPENSSL_cleanse(key.data(), key.size());
  return valid ? std::move(cipher) : nullptr;
}

EntryCipher::~EntryCipher() {
  EVP_CIPHER_CTX_free(encrypt_);  // clears the key schedule
  EVP_CIPHER_CTX_free(decrypt_);
}

bool EntryCipher::Seal(uint64_t id, uint64_t version, std::string_view plain, std::string* out) const {
  unsigned char nonce[kNonceBytes];
  if (RAND_bytes(nonce, sizeof nonce) != 1) return false;
  const auto aad = Associated(id, version);
  const size_t start = out->size();
  out->resize(start + plain.size() + kOverhead);
  auto* at = reinterpret_cast<unsigned char*>(out->data() + start);
  std::memcpy(at + plain.size(), nonce, kNonceBytes);
  int n = 0;
  std::lock_guard lock(mutex_);
  const bool ok =
      EVP_EncryptInit_ex(encrypt_, nullptr, nullptr, nullptr, nonce) == 1 &&
      EVP_EncryptUpdate(encrypt_, nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1 &&
      EVP_EncryptUpdate(encrypt_, at, &n, reinterpret_cast<const unsigned char*>(plain.data()),
                        static_cast<int>(plain.size())) == 1 &&
      EVP_EncryptFinal_ex(encrypt_, at + n, &n) == 1 &&
      EVP_CIPHER_CTX_ctrl(encrypt_, EVP_CTRL_GCM_GET_TAG, kTagBytes, at + plain.size() + kNonceBytes) == 1;
  if (!ok) out->resize(start);
  return ok;
}

bool EntryCipher::Open(uint64_t id, uint64_t version, char* sealed, size_t bytes) const {
  if (bytes < kOverhead) return false;
  auto* data = reinterpret_cast<unsigned char*>(sealed);
  const size_t length = bytes - kOverhead;
  const auto aad = Associated(id, version);
  int n = 0;
  bool ok;
  {
    std::lock_guard lock(mutex_);
    ok = EVP_DecryptInit_ex(decrypt_, nullptr, nullptr, nullptr, data + length) == 1 &&
         EVP_DecryptUpdate(decrypt_, nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1 &&
         EVP_DecryptUpdate(decrypt_, data, &n, data, static_cast<int>(length)) == 1 &&
         EVP_CIPHER_CTX_ctrl(decrypt_, EVP_CTRL_GCM_SET_TAG, kTagBytes, data + length + kNonceBytes) == 1 &&
         EVP_DecryptFinal_ex(decrypt_, data + n, &n) == 1;
  }
  // What a forged entry decrypts to is never shown, nor left behind.
  if (!ok) OPENSSL_cleanse(data, bytes);
  return ok;
}

}  // namespace docstore
