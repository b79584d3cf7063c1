// sogni-flow cancel RUN : asks the server to cancel a stored run's workflow (and, with --wait,
// follows it until it has ended).
#include <optional>
#include <string>
#include <vector>

#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/run_setup.h"
#include "cli/server_runner.h"
#include "cli/sha256.h"
#include "store/state_dir.h"

namespace sflow {

namespace {

std::string WireStatusOf(const Value& workflow) {
  const Value* s = workflow.is_object() ? workflow.Find("status") : nullptr;
  std::string status = s && s->is_string() ? s->as_string() : "";
  return status == "canceled" ? "cancelled" : status;
}

}  // namespace

int RunCancel(const std::vector<std::string>& args, Context& ctx) {
  bool wait = false, json = false;
  BackendOptions backend_options;
  std::string state_dir;
  CommandLine cl("cancel RUN [--wait] [--state-dir DIR] [--api-url URL] [--api-key-file FILE] [--json]",
                 "Asks the server to cancel the workflow of a stored run. The cancel intent is committed to\n"
                 "the state store before the request; the request is sent once (a cancel is never retried\n"
                 "blindly) and the status it answers is stored. Cancellation is cooperative: the step in\n"
                 "flight may finish first. With --wait the run is followed until it has ended (events\n"
                 "stored, artifacts of finished steps downloaded), as 'run' does.\n"
                 "The API key must be the run's account (checked by fingerprint).");
  cl.Flag("wait", "", "follow the run until it is cancelled (or has ended otherwise)", &wait);
  cl.Flag("json", "", "with --wait: one JSON object per workflow event on stdout, then a summary", &json);
  cl.Value("state-dir", "", "DIR", "the state directory (default $SOGNI_FLOW_STATE_DIR or ./.sogni-flow)", &state_dir);
  cl.Value("api-url", "", "URL", "the API (default $SOGNI_API_BASE_URL or https://api.sogni.ai)", &backend_options.api_url);
  cl.Value("api-key-file", "", "FILE", "read the API key from FILE (mode 0600)", &backend_options.api_key_file);
  cl.Epilog("exit codes: 0 cancelled (or had already ended: said so), 1 the run ended otherwise after\n"
            "--wait (failed), 2 usage or unknown run, 3 auth, 4 unavailable, 6 local state\n\n"
            "examples:\n"
            "  sogni-flow cancel r-20261123-101500-3f2a\n"
            "  sogni-flow cancel r-20261123-101500-3f2a --wait\n");
  std::vector<std::string> runs;
  Status s = cl.Parse(args, &runs);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow cancel: " << s.message() << "\n", kExitInvalid;
  if (runs.size() != 1) return ctx.err << "sogni-flow cancel: give exactly one run id\n", kExitInvalid;
  const std::string& run_id = runs[0];

  StateDirOptions so;
  so.path = StateDirPath(state_dir, ctx.environ);
  Result<std::unique_ptr<StateDir>> dir = StateDir::Open(so);
  if (!dir.ok()) return ctx.err << "sogni-flow cancel: " << dir.status().message() << "\n", ExitCodeFor(dir.status());
  RunStore& store = (*dir)->store();
  Result<RunRecord> run = store.GetRun(run_id);
  if (!run.ok()) return ctx.err << "sogni-flow cancel: " << run.status().message() << "\n", ExitCodeFor(run.status());
  if (IsTerminal(run->status)) {
    ctx.err << "sogni-flow cancel: run " << run_id << " has already ended (" << Name(run->status) << "); nothing to cancel\n";
    return kExitOk;
  }
  if (run->workflow_id.empty())
    return ctx.err << "sogni-flow cancel: run " << run_id << " has no workflow id yet (its start was never answered);\n"
                   << "run 'sogni-flow resume " << run_id << "' first, then cancel it\n", kExitInvalid;

  Result<std::unique_ptr<Backend>> backend = OpenBackend(backend_options, ctx.environ);
  if (!backend.ok()) return ctx.err << "sogni-flow cancel: " << backend.status().message() << "\n", ExitCodeFor(backend.status());
  if (run->account != AccountFingerprint((*backend)->api_key))
    return ctx.err << "sogni-flow cancel: run " << run_id << " belongs to another account (key fingerprint "
                   << run->account << ")\n", kExitAuth;

  Result<WorkflowReply> reply = RequestCancel(store, *(*backend)->client, *run);
  if (!reply.ok()) {
    ctx.err << "sogni-flow cancel: " << (*backend)->client->Redact(reply.status().message()) << "\n";
    return ExitCodeFor(reply.status());
  }
  std::string wire = WireStatusOf(reply->workflow);
  std::optional<RunStatus> status = ParseName<RunStatus>(kRunStatusNames, wire);
  bool transitioned = reply->Flag("transitioned");
  if (!transitioned && status && IsTerminal(*status) && *status != RunStatus::kCancelled)
    ctx.err << "run " << run_id << ": workflow " << run->workflow_id << " had already ended (" << wire << ")\n";
  else
    ctx.err << "run " << run_id << ": cancel requested for workflow " << run->workflow_id << " (status " << wire << ")\n";
  if (!wait) {
    if (!transitioned && status && !IsTerminal(*status)) {
      ctx.err << "sogni-flow cancel: the server did not accept the cancel (status " << wire << ")\n";
      return kExitRunFailed;
    }
    return kExitOk;
  }
  int code = DriveAndReport("cancel", ctx, store, **backend, run_id, json);
  Result<RunRecord> after = store.GetRun(run_id);
  if (!after.ok()) return code;
  if (after->status == RunStatus::kCancelled) return kExitOk;
  if (IsTerminal(after->status)) {
    ctx.err << "run " << run_id << " ended " << Name(after->status) << " before the cancel took effect\n";
    return after->status == RunStatus::kCompleted ? kExitOk : kExitRunFailed;
  }
  return code;
}

}  // namespace sflow
