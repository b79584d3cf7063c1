// Where the API is and who speaks to it, for the commands that talk to it: the endpoint (the
// in-process sandbox, --api-url or SOGNI_API_BASE_URL), the API key (SOGNI_API_KEY or
// --api-key-file, never a flag value), and the transport and REST client over them.
//
// This is the command line's half of a run: it turns flags, environment and a key file into
// ready objects, and its messages name those settings. The runner layer (runner/) is given the
// client and transport (cli/drive_and_report.h builds each run's driver over them) and never
// reads the environment itself.
#ifndef SFLOW_CLI_BACKEND_H_
#define SFLOW_CLI_BACKEND_H_

#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>

#include "api/api_client.h"
#include "api/http_transport.h"
#include "api/projects_session.h"
#include "api/stream_loop.h"
#include "cli/context.h"
#include "engine/run_store.h"
#include "engine/status.h"
#include "sandbox/sandbox.h"

namespace sflow {

struct BackendOptions {
  bool sandbox = false;       // start sflow::Sandbox in-process (step_ms 20, a generated key)
  std::string api_url;        // --api-url; "" = the api_url setting (SOGNI_API_BASE_URL, a settings file, the default)
  std::string api_key_file;   // --api-key-file: must not be readable by group or others
  bool key_optional = false;  // no key is no error (estimate: the estimate routes need none)
};

// The endpoint stored with a run started against the in-process simulator, which ends with its
// process: such a run can only be resumed by another --sandbox (which knows no earlier workflow).
inline constexpr const char* kInProcessSandbox = "sandbox:in-process";

// Receives the lines a backend has to say while no run reporter exists yet (retry notices).
// Thread-safe; DriveAndReport points it at its reporter while it drives.
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
  // The event streams of every run on this endpoint are read on the loop's one thread
  // (transport->NewStream); declared first, it outlives the transport.
  std::unique_ptr<StreamLoop> loop;
  std::unique_ptr<HttpTransport> transport;
  std::unique_ptr<ApiClient> client;
  std::string api_key;   // in memory only
  std::string api_url;   // the endpoint, as stored with runs (kInProcessSandbox for --sandbox)
  std::unique_ptr<NoticeSink> notices;
  // The projects socket (local runs): its URL (SOGNI_SOCKET_URL, else derived from the endpoint:
  // the same origin for a loopback sandbox, "socket." for "api."), and the one session of the
  // process, opened by the first local run that needs it (Projects()).
  std::string socket_url;
  std::string ca_file;
  std::mutex projects_mu;
  std::unique_ptr<ProjectsSession> projects;
  std::string projects_app_id;
  // The session of this process for the state directory's appId `base_app_id` (the socket's
  // appId is it plus a suffix of this process: projects_app_id), opened on first use. Thread-safe.
  Result<ProjectsSession*> Projects(const std::string& base_app_id);
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
// Without --api-url the endpoint is the api_url setting (cli/settings.h), named by its origin.
Result<std::unique_ptr<Backend>> OpenBackend(const BackendOptions& options, const Context& ctx,
                                             std::ostream* notices = nullptr);

// One cheap authenticated read (GET /v1/creative-agent/workflows?limit=1) before anything is
// stored: a refused connection (kUnavailable, exit 4), TLS (kSecurity, 7) or a refused key
// (kPermission, 3) is found while nothing exists that a later resume could start.
Status CheckBackend(Backend& backend);

// The backend options for acting on a stored run: its own endpoint unless the command line
// names one (--api-url or --sandbox: then `*overridden` says so), else the usual default. A run
// of the in-process sandbox without --sandbox is kInvalidPlan, saying why.
Result<BackendOptions> BackendOptionsFor(const RunRecord& run, const BackendOptions& given, bool* overridden);

}  // namespace sflow

#endif  // SFLOW_CLI_BACKEND_H_
