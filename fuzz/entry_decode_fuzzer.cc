// A cached entry read back from the segment (core/document_entry's
// EntryCodec::DecodeInPlace): whatever bytes a damaged or forged entry
// holds, decoding refuses them or yields JSON no longer than the entry, in
// place. (That a sealed entry changed in any byte is refused is
// render_document_fuzzer's check: it needs an entry sealed under the key.)
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "document_entry.h"
#include "entry_cipher.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // [id and version: 16 bytes][the entry's bytes]
  if (size < 16) return 0;
  uint64_t id;
  uint64_t version;
  std::memcpy(&id, data, 8);
  std::memcpy(&version, data + 8, 8);
  static const docstore::EntryCodec plain;
  static const docstore::EntryCodec sealed(docstore::EntryCipher::FromHexKey(std::string(64, '7')));
  for (const docstore::EntryCodec* codec : {&plain, &sealed}) {
    // Exactly the entry's size, so that ASan sees any read past it.
    std::vector<char> buffer(data + 16, data + size);
    size_t json_bytes = 0;
    const bool decoded = codec->DecodeInPlace(id, version, buffer.data(), buffer.size(), &json_bytes).ok();
    if (decoded) FUZZ_CHECK(json_bytes <= buffer.size());
  }
  return 0;
}
