// sogni-flow reseed RUN : re-runs a finished workflow as a clone with new seeds for chosen steps.
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <random>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cli/backend.h"
#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/drive_and_report.h"
#include "cli/exit_codes.h"
#include "cli/settings.h"
#include "cli/state_access.h"
#include "engine/random.h"
#include "engine/run_id.h"
#include "runner/server/server_runner.h"
#include "runner/local/local_spec.h"
#include "runner/sha256.h"

namespace sflow {

namespace {

// A local run's reseed: a new local run of the same spec in which each named step gets its new
// seed and runs again with every step downstream of it; the other steps take their results from
// the step cache (the source run's files), so they cost nothing.
int ReseedLocal(const RunRecord& source, const std::map<std::string, std::optional<int64_t>>& named, StateDir& dir,
                const BackendOptions& backend_options, const std::string& out_dir, bool json, const std::string& state_dir,
                Context& ctx) {
  Result<LocalSpec> spec = SpecFromValue(source.spec);
  if (!spec.ok()) return ctx.err << "sogni-flow reseed: run " << source.id << ": " << spec.status().message() << "\n", kExitLocalState;
  Result<LocalSpec> reseeded = ReseedSpec(*spec, named, RandomU64());
  if (!reseeded.ok())
    return ctx.err << "sogni-flow reseed: run " << source.id << ": " << reseeded.status().message() << "\n", kExitInvalid;
  bool overridden = false;
  Result<BackendOptions> bo = BackendOptionsFor(source, backend_options, &overridden);
  if (!bo.ok()) return ctx.err << "sogni-flow reseed: " << bo.status().message() << "\n", ExitCodeFor(bo.status());
  Result<std::unique_ptr<Backend>> backend = OpenBackend(*bo, ctx, &ctx.err);
  if (!backend.ok()) return ctx.err << "sogni-flow reseed: " << backend.status().message() << "\n", ExitCodeFor(backend.status());
  // The key's fingerprint first: nothing goes to the run's stored endpoint for another key.
  if (source.account != AccountFingerprint((*backend)->api_key))
    return ctx.err << "sogni-flow reseed: run " << source.id << " belongs to another account (key fingerprint "
                   << source.account << ")\n", kExitAuth;
  if (Status b = CheckBackend(**backend); !b.ok()) return ctx.err << "sogni-flow reseed: " << b.message() << "\n", ExitCodeFor(b);
  Result<StateDir::NewRun> lease = dir.LeaseNewRun();
  if (!lease.ok()) return ctx.err << "sogni-flow reseed: " << lease.status().message() << "\n", ExitCodeFor(lease.status());
  const std::string new_id = lease->run_id;
  RunRecord run;
  run.id = new_id;
  run.plan_path = source.plan_path;
  run.plan_name = source.plan_name;
  run.plan_digest = source.plan_digest;
  run.params = source.params;
  run.params.Set("cloned_from_run", Value::String(source.id));
  run.execution = Execution::kLocal;
  run.account = source.account;
  run.api_url = (*backend)->api_url;
  run.out_dir = out_dir.empty() ? Configured(ctx, SettingKey::kOutDir).value + "/" + new_id : out_dir;
  run.spec = SpecToValue(*reseeded);
  for (const SpecStep& step : reseeded->steps)
    run.steps.push_back(StepRecord{.step_id = step.id, .tool = "project:" + step.type, .artifact_count = step.artifact_count});
  if (Status c = dir.store().CreateRun(run); !c.ok())
    return ctx.err << "sogni-flow reseed: " << c.message() << "\n", ExitCodeFor(c);
  ctx.err << "run " << new_id << " (reseed of " << source.id << ")\n";
  return DriveAndReport("reseed", ctx, dir.store(), **backend, new_id, json, StateDirHint(state_dir));
}

}  // namespace

int RunReseed(const std::vector<std::string>& args, Context& ctx) {
  bool json = false;
  BackendOptions backend_options;
  std::string state_dir, out_dir;
  std::vector<std::string> step_args;
  CommandLine cl("reseed RUN [--step ID[=SEED]]... [--out DIR] [--state-dir DIR] [--api-url URL] [--api-key-file FILE]\n"
                 "    [--json]",
                 "Runs a completed or partial_failure run again as a NEW run (a server-side clone of its\n"
                 "workflow) with new seeds for the steps named by --step: ID=SEED sets that seed, a bare ID\n"
                 "lets the server draw a random one. Every step NOT named keeps the seed it had (taken from\n"
                 "the stored run), so only what you asked for changes. Without --step every step is\n"
                 "reseeded. The reseed intent and its Idempotency-Key are committed to the state store\n"
                 "before the request; an interrupted reseed continues with 'sogni-flow resume NEWRUN',\n"
                 "which re-sends the same key (the server clones once). The new run is then followed and\n"
                 "its artifacts downloaded, as 'run' does. Its params note cloned_from_run.");
  cl.Repeated("step", "s", "ID[=SEED]", "reseed this step (with SEED, else a random seed)", &step_args);
  cl.Flag("json", "", "one JSON object per workflow event on stdout, then a summary", &json);
  cl.Value("out", "", "DIR", "where the new run's artifacts go (default OUT/NEWRUN, OUT the out_dir setting: ./sogni-out)", &out_dir);
  cl.Value("state-dir", "", "DIR", "the state directory (default: the state_dir setting, see config; ./.sogni-flow)", &state_dir);
  cl.Value("api-url", "", "URL", "the API (default: the api_url setting, see config; https://api.sogni.ai)", &backend_options.api_url);
  cl.Value("api-key-file", "", "FILE", "read the API key from FILE (mode 0600)", &backend_options.api_key_file);
  cl.Epilog("exit codes: 0 the new run completed, 1 it failed, 2 usage, unknown run or step, a run that\n"
            "is not completed/partial_failure, 3 auth, 4 unavailable (resumable), 6 local state\n\n"
            "examples:\n"
            "  sogni-flow reseed r-20261123-101500-3f2a --step keyframe=42\n"
            "  sogni-flow reseed r-20261123-101500-3f2a --step clip      # a random seed for clip only\n");
  std::vector<std::string> runs;
  Status s = cl.Parse(args, &runs);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow reseed: " << s.message() << "\n", kExitInvalid;
  if (runs.size() != 1) return ctx.err << "sogni-flow reseed: give exactly one run id\n", kExitInvalid;

  std::map<std::string, std::optional<int64_t>> named;
  for (const std::string& a : step_args) {
    size_t eq = a.find('=');
    std::string id = a.substr(0, eq);
    std::optional<int64_t> seed;
    if (eq != std::string::npos) {
      std::string v = a.substr(eq + 1);
      char* end = nullptr;
      errno = 0;
      long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end || errno || n < 0)
        return ctx.err << "sogni-flow reseed: --step " << a << ": the seed must be a non-negative integer\n", kExitInvalid;
      seed = n;
    }
    if (id.empty()) return ctx.err << "sogni-flow reseed: --step " << a << ": no step id\n", kExitInvalid;
    named[id] = seed;
  }

