// What run and resume share: where the API is (the in-process sandbox, --api-url or
// SOGNI_API_BASE_URL), the API key (SOGNI_API_KEY or --api-key-file, never a flag value), and the
// transport and REST client over them.
#ifndef SFLOW_CLI_BACKEND_H_
#define SFLOW_CLI_BACKEND_H_

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
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

// The endpoint stored with a run started against the in-process simulator, which ends with its
// process: such a run can only be resumed by another --sandbox (which knows no earlier workflow).
inline constexpr const char* kInProcessSandbox = "sandbox:in-process";

// Receives the lines a backend has to say while no run reporter exists yet (retry notices).
// Thread-safe; the run driver points it at its reporter while it drives.
class NoticeSink {
 public:
  explicit NoticeSink(std::ostream* fallback) : fallback_(fallback) {}
  void Say(const std::string& line);
  void Redirect(std::function<void(const std::string&)> to);  // empty: back to the fallback
 private:
  std::mutex mu_;
  std::ostream* fallback_;
  std::function<void(const std::string&)> to_;
};

struct Backend {
  std::unique_ptr<Sandbox> sandbox;
  std::unique_ptr<HttpTransport> transport;
  std::unique_ptr<ApiClient> client;
  std::string api_key;   // in memory only
  std::string api_url;   // the endpoint, as stored with runs (kInProcessSandbox for --sandbox)
  std::unique_ptr<NoticeSink> notices;
};

// Opens the endpoint and the API key, checking both before anything is stored or sent:
//   * --sandbox with --api-url is a usage error (kInvalidPlan);
//   * the endpoint must be an absolute https:// URL, or http:// to a loopback name (the local
//     sandbox): else kSecurity, naming the setting it came from;
//   * the key (SOGNI_API_KEY or --api-key-file, never a flag) must be 1..4096 visible ASCII
//     characters: a newline, a space or a control character inside it would be sent as a broken
//     header, so it is refused with kPermission, saying where and which kind of byte (never the
//     key). A key file must be a regular file not readable by others (kSecurity).
// `notices` gets the client's retry notices (may be null: none).
Result<std::unique_ptr<Backend>> OpenBackend(const BackendOptions& options, char** environ,
                                             std::ostream* notices = nullptr);

// One cheap authenticated read (GET /v1/creative-agent/workflows?limit=1) before anything is
// stored: a refused connection (kUnavailable, exit 4), TLS (kSecurity, 7) or a refused key
// (kPermission, 3) is found while nothing exists that a later resume could start.
Status CheckBackend(Backend& backend);

// The backend options for acting on a stored run: its own endpoint unless the command line
// names one (--api-url or --sandbox: then `*overridden` says so), else the usual default. A run
// of the in-process sandbox without --sandbox is kInvalidPlan, saying why.
Result<BackendOptions> BackendOptionsFor(const RunRecord& run, const BackendOptions& given, bool* overridden);

struct DriveOptions {
  bool json = false;                   // --json: events and the summary as JSON lines on stdout
  std::string hint_args;               // appended to printed resume commands (" --state-dir X")
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
// The same, each run with the backend of its own endpoint (`backend_of` returns one for every
// run id it is given; the first run's is used for messages).
int DriveAndReport(const char* command, Context& ctx, RunStore& store,
                   const std::function<Backend&(const std::string& run_id)>& backend_of,
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

// One run, options {.json = json, .hint_args = hint_args}.
int DriveAndReport(const char* command, Context& ctx, RunStore& store, Backend& backend,
                   const std::string& run_id, bool json, const std::string& hint_args = "");

// " --state-dir DIR" when the command line named a state directory, for printed commands.
std::string StateDirHint(const std::string& flag);

// Opens --state-dir (or SOGNI_FLOW_STATE_DIR, else ./.sogni-flow) for the commands.
std::string StateDirPath(const std::string& flag, char** environ);

// The value of NAME in an environ-style array; "" when absent.
std::string EnvValue(char** environ, const std::string& name);

}  // namespace sflow

#endif  // SFLOW_CLI_BACKEND_H_
