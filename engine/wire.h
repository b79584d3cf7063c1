// Plans on the wire: the request bodies sogni-flow sends for a plan, built exactly as the
// official SDK builds them (docs/api-contract.md section 2.1), so that a plan run through
// sogni-flow and the same plan given to the SDK reach the API as the same JSON.
//
//   start body:  {input:{title?, steps:[{id, toolName, arguments, dependsOn?}]}, token_type?,
//                 billing_mode?, app_source?, max_estimated_capacity_units?, confirm_cost?,
//                 safe_content_filter?, media_references?}
// A key is present only when it has a value, as the SDK does. Top-level keys are snake_case; the
// step plan keeps the wire's camelCase. The Idempotency-Key never goes in a body.
#ifndef SFLOW_ENGINE_WIRE_H_
#define SFLOW_ENGINE_WIRE_H_

#include <optional>
#include <string>
#include <vector>

#include "engine/plan.h"
#include "engine/validate.h"
#include "engine/value.h"

namespace sflow {

// A media entry once it has an https URL (uploaded, or given as a URL in the plan).
struct WireMedia {
  std::string name;  // the plan's media name, sent as `id`
  MediaKind kind = MediaKind::kUnknown;
  std::string mime_type;
  std::string url;
};

struct StartOptions {
  std::string app_source;                 // "" = leave it out
  std::optional<double> max_units;        // -> max_estimated_capacity_units
  std::optional<bool> confirm_cost;       // -> confirm_cost
  std::vector<WireMedia> media;           // -> media_references, in the plan's media order
};

// The `input.steps` of a server plan: each step's id, toolName, interpolated arguments and
// dependsOn (with only the fields the plan set). Requires a validated plan.
Value WireSteps(const Plan& plan, const PlanAnalysis& analysis);

// The body of POST /v1/creative-agent/workflows for a server plan.
Value StartBody(const Plan& plan, const PlanAnalysis& analysis, const StartOptions& options);

// A kind: template plan as the template record of POST /v1/creative-agent/workflows/templates:
// name (the plan's title, else its name), id (the plan's name), description, category,
// visibility, tags, typed inputs[] and stages[] (the steps, with "${inputs.NAME}" sent as the
// server's "$inputs.NAME" placeholder; the stage shape is INFERRED, see docs/sandbox.md).
Value TemplateRecord(const Plan& plan, const PlanAnalysis& analysis);

}  // namespace sflow

#endif  // SFLOW_ENGINE_WIRE_H_
