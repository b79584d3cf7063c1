// Plan loading: a plan file to the Plan model, checking the file's shape.
//
// LoadPlan reads the file safely (yaml_reader.h), then checks what the plan language itself
// demands: known keys (with "did you mean"), value types, required fields and enumerations. It
// does not check meaning (tools, arguments, the dependency graph, media, params): that is
// ValidatePlan's job in engine/validate.h, which needs the tool catalog.
//
// A loader diagnostic points at the offending key or value; a missing field points at the mapping
// that lacks it.
#ifndef SFLOW_PLANS_PLAN_LOADER_H_
#define SFLOW_PLANS_PLAN_LOADER_H_

#include <string>

#include "engine/diagnostics.h"
#include "engine/plan.h"
#include "engine/status.h"
#include "plans/yaml_reader.h"

namespace sflow {

// Loads and shape-checks the plan at path. Shape errors go to diags; the plan, as far as it could
// be read, is returned whenever the file parsed into a mapping, so that validation can report
// further problems in the same run. Fails (kInvalidPlan) only when the file cannot be read or
// parsed, or is not a mapping; callers check diags->has_errors() for the rest.
Result<Plan> LoadPlan(const std::string& path, DiagnosticList* diags,
                      const YamlLimits& limits = YamlLimits());

// The same from text already in memory (tests and fuzzing); `path` is used for messages and to
// find the plan's directory.
Result<Plan> LoadPlanFromText(const std::string& path, std::string_view text, DiagnosticList* diags,
                              const YamlLimits& limits = YamlLimits());

// Builds a Plan from an already parsed tree.
Result<Plan> PlanFromValue(const std::string& path, const Value& root, DiagnosticList* diags);

// Loads a --param-file: a YAML (or JSON) mapping of param name to value. Values keep their YAML
// types; the positions point into that file.
Result<Value> LoadParamFile(const std::string& path, DiagnosticList* diags);

}  // namespace sflow

#endif  // SFLOW_PLANS_PLAN_LOADER_H_
