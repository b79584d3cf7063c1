// sogni-flow estimate PLAN : capacity units per step and in total, against the plan's budget.
#include <cstdio>
#include <iomanip>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli/backend.h"
#include "cli/columns.h"
#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/plan_check.h"
#include "plans/batch_loader.h"
#include "engine/estimate.h"
#include "runner/local/local_spec.h"
#include "runner/local/spec_quote.h"

namespace sflow {

namespace {

std::string Num(double d) { return Value::Double(d).ToJson(); }

void PrintTable(const CheckedPlan& c, const PlanEstimate& est, std::ostream& out) {
  const Plan& plan = c.plan;
  out << "plan " << plan.name << " (" << plan.path << "): "
      << (plan.kind == PlanKind::kTemplate ? "template" : plan.execution == Execution::kServer ? "server" : "local")
      << " execution, " << plan.steps.size() << (plan.steps.size() == 1 ? " step" : " steps") << "\n\n";
  std::vector<std::vector<std::string>> rows = {{"STEP", "TOOL", "COST CLASS", "UNIT", "QTY", "UNITS", "BASIS"}};
  for (const StepEstimate& e : est.steps)
    rows.push_back({e.step_id, e.tool, e.needs_quote ? "-" : e.cost_class, e.unit,
                    e.needs_quote ? "-" : Num(e.quantity), e.needs_quote ? "quote" : Num(e.units), e.basis});
  PrintColumns(rows, {false, false, false, false, true, true, false}, out);
  out << "\ntotal: " << Num(est.total_units) << " capacity units";
  if (est.quotes_needed) out << " + " << est.quotes_needed << " project step(s) priced at run time";
  out << "\n";
  if (est.max_units) {
    out << "budget: max_units " << Num(*est.max_units) << " ("
        << (est.over_budget() ? "over by " + Num(est.total_units - *est.max_units) : "within budget") << ")";
    if (plan.budget.approval_required) out << "; approval required before run";
    out << "\n";
  }
}

Value EstimateJson(const CheckedPlan& c, const PlanEstimate& est) {
  Value v = Value::Object();
  v.Set("event", Value::String("estimate"));
  v.Set("plan", Value::String(c.plan.path));
  v.Set("name", Value::String(c.plan.name));
  Value steps = Value::Array();
  for (const StepEstimate& e : est.steps) {
    Value s = Value::Object();
    s.Set("step", Value::String(e.step_id));
    s.Set("tool", Value::String(e.tool));
    if (e.needs_quote) {
      s.Set("needsQuote", Value::Bool(true));
    } else {
      s.Set("costClass", Value::String(e.cost_class));
      s.Set("unit", Value::String(e.unit));
      s.Set("weight", Value::Double(e.weight));
      s.Set("quantity", Value::Double(e.quantity));
      s.Set("units", Value::Double(e.units));
    }
    s.Set("basis", Value::String(e.basis));
    steps.Append(std::move(s));
  }
  v.Set("steps", std::move(steps));
  v.Set("totalUnits", Value::Double(est.total_units));
  v.Set("quotesNeeded", Value::Int(est.quotes_needed));
  if (est.max_units) {
    v.Set("maxUnits", Value::Double(*est.max_units));
    v.Set("overBudget", Value::Bool(est.over_budget()));
  }
  v.Set("approvalRequired", Value::Bool(c.plan.budget.approval_required));
  return v;
}

// Tokens as a person reads them: four decimals ("0.1600"), enough for the smallest quotes.
std::string Tokens(double d) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.4f", d);
  return buf;
}

// A local plan priced by the estimate routes: each step's quote, the totals by token type.
void PrintQuotedTable(const CheckedPlan& c, const LocalSpec& spec, const SpecQuoteTotals& totals, std::ostream& out) {
  out << "plan " << c.plan.name << " (" << c.plan.path << "): local execution, " << spec.steps.size()
      << (spec.steps.size() == 1 ? " step" : " steps") << ", quoted by the network\n\n";
  std::vector<std::vector<std::string>> rows = {{"STEP", "TYPE", "MODEL", "TOKENS", "USD"}};
  for (const SpecStep& s : spec.steps) {
    const Value* model = s.params.Find("modelId");
    rows.push_back({s.id, s.type, model && model->is_string() ? model->as_string() : "-",
                    Tokens(s.quote_tokens) + " " + s.token_type, "$" + Tokens(s.quote_usd)});
  }
  PrintColumns(rows, {false, false, false, true, true}, out);
  out << "\ntotal: ";
  bool first = true;
  for (const auto& [tt, tokens] : totals.tokens) out << (first ? "" : " + ") << Tokens(tokens) << " " << tt, first = false;
  out << " tokens (about " << Tokens(totals.usd) << " USD)\n";
  if (const std::optional<double>& max = c.plan.budget.max_tokens) {
    std::string over;
    for (const auto& [tt, tokens] : totals.tokens)
      if (tokens > *max) over += (over.empty() ? "" : ", ") + Tokens(tokens - *max) + " " + tt;
    out << "budget: max_tokens " << Num(*max) << " (" << (over.empty() ? "within budget" : "over by " + over) << ")\n";
  }
}

// The quoted total of some token type is over the plan's budget.max_tokens.
bool OverMaxTokens(const CheckedPlan& c, const SpecQuoteTotals& totals) {
  const std::optional<double>& max = c.plan.budget.max_tokens;
  for (const auto& [tt, tokens] : totals.tokens)
    if (max && tokens > *max) return true;
  return false;
}

void AddQuotes(const LocalSpec& spec, const SpecQuoteTotals& totals, Value* v) {
  Value steps = Value::Array();
  for (const SpecStep& s : spec.steps) {
    Value step = Value::Object();
    step.Set("step", Value::String(s.id));
    step.Set("type", Value::String(s.type));
    const Value* model = s.params.Find("modelId");
    step.Set("modelId", model ? *model : Value());
    step.Set("tokenType", Value::String(s.token_type));
    step.Set("quoteTokens", Value::Double(s.quote_tokens));
    step.Set("quoteUsd", Value::Double(s.quote_usd));
    steps.Append(std::move(step));
  }
  v->Set("steps", std::move(steps));
  Value total = Value::Object();
  for (const auto& [tt, tokens] : totals.tokens) total.Set(tt, Value::Double(tokens));
  v->Set("totalTokens", std::move(total));
  v->Set("totalUsd", Value::Double(totals.usd));
  v->Set("quoted", Value::Bool(true));
}

void AddMaxTokens(const CheckedPlan& c, bool over, Value* v) {
  if (!c.plan.budget.max_tokens) return;
  v->Set("maxTokens", Value::Double(*c.plan.budget.max_tokens));
  v->Set("overBudget", Value::Bool(over));
}

}  // namespace

