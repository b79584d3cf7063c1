// sogni-flow forget RUN... : removes runs from the state directory (their steps, events, intents
// and artifact records). Downloaded files are left alone.
#include <string>
#include <vector>

#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/state_access.h"

namespace sflow {

namespace {

// Why forgetting `run` could lose track of a workflow that is live on the server, or "".
std::string MayBeLive(RunStore& store, const RunRecord& run) {
  if (IsTerminal(run.status)) return "";
  if (!run.workflow_id.empty()) {
    return "its workflow " + run.workflow_id + " may still be running on the server (status " + Name(run.status) +
           "); cancel it first ('sogni-flow cancel " + run.id + "')";
  }
  Result<std::vector<IntentRecord>> pending = store.PendingIntents(run.id);
  if (!pending.ok()) return pending.status().message();
  for (const IntentRecord& i : *pending) {
    if ((i.kind == IntentKind::kStart || i.kind == IntentKind::kReseed) && i.state != IntentState::kPending) {
      return "its " + std::string(Name(i.kind)) + " request may have reached the server without an answer; "
             "'sogni-flow resume " + run.id + "' finds out";
    }
  }
  return "";
}

}  // namespace

int RunForget(const std::vector<std::string>& args, Context& ctx) {
  bool force = false;
  std::string state_dir;
  CommandLine cl("forget RUN... [--force] [--state-dir DIR]",
                 "Removes runs from the state directory: their steps, events, intents and artifact records.\n"
                 "Files already downloaded are left where they are. A run whose workflow may still be live on\n"
                 "the server (a workflow id and no final status, or a start that may have been sent) is\n"
                 "refused unless --force: forgetting it gives up following it (its workflow goes on, and is\n"
                 "billed). A run another sogni-flow drives is always refused.");
  cl.Flag("force", "", "also forget runs whose workflow may still be live", &force);
  cl.Value("state-dir", "", "DIR", "the state directory (default: the state_dir setting, see config; ./.sogni-flow)", &state_dir);
  cl.Epilog("exit codes: 0 every run forgotten, 2 usage or unknown run, 6 a run is driven by another process,\n"
            "or may be live (without --force); the other runs given are still forgotten, 7 the state\n"
            "directory is refused (writable by others, another user's)\n\n"
            "examples:\n"
            "  sogni-flow forget r-20261123-101500-3f2a\n"
            "  sogni-flow forget r-20261123-101500-3f2a --force   # its workflow may run on, unfollowed\n");
  std::vector<std::string> runs;
  Status s = cl.Parse(args, &runs);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow forget: " << s.message() << "\n", kExitInvalid;
  if (runs.empty()) return ctx.err << "sogni-flow forget: give at least one run id\n", kExitInvalid;

  Result<std::unique_ptr<StateDir>> dir = OpenState("forget", state_dir, StateAccess::kWrite, ctx);
  if (!dir.ok()) return ctx.err << "sogni-flow forget: " << dir.status().message() << "\n", ExitCodeFor(dir.status());
  int code = kExitOk;
  auto refuse = [&](const std::string& message, int exit_code) {
    ctx.err << "sogni-flow forget: " << message << "\n";
    if (code == kExitOk || exit_code == kExitLocalState) code = exit_code;
  };
  for (const std::string& id : runs) {
    Result<RunRecord> run = (*dir)->store().GetRun(id);
    if (!run.ok()) {
      refuse(run.status().message(), ExitCodeFor(run.status()));
      continue;
    }
    // Held while the rows go, so that no process starts driving the run meanwhile.
    Result<std::vector<std::unique_ptr<RunLease>>> lease = LeaseRuns(**dir, {id}, "forget", ctx);
    if (!lease.ok()) {
      refuse(lease.status().message(), ExitCodeFor(lease.status()));
      continue;
    }
    if (std::string live = MayBeLive((*dir)->store(), *run); !live.empty()) {
      if (!force) {
        refuse("run " + id + " not forgotten: " + live + ", or give --force", kExitLocalState);
        continue;
      }
      ctx.err << "sogni-flow forget: run " << id << ": " << live << "; forgotten anyway (--force)\n";
    }
    if (Status f = (*dir)->sqlite_store().ForgetRun(id); !f.ok()) {
      refuse(f.message(), ExitCodeFor(f));
      continue;
    }
    ctx.err << "forgot run " << id << " (" << Name(run->status) << ", plan " << run->plan_path << ")"
            << (run->out_dir.empty() ? "" : "; its downloaded files in " + run->out_dir + " were left alone") << "\n";
  }
  return code;
}

}  // namespace sflow
