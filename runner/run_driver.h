// RunDriver: the seam every way of executing a run implements. A server run (execution: server)
// is driven by ServerRunner (runner/server/server_runner.h) as one durable workflow on the
// server; a run of direct projects (execution: local) gets a driver of its own beside it. The
// drive pool (runner/drive_pool.h) knows a run's driver only through this interface, and gets
// each one from a DriverFactory, so it never names a concrete runner.
//
// Every driver keeps the crash-safety rules of docs/architecture.md: what it sends that changes
// remote state goes through the intent protocol (runner/intents.h), what it receives is committed
// before it is reported (runner/progress.h), and a run becomes terminal locally only once
// everything it produced is stored. A driver is used by one thread at a time.
#ifndef SFLOW_RUNNER_RUN_DRIVER_H_
#define SFLOW_RUNNER_RUN_DRIVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "engine/run_store.h"
#include "engine/status.h"
#include "runner/task.h"

namespace sflow {

class GroupCommitter;  // runner/group_committer.h
class Executor;        // runner/task.h

class RunProgress;
class StreamCancel;

// Where a Drive() or DownloadMissing() left a run.
struct RunOutcome {
  RunStatus status = RunStatus::kUnknown;
  std::string waiting_reason;
  bool awaiting_cost_approval = false;
  int64_t events_stored = 0;        // every event stored for the run (counted at the end)
  int64_t artifacts_done = 0, artifacts_failed = 0;
  std::string problem;              // why the run failed locally (an artifact not saved, ...); "" if none
};

class RunDriver {
 public:
  virtual ~RunDriver() = default;

  // Takes the run as far as it goes now: started (or its open start re-sent), followed to its end
  // or to a wait for a person, its artifacts downloaded. An error says why it stopped short:
  // kPermission (auth), kUnavailable (resumable), kCancelled (Ctrl-C, --timeout), a store error,
  // kIOError for a download that cannot be written.
  virtual Result<RunOutcome> Drive(const std::string& run_id) = 0;

  // Drive() as a coroutine on `ex`, for the drive pool (runner/drive_pool.h). A driver that
  // waits without a thread overrides it; this default runs Drive() on a thread of its own.
  // `run_id` is copied before the first wait.
  virtual Task<Result<RunOutcome>> DriveAsync(const std::string& run_id, Executor& ex);

  // Downloads every stored artifact of the run that is not done yet (none twice), to `out_dir`
  // ("" = the run's own out dir).
  virtual Result<RunOutcome> DownloadMissing(const std::string& run_id, const std::string& out_dir) = 0;

  // Asks the remote side to cancel `run`, which has been started. A cancel never makes the run
  // terminal by itself: whoever follows the run stores its end. The error's message is fit to
  // print (no secret in it).
  virtual Status RequestCancel(const RunRecord& run) = 0;
};

// What the drive pool gives each driver it makes.
struct DriverEnvironment {
  RunStore* store = nullptr;         // shared by the pool's threads (a SynchronizedRunStore)
  RunProgress* progress = nullptr;   // progress lines and events; may be null
  StreamCancel* cancel = nullptr;    // the run's own: Ctrl-C and --timeout cancel it
  bool start_only = false;           // --detach: send (or re-send) the start, store its answer, stop
  GroupCommitter* committer = nullptr;  // commits event batches of every run of the pool, in groups
};

// Makes the driver of `run_id` (the caller knows each run's execution and endpoint).
using DriverFactory = std::function<std::unique_ptr<RunDriver>(const std::string& run_id, const DriverEnvironment& env)>;

}  // namespace sflow

#endif  // SFLOW_RUNNER_RUN_DRIVER_H_
