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

struct ContextDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using Context = std::unique_ptr<EVP_CIPHER_CTX, ContextDeleter>;

}  // namespace

std::unique_ptr<EntryCipher> EntryCipher::FromHexKey(std::string_view hex) {
  if (hex.size() != 64) return nullptr;
  std::unique_ptr<EntryCipher> cipher(new EntryCipher());
  for (size_t i = 0; i < 32; ++i) {
    const int high = HexValue(hex[2 * i]);
    const int low = HexValue(hex[2 * i + 1]);
    if (high < 0 || low < 0) return nullptr;
    cipher->key_[i] = static_cast<unsigned char>(high * 16 + low);
  }
  return cipher;
}

EntryCipher::~EntryCipher() { OPENSSL_cleanse(key_.data(), key_.size()); }

bool EntryCipher::Seal(uint64_t id, uint64_t version, std::string_view plain, std::string* out) const {
  unsigned char nonce[kNonceBytes];
  if (RAND_bytes(nonce, sizeof nonce) != 1) return false;
  Context ctx(EVP_CIPHER_CTX_new());
  const auto aad = Associated(id, version);
  const size_t start = out->size();
  out->resize(start + kNonceBytes + plain.size() + kTagBytes);
  auto* at = reinterpret_cast<unsigned char*>(out->data() + start);
  std::memcpy(at, nonce, kNonceBytes);
  int n = 0;
  bool ok = ctx != nullptr && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), at + kNonceBytes, &n, reinterpret_cast<const unsigned char*>(plain.data()),
                              static_cast<int>(plain.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx.get(), at + kNonceBytes + n, &n) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, at + kNonceBytes + plain.size()) == 1;
  if (!ok) out->resize(start);
  return ok;
}

bool EntryCipher::Open(uint64_t id, uint64_t version, std::string_view sealed, char* out) const {
  if (sealed.size() < kOverhead) return false;
  const auto* in = reinterpret_cast<const unsigned char*>(sealed.data());
  const size_t length = sealed.size() - kOverhead;
  unsigned char tag[kTagBytes];
  std::memcpy(tag, in + kNonceBytes + length, kTagBytes);
  Context ctx(EVP_CIPHER_CTX_new());
  const auto aad = Associated(id, version);
  int n = 0;
  return ctx != nullptr && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), in) == 1 &&
         EVP_DecryptUpdate(ctx.get(), nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1 &&
         EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out), &n, in + kNonceBytes,
                           static_cast<int>(length)) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag) == 1 &&
         EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out) + n, &n) == 1;
}

}  // namespace docstore
