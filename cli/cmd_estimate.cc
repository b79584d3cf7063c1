// sogni-flow estimate PLAN : capacity units per step and in total, against the plan's budget.
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/plan_check.h"
#include "engine/estimate.h"

namespace sflow {

namespace {

std::string Num(double d) { return Value::Double(d).ToJson(); }

// Prints rows as left-aligned columns (right-aligned where right[i]), two spaces apart.
void PrintColumns(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& right,
                  std::ostream& out) {
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      std::string pad(width[i] - r[i].size(), ' ');
      bool last = i + 1 == r.size();
      line += right[i] ? pad + r[i] : r[i] + (last ? "" : pad);
      if (!last) line += "  ";
    }
    out << line << "\n";
  }
}

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

}  // namespace

int RunEstimate(const std::vector<std::string>& args, Context& ctx) {
  bool json = false;
  ParamOptions params;
  CommandLine cl("estimate PLAN... [-p NAME=VALUE]... [--param-file FILE]... [--json]",
                 "Estimates what a plan costs, offline, in capacity units: each step's cost class times its\n"
                 "variations (and seconds, for video), the total, and the comparison with budget.max_units.\n"
                 "Project steps (local execution) are priced by the network when they run. The plan is\n"
                 "validated first, with every param resolved. See docs/cost-model.md for the weights.");
  cl.Flag("json", "", "one JSON object per plan on stdout", &json);
  cl.Repeated("param", "p", "NAME=VALUE", "set a param (the last one for a name wins)", &params.assignments);
  cl.Repeated("param-file", "", "FILE", "read params from a YAML or JSON mapping", &params.files);
  cl.Epilog("exit codes: 0 estimated (and within budget), 2 invalid plan or usage,\n"
            "            5 the estimate is over budget.max_units\n\n"
            "examples:\n"
            "  sogni-flow estimate samples/launch-teaser.yaml\n"
            "  sogni-flow estimate samples/launch-teaser.yaml -p seconds=8 --json   # exit 5: over budget.max_units\n");
  std::vector<std::string> plans;
  Status s = cl.Parse(args, &plans);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow estimate: " << s.message() << "\n", kExitInvalid;
  if (plans.empty()) return ctx.err << "sogni-flow estimate: no plan given\n" << cl.Help(), kExitInvalid;

  int exit = kExitOk;
  ValidateOptions options;
  // With several plans, a closing summary: one line per plan.
  std::vector<std::vector<std::string>> summary = {{"PLAN", "EXECUTION", "STEPS", "UNITS", "QUOTES", "BUDGET", "VERDICT"}};
  for (size_t i = 0; i < plans.size(); ++i) {
    CheckedPlan c = CheckPlan(plans[i], DefaultCatalog(), params, ctx.environ, options);
    PrintDiagnostics(c.diags, ctx.err);
    if (!c.ok()) {
      ctx.err << plans[i] << ": invalid; nothing estimated\n";
      if (json) ctx.out << PlanCheckJson(plans[i], c) << "\n";
      exit = kExitInvalid;
      summary.push_back({plans[i], "-", "-", "-", "-", "-", "invalid"});
      continue;
    }
    PlanEstimate est = EstimatePlan(c.plan, c.analysis);
    if (json) {
      ctx.out << EstimateJson(c, est).ToJson() << "\n";
    } else {
      if (i) ctx.out << "\n";
      PrintTable(c, est, ctx.out);
    }
    const Plan& pl = c.plan;
    summary.push_back({plans[i],
                       pl.kind == PlanKind::kTemplate ? "template" : pl.execution == Execution::kServer ? "server" : "local",
                       std::to_string(pl.steps.size()), Num(est.total_units), std::to_string(est.quotes_needed),
                       est.max_units ? Num(*est.max_units) : "-",
                       est.over_budget() ? "over budget" : pl.budget.approval_required ? "ok, needs approval" : "ok"});
    if (est.over_budget()) {
      ctx.err << plans[i] << ": estimate " << Num(est.total_units) << " is over budget.max_units "
              << Num(*est.max_units) << "\n";
      if (exit == kExitOk) exit = kExitCostGate;
    }
  }
  if (plans.size() > 1 && !json) {
    ctx.out << "\nsummary\n";
    PrintColumns(summary, {false, false, true, true, true, true, false}, ctx.out);
  }
  return exit;
}

}  // namespace sflow
