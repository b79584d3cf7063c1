// sogni-flow run PLAN : runs a server plan as one durable workflow, follows it, downloads results.
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "cli/approval.h"
#include "engine/media.h"
#include "cli/command_line.h"
#include "cli/media_upload.h"
#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/plan_check.h"
#include "cli/run_setup.h"
#include "cli/server_runner.h"
#include "cli/sha256.h"
#include "engine/estimate.h"
#include "engine/run_id.h"
#include "engine/wire.h"
#include "store/state_dir.h"

namespace sflow {

int RunRun(const std::vector<std::string>& args, Context& ctx) {
  bool json = false, dry_run = false;
  ParamOptions params;
  BackendOptions backend_options;
  std::string state_dir, out_dir;
  CommandLine cl("run PLAN [-p NAME=VALUE]... [--param-file FILE]... [--out DIR] [--state-dir DIR] [--sandbox] [--json]",
                 "Runs a server plan as one durable workflow: validates it, commits the start request and its\n"
                 "Idempotency-Key to the state store before sending it, follows the workflow's events\n"
                 "(stored with their cursor), confirms the final status and downloads every artifact to\n"
                 "--out (default ./sogni-out/RUN). An interrupted run continues with 'sogni-flow resume RUN'.\n"
                 "The API key comes from SOGNI_API_KEY or --api-key-file, never from a flag value.");
  cl.Flag("json", "", "one JSON object per workflow event on stdout, then a summary", &json);
  cl.Flag("dry-run", "", "print the exact start request body and stop: nothing is uploaded, sent or stored", &dry_run);
  cl.Repeated("param", "p", "NAME=VALUE", "set a param (the last one for a name wins)", &params.assignments);
  cl.Repeated("param-file", "", "FILE", "read params from a YAML or JSON mapping", &params.files);
  cl.Value("out", "", "DIR", "where artifacts go (default ./sogni-out/RUN)", &out_dir);
  cl.Value("state-dir", "", "DIR", "the state directory (default $SOGNI_FLOW_STATE_DIR or ./.sogni-flow)", &state_dir);
  cl.Flag("sandbox", "", "run against the local simulator, started in-process", &backend_options.sandbox);
  cl.Value("api-url", "", "URL", "the API (default $SOGNI_API_BASE_URL or https://api.sogni.ai)", &backend_options.api_url);
  cl.Value("api-key-file", "", "FILE", "read the API key from FILE (mode 0600)", &backend_options.api_key_file);
  cl.Epilog("exit codes: 0 completed, 1 failed/partial_failure/cancelled, 2 invalid plan or usage, 3 auth,\n"
            "4 unavailable (resumable), 5 cost gate, 6 local state, 7 security, 130 interrupted\n\n"
            "examples:\n"
            "  sogni-flow run plan.yaml --sandbox\n"
            "  SOGNI_API_KEY=... sogni-flow run plan.yaml -p seconds=8 --out renders/ --json\n");
  std::vector<std::string> plans;
  Status s = cl.Parse(args, &plans);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow run: " << s.message() << "\n", kExitInvalid;
  if (plans.size() != 1) return ctx.err << "sogni-flow run: give exactly one plan\n", kExitInvalid;

  CheckedPlan c = CheckPlan(plans[0], DefaultCatalog(), params, ctx.environ, ValidateOptions());
  PrintDiagnostics(c.diags, ctx.err);
  if (!c.ok()) return ctx.err << "sogni-flow run: " << plans[0] << " is invalid\n", kExitInvalid;
  if (c.plan.kind != PlanKind::kWorkflow || c.plan.execution != Execution::kServer)
    return ctx.err << "sogni-flow run: only server workflow plans can run yet\n", kExitInvalid;
  Result<std::string> digest = PlanDigest(c);
  if (!digest.ok()) return ctx.err << "sogni-flow run: " << digest.status().message() << "\n", ExitCodeFor(digest.status());
  PlanEstimate estimate = EstimatePlan(c.plan, c.analysis);
  StartOptions start;
  std::string param_args;
  for (const std::string& f : params.files) param_args += " --param-file " + f;
  for (const std::string& a : params.assignments) param_args += " -p '" + a + "'";
  ApprovalFile approval;
  Status gate = CheckCostGate(plans[0], c, *digest, estimate, std::time(nullptr), &start.max_units, param_args, &approval);
  if (!gate.ok()) return ctx.err << "sogni-flow run: " << gate.message() << "\n", kExitCostGate;
  if (dry_run) {
    // The body the API would get. A local file's URL is known only once it is uploaded, so it
    // shows as "upload://<path>"; everything else is byte for byte what `run` sends.
    for (const MediaEntry& m : c.plan.media) {
      std::string mime = m.path.empty() ? "" : CheckLocalMedia(c.plan.directory, m.path).sniff.mime;
      start.media.push_back(WireMedia{m.name, m.kind, mime, m.url.empty() ? "upload://" + m.path : m.url});
    }
    ctx.out << StartBody(c.plan, c.analysis, start).ToJson() << "\n";
    return kExitOk;
  }

  Result<std::unique_ptr<Backend>> backend = OpenBackend(backend_options, ctx.environ);
  if (!backend.ok()) return ctx.err << "sogni-flow run: " << backend.status().message() << "\n", ExitCodeFor(backend.status());
  StateDirOptions so;
  so.path = StateDirPath(state_dir, ctx.environ);
  Result<std::unique_ptr<StateDir>> dir = StateDir::Open(so);
  if (!dir.ok()) return ctx.err << "sogni-flow run: " << dir.status().message() << "\n", ExitCodeFor(dir.status());
  for (const std::string& n : (*dir)->notices()) ctx.err << "sogni-flow run: " << n << "\n";
  RunStore& store = (*dir)->store();
  if (!approval.digest.empty()) {  // kept in the state store: which approval let this run start
    ApprovalRecord record;
    record.plan_digest = approval.digest;
    record.ceiling = approval.max_units;
    record.approved_by = approval.approved_by;
    record.expires_at = approval.expires_at * 1000;
    record.file_path = ApprovalPathFor(plans[0]);
    if (Status s = store.RecordApproval(record); !s.ok())
      return ctx.err << "sogni-flow run: " << s.message() << "\n", ExitCodeFor(s);
  }
  std::string new_run_id = MakeRunId(std::time(nullptr), std::random_device()());
  Result<std::vector<WireMedia>> media =
      ResolveMedia(c.plan, *(*backend)->client, *(*backend)->transport, "sogni-flow-" + new_run_id, &ctx.err);
  if (!media.ok())
    return ctx.err << "sogni-flow run: " << (*backend)->client->Redact(media.status().message()) << "\n",
           ExitCodeFor(media.status());
  start.media = std::move(*media);
  Value body = StartBody(c.plan, c.analysis, start);
  NewServerRun spec;
  spec.plan_path = plans[0];
  spec.plan_name = c.plan.name;
  spec.plan_digest = *digest;
  for (const auto& [name, value] : c.analysis.params) spec.params.Set(name, value);
  spec.start_body = body;
  spec.account = AccountFingerprint((*backend)->api_key);
  spec.out_dir = out_dir;
  for (const Step& step : c.plan.steps) spec.step_ids.push_back(step.id);
  Result<std::string> run_id = CreateServerRun(store, spec, new_run_id);
  if (!run_id.ok()) return ctx.err << "sogni-flow run: " << run_id.status().message() << "\n", ExitCodeFor(run_id.status());
  ctx.err << "run " << *run_id << " (" << c.plan.name << ")\n";
  return DriveAndReport("run", ctx, store, **backend, *run_id, json);
}

}  // namespace sflow
