// sogni-flow cancel RUN : asks the server to cancel a stored run's workflow, and makes the stored
// state say so.
//
// A run becomes terminal locally only once its events have been followed to the end after the
// terminal status (docs/architecture.md, crash safety). So, after the server accepted the cancel:
//   - when no other process drives the run, cancel takes its lease and finishes it itself: it
//     follows the remaining events and confirms the final record (without downloading: `resume`
//     or `artifacts` do that), so `status` shows cancelled at once;
//   - when another process drives it, that process records the end; meanwhile the run is stored
//     "cancel requested" (RunRecord::cancel_requested_at) and `status` shows it;
//   - when the server no longer knows the workflow (404, confirmed by a GET), the run ends failed
//     with that reason stored, as `resume` ends it;
//   - when the server answered a status that is not final yet (cooperative cancellation), the run
//     stays "cancel requested" until a driver (resume, cancel --wait) records its end.
// --wait follows the run to its end as `run` does (downloads included), or, while another
// process drives it, waits for that process to store the end.
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/backend.h"
#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/drive_and_report.h"
#include "cli/exit_codes.h"
#include "cli/run_reporter.h"
#include "cli/state_access.h"
#include "runner/interrupt.h"
#include "runner/server/server_runner.h"
#include "runner/sha256.h"

