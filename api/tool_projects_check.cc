// CheckLocalToolSteps (api/tool_projects.h): what `validate` says of a local plan's tool steps.
#include "api/tool_projects.h"

namespace sflow {

void CheckLocalToolSteps(const Plan& plan, const PlanAnalysis& analysis, DiagnosticList* diags) {
  if (plan.execution != Execution::kLocal || plan.kind == PlanKind::kTemplate) return;
  for (size_t i = 0; i < plan.steps.size() && i < analysis.steps.size(); ++i) {
    const Step& step = plan.steps[i];
    const ResolvedStep& r = analysis.steps[i];
    if (step.is_project() || !r.tool) continue;  // an unknown tool has its own error
    const std::string where = "step '" + step.id + "': ";
    if (!HasDirectProject(step.tool_name)) {
      diags->Error(step.tool_loc, "execution",
                   where + "tool '" + step.tool_name + "' has no direct-project equivalent, and a local plan runs every step as a direct project",
                   "the tools a local plan can run: " + DirectProjectToolList() +
                       "; write this step as a project: step, or run the plan with execution: server");
      continue;
    }
    if (!r.unresolved.empty()) continue;  // a param with no value: already an error
    ToolProjectResult m = MapToolProject(step.tool_name, r.arguments, step.depends_on);
    for (const ToolProjectError& e : m.errors) {
      SourceLoc loc = step.tool_loc;
      if (e.dependency >= 0 && static_cast<size_t>(e.dependency) < step.depends_on.size()) {
        loc = step.depends_on[static_cast<size_t>(e.dependency)].loc;
      } else if (!e.argument.empty()) {
        const Value* v = r.arguments.Find(e.argument);
        if (v && v->loc().known()) loc = v->loc();
      }
      diags->Error(loc, "execution", where + step.tool_name + " as a direct project: " + e.message, e.hint);
    }
  }
}

}  // namespace sflow
