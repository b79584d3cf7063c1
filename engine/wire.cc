#include "engine/wire.h"

namespace sflow {

namespace {

Value WireDependency(const Dependency& d) {
  // The order of the SDK's own examples (README, workflow_creative_agent_workflows.mjs).
  Value v = Value::Object();
  v.Set("sourceStepId", Value::String(d.source_step_id));
  if (d.source_artifact_id) v.Set("sourceArtifactId", Value::String(*d.source_artifact_id));
  if (d.source_artifact_index) v.Set("sourceArtifactIndex", Value::Int(*d.source_artifact_index));
  v.Set("targetArgument", Value::String(d.target_argument));
  if (d.media_type) v.Set("mediaType", Value::String(*d.media_type));
  v.Set("transform", Value::String(d.transform));
  if (d.required) v.Set("required", Value::Bool(*d.required));
  return v;
}

// Drops source positions: the wire has none, and equality checks must not see them.
Value Plain(const Value& v) {
  Value out = v;
  out.set_loc({});
  for (Value& item : out.items()) item = Plain(item);
  for (Value::Member& m : out.members()) {
    m.key_loc = {};
    m.value = Plain(m.value);
  }
  return out;
}

}  // namespace

Value WireSteps(const Plan& plan, const PlanAnalysis& analysis) {
  Value steps = Value::Array();
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const Step& s = plan.steps[i];
    Value step = Value::Object();
    step.Set("id", Value::String(s.id));
    step.Set("toolName", Value::String(s.tool_name));
    step.Set("arguments", Plain(i < analysis.steps.size() ? analysis.steps[i].arguments : s.arguments));
    if (!s.depends_on.empty()) {
      Value deps = Value::Array();
      for (const Dependency& d : s.depends_on) deps.Append(WireDependency(d));
      step.Set("dependsOn", deps);
    }
    steps.Append(step);
  }
  return steps;
}

Value StartBody(const Plan& plan, const PlanAnalysis& analysis, const StartOptions& options) {
  // Keys in the order the SDK adds them (src/CreativeWorkflows/index.ts, start()).
  Value input = Value::Object();
  if (!plan.title.empty()) input.Set("title", Value::String(plan.title));
  input.Set("steps", WireSteps(plan, analysis));
  Value body = Value::Object();
  body.Set("input", input);
  if (!plan.budget.token_type.empty()) body.Set("token_type", Value::String(plan.budget.token_type));
  if (!plan.budget.billing_mode.empty()) body.Set("billing_mode", Value::String(plan.budget.billing_mode));
  if (!options.app_source.empty()) body.Set("app_source", Value::String(options.app_source));
  if (options.max_units) body.Set("max_estimated_capacity_units", Value::Double(*options.max_units));
  if (options.confirm_cost) body.Set("confirm_cost", Value::Bool(*options.confirm_cost));
  if (plan.safe_content_filter) body.Set("safe_content_filter", Value::Bool(*plan.safe_content_filter));
  if (!options.media.empty()) {
    Value refs = Value::Array();
    for (const WireMedia& m : options.media) {
      Value r = Value::Object();
      r.Set("id", Value::String(m.name));
      r.Set("kind", Value::String(MediaKindName(m.kind)));
      if (!m.mime_type.empty()) r.Set("mime_type", Value::String(m.mime_type));
      r.Set("url", Value::String(m.url));
      refs.Append(r);
    }
    body.Set("media_references", refs);
  }
  return body;
}

Value TemplateRecord(const Plan& plan, const PlanAnalysis& analysis) {
  Value t = Value::Object();
  t.Set("id", Value::String(plan.name));
  t.Set("name", Value::String(plan.title.empty() ? plan.name : plan.title));
  t.Set("description", Value::String(plan.description));
  if (!plan.category.empty()) t.Set("category", Value::String(plan.category));
  if (!plan.visibility.empty()) t.Set("visibility", Value::String(plan.visibility));
  if (!plan.tags.empty()) {
    Value tags = Value::Array();
    for (const std::string& tag : plan.tags) tags.Append(Value::String(tag));
    t.Set("tags", tags);
  }
  Value inputs = Value::Array();
  for (const TemplateInput& in : plan.inputs) {
    Value i = Value::Object();
    i.Set("name", Value::String(in.name));
    i.Set("type", Value::String(in.type));
    i.Set("required", Value::Bool(in.required));
    if (!in.description.empty()) i.Set("description", Value::String(in.description));
    if (in.default_value) i.Set("default", Plain(*in.default_value));
    if (!in.options.empty()) {
      // The protocol's select options are {value, label}; a plan lists values.
      Value opts = Value::Array();
      for (const std::string& o : in.options) {
        Value opt = Value::Object();
        opt.Set("value", Value::String(o));
        opt.Set("label", Value::String(o));
        opts.Append(opt);
      }
      i.Set("options", opts);
    }
    inputs.Append(i);
  }
  t.Set("inputs", inputs);
  t.Set("stages", WireSteps(plan, analysis));
  return t;
}

}  // namespace sflow
