// Status and Result<T>: how expected failures travel in sogni-flow.
//
// Modelled on leveldb's util/status.h and absl::StatusOr. An OK Status carries nothing and costs
// nothing to copy; an error carries a code and a human message. Exceptions from third-party
// libraries (Poco, yaml-cpp) are caught in the adapter that called them and turned into a Status;
// they never cross a header of ours.
#ifndef SFLOW_ENGINE_STATUS_H_
#define SFLOW_ENGINE_STATUS_H_

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace sflow {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidPlan,       // the plan, its params or the command line are wrong (exit 2)
    kNotFound,          // a file, run or remote object does not exist
    kConflict,          // state does not allow the operation (lock held, 409)
    kUnavailable,       // remote unavailable after retries (exit 4)
    kDeadlineExceeded,  // waited too long (exit 8)
    kCancelled,         // interrupted or cancelled
    kIOError,           // local disk or database trouble (exit 6)
    kPermission,        // auth / account (exit 3)
    kCostGate,          // approval or budget refused the work (exit 5)
    kSecurity,          // TLS, refused URL or path (exit 7)
    kInternal,          // a bug or a malformed reply
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status Error(Code code, std::string message) { return Status(code, std::move(message)); }
  static Status InvalidPlan(std::string m) { return Status(Code::kInvalidPlan, std::move(m)); }
  static Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
  static Status IOError(std::string m) { return Status(Code::kIOError, std::move(m)); }
  static Status Internal(std::string m) { return Status(Code::kInternal, std::move(m)); }
  static Status Security(std::string m) { return Status(Code::kSecurity, std::move(m)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // For an error that comes from a remote answer: its HTTP status (0 when no answer arrived or
  // the error is local), and a short machine-readable reason the client derived from the answer
  // ("" when none), such as "active_workflow_limit". They travel with the error itself, so no
  // caller has to ask a shared object what the last call did.
  int http_status() const { return http_status_; }
  const std::string& reason() const { return reason_; }
  Status WithHttp(int http_status, std::string reason = "") const& {
    Status s = *this;
    s.http_status_ = http_status;
    s.reason_ = std::move(reason);
    return s;
  }
  // "invalid plan: <message>", or "OK".
  std::string ToString() const;
  static const char* CodeName(Code code);

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  Code code_ = Code::kOk;
  std::string message_;
  int http_status_ = 0;
  std::string reason_;
};

// Ends the process with `status` on stderr: value() was asked of a Result that holds an error.
[[noreturn]] void DieOnValueOfError(const Status& status);

// A value or the Status that explains why there is none. Accessing value() of an error is a
// programming error, so callers check ok() first; it is caught in every build (a release build
// would otherwise read an empty optional and go on with garbage, as a test once did unnoticed).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design, like StatusOr
  // An OK status holds no value: it is made an error here, in every build (an assert alone let a
  // release build go on with a Result that said ok and had nothing in it).
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) [[unlikely]] status_ = Status::Internal("a result was made from an OK status, without a value");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  const T& value() const& { Check(); return *value_; }
  T& value() & { Check(); return *value_; }
  T&& value() && { Check(); return std::move(*value_); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }

 private:
  void Check() const {
    if (!value_) [[unlikely]] DieOnValueOfError(status_);
  }
  Status status_;
  std::optional<T> value_;
};

}  // namespace sflow

#endif  // SFLOW_ENGINE_STATUS_H_
