// The one table of exit codes (docs/diagnostics.md section 4). Scripts and cron jobs branch on these.
#ifndef SFLOW_CLI_EXIT_CODES_H_
#define SFLOW_CLI_EXIT_CODES_H_

#include "engine/status.h"

namespace sflow {

enum ExitCode : int {
  kExitOk = 0,            // done; or the plan is valid
  kExitRunFailed = 1,     // run failed, partially failed or was cancelled
  kExitInvalid = 2,       // invalid plan, params or usage
  kExitAuth = 3,          // 401/402/403, insufficient credit
  kExitUnavailable = 4,   // remote unavailable after the retry budget (resumable)
  kExitCostGate = 5,      // no or stale approval, estimate over ceiling, server awaits cost approval
  kExitLocalState = 6,    // lock held, database, disk
  kExitSecurity = 7,      // TLS, refused URL or path
  kExitTimeout = 8,       // wait timed out; the run continues remotely
  kExitInterrupted = 130, // interrupted (resumable)
};

// The exit code for a Status that ends a command.
ExitCode ExitCodeFor(const Status& status);

}  // namespace sflow

#endif  // SFLOW_CLI_EXIT_CODES_H_
