// Loading and validating one plan for a command, with its params; shared by validate, estimate
// and (later) run.
#ifndef SFLOW_CLI_PLAN_CHECK_H_
#define SFLOW_CLI_PLAN_CHECK_H_

#include <ostream>
#include <string>
#include <vector>

#include "engine/diagnostics.h"
#include "engine/plan.h"
#include "engine/tool_catalog.h"
#include "engine/validate.h"
#include "plans/batch_loader.h"

namespace sflow {

struct ParamOptions {
  std::vector<std::string> assignments;  // -p name=value
  std::vector<std::string> files;        // --param-file
};

struct CheckedPlan {
  bool loaded = false;  // the file parsed and has the plan's shape
  Plan plan;
  PlanAnalysis analysis;
  DiagnosticList diags;
  bool ok() const { return loaded && !diags.has_errors(); }
};

// The tool catalog of the pinned protocol package, loaded once per process. Never null: a
// damaged embedded package is a build defect and aborts with a message.
const ToolCatalog& DefaultCatalog();

CheckedPlan CheckPlan(const std::string& path, const ToolCatalog& catalog, const ParamOptions& params,
                      char** environ, const ValidateOptions& options);

// A batch run's params as the command line would give them (-p NAME=VALUE, in order).
ParamOptions ParamsOf(const BatchRun& run);

// The environment a batch's runs are checked in: the process's without SOGNI_FLOW_PARAM_*, since
// a batch file says every param its runs get (a variable set in a shell must not change a run
// the batch finished, and so start it again).
class BatchEnvironment {
 public:
  explicit BatchEnvironment(char** environ);
  char** get() { return vars_.data(); }

 private:
  std::vector<char*> vars_;
};

// Writes the diagnostics, sorted, one per line (hints on their own line).
void PrintDiagnostics(const DiagnosticList& diags, std::ostream& err);

// The --json line of a checked plan, as `validate --json` prints it: {"event":"plan", "plan",
// "valid", "name"?, "steps"?, "errors", "warnings", "diagnostics": [...]}. Commands that take
// plans print it for a plan they refuse, so their --json output stays JSON.
std::string PlanCheckJson(const std::string& path, const CheckedPlan& c);

}  // namespace sflow

#endif  // SFLOW_CLI_PLAN_CHECK_H_
