// What run and resume share: where the API is (the in-process sandbox, --api-url or
// SOGNI_API_BASE_URL), the API key (SOGNI_API_KEY or --api-key-file, never a flag value), and the
// transport and REST client over them.
#ifndef SFLOW_CLI_RUN_SETUP_H_
#define SFLOW_CLI_RUN_SETUP_H_

#include <memory>
#include <string>

#include "api/api_client.h"
#include "api/http_transport.h"
#include "engine/status.h"
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

// Drives a stored run with ServerRunner, prints progress (stderr) or --json lines (stdout) and
// the summary; returns the exit code. `command` names the command in messages.
int DriveAndReport(const char* command, Context& ctx, RunStore& store, Backend& backend,
                   const std::string& run_id, bool json);

// Opens --state-dir (or SOGNI_FLOW_STATE_DIR, else ./.sogni-flow) for the commands.
std::string StateDirPath(const std::string& flag, char** environ);

// The value of NAME in an environ-style array; "" when absent.
std::string EnvValue(char** environ, const std::string& name);

}  // namespace sflow

#endif  // SFLOW_CLI_RUN_SETUP_H_
