// sogni-flow resume RUN : re-attaches to a stored run from its intent and event cursor.
#include <string>
#include <vector>

#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/run_setup.h"
#include "cli/sha256.h"
#include "store/state_dir.h"

namespace sflow {

int RunResume(const std::vector<std::string>& args, Context& ctx) {
  bool json = false;
  BackendOptions backend_options;
  std::string state_dir;
  CommandLine cl("resume RUN [--state-dir DIR] [--api-url URL] [--api-key-file FILE] [--json]",
                 "Continues a run where it stopped: a start request whose answer was never stored is sent\n"
                 "again with the SAME Idempotency-Key (the server then creates nothing twice); a started\n"
                 "workflow is followed from the stored event cursor; missing artifacts are downloaded.\n"
                 "The API key must be the run's account (checked by fingerprint).");
  cl.Flag("json", "", "one JSON object per workflow event on stdout, then a summary", &json);
  cl.Value("state-dir", "", "DIR", "the state directory (default $SOGNI_FLOW_STATE_DIR or ./.sogni-flow)", &state_dir);
  cl.Flag("sandbox", "", "use a fresh in-process simulator (it knows no earlier workflow)", &backend_options.sandbox);
  cl.Value("api-url", "", "URL", "the API (default $SOGNI_API_BASE_URL or https://api.sogni.ai)", &backend_options.api_url);
  cl.Value("api-key-file", "", "FILE", "read the API key from FILE (mode 0600)", &backend_options.api_key_file);
  std::vector<std::string> runs;
  Status s = cl.Parse(args, &runs);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow resume: " << s.message() << "\n", kExitInvalid;
  if (runs.size() != 1) return ctx.err << "sogni-flow resume: give exactly one run id\n", kExitInvalid;

  Result<std::unique_ptr<Backend>> backend = OpenBackend(backend_options, ctx.environ);
  if (!backend.ok()) return ctx.err << "sogni-flow resume: " << backend.status().message() << "\n", ExitCodeFor(backend.status());
  StateDirOptions so;
  so.path = StateDirPath(state_dir, ctx.environ);
  Result<std::unique_ptr<StateDir>> dir = StateDir::Open(so);
  if (!dir.ok()) return ctx.err << "sogni-flow resume: " << dir.status().message() << "\n", ExitCodeFor(dir.status());
  RunStore& store = (*dir)->store();
  Result<RunRecord> run = store.GetRun(runs[0]);
  if (!run.ok()) return ctx.err << "sogni-flow resume: " << run.status().message() << "\n", ExitCodeFor(run.status());
  if (run->account != AccountFingerprint((*backend)->api_key))
    return ctx.err << "sogni-flow resume: run " << runs[0] << " belongs to another account (key fingerprint "
                   << run->account << ")\n", kExitAuth;
  return DriveAndReport("resume", ctx, store, **backend, runs[0], json);
}

}  // namespace sflow
