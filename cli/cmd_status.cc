// sogni-flow status [RUN] : the stored runs (read-only; takes no lock).
#include <string>
#include <vector>

#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/run_setup.h"
#include "store/state_dir.h"

namespace sflow {

namespace {

Value RunSummary(RunStore& store, const RunRecord& run) {
  Value v = Value::Object();
  v.Set("run", Value::String(run.id));
  v.Set("plan", Value::String(run.plan_path));
  v.Set("status", Value::String(Name(run.status)));
  v.Set("workflowId", Value::String(run.workflow_id));
  Result<int64_t> events = store.CountEvents(run.id);
  v.Set("events", Value::Int(events.ok() ? *events : 0));
  v.Set("cursor", Value::Int(run.cursor));
  int64_t done = 0, all = 0;
  if (Result<std::vector<ArtifactRecord>> arts = store.ListArtifacts(run.id); arts.ok()) {
    all = static_cast<int64_t>(arts->size());
    for (const ArtifactRecord& a : *arts) done += a.state == ArtifactState::kDone;
  }
  v.Set("artifacts", Value::Int(all));
  v.Set("artifactsDone", Value::Int(done));
  v.Set("outDir", Value::String(run.out_dir));
  return v;
}

}  // namespace

int RunStatusCommand(const std::vector<std::string>& args, Context& ctx) {
  bool json = false;
  std::string state_dir;
  CommandLine cl("status [RUN] [--state-dir DIR] [--json]",
                 "Lists stored runs (newest first) or one run: status, workflow id, events stored,\n"
                 "artifacts downloaded. Reads the state store only: no lock, no network.");
  cl.Flag("json", "", "one JSON object per run on stdout", &json);
  cl.Value("state-dir", "", "DIR", "the state directory (default $SOGNI_FLOW_STATE_DIR or ./.sogni-flow)", &state_dir);
  std::vector<std::string> runs;
  Status s = cl.Parse(args, &runs);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow status: " << s.message() << "\n", kExitInvalid;
  if (runs.size() > 1) return ctx.err << "sogni-flow status: give at most one run id\n", kExitInvalid;
  StateDirOptions so;
  so.path = StateDirPath(state_dir, ctx.environ);
  so.read_only = true;
  Result<std::unique_ptr<StateDir>> dir = StateDir::Open(so);
  if (!dir.ok()) {
    if (dir.status().code() == Status::Code::kNotFound && runs.empty())
      return ctx.err << "no runs yet in " << so.path << "\n", kExitOk;
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
    Value v = RunSummary(store, run);
    if (json) {
      ctx.out << v.ToJson() << "\n";
    } else {
      ctx.out << run.id << "  " << Name(run.status) << "  " << (run.workflow_id.empty() ? "-" : run.workflow_id)
              << "  events " << v.Find("events")->as_int() << "  artifacts " << v.Find("artifactsDone")->as_int()
              << "/" << v.Find("artifacts")->as_int() << "  " << run.plan_path << "\n";
    }
  }
  return kExitOk;
}

}  // namespace sflow
