// doc_get_many's id list (core/json_text's ParseJsonIdArray, SQLite-free):
// any text is parsed or refused with a message that says where, never half
// parsed; what it accepts is a valid JSON array, and its ids printed back
// parse to the same ids.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "json_text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<int64_t> ids{-1};  // whatever was there before is replaced
  const docstore::Status status = docstore::ParseJsonIdArray(text, &ids);
  if (!status.ok()) {
    FUZZ_CHECK(status.code() == docstore::Status::Code::kInvalidArgument);
    FUZZ_CHECK(status.message().find(" at byte ") != std::string::npos);
    FUZZ_CHECK(ids.empty());
    return 0;
  }
  FUZZ_CHECK(docstore::IsValidJson(text));
  std::string printed = "[";
  for (size_t i = 0; i < ids.size(); ++i) printed += (i == 0 ? "" : ",") + std::to_string(ids[i]);
  printed += "]";
  std::vector<int64_t> again;
  FUZZ_CHECK(docstore::ParseJsonIdArray(printed, &again).ok());
  FUZZ_CHECK(again == ids);
  return 0;
}
