// The one table of exit codes (docs/diagnostics.md section 4). Scripts and cron jobs branch on these.
// The runner layer never speaks in exit codes: it reports a Status or a RunOutcome
// (runner/run_driver.h), and the commands turn them into codes here.
#ifndef SFLOW_CLI_EXIT_CODES_H_
#define SFLOW_CLI_EXIT_CODES_H_

#include "engine/status.h"
#include "runner/run_driver.h"

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

// The exit code for a run a driver left with `outcome` (runner/run_driver.h).
int ExitCodeForOutcome(const RunOutcome& outcome);

// Which exit code wins when runs end differently: the one that needs a person first (the first
// of 7, 6, 3, 5, 4, 1, 8, 2 present).
int WorseExitCode(int a, int b);

}  // namespace sflow

#endif  // SFLOW_CLI_EXIT_CODES_H_
