// How the commands that follow runs (run, resume, reseed, approve --run) drive them and report:
// the flags, the reporter a person or program watches, the summary, and the exit code. The
// driving itself is the runner layer's (runner/drive_pool.h, one ServerRunner per run).
#ifndef SFLOW_CLI_DRIVE_AND_REPORT_H_
#define SFLOW_CLI_DRIVE_AND_REPORT_H_

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "cli/backend.h"
#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/settings.h"
#include "engine/run_store.h"
#include "engine/status.h"
#include "runner/run_driver.h"

namespace sflow {

struct DriveOptions {
  bool json = false;                   // --json: events and the summary as JSON lines on stdout
  std::string hint_args;               // appended to printed resume commands (" --state-dir X")
  bool detach = false;                 // --detach: start (or re-send the start), store it, stop
  std::chrono::seconds timeout{0};     // --timeout: stop following after this long (0 = never)
  bool cancel_on_interrupt = false;    // --cancel-on-interrupt: Ctrl-C cancels the workflows
  int jobs = 1;                        // -j: runs driven at once
  int step_jobs = 4;                   // -j: a local run's projects in flight at once (default 4)
  bool no_cache = false;               // --no-cache: a local run's steps never take cached results
  bool no_download = false;            // run --no-download: server runs are followed, no artifact fetched
  bool quiet = false;                  // --quiet: stderr says only problems (cron mails what is printed)
};

// Drives stored runs through the drive pool (runner/drive_pool.h), `jobs` at a time, each by a
// ServerRunner over its backend, sharing one reporter: live lines on a terminal, one line per
// change otherwise, or --json lines; then one summary line per run (--json: one summary object
// with every run, and the first run's fields flat when there is one run). Returns the exit
// code: 130 after Ctrl-C, 8 when --timeout expired first, else the worst run's code (the first of
// 7, 6, 3, 5, 4, 1, 8 present). `command` names the command in messages.
//   Ctrl-C: the first stops following (cursors committed; with cancel_on_interrupt a cancel is
//   requested for each unfinished workflow), a second exits at once. --timeout: the same stop,
//   the workflows continue remotely. Either prints the resume command for each unfinished run.
int DriveAndReport(const char* command, Context& ctx, RunStore& store, Backend& backend,
                   const std::vector<std::string>& run_ids, const DriveOptions& options);
// The same, each run with the backend of its own endpoint (`backend_of` returns one for every
// run id it is given, and may be asked more than once).
int DriveAndReport(const char* command, Context& ctx, RunStore& store,
                   const std::function<Backend&(const std::string& run_id)>& backend_of,
                   const std::vector<std::string>& run_ids, const DriveOptions& options);
// The flags of the commands that follow runs (run, resume): -j N, --timeout D and
// --cancel-on-interrupt. Register() before CommandLine::Parse, Finish() after it.
struct DriveFlags {
  DriveOptions options;
  std::string jobs, timeout;  // jobs "" = not given
  void Register(CommandLine& cl);
  // -j 1..10000 (runs at once, and a local run's projects in flight) and --timeout through
  // ParseDuration ("" = none) into `options`; kInvalidPlan with the message to print otherwise.
  // Without -j, `configured` (the jobs setting, cli/settings.h) applies as -j would, its errors
  // naming where it came from.
  Status Finish(const Setting& configured);
};

// The driver of a local run over `backend` (its projects socket opened on first use), for the
// commands that act on one run without driving it (cancel).
std::unique_ptr<RunDriver> MakeLocalDriver(RunStore* store, Backend* backend);

// One run, options {.json = json, .hint_args = hint_args}.
int DriveAndReport(const char* command, Context& ctx, RunStore& store, Backend& backend,
                   const std::string& run_id, bool json, const std::string& hint_args = "");

}  // namespace sflow

#endif  // SFLOW_CLI_DRIVE_AND_REPORT_H_
