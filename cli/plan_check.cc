#include "cli/plan_check.h"

#include <cstdlib>
#include <iostream>

#include "api/tool_projects.h"
#include "cli/local_dry_run.h"
#include "plans/plan_loader.h"
#include "schemas/protocol_catalog.h"

namespace sflow {

const ToolCatalog& DefaultCatalog() {
  static const std::unique_ptr<ProtocolCatalog> catalog = [] {
    Result<std::unique_ptr<ProtocolCatalog>> c = ProtocolCatalog::Load();
    if (!c.ok()) {
      std::cerr << "sogni-flow: " << c.status().ToString() << "\n";
      std::abort();
    }
    return std::move(c).value();
  }();
  return *catalog;
}

CheckedPlan CheckPlan(const std::string& path, const ToolCatalog& catalog, const ParamOptions& params,
                      char** environ, const ValidateOptions& options) {
  CheckedPlan c;
  c.diags = DiagnosticList(path);
  Result<Plan> plan = LoadPlan(path, &c.diags);
  if (!plan.ok()) return c;
  c.loaded = true;
  c.plan = std::move(plan).value();

  ParamSources sources;
  sources.environment = ParamsFromEnvironment(environ);
  sources.assignments = params.assignments;
  for (const std::string& f : params.files) {
    DiagnosticList file_diags(f);
    Result<Value> values = LoadParamFile(f, &file_diags);
    c.diags.Append(file_diags);
    if (values.ok()) sources.files.push_back(ParamFile{f, std::move(values).value()});
  }
  c.analysis = ValidatePlan(&c.plan, catalog, sources, options, &c.diags);
  // A local plan's tool steps run as the direct project the SDK maps each to (api/tool_projects.h).
  CheckLocalToolSteps(c.plan, c.analysis, &c.diags);
  // And each step's request as the SDK builds it (the model's limits, the param rules): a plan
  // the API would refuse halfway, after earlier steps were paid for, is refused here.
  if (c.plan.execution == Execution::kLocal && c.plan.kind != PlanKind::kTemplate && c.diags.error_count() == 0) {
    for (const auto& [i, why] : LocalRequestProblems(c)) {
      const Step& step = c.plan.steps[i];
      const SourceLoc loc = step.is_project() && step.project->loc().known() ? step.project->loc() : step.loc;
      c.diags.Error(loc, "execution", "step '" + step.id + "': its project request cannot be made: " + why,
                    "the API refuses this request as the official SDK builds it; `sogni-flow run PLAN --dry-run` "
                    "shows every step's request");
    }
  }
  return c;
}

std::string PlanCheckJson(const std::string& path, const CheckedPlan& c) {
  Value line = Value::Object();
  line.Set("event", Value::String("plan"));
  line.Set("plan", Value::String(path));
  line.Set("valid", Value::Bool(c.ok()));
  if (c.loaded) {
    line.Set("name", Value::String(c.plan.name));
    line.Set("steps", Value::Int(static_cast<int64_t>(c.plan.steps.size())));
  }
  line.Set("errors", Value::Int(c.diags.error_count()));
  line.Set("warnings", Value::Int(c.diags.warning_count()));
  std::string diags = "[";
  bool first = true;
  for (const Diagnostic& d : c.diags.Sorted()) diags += (first ? "" : ",") + DiagnosticToJson(d), first = false;
  diags += "]";
  std::string text = line.ToJson();
  text.insert(text.size() - 1, ",\"diagnostics\":" + diags);
  return text;
}

void PrintDiagnostics(const DiagnosticList& diags, std::ostream& err) {
  for (const Diagnostic& d : diags.Sorted()) err << FormatDiagnostic(d) << "\n";
}

ParamOptions ParamsOf(const BatchRun& run) {
  ParamOptions p;
  for (const auto& [k, v] : run.params) p.assignments.push_back(k + "=" + v);
  return p;
}

BatchEnvironment::BatchEnvironment(char** environ) {
  for (char** e = environ; e && *e; ++e)
    if (std::string_view(*e).rfind("SOGNI_FLOW_PARAM_", 0) != 0) vars_.push_back(*e);
  vars_.push_back(nullptr);
}

}  // namespace sflow
