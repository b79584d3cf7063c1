// Plan validation: everything that can be known about a plan without the network.
//
// ValidatePlan takes a shape-checked Plan (plans/plan_loader.h) and checks what it means:
//   - params: specs, values from every source (params.h), and ${...} references (interpolate.h);
//   - steps: ids, the limits of server execution (12 steps, no project steps), known tools that
//     may be workflow steps, arguments against each tool's official schema (ToolCatalog);
//   - dependsOn: known sources, no self or (server) forward references, no cycles (printed as a
//     path), transforms that fit their mediaType, what the source step produces and what the
//     target argument takes, sourceArtifactIndex within what the source can produce, and
//     $input_media indexes within the plan's media of that kind;
//   - media: local files inside the plan's directory, regular, under the upload cap, recognised by
//     their bytes and matching a declared kind; URLs https and not pointing at internal hosts;
//   - warnings for what the real API silently ignores.
// Every problem goes to diags; nothing stops at the first. No file is written, no socket opened.
#ifndef SFLOW_ENGINE_VALIDATE_H_
#define SFLOW_ENGINE_VALIDATE_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/diagnostics.h"
#include "engine/file_probe.h"
#include "engine/media.h"
#include "engine/params.h"
#include "engine/plan.h"
#include "engine/tool_catalog.h"

namespace sflow {

// Every command (validate, estimate, approve, run, run --dry-run, templates push) validates a plan
// the same way: in particular, a declared param with no value (no default, none given) is an
// error at the param, and so is each argument that refers to it. Nothing is ever sent or stored
// with a "${params.x}" left in it.
struct ValidateOptions {
  uint64_t max_media_bytes = kMaxMediaBytes;
  const FileProbe* files = &SystemFileProbe();  // how local media are looked at
};

struct ResolvedStep {
  Value arguments = Value::Object();  // interpolated tool arguments, or project parameters
  std::set<std::string> unresolved;   // argument names that still hold a reference
  // Argument names whose value holds a secret param's value, each with that param's name:
  // messages about them never show the value (docs/plan-language.md, "secret" params).
  std::map<std::string, std::string> secret;
  const ToolInfo* tool = nullptr;     // null for project steps and unknown tools
};

struct PlanAnalysis {
  ParamValues params;
  std::vector<ResolvedStep> steps;  // parallel to plan.steps
  std::vector<int> order;           // a topological order of step indices; empty on a cycle
};

// Validates plan (filling in each media entry's kind). The analysis is returned even when there
// are errors, as far as it could be built.
PlanAnalysis ValidatePlan(Plan* plan, const ToolCatalog& catalog, const ParamSources& sources,
                          const ValidateOptions& options, DiagnosticList* diags);

// The maximum number of steps in a durable server workflow (the backbone's
// MAX_HOSTED_TOOL_SEQUENCE_STEPS).
constexpr size_t kMaxServerSteps = 12;

}  // namespace sflow

#endif  // SFLOW_ENGINE_VALIDATE_H_
