// What run and resume share: where the API is (the in-process sandbox, --api-url or
// SOGNI_API_BASE_URL), the API key (SOGNI_API_KEY or --api-key-file, never a flag value), and the
// transport and REST client over them.
#ifndef SFLOW_CLI_RUN_SETUP_H_
#define SFLOW_CLI_RUN_SETUP_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "api/api_client.h"
#include "api/http_transport.h"
#include "engine/status.h"
#include "cli/command_line.h"
#include "cli/context.h"
#include "engine/run_store.h"
#include "sandbox/sandbox.h"

namespace sflow {

struct BackendOptions {
  bool sandbox = false;       // start sflow::Sandbox in-process (step_ms 20, a generated key)
  std::string api_url;        // --api-url; "" = SOGNI_API_BASE_URL, else https://api.sogni.ai
  std::string api_key_file;   // --api-key-file: must not be readable by group or others
};

struct Backend {
  std::unique_ptr<Sandbox> sandbox;
  std::unique_ptr<HttpTransport> transport;
  std::unique_ptr<ApiClient> client;
  std::string api_key;  // in memory only
};

// Errors: kPermission (no key), kSecurity (a key file open to others, a refused URL), the
// sandbox's start error.
Result<std::unique_ptr<Backend>> OpenBackend(const BackendOptions& options, char** environ);

struct DriveOptions {
  bool json = false;                   // --json: events and the summary as JSON lines on stdout
  bool detach = false;                 // --detach: start (or re-send the start), store it, stop
  std::chrono::seconds timeout{0};     // --timeout: stop following after this long (0 = never)
  bool cancel_on_interrupt = false;    // --cancel-on-interrupt: Ctrl-C cancels the workflows
  int jobs = 1;                        // -j: runs driven at once
};

// Drives stored runs with ServerRunner, `jobs` at a time (threads sharing the store under a
// lock, the transport and one reporter): live lines on a terminal, one line per change
// otherwise, or --json lines; then one summary line per run (--json: one summary object with
// every run, and the first run's fields flat when there is one run). Returns the exit code:
// 130 after Ctrl-C, 8 when --timeout expired first, else the worst run's code (the first of
// 7, 6, 3, 5, 4, 1, 8 present). `command` names the command in messages.
//   Ctrl-C: the first stops following (cursors committed; with cancel_on_interrupt a cancel is
//   requested for each unfinished workflow), a second exits at once. --timeout: the same stop,
//   the workflows continue remotely. Either prints the resume command for each unfinished run.
int DriveAndReport(const char* command, Context& ctx, RunStore& store, Backend& backend,
                   const std::vector<std::string>& run_ids, const DriveOptions& options);
// The flags of the commands that follow runs (run, resume): -j N, --timeout D and
// --cancel-on-interrupt. Register() before CommandLine::Parse, Finish() after it.
struct DriveFlags {
  DriveOptions options;
  std::string jobs = "1", timeout;
  void Register(CommandLine& cl);
  // -j 1..999 and --timeout through ParseDuration ("" = none) into `options`; kInvalidPlan with
  // the message to print otherwise.
  Status Finish();
};

// One run, options {.json = json}.
int DriveAndReport(const char* command, Context& ctx, RunStore& store, Backend& backend,
                   const std::string& run_id, bool json);

// Opens --state-dir (or SOGNI_FLOW_STATE_DIR, else ./.sogni-flow) for the commands.
std::string StateDirPath(const std::string& flag, char** environ);

// The value of NAME in an environ-style array; "" when absent.
std::string EnvValue(char** environ, const std::string& name);

}  // namespace sflow

#endif  // SFLOW_CLI_RUN_SETUP_H_