  Result<std::unique_ptr<StateDir>> dir = OpenState("reseed", state_dir, StateAccess::kWrite, ctx);
  if (!dir.ok()) return ctx.err << "sogni-flow reseed: " << dir.status().message() << "\n", ExitCodeFor(dir.status());
  RunStore& store = (*dir)->store();
  Result<RunRecord> source = store.GetRun(runs[0]);
  if (!source.ok()) return ctx.err << "sogni-flow reseed: " << source.status().message() << "\n", ExitCodeFor(source.status());
  if (source->status != RunStatus::kCompleted && source->status != RunStatus::kPartialFailure)
    return ctx.err << "sogni-flow reseed: run " << runs[0] << " is " << Name(source->status)
                   << "; only a completed or partial_failure run can be reseeded\n", kExitInvalid;
  if (source->execution == Execution::kLocal) return ReseedLocal(*source, named, **dir, backend_options, out_dir, json, state_dir, ctx);
  if (source->workflow_id.empty())
    return ctx.err << "sogni-flow reseed: run " << runs[0] << " has no workflow id\n", kExitInvalid;
  std::set<std::string> known;
  for (const StepRecord& st : source->steps) known.insert(st.step_id);
  for (const auto& [id, seed] : named)
    if (!known.count(id)) {
      std::vector<std::string> names(known.begin(), known.end());
      std::string list;
      for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
      return ctx.err << "sogni-flow reseed: run " << runs[0] << " has no step '" << id << "' (steps: " << list << ")\n",
             kExitInvalid;
    }
  std::map<std::string, int64_t> overrides;
  for (const StepRecord& st : source->steps) {
    auto it = named.find(st.step_id);
    if (it != named.end()) {
      if (it->second) overrides[st.step_id] = *it->second;
      continue;
    }
    if (named.empty()) continue;  // no --step: every step gets a new seed
    if (!st.seed)
      return ctx.err << "sogni-flow reseed: step '" << st.step_id << "' of run " << runs[0]
                     << " has no stored seed, so it could not keep it; name it with --step " << st.step_id
                     << " to reseed it too\n", kExitInvalid;
    overrides[st.step_id] = *st.seed;
  }

  // The new run belongs where its source does (--api-url names another endpoint).
  bool overridden = false;
  Result<BackendOptions> bo = BackendOptionsFor(*source, backend_options, &overridden);
  if (!bo.ok()) return ctx.err << "sogni-flow reseed: " << bo.status().message() << "\n", ExitCodeFor(bo.status());
  Result<std::unique_ptr<Backend>> backend = OpenBackend(*bo, ctx, &ctx.err);
  if (!backend.ok()) return ctx.err << "sogni-flow reseed: " << backend.status().message() << "\n", ExitCodeFor(backend.status());
  // The key's fingerprint first: nothing goes to the run's stored endpoint for another key.
  if (source->account != AccountFingerprint((*backend)->api_key))
    return ctx.err << "sogni-flow reseed: run " << runs[0] << " belongs to another account (key fingerprint "
                   << source->account << ")\n", kExitAuth;
  if (Status b = CheckBackend(**backend); !b.ok())
    return ctx.err << "sogni-flow reseed: " << b.message() << "\n", ExitCodeFor(b);
  // The new run is leased before it is stored: no other process can take it up first. It
  // belongs where its source does, unless --api-url named another endpoint.
  Result<StateDir::NewRun> lease = (*dir)->LeaseNewRun();
  if (!lease.ok()) return ctx.err << "sogni-flow reseed: " << lease.status().message() << "\n", ExitCodeFor(lease.status());
  const std::string new_id = lease->run_id;
  RunRecord from = *source;
  from.api_url = (*backend)->api_url;
  const std::string new_out = out_dir.empty() ? Configured(ctx, SettingKey::kOutDir).value + "/" + new_id : out_dir;
  Result<std::string> run_id = CreateReseedRun(store, from, overrides, new_out, new_id);
  if (!run_id.ok()) return ctx.err << "sogni-flow reseed: " << run_id.status().message() << "\n", ExitCodeFor(run_id.status());
  ctx.err << "run " << *run_id << " (reseed of " << runs[0] << ")\n";
  return DriveAndReport("reseed", ctx, store, **backend, *run_id, json, StateDirHint(state_dir));
}

}  // namespace sflow
