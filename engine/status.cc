#include "engine/status.h"

#include <cstdio>
#include <cstdlib>

namespace sflow {

const char* Status::CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kInvalidPlan: return "invalid plan";
    case Code::kNotFound: return "not found";
    case Code::kConflict: return "conflict";
    case Code::kUnavailable: return "unavailable";
    case Code::kDeadlineExceeded: return "deadline exceeded";
    case Code::kCancelled: return "cancelled";
    case Code::kIOError: return "I/O error";
    case Code::kPermission: return "permission denied";
    case Code::kCostGate: return "cost gate";
    case Code::kSecurity: return "security policy";
    case Code::kInternal: return "internal error";
  }
  return "unknown";
}

void DieOnValueOfError(const Status& status) {
  std::fprintf(stderr, "sogni-flow: internal error: the value of a failed result was used (%s)\n", status.ToString().c_str());
  std::abort();
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(CodeName(code_)) + ": " + message_;
}

}  // namespace sflow
