#include "cli/run_setup.h"

#include <cstdio>
#include <ctime>

#include "cli/command_line.h"
#include "cli/settings.h"
#include "engine/estimate.h"
#include "engine/media.h"
#include "engine/run_id.h"
#include "runner/intents.h"
#include "runner/local/spec_quote.h"
#include "runner/local/session_project_service.h"
#include "runner/media_upload.h"
#include "runner/sha256.h"

namespace sflow {

// Validates `path` (its diagnostics go to ctx.err), computes its digest and applies the cost
// gate. Errors: kInvalidPlan, kCostGate, kIOError (a media file that cannot be read).
Status Prepare(const std::string& path, const ParamOptions& params, Context& ctx, PreparedPlan* out, bool dry_run) {
  out->path = path;
  out->checked = CheckPlan(path, DefaultCatalog(), params, ctx.environ, ValidateOptions());
  CheckedPlan& c = out->checked;
  PrintDiagnostics(c.diags, ctx.err);
  if (!c.ok()) return Status::InvalidPlan(path + " is invalid");
  if (dry_run && c.plan.kind == PlanKind::kWorkflow && c.plan.execution == Execution::kLocal)
    return Status::OK();  // shown step by step by PrintLocalDryRun; a local run is not gated here
  if (c.plan.kind != PlanKind::kWorkflow)
    return Status::InvalidPlan(path + ": a template is pushed (`sogni-flow templates push`), not run");
  if (c.plan.execution == Execution::kLocal) {
    Result<LocalSpec> spec = BuildLocalSpec(c.plan, c.analysis);
    if (!spec.ok()) return Status::Error(spec.status().code(), path + ": " + spec.status().message());
    out->local = std::move(*spec);
  }
  Result<std::string> digest = PlanDigest(c.plan, c.analysis);
  if (!digest.ok()) return digest.status();
  out->digest = *digest;
  PlanEstimate estimate = EstimatePlan(c.plan, c.analysis);
  std::string param_args;
  // The command the gate suggests repeats the params, each one shell word; a secret param's
  // value is not shown (the person has it; the message may go to a log).
  for (const std::string& f : params.files) param_args += " --param-file " + CommandLine::ShellWord(f);
  for (const std::string& a : params.assignments) {
    std::string name = a.substr(0, a.find('='));
    param_args += " -p " + CommandLine::ShellWord(CommandLine::IsSecretName(name) ? name + "=(its value, not shown)" : a);
  }
  Status gate = CheckCostGate(path, c.plan, out->digest, estimate, std::time(nullptr), &out->start.max_units, param_args,
                              &out->approval);
  if (!gate.ok()) return Status::Error(Status::Code::kCostGate, gate.message());
  return Status::OK();
}

// Uploads the plan's local media, then stores the run and its start intent (nothing is sent).
// --out DIR: with one plan DIR itself; with several DIR/RUN, so that no two runs share files.
// The run's lease is taken before the run is stored, so that no other process (resume --all) can
// take it up before this one drives it; it joins `leases`.
// --no-cache is stored with a local run's spec (each step's noCache), so that `resume` keeps it.
LedgerEstimate CostOf(const PreparedPlan& p) {
  LedgerEstimate cost;
  if (p.local) {  // every step of a local run is a direct project, tool steps too: priced by its quote
    for (const SpecStep& step : p.local->steps) cost.steps[step.id].usd = step.quote_usd > 0 ? step.quote_usd : 0;
    return cost;
  }
  for (const StepEstimate& e : EstimatePlan(p.checked.plan, p.checked.analysis).steps) cost.steps[e.step_id].units = e.units;
  return cost;
}

Result<std::string> CreateRun(PreparedPlan& p, Backend& backend, StateDir& dir, std::vector<std::unique_ptr<RunLease>>* leases,
                              const std::string& out_dir, bool per_run_dir, bool no_cache, Context& ctx,
                              const BatchMark& batch) {
  RunStore& store = dir.store();
  const CheckedPlan& c = p.checked;
  const LedgerEstimate cost = CostOf(p);
  // Before anything is uploaded or leased; the store checks again as it stores the run.
  const LedgerPayer payer = LedgerPayer::Of(AccountFingerprint(backend.api_key), backend.api_url);
  if (Status fits = store.FitsCeilings(batch.batch, payer, cost.Total(), batch.ceilings); !fits.ok()) return fits;
  if (!p.approval.digest.empty()) {  // kept in the state store: which approval let this run start
    ApprovalRecord record;
    record.plan_digest = p.approval.digest;
    record.ceiling = p.approval.max_units;
    record.approved_by = p.approval.approved_by;
    record.expires_at = p.approval.expires_at * 1000;
    record.file_path = ApprovalPathFor(p.path);
    if (Status s = store.RecordApproval(record); !s.ok()) return s;
  }
  Result<StateDir::NewRun> fresh = dir.LeaseNewRun();
  if (!fresh.ok()) return fresh.status();
  const std::string run_id = fresh->run_id;
  leases->push_back(std::move(fresh->lease));
  if (p.local) {
    RunRecord run;
    run.id = run_id;
    run.plan_path = p.path;
    run.plan_name = c.plan.name;
    run.plan_digest = p.digest;
    for (const auto& [name, value] : c.analysis.params) run.params.Set(name, value);
    run.execution = Execution::kLocal;
    run.account = AccountFingerprint(backend.api_key);
    run.api_url = backend.api_url;
    run.out_dir = out_dir.empty() ? Configured(ctx, SettingKey::kOutDir).value + "/" + run_id
                  : per_run_dir   ? out_dir + "/" + run_id
                                  : out_dir;
    if (no_cache)
      for (SpecStep& step : p.local->steps) step.no_cache = true;
    run.spec = SpecToValue(*p.local);
    run.batch = batch.batch;
    run.batch_entry = batch.entry;
    run.cost = cost;
    run.ceilings = batch.ceilings;
    for (const SpecStep& step : p.local->steps)
      run.steps.push_back(StepRecord{.step_id = step.id, .tool = "project:" + step.type, .artifact_count = step.artifact_count});
    if (Status s = store.CreateRun(run); !s.ok()) return s;
    return run_id;
  }
  Result<std::vector<WireMedia>> media =
      ResolveMedia(c.plan, *backend.client, *backend.transport, "sogni-flow-" + run_id, &ctx.err);
  if (!media.ok()) return Status::Error(media.status().code(), backend.client->Redact(media.status().message()));
  p.start.media = std::move(*media);
  NewServerRun spec;
  spec.plan_path = p.path;
  spec.plan_name = c.plan.name;
  spec.plan_digest = p.digest;
  for (const auto& [name, value] : c.analysis.params) spec.params.Set(name, value);
  spec.start_body = StartBody(c.plan, c.analysis, p.start);
  spec.account = AccountFingerprint(backend.api_key);
  spec.api_url = backend.api_url;
  spec.out_dir = out_dir.empty() ? Configured(ctx, SettingKey::kOutDir).value + "/" + run_id
                 : per_run_dir   ? out_dir + "/" + run_id
                                 : out_dir;
  for (const Step& step : c.plan.steps) spec.step_ids.push_back(step.id);
  spec.batch = batch.batch;
  spec.batch_entry = batch.entry;
  spec.cost = cost;
  spec.ceilings = batch.ceilings;
  return CreateServerRun(store, spec, run_id);
}

// Quotes every step of a local plan (stored into its spec), then gates: the total over
// --max-tokens or the plan's budget.max_tokens (the lower one) is kCostGate (exit 5), a balance
// below it kPermission (exit 3), both before anything is stored or paid.
Status QuoteAndGate(PreparedPlan& p, Backend& backend, std::optional<double> max_tokens, Context& ctx,
                    SpecQuoteTotals* totals_out, bool quiet) {
  if (!quiet) ctx.err << TerminalText(p.path) << ": quoting " << p.local->steps.size() << " project step" << (p.local->steps.size() == 1 ? "" : "s")
          << "\n";
  Result<SpecQuoteTotals> totals = QuoteSpec(*backend.client, p.checked.plan.budget.token_type, &*p.local);
  if (!totals.ok()) return totals.status();
  const std::optional<double>& plan_max = p.checked.plan.budget.max_tokens;
  const bool from_plan = plan_max && (!max_tokens || *plan_max < *max_tokens);
  const std::optional<double> ceiling = from_plan ? plan_max : max_tokens;
  const std::string ceiling_name = from_plan ? "the plan's budget.max_tokens" : "--max-tokens";
  char line[200];
  for (const auto& [tt, tokens] : totals->tokens) {
    std::snprintf(line, sizeof line, "%.4f %s tokens (about %.4f USD)", tokens, tt.c_str(), totals->usd);
    if (!quiet) ctx.err << TerminalText(p.path) << ": quoted " << line << "\n";
    if (ceiling && tokens > *ceiling) {
      std::snprintf(line, sizeof line, "the quoted total %.4f %s tokens is over %s %.4f", tokens, tt.c_str(),
                    ceiling_name.c_str(), *ceiling);
      return Status::Error(Status::Code::kCostGate,
                           std::string(line) + "; nothing was sent (raise " + ceiling_name + ", or trim the plan)");
    }
    Result<double> balance = AccountBalance(*backend.client, tt);
    if (!balance.ok())
      return Status::Error(balance.status().code(), "the account balance could not be read: " + backend.client->Redact(balance.status().message()));
    if (*balance < tokens) {
      std::snprintf(line, sizeof line, "the account holds %.4f %s tokens, the plan is quoted at %.4f", *balance, tt.c_str(), tokens);
      return Status::Error(Status::Code::kPermission, std::string(line) + "; nothing was sent (top up the account first)");
    }
  }
  if (totals_out) *totals_out = *totals;
  return Status::OK();
}


}  // namespace sflow
