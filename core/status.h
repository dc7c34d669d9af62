// Status: the one way core/ and extension/ report how an operation went
// (LevelDB's Status is the model). Returned by value; ok() or a code with a
// message a user can act on. Converted into a SQL error only at the SQL
// boundary (extension/sql_values.h, ResultError).
#ifndef DOCSTORE_CORE_STATUS_H_
#define DOCSTORE_CORE_STATUS_H_

#include <string>
#include <utility>

namespace docstore {

class Status {
 public:
  enum class Code {
    kOk,
    kNotFound,         // no such document (not an error at the SQL surface: NULL)
    kBusy,             // another process holds what is needed; try again later
    kInvalidArgument,  // the caller's input cannot be used
    kUnavailable,      // no shared cache, and none is needed for writes to be safe
    kError,            // anything else; the message says what
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status NotFound(std::string message = {}) { return Status(Code::kNotFound, std::move(message)); }
  static Status Busy(std::string message) { return Status(Code::kBusy, std::move(message)); }
  static Status InvalidArgument(std::string message) { return Status(Code::kInvalidArgument, std::move(message)); }
  static Status Unavailable(std::string message) { return Status(Code::kUnavailable, std::move(message)); }
  static Status Error(std::string message) { return Status(Code::kError, std::move(message)); }

  bool ok() const { return code_ == Code::kOk; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsBusy() const { return code_ == Code::kBusy; }
  bool IsUnavailable() const { return code_ == Code::kUnavailable; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // The same status, its message preceded by `context` and ": ".
  Status WithContext(const std::string& context) const {
    return Status(code_, message_.empty() ? context : context + ": " + message_);
  }

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace docstore

#endif  // DOCSTORE_CORE_STATUS_H_
