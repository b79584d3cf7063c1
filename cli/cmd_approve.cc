// sogni-flow approve PLAN --max-units N : writes PLAN.approval.json (the cost gate of `run`).
// sogni-flow approve --run RUN          : confirms the cost of a run the server paused for it.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <sstream>
#include <string>
#include <vector>

#include "cli/backend.h"
#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/drive_and_report.h"
#include "cli/exit_codes.h"
#include "cli/plan_check.h"
#include "cli/state_access.h"
#include "engine/estimate.h"
#include "engine/params.h"
#include "runner/approval.h"
#include "runner/server/server_runner.h"
#include "runner/sha256.h"

#ifndef SFLOW_VERSION
#define SFLOW_VERSION "0.0.0"
#endif

namespace sflow {

namespace {

// Writes `text` to `path` through a temp file and a rename; without `force` an existing file is
// never replaced (link() fails with EEXIST).
Status WriteApproval(const std::string& path, const std::string& text, bool force) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("cannot write " + tmp + ": " + std::strerror(errno));
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    return Status::IOError("cannot write " + tmp);
  }
  int rc = force ? ::rename(tmp.c_str(), path.c_str()) : ::link(tmp.c_str(), path.c_str());
  int err = errno;
  if (!force || rc != 0) ::unlink(tmp.c_str());
  if (rc != 0 && err == EEXIST)
    return Status::Error(Status::Code::kConflict, path + " exists; review it, then replace it with --force");
  if (rc != 0) return Status::IOError("cannot write " + path + ": " + std::strerror(err));
  return Status::OK();
}

int ApproveRun(const std::string& run_id, const std::string& state_dir, const BackendOptions& backend_options,
               bool json, Context& ctx) {
  auto fail = [&](const Status& s) { return ctx.err << "sogni-flow approve: " << s.message() << "\n", ExitCodeFor(s); };
  Result<std::unique_ptr<StateDir>> dir = OpenState("approve", state_dir, StateAccess::kWrite, ctx);
  if (!dir.ok()) return fail(dir.status());
  RunStore& store = (*dir)->store();
  // Confirming the cost and following the run is driving it: one process at a time.
  Result<std::vector<std::unique_ptr<RunLease>>> lease = LeaseRuns(**dir, {run_id}, "approve", ctx);
  if (!lease.ok()) return fail(lease.status());
  Result<RunRecord> run = store.GetRun(run_id);
  if (!run.ok()) return fail(run.status());
  bool overridden = false;
  Result<BackendOptions> bo = BackendOptionsFor(*run, backend_options, &overridden);
  if (!bo.ok()) return fail(bo.status());
  Result<std::unique_ptr<Backend>> backend = OpenBackend(*bo, ctx, &ctx.err);
  if (!backend.ok()) return fail(backend.status());
  if (run->account != AccountFingerprint((*backend)->api_key))
    return ctx.err << "sogni-flow approve: run " << run_id << " belongs to another account (key fingerprint "
                   << run->account << ")\n", kExitAuth;
  // One protocol with start and reseed (runner/intents.h): the confirmation is committed with its
  // key before it is sent; one whose answer was never stored is re-sent as stored.
  Result<WorkflowReply> reply = ConfirmCost(store, *(*backend)->client, *run);
  if (!reply.ok()) {
    const Status& s = reply.status();
    ctx.err << "sogni-flow approve: " << (*backend)->client->Redact(s.message()) << "\n";
    if (ExitCodeFor(s) == kExitUnavailable)
      ctx.err << "try again: sogni-flow approve --run " << run_id << StateDirHint(state_dir) << "\n";
    return ExitCodeFor(s);
  }
  ctx.err << run_id << ": cost confirmed; following the run\n";
  return DriveAndReport("approve", ctx, store, **backend, run_id, json, StateDirHint(state_dir));
}

}  // namespace