int RunEstimate(const std::vector<std::string>& args, Context& ctx) {
  bool json = false, offline = false;
  ParamOptions params;
  BackendOptions backend_options;
  backend_options.key_optional = true;
  CommandLine cl("estimate PLAN... [-p NAME=VALUE]... [--param-file FILE]... [--offline] [--sandbox | --api-url URL]\n"
                 "    [--api-key-file FILE] [--json]",
                 "Estimates what a plan costs. A server plan, offline, in capacity units: each step's cost\n"
                 "class times its variations (and seconds, for video), the total, and the comparison with\n"
                 "budget.max_units. A local plan (execution: local) is quoted by the network: the estimate\n"
                 "route of each project step (the same quote `run` gates on), in tokens and USD per step and\n"
                 "in total; nothing is paid, and no API key is needed. The plan is validated first, with\n"
                 "every param resolved. See docs/cost-model.md for the weights.");
  cl.Flag("json", "", "one JSON object per plan on stdout", &json);
  cl.Flag("offline", "", "local plans: no network; project steps show as priced at run time", &offline);
  cl.Flag("sandbox", "", "quote against the local simulator, started in-process", &backend_options.sandbox);
  cl.Value("api-url", "", "URL", "the API (default: the api_url setting, see config; https://api.sogni.ai)", &backend_options.api_url);
  cl.Value("api-key-file", "", "FILE", "read the API key from FILE (mode 0600); the quotes need none", &backend_options.api_key_file);
  cl.Repeated("param", "p", "NAME=VALUE", "set a param (the last one for a name wins)", &params.assignments);
  cl.Repeated("param-file", "", "FILE", "read params from a YAML or JSON mapping", &params.files);
  cl.Epilog("exit codes: 0 estimated (and within budget), 2 invalid plan or usage, 4 the estimate routes\n"
            "            are unavailable (try --offline), 5 the estimate is over budget.max_units (or the\n"
            "            quoted total over budget.max_tokens), 7 security\n\n"
            "examples:\n"
            "  sogni-flow estimate samples/launch-teaser.yaml\n"
            "  sogni-flow estimate samples/launch-teaser.yaml -p seconds=8 --json   # exit 5: over budget.max_units\n"
            "  sogni-flow estimate samples/local-trailer.yaml                      # tokens and USD per step\n"
            "  sogni-flow estimate samples/local-trailer.yaml --offline\n");
  std::vector<std::string> plans;
  Status s = cl.Parse(args, &plans);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow estimate: " << s.message() << "\n", kExitInvalid;
  if (plans.empty()) return ctx.err << "sogni-flow estimate: no plan given\n" << cl.Help(), kExitInvalid;
  // What is estimated: each plan with the command line's params, and each run of a batch file
  // (its plan with the run's params, labelled FILE#RUN; -p and --param-file do not apply to it).
  struct Item {
    std::string label, path;
    ParamOptions params;
    bool batch = false;
  };
  std::vector<Item> items;
  BatchEnvironment batch_environment(ctx.environ);
  for (const std::string& p : plans) {
    if (!LooksLikeBatchFile(p)) {
      items.push_back({p, p, params, false});
      continue;
    }
    DiagnosticList diags;
    Result<Batch> batch = LoadBatch(p, &diags);
    PrintDiagnostics(diags, ctx.err);
    if (!batch.ok()) return ctx.err << "sogni-flow estimate: " << p << " is invalid; nothing estimated\n", kExitInvalid;
    for (const BatchEntry& e : batch->entries)
      for (const BatchRun& r : e.runs) items.push_back({p + "#" + TerminalText(r.name), e.plan_path, ParamsOf(r), true});
  }

  int exit = kExitOk;
  ValidateOptions options;
  std::unique_ptr<Backend> backend;  // opened for the first local plan quoted
  // With several plans, a closing summary: one line per plan.
  std::vector<std::vector<std::string>> summary = {{"PLAN", "EXECUTION", "STEPS", "UNITS", "QUOTES", "BUDGET", "VERDICT"}};
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string& label = items[i].label;
    CheckedPlan c = CheckPlan(items[i].path, DefaultCatalog(), items[i].params,
                              items[i].batch ? batch_environment.get() : ctx.environ, options);
    PrintDiagnostics(c.diags, ctx.err);
    if (!c.ok()) {
      ctx.err << label << ": invalid; nothing estimated\n";
      if (json) ctx.out << PlanCheckJson(label, c) << "\n";
      exit = kExitInvalid;
      summary.push_back({label, "-", "-", "-", "-", "-", "invalid"});
      continue;
    }
    PlanEstimate est = EstimatePlan(c.plan, c.analysis);
    if (c.plan.kind == PlanKind::kWorkflow && c.plan.execution == Execution::kLocal && !offline) {
      // Quoted by the estimate routes; the backend is opened once, for the first such plan.
      Status q = Status::OK();
      Result<LocalSpec> spec = BuildLocalSpec(c.plan, c.analysis);
      if (!spec.ok()) q = spec.status();
      if (q.ok() && !backend) {
        Result<std::unique_ptr<Backend>> b = OpenBackend(backend_options, ctx, &ctx.err);
        if (b.ok()) backend = std::move(*b);
        else q = b.status();
      }
      Result<SpecQuoteTotals> totals = Status::Internal("not quoted");  // set below when q is ok
      if (q.ok()) totals = QuoteSpec(*backend->client, c.plan.budget.token_type, &*spec);
      if (q.ok() && !totals.ok()) q = totals.status();
      if (!q.ok()) {
        ctx.err << label << ": not quoted: " << q.message() << (q.code() == Status::Code::kUnavailable ? " (--offline estimates without the network)" : "")
                << "\n";
        if (exit == kExitOk || exit == kExitCostGate) exit = ExitCodeFor(q);
        summary.push_back({label, "local", std::to_string(c.plan.steps.size()), "-", "-", "-", "not quoted"});
        continue;
      }
      const bool over = OverMaxTokens(c, *totals);
      if (json) {
        Value v = EstimateJson(c, est);
        AddQuotes(*spec, *totals, &v);
        AddMaxTokens(c, over, &v);
        ctx.out << v.ToJson() << "\n";
      } else {
        if (i) ctx.out << "\n";
        PrintQuotedTable(c, *spec, *totals, ctx.out);
      }
      std::string tokens;
      for (const auto& [tt, n] : totals->tokens) tokens += (tokens.empty() ? "" : " + ") + Tokens(n) + " " + tt;
      const std::optional<double>& max = c.plan.budget.max_tokens;
      summary.push_back({label, "local", std::to_string(c.plan.steps.size()), tokens, "quoted",
                         max ? Num(*max) + " tokens" : "-", over ? "over budget" : "ok"});
      if (over) {
        ctx.err << label << ": the quoted total " << tokens << " tokens is over budget.max_tokens " << Num(*max) << "\n";
        if (exit == kExitOk) exit = kExitCostGate;
      }
      continue;
    }
    if (json) {
      ctx.out << EstimateJson(c, est).ToJson() << "\n";
    } else {
      if (i) ctx.out << "\n";
      PrintTable(c, est, ctx.out);
    }
    const Plan& pl = c.plan;
    summary.push_back({label,
                       pl.kind == PlanKind::kTemplate ? "template" : pl.execution == Execution::kServer ? "server" : "local",
                       std::to_string(pl.steps.size()), Num(est.total_units), std::to_string(est.quotes_needed),
                       est.max_units ? Num(*est.max_units) : "-",
                       est.over_budget() ? "over budget" : pl.budget.approval_required ? "ok, needs approval" : "ok"});
    if (est.over_budget()) {
      ctx.err << label << ": estimate " << Num(est.total_units) << " is over budget.max_units "
              << Num(*est.max_units) << "\n";
      if (exit == kExitOk) exit = kExitCostGate;
    }
  }
  if (items.size() > 1 && !json) {
    ctx.out << "\nsummary\n";
    PrintColumns(summary, {false, false, true, true, true, true, false}, ctx.out);
  }
  return exit;
}

}  // namespace sflow
