#include "cli/exit_codes.h"

namespace sflow {

ExitCode ExitCodeFor(const Status& s) {
  switch (s.code()) {
    case Status::Code::kOk: return kExitOk;
    case Status::Code::kInvalidPlan: return kExitInvalid;
    case Status::Code::kNotFound: return kExitInvalid;
    case Status::Code::kConflict: return kExitLocalState;
    case Status::Code::kUnavailable: return kExitUnavailable;
    case Status::Code::kDeadlineExceeded: return kExitTimeout;
    case Status::Code::kCancelled: return kExitInterrupted;
    case Status::Code::kIOError: return kExitLocalState;
    case Status::Code::kPermission: return kExitAuth;
    case Status::Code::kCostGate: return kExitCostGate;
    case Status::Code::kSecurity: return kExitSecurity;
    case Status::Code::kInternal: return kExitRunFailed;
  }
  return kExitRunFailed;
}

}  // namespace sflow