int RunApprove(const std::vector<std::string>& args, Context& ctx) {
  bool json = false, force = false;
  ParamOptions params;
  BackendOptions backend_options;
  std::string max_units_text, by, expires = "30d", run_id, state_dir;
  CommandLine cl("approve PLAN --max-units N [--by NAME] [--expires D] [-p NAME=VALUE]... [--param-file FILE]... [--force]\n"
                 "       approve --run RUN [--state-dir DIR] [--sandbox | --api-url URL] [--api-key-file FILE] [--json]",
                 "Approves the cost of a plan: validates and estimates it with its params, refuses (exit 5) when\n"
                 "the estimate is above --max-units, else writes NAME.approval.json beside NAME.yaml with the\n"
                 "digest of the resolved plan and params, the estimate, the ceiling, who, when and until when.\n"
                 "Review and commit that file; `run` of a plan with budget.approval: required needs it, sends\n"
                 "its ceiling as max_estimated_capacity_units, and refuses once the plan or params change.\n"
                 "With --run, confirms the cost of a stored run the server paused for cost approval\n"
                 "(POST .../confirm-cost, its Idempotency-Key committed first), then follows it to the end.");
  cl.Value("max-units", "", "N", "the ceiling in capacity units", &max_units_text);
  cl.Value("by", "", "NAME", "who approves (default $USER)", &by);
  cl.Value("expires", "", "D", "how long the approval holds: 30d, 12h, 90m (default 30d)", &expires);
  cl.Repeated("param", "p", "NAME=VALUE", "set a param (the last one for a name wins)", &params.assignments);
  cl.Repeated("param-file", "", "FILE", "read params from a YAML or JSON mapping", &params.files);
  cl.Flag("force", "", "replace an existing approval file", &force);
  cl.Value("run", "", "RUN", "confirm the cost of this stored run instead", &run_id);
  cl.Flag("json", "", "with --run: one JSON object per workflow event on stdout, then a summary", &json);
  cl.Value("state-dir", "", "DIR", "the state directory (default: the state_dir setting, see config; ./.sogni-flow)", &state_dir);
  cl.Flag("sandbox", "", "use a fresh in-process simulator", &backend_options.sandbox);
  cl.Value("api-url", "", "URL", "the API (default: the api_url setting, see config; https://api.sogni.ai)", &backend_options.api_url);
  cl.Value("api-key-file", "", "FILE", "read the API key from FILE (mode 0600)", &backend_options.api_key_file);
  cl.Epilog("exit codes: 0 approved (or the run completed), 2 invalid plan or usage, 5 estimate over the\n"
            "ceiling (or the run awaits cost approval again), others as for run\n\n"
            "examples:\n"
            "  sogni-flow approve samples/launch-teaser.yaml --max-units 45\n"
            "  sogni-flow approve --run r-20261123-174000-1a2b\n");
  std::vector<std::string> plans;
  Status s = cl.Parse(args, &plans);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow approve: " << s.message() << "\n", kExitInvalid;
  if (!run_id.empty()) {
    if (!plans.empty()) return ctx.err << "sogni-flow approve: give a plan or --run, not both\n", kExitInvalid;
    return ApproveRun(run_id, state_dir, backend_options, json, ctx);
  }
  if (plans.size() != 1) return ctx.err << "sogni-flow approve: give exactly one plan (or --run RUN)\n", kExitInvalid;
  if (max_units_text.empty())
    return ctx.err << "sogni-flow approve: --max-units N is required (a positive number of capacity units)\n", kExitInvalid;
  std::optional<double> max_units = ParseMaxUnits(max_units_text);
  if (!max_units)
    return ctx.err << "sogni-flow approve: --max-units takes a finite number of capacity units above 0, like 45 or 12.5 (got '"
                   << CommandLine::Shown(max_units_text) << "')\n",
           kExitInvalid;
  double ceiling = *max_units;
  std::optional<int64_t> duration = ParseDuration(expires);
  if (!duration) return ctx.err << "sogni-flow approve: --expires takes a duration like 30d, 12h or 90m\n", kExitInvalid;
  if (by.empty()) by = EnvValue(ctx.environ, "USER");
  if (by.empty()) by = "unknown";

  CheckedPlan c = CheckPlan(plans[0], DefaultCatalog(), params, ctx.environ, ValidateOptions());
  PrintDiagnostics(c.diags, ctx.err);
  if (!c.ok()) return ctx.err << "sogni-flow approve: " << plans[0] << " is invalid\n", kExitInvalid;
  Result<std::string> digest = PlanDigest(c.plan, c.analysis);
  if (!digest.ok()) return ctx.err << "sogni-flow approve: " << digest.status().message() << "\n", ExitCodeFor(digest.status());
  PlanEstimate estimate = EstimatePlan(c.plan, c.analysis);
  // The gate `run` applies: an approval that run would refuse is never written.
  if (Status gate = CheckUnits(plans[0], c.plan, estimate, ceiling, "--max-units"); !gate.ok())
    return ctx.err << "sogni-flow approve: " << gate.message() << "; nothing written\n", ExitCodeFor(gate);
  ApprovalFile a;
  a.plan_path = plans[0];
  a.digest = *digest;
  // The file is meant for review and git: a secret param's value is not in it (the digest still
  // binds it, as it binds every resolved argument).
  for (const auto& [name, value] : c.analysis.params)
    a.params.Set(name, NameSaysSecret(name) ? Value::String("(not recorded: the name says it is secret)") : value);
  a.estimate_units = estimate.total_units;
  a.max_units = ceiling;
  a.approved_by = by;
  a.approved_at = std::time(nullptr);
  a.expires_at = a.approved_at + *duration;
  a.version = SFLOW_VERSION;
  std::string path = ApprovalPathFor(plans[0]);
  if (Status w = WriteApproval(path, ApprovalJson(a), force); !w.ok())
    return ctx.err << "sogni-flow approve: " << w.message() << "\n", w.code() == Status::Code::kConflict ? kExitInvalid : ExitCodeFor(w);
  ctx.err << "approved " << plans[0] << ": estimate " << FormatUnits(estimate.total_units) << " units, ceiling "
          << FormatUnits(ceiling)
          << ", by " << by << ", until " << IsoTime(a.expires_at) << "\n";
  ctx.out << path << "\n";
  return kExitOk;
}

}  // namespace sflow
