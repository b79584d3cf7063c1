// The drive pool: drives stored runs, `jobs` at a time, each by its own driver from a
// DriverFactory (runner/run_driver.h). The threads share the store under one lock
// (runner/synchronized_run_store.h) and one RunProgress (runner/progress.h).
//
// It owns what stops runs short, and keeps the promise that a stopped run has committed what it
// received (every stop goes through the run's own StreamCancel):
//   Ctrl-C (runner/interrupt.h): the first stops following, the cursors committed; with
//     cancel_on_interrupt a cancel is requested for each unfinished run that was started, and a
//     run whose start was never sent is abandoned (runner/intents.h) so that no later resume
//     sends it. A second Ctrl-C exits at once.
//   --timeout: the same stop; the runs continue remotely.
// A run whose endpoint ends with this process (the in-process sandbox) cannot be resumed: a
// stopped one says so, and each such run not terminal at the end is stored cancelled.
//
// The pool prints nothing itself: its lines go to the RunProgress. Turning outcomes into a
// summary and an exit code is the work of the command that called it.
#ifndef SFLOW_RUNNER_DRIVE_POOL_H_
#define SFLOW_RUNNER_DRIVE_POOL_H_

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "engine/run_store.h"
#include "engine/status.h"
#include "runner/progress.h"
#include "runner/run_driver.h"

namespace sflow {

struct DrivePoolOptions {
  int jobs = 1;                        // runs driven at once (at least 1, at most one per run)
  std::chrono::seconds timeout{0};     // stop following after this long (0 = never)
  bool cancel_on_interrupt = false;    // Ctrl-C also cancels the runs remotely
  bool start_only = false;             // --detach: each driver only sends (or re-sends) the start
};

struct DrivenRun {
  std::string run_id;
  Result<RunOutcome> outcome = Status::Internal("not driven");
};

struct DrivePoolResult {
  std::vector<DrivenRun> runs;   // in the order of the run ids given
  bool interrupted = false;      // Ctrl-C came while the runs were driven
  bool timed_out = false;        // --timeout expired while the runs were driven
  bool stopped_any = false;      // a run was left unfinished by either
};

// Announces every run to `progress` (AddRun, from the store), then drives them. A run stopped
// by Ctrl-C or --timeout gets kCancelled or kDeadlineExceeded with a message that says where it
// stands (its workflow keeps running; resume starts it; ...). `ends_with_process(run_id)` says
// whether the run's endpoint ends with this process. `store` must outlive the call; it is only
// used through the pool's lock.
DrivePoolResult DriveRuns(RunStore& store, RunProgress& progress, const DriverFactory& make_driver,
                          const std::function<bool(const std::string& run_id)>& ends_with_process,
                          const std::vector<std::string>& run_ids, const DrivePoolOptions& options);

}  // namespace sflow

#endif  // SFLOW_RUNNER_DRIVE_POOL_H_
