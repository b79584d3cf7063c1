// sogni-flow status [RUN] : the stored runs (read-only; takes no lock).
#include <string>
#include <vector>

#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/run_setup.h"
#include "cli/state_access.h"
#include "store/run_rows.h"

namespace sflow {

namespace {

// The run's summary; a store error (a damaged row) fails it, never shows as zero.
Result<Value> RunSummary(StateDir& dir, const RunRecord& run) {
  RunStore& store = dir.store();
  Value v = Value::Object();
  v.Set("run", Value::String(run.id));
  v.Set("plan", Value::String(Printable(run.plan_path)));  // a path's bytes may not be UTF-8
  v.Set("status", Value::String(Name(run.status)));
  // Asked for and accepted by the server, but the run's end is not stored yet.
  v.Set("cancelRequested", Value::Bool(run.cancel_requested_at > 0 && !IsTerminal(run.status)));
  Value driver = Value();
  if (Result<std::optional<ProcessIdentity>> who = dir.RunDriver(run.id); who.ok() && *who) {
    driver = Value::Object();
    driver.Set("pid", Value::Int((*who)->pid));
    driver.Set("host", Value::String((*who)->host));
    driver.Set("since", Value::String((*who)->started));
  }
  v.Set("driver", driver);
  v.Set("workflowId", Value::String(run.workflow_id));
  Result<int64_t> events = store.CountEvents(run.id);
  if (!events.ok()) return events.status();
  v.Set("events", Value::Int(*events));
  v.Set("cursor", Value::Int(run.cursor));
  Result<std::vector<ArtifactRecord>> arts = store.ListArtifacts(run.id);
  if (!arts.ok()) return arts.status();
  int64_t done = 0, all = static_cast<int64_t>(arts->size());
  for (const ArtifactRecord& a : *arts) done += a.state == ArtifactState::kDone;
  v.Set("artifacts", Value::Int(all));
  v.Set("artifactsDone", Value::Int(done));
  v.Set("outDir", Value::String(Printable(run.out_dir)));
  return v;
}

}  // namespace

int RunStatusCommand(const std::vector<std::string>& args, Context& ctx) {
  bool json = false;
  std::string state_dir;
  CommandLine cl("status [RUN] [--state-dir DIR] [--json]",
                 "Lists stored runs (newest first) or one run: status, workflow id, events stored,\n"
                 "artifacts downloaded, whether a cancel was requested and which process drives the run now.\n"
                 "Reads the state store only: no lock, no network; works in a read-only state directory.");
  cl.Flag("json", "", "one JSON object per run on stdout", &json);
  cl.Value("state-dir", "", "DIR", "the state directory (default $SOGNI_FLOW_STATE_DIR or ./.sogni-flow)", &state_dir);
  std::vector<std::string> runs;
  Status s = cl.Parse(args, &runs);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow status: " << s.message() << "\n", kExitInvalid;
  if (runs.size() > 1) return ctx.err << "sogni-flow status: give at most one run id\n", kExitInvalid;
  Result<std::unique_ptr<StateDir>> dir = OpenState("status", state_dir, StateAccess::kRead, ctx);
  if (!dir.ok()) {
    if (dir.status().code() == Status::Code::kNotFound && runs.empty())
      return ctx.err << "no runs yet in " << StateDirPath(state_dir, ctx.environ) << "\n", kExitOk;
    return ctx.err << "sogni-flow status: " << dir.status().message() << "\n", ExitCodeFor(dir.status());
  }
  RunStore& store = (*dir)->store();
  std::vector<RunRecord> list;
  if (!runs.empty()) {
    Result<RunRecord> r = store.GetRun(runs[0]);
    if (!r.ok()) return ctx.err << "sogni-flow status: " << r.status().message() << "\n", ExitCodeFor(r.status());
    list.push_back(std::move(*r));
  } else {
    Result<std::vector<RunRecord>> all = store.ListRuns({});
    if (!all.ok()) return ctx.err << "sogni-flow status: " << all.status().message() << "\n", ExitCodeFor(all.status());
    list = std::move(*all);
  }
  for (const RunRecord& run : list) {
    Result<Value> summary = RunSummary(**dir, run);
    if (!summary.ok()) return ctx.err << "sogni-flow status: " << summary.status().message() << "\n", ExitCodeFor(summary.status());
    const Value& v = *summary;
    if (json) {
      ctx.out << v.ToJson() << "\n";
    } else {
      const Value* driver = v.Find("driver");
      ctx.out << run.id << "  " << Name(run.status) << (v.Find("cancelRequested")->as_bool() ? " (cancel requested)" : "")
              << "  " << (run.workflow_id.empty() ? "-" : run.workflow_id)
              << "  events " << v.Find("events")->as_int() << "  artifacts " << v.Find("artifactsDone")->as_int()
              << "/" << v.Find("artifacts")->as_int() << "  " << run.plan_path;
      if (driver->is_object())
        ctx.out << "  (driven by pid " << driver->Find("pid")->as_int() << " on host " << driver->Find("host")->as_string() << ")";
      ctx.out << "\n";
    }
  }
  return kExitOk;
}

}  // namespace sflow