namespace sflow {

namespace {

std::string WireStatusOf(const Value& workflow) {
  const Value* s = workflow.is_object() ? workflow.Find("status") : nullptr;
  std::string status = s && s->is_string() ? s->as_string() : "";
  return status == "canceled" ? "cancelled" : status;
}

// The exit code of cancel for a run that has ended `status`, saying so when it is not cancelled.
int Ended(Context& ctx, const std::string& run_id, RunStatus status) {
  if (status == RunStatus::kCancelled) return ctx.err << "run " << run_id << ": cancelled\n", kExitOk;
  ctx.err << "run " << run_id << " ended " << Name(status) << " before the cancel took effect\n";
  return status == RunStatus::kCompleted ? kExitOk : kExitRunFailed;
}

// Follows `run_id` (whose lease this process holds) to its stored end, without downloads.
int Finish(Context& ctx, RunStore& store, Backend& backend, const std::string& run_id) {
  StreamReporter reporter(&ctx.err, nullptr);
  ServerRunnerOptions options;
  options.reporter = &reporter;
  options.download = false;
  ServerRunner runner(&store, backend.client.get(), backend.transport.get(), options);
  Result<RunOutcome> outcome = runner.Drive(run_id);
  if (!outcome.ok()) {
    ctx.err << "sogni-flow cancel: " << backend.client->Redact(outcome.status().message()) << "\n"
            << "the cancel was accepted; 'sogni-flow resume " << run_id << "' records the run's end\n";
    return ExitCodeFor(outcome.status());
  }
  if (!IsTerminal(outcome->status)) {
    ctx.err << "run " << run_id << ": " << Name(outcome->status) << "\n";
    return kExitRunFailed;
  }
  return Ended(ctx, run_id, outcome->status);
}

// --wait with the lease: follows the run as `run` does; cancel's own exit code for how it ended.
int FollowToEnd(Context& ctx, RunStore& store, Backend& backend, const std::string& run_id, bool json) {
  int code = DriveAndReport("cancel", ctx, store, backend, run_id, json);
  Result<RunRecord> after = store.GetRun(run_id);
  if (!after.ok() || !IsTerminal(after->status)) return code;
  return after->status == RunStatus::kCancelled || after->status == RunStatus::kCompleted ? kExitOk : kExitRunFailed;
}

// --wait while another process drives the run: until the store shows its end. When that process
// goes away first, this one takes the lease and follows the run itself.
int WaitForDriver(Context& ctx, StateDir& dir, Backend& backend, const std::string& run_id, bool json) {
  std::atomic<bool> stop{false};
  InterruptGuard guard([&] { stop = true; });
  while (!stop) {
    Result<RunRecord> run = dir.store().GetRun(run_id);
    if (!run.ok()) return ctx.err << "sogni-flow cancel: " << run.status().message() << "\n", ExitCodeFor(run.status());
    if (IsTerminal(run->status)) return Ended(ctx, run_id, run->status);
    if (DriverOf(dir, run_id).empty()) {
      Result<std::unique_ptr<RunLease>> lease = dir.AcquireRunLease(run_id);
      if (lease.ok()) return FollowToEnd(ctx, dir.store(), backend, run_id, json);
    }
    for (int i = 0; i < 4 && !stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ctx.err << "sogni-flow cancel: interrupted; the cancel was accepted and the run's driver records its end\n";
  return kExitInterrupted;
}

// The cancel was answered "not found": when a GET of the workflow agrees, the server no longer
// knows it (expired or deleted), so nothing is left to cancel and nothing would ever end the run.
// It ends failed with the reason stored, as a follower's 404 ends it (ServerRunner), by this
// process when it holds the run's lease, else by the process that drives it.
int WorkflowGone(Context& ctx, StateDir& dir, bool leased, Backend& backend, const RunRecord& run,
                 const Status& why) {
  ApiClient& client = *backend.client;
  Result<Value> got = client.GetWorkflow(run.workflow_id);
  if (got.ok() || got.status().reason() != "not_found") {  // it exists, or nothing is known: as answered
    ctx.err << "sogni-flow cancel: " << client.Redact(why.message()) << "\n";
    return ExitCodeFor(why);
  }
  const std::string gone = "the server no longer knows workflow " + run.workflow_id;
  ctx.err << "run " << run.id << ": " << gone << " (it may have expired or been deleted); nothing is left to cancel\n";
  if (!leased) {
    std::string driver = DriverOf(dir, run.id);
    ctx.err << "run " << run.id << ": " << (driver.empty() ? "another sogni-flow drives it" : driver)
            << ", which marks it failed\n";
    return kExitRunFailed;
  }
  Value error = Value::Object();
  error.Set("code", Value::String("workflow_not_found"));
  error.Set("message", Value::String(gone + " (" + client.Redact(why.message()) + ")"));
  if (Status s = dir.store().UpdateRun(run.id, {.status = RunStatus::kFailed, .error = error}); !s.ok())
    return ctx.err << "sogni-flow cancel: " << s.message() << "\n", ExitCodeFor(s);
  ctx.err << "run " << run.id << ": marked failed. What was stored locally stays: 'sogni-flow events " << run.id
          << "'; 'sogni-flow forget " << run.id << "' removes it\n";
  return kExitRunFailed;
}

// A local run: every project in flight gets the SDK's cancel (jobError artistCanceled), and the
// run is marked cancel requested, so that whoever drives it starts no further step. With the
// lease (no other driver) and --wait, the run is then followed to its end here.
int CancelLocal(Context& ctx, StateDir& dir, bool leased, const RunRecord& run, const BackendOptions& backend_options,
                bool wait, bool json) {
  auto fail = [&](const Status& st) { return ctx.err << "sogni-flow cancel: " << st.message() << "\n", ExitCodeFor(st); };
  bool overridden = false;
  Result<BackendOptions> bo = BackendOptionsFor(run, backend_options, &overridden);
  if (!bo.ok()) return fail(bo.status());
  Result<std::unique_ptr<Backend>> backend = OpenBackend(*bo, ctx, &ctx.err);
  if (!backend.ok()) return fail(backend.status());
  if (run.account != AccountFingerprint((*backend)->api_key))
    return ctx.err << "sogni-flow cancel: run " << run.id << " belongs to another account (key fingerprint "
                   << run.account << ")\n", kExitAuth;
  std::unique_ptr<RunDriver> driver = MakeLocalDriver(&dir.store(), backend->get());
  if (Status c = driver->RequestCancel(run); !c.ok()) return fail(Status::Error(c.code(), (*backend)->client->Redact(c.message())));
  ctx.err << "run " << run.id << ": cancel requested for its projects in flight; no further step starts\n";
  if (!leased) {
    std::string by = DriverOf(dir, run.id);
    ctx.err << "run " << run.id << ": " << (by.empty() ? "another sogni-flow drives it" : by) << ", which stores its end\n";
    return wait ? WaitForDriver(ctx, dir, **backend, run.id, json) : kExitOk;
  }
  if (wait) return FollowToEnd(ctx, dir.store(), **backend, run.id, json);
  ctx.err << "run " << run.id << ": 'sogni-flow resume " << run.id << "' (or cancel --wait) stores its end\n";
  return kExitOk;
}

}  // namespace

int RunCancel(const std::vector<std::string>& args, Context& ctx) {
  bool wait = false, json = false;
  BackendOptions backend_options;
  std::string state_dir;
  CommandLine cl("cancel RUN [--wait] [--state-dir DIR] [--api-url URL] [--api-key-file FILE] [--json]",
                 "Asks the server to cancel the workflow of a stored run. The cancel intent is committed to\n"
                 "the state store before the request; the request is sent once (a cancel is never retried\n"
                 "blindly). When no other sogni-flow drives the run, cancel then follows its remaining events\n"
                 "and stores its end, so 'status' shows it cancelled (artifacts of finished steps are left\n"
                 "for 'resume' or 'artifacts'). While another sogni-flow drives it, that one stores the end\n"
                 "and 'status' shows 'cancel requested' until then. Cancellation is cooperative: the step in\n"
                 "flight may finish first. A run whose start was never sent is cancelled locally.\n"
                 "A local run: each of its projects in flight is cancelled on the projects socket and no\n"
                 "further step starts.\n"
                 "With --wait the run is followed until it has ended (events stored, artifacts of finished\n"
                 "steps downloaded), as 'run' does. The API key must be the run's account (by fingerprint).");
  cl.Flag("wait", "", "follow the run until it is cancelled (or has ended otherwise)", &wait);
  cl.Flag("json", "", "with --wait: one JSON object per workflow event on stdout, then a summary", &json);
  cl.Value("state-dir", "", "DIR", "the state directory (default: the state_dir setting, see config; ./.sogni-flow)", &state_dir);
  cl.Value("api-url", "", "URL", "the API (default: the api_url setting, see config; https://api.sogni.ai)", &backend_options.api_url);
  cl.Value("api-key-file", "", "FILE", "read the API key from FILE (mode 0600)", &backend_options.api_key_file);
  cl.Epilog("exit codes: 0 cancelled (or had already ended: said so), 1 the run ended otherwise (failed), or\n"
            "the server no longer knows its workflow (the run is then marked failed),\n"
            "2 usage or unknown run, 3 auth, 4 unavailable, 6 local state, 7 security (TLS, a refused URL or\n"
            "state directory)\n\n"
            "examples:\n"
            "  sogni-flow cancel r-20261123-101500-3f2a\n"
            "  sogni-flow cancel r-20261123-101500-3f2a --wait\n");
  std::vector<std::string> runs;
  Status s = cl.Parse(args, &runs);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow cancel: " << s.message() << "\n", kExitInvalid;
  if (runs.size() != 1) return ctx.err << "sogni-flow cancel: give exactly one run id\n", kExitInvalid;
  const std::string& run_id = runs[0];
  auto fail = [&](const Status& st) { return ctx.err << "sogni-flow cancel: " << st.message() << "\n", ExitCodeFor(st); };

  Result<std::unique_ptr<StateDir>> dir = OpenState("cancel", state_dir, StateAccess::kWrite, ctx);
  if (!dir.ok()) return fail(dir.status());
  RunStore& store = (*dir)->store();
  Result<RunRecord> run = store.GetRun(run_id);
  if (!run.ok()) return fail(run.status());
  if (IsTerminal(run->status)) {
    ctx.err << "sogni-flow cancel: run " << run_id << " has already ended (" << Name(run->status) << "); nothing to cancel\n";
    return kExitOk;
  }
  // The lease, when nobody else drives the run: this process then stores its end.
  Result<std::unique_ptr<RunLease>> lease = (*dir)->AcquireRunLease(run_id);
  if (!lease.ok() && lease.status().code() != Status::Code::kConflict) return fail(lease.status());
  if (lease.ok() && !(*lease)->notice().empty()) ctx.err << "sogni-flow cancel: " << (*lease)->notice() << "\n";
  if (run->execution == Execution::kLocal) return CancelLocal(ctx, **dir, lease.ok(), *run, backend_options, wait, json);
  if (run->workflow_id.empty()) {
    if (!lease.ok())
      return ctx.err << "sogni-flow cancel: " << lease.status().message() << "\n(it is starting the run; cancel it again "
                     << "once the start is answered)\n", kExitLocalState;
    if (AbandonUnsentStart(store, run_id).ok())
      return ctx.err << "run " << run_id << ": cancelled before its start was sent (nothing was sent)\n", kExitOk;
    return ctx.err << "sogni-flow cancel: run " << run_id << " has no workflow id yet (its start was sent but never "
                   << "answered);\nrun 'sogni-flow resume " << run_id << "' first, then cancel it\n", kExitInvalid;
  }

  // The run's own endpoint (stored with it), unless --api-url names another.
  bool overridden = false;
  Result<BackendOptions> bo = BackendOptionsFor(*run, backend_options, &overridden);
  if (!bo.ok()) return fail(bo.status());
  Result<std::unique_ptr<Backend>> backend = OpenBackend(*bo, ctx, &ctx.err);
  if (!backend.ok()) return fail(backend.status());
  if (run->account != AccountFingerprint((*backend)->api_key))
    return ctx.err << "sogni-flow cancel: run " << run_id << " belongs to another account (key fingerprint "
                   << run->account << ")\n", kExitAuth;

  Result<WorkflowReply> reply = RequestCancel(store, *(*backend)->client, *run);
  if (!reply.ok() && reply.status().reason() == "not_found") {
    if (!lease.ok()) lease = (*dir)->AcquireRunLease(run_id);  // its driver may have stopped meanwhile
    return WorkflowGone(ctx, **dir, lease.ok(), **backend, *run, reply.status());
  }
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
  if (!transitioned && status && !IsTerminal(*status) && !wait) {
    ctx.err << "sogni-flow cancel: the server did not accept the cancel (status " << wire << ")\n";
    return kExitRunFailed;
  }
  if (!lease.ok()) lease = (*dir)->AcquireRunLease(run_id);  // its driver may have stopped meanwhile
  if (!lease.ok()) {
    std::string driver = DriverOf(**dir, run_id);
    ctx.err << "run " << run_id << ": " << (driver.empty() ? "another sogni-flow drives it" : driver)
            << ", which stores its end\n";
    return wait ? WaitForDriver(ctx, **dir, **backend, run_id, json) : kExitOk;
  }
  if (Result<RunRecord> now = store.GetRun(run_id); now.ok() && IsTerminal(now->status))
    return Ended(ctx, run_id, now->status);  // stored by the driver that had it
  if (wait) return FollowToEnd(ctx, store, **backend, run_id, json);
  if (!status || !IsTerminal(*status)) {
    ctx.err << "run " << run_id << ": the workflow stops once its current step does; 'sogni-flow status' shows "
            << "'cancel requested' until 'sogni-flow resume " << run_id << "' (or cancel --wait) stores its end\n";
    return kExitOk;
  }
  return Finish(ctx, store, **backend, run_id);
}

}  // namespace sflow
