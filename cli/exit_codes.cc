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

int ExitCodeForOutcome(const RunOutcome& outcome) {
  switch (outcome.status) {
    case RunStatus::kCompleted: return outcome.artifacts_failed ? kExitRunFailed : kExitOk;
    case RunStatus::kFailed:
    case RunStatus::kPartialFailure:
    case RunStatus::kCancelled: return kExitRunFailed;
    case RunStatus::kWaitingForUser: return outcome.awaiting_cost_approval ? kExitCostGate : kExitTimeout;
    default: return kExitUnavailable;
  }
}

int WorseExitCode(int a, int b) {
  static constexpr int kOrder[] = {kExitSecurity, kExitLocalState, kExitAuth, kExitCostGate,
                                   kExitUnavailable, kExitRunFailed, kExitTimeout, kExitInvalid};
  for (int code : kOrder)
    if (a == code || b == code) return code;
  return a != kExitOk ? a : b;
}

}  // namespace sflow
