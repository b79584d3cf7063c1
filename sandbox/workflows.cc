// Implementation details: the durable-workflow routes (W1-W9) and the executor's ticks.
//
// A start request is validated the way the backbone does it (docs/api-contract.md
// sections 4.2 and 11), with the backbone's own messages where the reference quotes them, and with the
// same official schemas `sogni-flow validate` uses for the arguments. A workflow then advances one
// event per tick: workflow_started, and for each step step_started, `events_per_step`
// workflow_progress events, one artifact_created per artifact and step_completed; then the
// terminal event. Every status change is its own event, so a stream sees it in order.
#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <set>

#include "engine/estimate.h"
#include "sandbox/world.h"

namespace sflow {

namespace {

const std::set<std::string> kTransforms = {"artifact_url", "artifact_data_uri", "image_url", "video_url",
                                           "audio_url", "image_index", "video_index", "audio_index",
                                           "subtitle_cues", "subtitle_srt", "overlay_items", "asset_ref"};

// The backbone's safeStepId: trim, replace characters outside [A-Za-z0-9_-] with '_', collapse.
std::string SafeStepId(const std::string& raw, size_t index, const std::set<std::string>& taken) {
  std::string s;
  size_t b = raw.find_first_not_of(" \t\n"), e = raw.find_last_not_of(" \t\n");
  std::string t = b == std::string::npos ? "" : raw.substr(b, e - b + 1);
  for (char c : t) {
    char r = (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
    if (r == '_' && !s.empty() && s.back() == '_') continue;
    s += r;
  }
  if (s.empty() || s == "_") s = "step_" + std::to_string(index + 1);
  if (taken.count(s)) s += "_" + std::to_string(index + 1);
  return s;
}

std::string Fmt(double d) { return Value::Double(d).ToJson(); }

bool IsHttpUrl(const std::string& u) { return u.rfind("https://", 0) == 0 || u.rfind("http://", 0) == 0; }

}  // namespace

// ---- start / reseed -------------------------------------------------------------------------

Reply World::CreateRun(const Caller& c, const Value& body, const Value* clone_of, const Value* seed_overrides,
                       std::string* new_id) {
  if (!body.is_object()) return Error(400, "Request body must be a JSON object");
  const Value* input = body.Find("input");
  const Value* workflow_id = body.Find("workflow_id");
  if (!workflow_id) workflow_id = body.Find("workflowId");
  if (input && input->is_null()) input = nullptr;
  if (!clone_of) {
    if (!input && !workflow_id) return Error(400, "Request requires either input (inline plan) or workflow_id (saved template id)");
    if (input && workflow_id) return Error(400, "Request accepts input or workflow_id, not both");
  }

  // The steps, from the inline input, a saved template, or the run being cloned.
  Value steps_in;
  std::string title;
  Value resolved_input = Value::Object();
  if (clone_of) {
    steps_in = *clone_of->Find("steps");
    if (const Value* t = clone_of->Find("title")) title = t->as_string();
  } else if (input) {
    if (!input->is_object()) return Error(400, "input must be an object");
    const Value* steps = input->Find("steps");
    if (!steps || !steps->is_array() || steps->items().empty()) return Error(400, "Durable workflow requires at least one step");
    steps_in = *steps;
    if (const Value* t = input->Find("title"); t && t->is_string()) title = t->as_string();
  } else {
    if (!workflow_id->is_string()) return Error(400, "workflow_id must be a string");
    auto it = templates_.find(workflow_id->as_string());
    if (it == templates_.end()) return Error(404, "Workflow template not found");
    const Value& tpl = it->second;
    const Value* vis = tpl.Find("visibility");
    if (tpl.Find("ownerId")->as_string() != c.owner && !(vis && vis->as_string() == "public"))
      return Error(404, "Workflow template not found");
    const Value* stages = tpl.Find("stages");
    if (!stages || !stages->is_array() || stages->items().empty()) return Error(400, "Durable workflow requires at least one step");
    // Fill "$inputs.NAME" placeholders from `inputs`, else the input's default.
    const Value* inputs = body.Find("inputs");
    std::map<std::string, Value> values;
    if (const Value* decl = tpl.Find("inputs"); decl && decl->is_array())
      for (const Value& d : decl->items())
        if (const Value* n = d.Find("name"); n && n->is_string())
          if (const Value* def = d.Find("default")) values[n->as_string()] = *def;
    if (inputs && inputs->is_object())
      for (const Value::Member& m : inputs->members()) values[m.key] = m.value;
    std::function<Value(const Value&)> fill = [&](const Value& v) -> Value {
      if (v.is_string() && v.as_string().rfind("$inputs.", 0) == 0) {
        auto f = values.find(v.as_string().substr(8));
        return f == values.end() ? v : f->second;
      }
      Value out = v;
      for (Value& item : out.items()) item = fill(item);
      for (Value::Member& m : out.members()) m.value = fill(m.value);
      return out;
    };
    steps_in = fill(*stages);
    if (const Value* n = tpl.Find("name"); n && n->is_string()) title = n->as_string();
  }
  if (!steps_in.is_array() || steps_in.items().empty()) return Error(400, "Durable workflow requires at least one step");
  if (steps_in.items().size() > 12) return Error(400, "Durable workflow supports at most 12 steps");

  // Steps: tools, arguments, ids, dependencies.
  auto run = std::make_unique<WorkflowRun>();
  std::set<std::string> ids;
  Value echo_steps = Value::Array();
  Plan plan;  // for the cost estimate
  PlanAnalysis analysis;
  for (size_t i = 0; i < steps_in.items().size(); ++i) {
    const Value& s = steps_in.items()[i];
    if (!s.is_object()) return Error(400, "Workflow step " + std::to_string(i) + " must be an object");
    const Value* tool = s.Find("toolName");
    if (!tool || !tool->is_string()) return Error(400, "Workflow step " + std::to_string(i) + " requires toolName");
    const ToolInfo* info = catalog_->Find(tool->as_string());
    if (!info || !info->workflow_step) return Error(400, "Unsupported hosted tool: " + tool->as_string());
    const Value* args = s.Find("arguments");
    if (!args || !args->is_object()) return Error(400, "Workflow step " + std::to_string(i) + " requires object arguments");
    const Value* id = s.Find("id");
    std::string step_id = SafeStepId(id && id->is_string() ? id->as_string() : tool->as_string(), i, ids);
    ids.insert(step_id);

    const Value* deps = s.Find("dependsOn");
    std::set<std::string> filled;
    if (deps && !deps->is_null()) {
      if (!deps->is_array()) return Error(400, "Workflow step " + std::to_string(i) + " dependsOn must be an array");
      for (const Value& d : deps->items()) {
        const Value* src = d.Find("sourceStepId");
        const Value* target = d.Find("targetArgument");
        const Value* transform = d.Find("transform");
        if (!src || !src->is_string() || !target || !target->is_string() || !transform || !transform->is_string())
          return Error(400, "Workflow step " + std::to_string(i) +
                                " dependency requires sourceStepId, targetArgument and transform");
        if (!kTransforms.count(transform->as_string()))
          return Error(400, "Workflow step " + std::to_string(i) + " has unsupported transform: " + transform->as_string());
        if (src->as_string() != "$input_media" && !ids.count(src->as_string()) )
          return Error(400, "Workflow step " + std::to_string(i) + " depends on unknown or later step: " + src->as_string());
        if (src->as_string() == step_id)
          return Error(400, "Workflow step " + std::to_string(i) + " depends on itself");
        filled.insert(target->as_string());
      }
    }
    // Arguments: the tool's official schema, leaving out what dependencies fill in.
    Value known = *args;
    for (const std::string& f : filled) known.Erase(f);
    for (const ArgumentProblem& p : catalog_->CheckArguments(*info, known)) {
      if (!p.path.empty() && filled.count(p.path[0])) continue;
      std::string where;
      for (const std::string& part : p.path) where += (where.empty() ? "" : ".") + part;
      return Error(400, "Workflow step " + std::to_string(i) + " (" + info->name + ") has invalid arguments: " +
                            (where.empty() ? "" : "'" + where + "' ") + ArgumentProblemText(p),
                   [&] {
                     Value d = Value::Object();
                     d.Set("stepIndex", Value::Int(static_cast<int64_t>(i)));
                     d.Set("toolName", Value::String(info->name));
                     d.Set("argument", Value::String(where));
                     d.Set("rule", Value::String(p.rule));
                     return d;
                   }());
    }

    StepRun sr;
    sr.id = step_id;
    sr.sequence = static_cast<int>(i);
    sr.tool = info->name;
    sr.arguments = *args;
    sr.depends_on = deps ? *deps : Value();
    run->steps.push_back(std::move(sr));

    Value echo = Value::Object();
    echo.Set("id", Value::String(step_id));
    echo.Set("toolName", Value::String(info->name));
    echo.Set("arguments", *args);
    if (deps && deps->is_array()) echo.Set("dependsOn", *deps);
    echo_steps.Append(echo);

    Step ps;
    ps.id = step_id;
    ps.tool_name = info->name;
    plan.steps.push_back(ps);
    ResolvedStep rs;
    rs.arguments = *args;
    rs.tool = info;
    analysis.steps.push_back(rs);
  }

  // Media references: fetchable URLs only.
  const Value* media = body.Find("media_references");
  if (!media) media = body.Find("mediaReferences");
  if (media && !media->is_null()) {
    if (!media->is_array()) return Error(400, "media_references must be an array");
    for (size_t i = 0; i < media->items().size(); ++i) {
      const Value& m = media->items()[i];
      const Value* url = m.Find("url");
      if (m.Find("dataUri") || m.Find("data_uri") || !url || !url->is_string() || !IsHttpUrl(url->as_string()))
        return Error(400, "Durable creative workflows do not support inline base64/data URI media. Upload media first "
                          "and pass HTTP(S) URLs instead. Offending field(s): media_references[" + std::to_string(i) + "].url");
    }
    run->media_references = *media;
  }

  // Cost.
  PlanEstimate est = EstimatePlan(plan, analysis);
  if (config_.price_percent != 100) {  // --price-percent: the server prices otherwise
    const double f = config_.price_percent / 100.0;
    for (auto& step : est.steps) step.units *= f;
    est.total_units *= f;
  }
  for (size_t i = 0; i < run->steps.size(); ++i) {
    run->steps[i].units = est.steps[i].units;
    run->steps[i].cost_class = est.steps[i].cost_class;
    run->steps[i].cost_unit = est.steps[i].unit;
    run->steps[i].cost_quantity = est.steps[i].quantity;
  }
  run->estimated_units = est.total_units;
  const Value* max = body.Find("max_estimated_capacity_units");
  const Value* confirm = body.Find("confirm_cost");
  if (max && max->is_number()) run->max_units = max->as_number();
  bool confirmed = confirm && confirm->is_bool() && confirm->as_bool();
  bool over = run->max_units && est.total_units > *run->max_units && !confirmed;
  if (over && config_.cost_approval == "reject") {
    Value d = Value::Object();
    d.Set("estimatedCapacity", Value::Double(est.total_units));
    d.Set("maxEstimatedCapacityUnits", Value::Double(*run->max_units));
    return Error(400, "Estimated cost of " + Fmt(est.total_units) + " capacity units exceeds max_estimated_capacity_units " +
                          Fmt(*run->max_units) + "; resubmit with confirm_cost: true",
                 d);
  }
  if (ActiveCount(c.owner) >= config_.max_active_workflows) {
    Value d = Value::Object();
    d.Set("activeWorkflows", Value::Int(ActiveCount(c.owner)));
    d.Set("limit", Value::Int(config_.max_active_workflows));
    return Error(409, "Too many active workflows; this clears when one of your workflows finishes", d);
  }

  // The run.
  run->id = NewId("wf_");
  run->owner = c.owner;
  run->title = title.empty() ? "Durable creative workflow" : title;
  run->cost_confirmed = confirmed;
  if (const Value* f = body.Find("safe_content_filter"); f && f->is_bool()) run->safe_content_filter = f->as_bool();
  if (clone_of)
    if (const Value* f = clone_of->Find("safeContentFilter"); f && f->is_bool()) run->safe_content_filter = f->as_bool();
  if (const Value* t = body.Find("token_type"); t && t->is_string()) run->token_type = t->as_string();
  if (const Value* t = body.Find("billing_mode"); t && t->is_string()) run->billing_mode = t->as_string();
  if (const Value* t = body.Find("app_source"); t && t->is_string()) run->app_source = t->as_string();
  run->created_ms = run->updated_ms = NowMs();
  run->created_at = run->updated_at = IsoNow();
  Value in = Value::Object();
  in.Set("title", Value::String(run->title));
  if (!run->media_references.is_null()) in.Set("mediaReferences", run->media_references);
  in.Set("steps", echo_steps);
  run->input = in;

  // Seeds: given ones are kept; others are drawn from the sandbox's seeded generator. A reseed
  // draws new ones except where seed_overrides names the step.
  std::mt19937_64 rng(config_.seed * 1000003 + id_counter_);
  for (StepRun& s : run->steps) {
    const Value* given = s.arguments.Find("seed");
    const Value* over_seed = seed_overrides && seed_overrides->is_object() ? seed_overrides->Find(s.id) : nullptr;
    if (over_seed && over_seed->is_number()) s.seed = static_cast<uint64_t>(over_seed->as_number());
    else if (!clone_of && given && given->is_int() && given->as_int() >= 0) s.seed = static_cast<uint64_t>(given->as_int());
    else s.seed = rng() % 4294967296ull;
    s.created_at = s.updated_at = run->created_at;
  }
  if (faults_->Roll("partial_failure")) run->will_partially_fail = true;

  if (over) {
    run->status = "waiting_for_user";
    run->waiting_reason = "cost_approval_required";
    run->awaiting_cost_approval = true;
    Value d = Value::Object();
    d.Set("estimatedCapacityUnits", Value::Double(est.total_units));
    d.Set("maxEstimatedCapacityUnits", Value::Double(*run->max_units));
    Emit(*run, "workflow_waiting_for_user", d, "Estimated cost exceeds max_estimated_capacity_units; confirm the cost to continue");
  }
  run->due = std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.step_ms);
  *new_id = run->id;
  workflow_order_.push_back(run->id);
  workflows_[run->id] = std::move(run);
  ++created_per_key_[c.owner];
  dirty_ = true;
  changed_.notify_all();
  Reply r;
  r.status = 201;
  return r;
}

Reply World::StartWorkflow(const Caller& c, const Value& body, const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string slot = c.owner + "\nstart\n" + key;
  std::string canonical = body.ToJson(/*sort_keys=*/true);
  if (!key.empty()) {
    auto it = idempotency_.find(slot);
    if (it != idempotency_.end()) {
      if (it->second.body != canonical)
        return Error(422, "Idempotency-Key was already used with a different request body");
      WorkflowRun* first = Find(it->second.workflow_id);
      if (!first) return Error(404, "Workflow not found");  // forgotten since
      Value data = Value::Object();
      data.Set("workflow", WorkflowRecord(*first));
      return Ok(std::move(data), 201);
    }
  }
  std::string id;
  Reply r = CreateRun(c, body, nullptr, nullptr, &id);
  if (r.status != 201) return r;
  if (!key.empty()) idempotency_[slot] = Idempotent{canonical, id, Reply()};
  Value data = Value::Object();
  data.Set("workflow", WorkflowRecord(*Find(id)));
  return Ok(std::move(data), 201);
}

Reply World::ReseedWorkflow(const Caller& c, const std::string& id, const Value& body, const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  WorkflowRun* src = Find(id);
  if (!src || src->owner != c.owner) return Error(404, "Workflow not found");
  if (src->status != "completed" && src->status != "partial_failure")
    return Error(409, "Only a completed or partial_failure workflow can be reseeded (this one is " + src->status + ")");
  if (!body.is_null() && !body.is_object()) return Error(400, "Request body must be a JSON object");
  std::string slot = c.owner + "\nreseed:" + id + "\n" + key;
  std::string canonical = body.ToJson(true);
  const Value* overrides = body.Find("seed_overrides");
  if (!overrides) overrides = body.Find("seedOverrides");
  if (overrides && !overrides->is_object()) return Error(400, "seed_overrides must be an object of step id to seed");
  auto respond = [&](WorkflowRun& nw, bool idempotent) {
    Reply r;
    r.status = 200;
    Value reseed = Value::Object();
    reseed.Set("cloned_from_run_id", Value::String(nw.cloned_from));
    Value steps = Value::Array();
    for (const StepRun& s : nw.steps) {
      Value st = Value::Object();
      st.Set("stepId", Value::String(s.id));
      st.Set("newSeed", Value::Int(static_cast<int64_t>(s.seed)));
      steps.Append(st);
    }
    reseed.Set("steps", steps);
    Value data = Value::Object();
    data.Set("workflow", WorkflowRecord(nw));
    data.Set("reseed", reseed);
    if (idempotent) data.Set("idempotent", Value::Bool(true));
    return Ok(std::move(data));
  };
  if (!key.empty()) {
    auto it = idempotency_.find(slot);
    if (it != idempotency_.end()) {
      if (it->second.body != canonical) return Error(422, "Idempotency-Key was already used with a different request body");
      return respond(*Find(it->second.workflow_id), true);
    }
  }
  Value clone = src->input;
  clone.Set("safeContentFilter", Value::Bool(src->safe_content_filter));
  Value start = Value::Object();
  for (const char* k : {"token_type", "billing_mode", "app_source"})
    if (const Value* v = body.Find(k)) start.Set(k, *v);
  if (!src->media_references.is_null()) start.Set("media_references", src->media_references);
  std::string new_id;
  Reply r = CreateRun(c, start, &clone, overrides, &new_id);
  if (r.status != 201) return r;
  WorkflowRun& nw = *Find(new_id);
  nw.cloned_from = src->id;
  if (!key.empty()) idempotency_[slot] = Idempotent{canonical, new_id, Reply()};
  return respond(nw, false);
}

// ---- reads ----------------------------------------------------------------------------------

Reply World::ListWorkflows(const Caller& c, int64_t limit, int64_t offset) {
  std::lock_guard<std::mutex> lock(mu_);
  if (limit <= 0) limit = 20;
  limit = std::min<int64_t>(limit, 200);
  offset = std::max<int64_t>(offset, 0);
  std::vector<const WorkflowRun*> mine;
  for (auto it = workflow_order_.rbegin(); it != workflow_order_.rend(); ++it)  // newest first
    if (const WorkflowRun* w = Find(*it); w && w->owner == c.owner) mine.push_back(w);
  Value list = Value::Array();
  for (int64_t i = offset; i < static_cast<int64_t>(mine.size()) && i < offset + limit; ++i)
    list.Append(WorkflowRecord(*mine[i]));
  Value data = Value::Object();
  data.Set("workflows", list);
  data.Set("next", offset + limit < static_cast<int64_t>(mine.size()) ? Value::Int(offset + limit) : Value());
  return Ok(std::move(data));
}

Reply World::GetWorkflow(const Caller& c, const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  WorkflowRun* w = Find(id);
  if (!w || w->owner != c.owner) return Error(404, "Workflow not found");
  Value data = Value::Object();
  data.Set("workflow", WorkflowRecord(*w));
  return Ok(std::move(data));
}

Reply World::GetEvents(const Caller& c, const std::string& id, int64_t after) {
  std::lock_guard<std::mutex> lock(mu_);
  WorkflowRun* w = Find(id);
  if (!w || w->owner != c.owner) return Error(404, "Workflow not found");
  Reply r;
  r.raw_body = "{\"status\":\"success\",\"data\":{\"events\":[";
  bool first = true;
  for (size_t i = static_cast<size_t>(std::max<int64_t>(after, 0)); i < w->events.size(); ++i) {
    if (!first) r.raw_body += ",";
    first = false;
    r.raw_body += w->events[i].json;
  }
  r.raw_body += "]}}";
  return r;
}

bool World::FindWorkflowLocked(const Caller& c, const std::string& id, WorkflowRun** out) {
  WorkflowRun* w = Find(id);
  if (!w || w->owner != c.owner) return false;
  *out = w;
  return true;
}

// ---- actions --------------------------------------------------------------------------------

Reply World::CancelWorkflow(const Caller& c, const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  WorkflowRun* w = Find(id);
  if (!w || w->owner != c.owner) return Error(404, "Workflow not found");
  bool transitioned = false;
  if (!w->terminal()) {
    // Cooperative: the step in flight stops where it is; nothing more is billed.
    for (StepRun& s : w->steps)
      if (s.status == "running" || s.status == "queued") s.status = "cancelled";
    SetStatus(*w, "cancelled");
    w->waiting_reason.clear();
    w->awaiting_cost_approval = false;
    Emit(*w, "workflow_cancelled", Value::Object(), "Workflow cancelled");
    transitioned = true;
  }
  Value data = Value::Object();
  data.Set("workflow", WorkflowRecord(*w));
  data.Set("transitioned", Value::Bool(transitioned));
  return Ok(std::move(data));
}

Reply World::ConfirmCost(const Caller& c, const std::string& id, const Value& body, const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  WorkflowRun* w = Find(id);
  if (!w || w->owner != c.owner) return Error(404, "Workflow not found");
  if (!body.is_null() && !body.is_object()) return Error(400, "Request body must be a JSON object");
  std::string slot = c.owner + "\nconfirm:" + id + "\n" + key;
  std::string canonical = body.ToJson(true);
  if (!key.empty()) {
    auto it = idempotency_.find(slot);
    if (it != idempotency_.end()) {
      if (it->second.body != canonical) return Error(422, "Idempotency-Key was already used with a different request body");
      Reply r = it->second.reply;
      r.body.Find("data")->Set("workflow", WorkflowRecord(*w));
      return r;  // "Re-submitting the same key MUST be a no-op"
    }
  }
  if (!w->awaiting_cost_approval) return Error(409, "Workflow is not awaiting cost approval");
  const Value* decision = body.Find("decision");
  std::string d = decision && decision->is_string() ? decision->as_string() : "confirm";
  if (d != "confirm" && d != "cancel") return Error(400, "decision must be 'confirm' or 'cancel'");
  w->awaiting_cost_approval = false;
  w->waiting_reason.clear();
  Value ev = Value::Object();
  ev.Set("decision", Value::String(d));
  ev.Set("estimatedCapacityUnits", Value::Double(w->estimated_units));
  if (d == "cancel") {
    SetStatus(*w, "cancelled");
    Emit(*w, "workflow_cancelled", ev, "Cost not approved");
  } else {
    w->cost_confirmed = true;
    SetStatus(*w, "queued");
    Emit(*w, "workflow_progress", ev, "Cost confirmed");
    w->due = std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.step_ms);
  }
  Value data = Value::Object();
  data.Set("workflow", WorkflowRecord(*w));
  Reply r = Ok(std::move(data));
  if (!key.empty()) idempotency_[slot] = Idempotent{canonical, id, r};
  return r;
}

Reply World::ResumeWorkflow(const Caller& c, const std::string& id, const Value& body) {
  std::lock_guard<std::mutex> lock(mu_);
  WorkflowRun* w = Find(id);
  if (!w || w->owner != c.owner) return Error(404, "Workflow not found");
  if (!body.is_null() && !body.is_object()) return Error(400, "Request body must be a JSON object");
  if (w->terminal()) return Error(409, "Workflow is " + w->status + " and cannot be resumed");
  if (w->awaiting_cost_approval) return Error(409, "Workflow is awaiting cost approval; confirm the cost first");
  bool resumed = false;
  if (w->status == "waiting_for_user") {
    SetStatus(*w, "queued");
    w->waiting_reason.clear();
    Emit(*w, "workflow_progress", Value::Object(), "Workflow resumed");
    w->due = std::chrono::steady_clock::now();
    resumed = true;
  } else {
    // Already moving (e.g. confirm-cost released it): resuming is a no-op that still succeeds.
    resumed = true;
  }
  Value data = Value::Object();
  data.Set("workflow", WorkflowRecord(*w));
  data.Set("resumed", Value::Bool(resumed));
  return Ok(std::move(data));
}

// ---- the executor ---------------------------------------------------------------------------

std::chrono::steady_clock::time_point World::AdvanceDue() {
  std::lock_guard<std::mutex> lock(mu_);
  auto now = std::chrono::steady_clock::now();
  auto next = now + std::chrono::milliseconds(250);
  for (const std::string& id : workflow_order_) {
    WorkflowRun& w = *workflows_[id];
    if (w.forgotten || w.terminal() || w.status == "waiting_for_user") continue;
    // With step_ms 0 a workflow runs to its end in one go; otherwise one event per tick, the
    // next one step_ms later (no bursts to catch up after a pause).
    if (w.due > now) {
      if (!w.terminal() && w.status != "waiting_for_user") next = std::min(next, w.due);
      continue;
    }
    if (config_.step_ms == 0) {
      while (!w.terminal() && w.status != "waiting_for_user") Tick(w);
    } else {
      Tick(w);
      w.due = now + std::chrono::milliseconds(config_.step_ms);
    }
    if (!w.terminal() && w.status != "waiting_for_user") next = std::min(next, w.due);
  }
  return next;
}

void World::Tick(WorkflowRun& w) {
  if (w.status == "queued") {
    SetStatus(w, "running");
    Emit(w, "workflow_started", Value::Object(), "Workflow started");
    return;
  }
  while (w.current < w.steps.size()) {
    StepRun& s = w.steps[w.current];
    if (s.status == "completed" || s.status == "failed" || s.status == "cancelled" || s.status == "skipped") {
      ++w.current;
      continue;
    }
    if (StepTick(w, s)) return;  // emitted an event
  }
  // Every step is done.
  bool any_failed = false, any_done = false;
  for (const StepRun& s : w.steps) {
    any_failed = any_failed || s.status == "failed";
    any_done = any_done || s.status == "completed";
  }
  w.completed_at = IsoNow();
  if (!any_failed) {
    SetStatus(w, "completed");
    Emit(w, "workflow_completed", Value::Object(), "Workflow completed");
  } else if (any_done) {
    SetStatus(w, "partial_failure");
    Emit(w, "workflow_completed", Value::Object(), "Workflow finished with failed steps");
  } else {
    SetStatus(w, "failed");
    Emit(w, "workflow_failed", Value::Object(), "Workflow failed");
  }
}

// One event of a step. Returns true when it emitted one.
bool World::StepTick(WorkflowRun& w, StepRun& s) {
  const int progress_events = std::max(0, config_.events_per_step);
  auto step_data = [&] {
    Value d = Value::Object();
    d.Set("stepId", Value::String(s.id));
    d.Set("toolName", Value::String(s.tool));
    d.Set("sequence", Value::Int(s.sequence));
    return d;
  };
  if (s.phase == 0) {
    s.status = "running";
    s.updated_at = IsoNow();
    ResolveDependencies(w, s);
    Emit(w, "step_started", step_data(), "Step " + s.id + " started");
    s.phase = 1;
    return true;
  }
  if (s.phase == 1 && (faults_->Roll("step_fail") || (w.will_partially_fail && s.sequence == 0 && w.steps.size() > 1))) {
    bool partial = w.will_partially_fail;
    s.status = "failed";
    s.completed_at = s.updated_at = IsoNow();
    Value err = Value::Object();
    err.Set("code", Value::String("provider_error"));
    err.Set("message", Value::String("The render worker failed (sandbox fault)"));
    err.Set("classification", Value::String("provider"));
    err.Set("retryable", Value::Bool(true));
    err.Set("toolName", Value::String(s.tool));
    err.Set("stepId", Value::String(s.id));
    s.error = err;
    Value d = step_data();
    d.Set("error", err);
    Emit(w, "step_failed", d, "Step " + s.id + " failed");
    if (partial) {
      w.will_partially_fail = false;  // one failed step is enough
      // Steps that need the failed one cannot run; the others go on.
      for (StepRun& later : w.steps) {
        if (!later.depends_on.is_array()) continue;
        for (const Value& dep : later.depends_on.items())
          if (const Value* src = dep.Find("sourceStepId"); src && src->is_string() && src->as_string() == s.id)
            later.status = "skipped";
      }
    } else {
      for (StepRun& later : w.steps)
        if (later.status == "queued") later.status = "skipped";
      w.error = err;
    }
    return true;
  }
  if (s.phase >= 1 && s.phase <= progress_events) {
    Value d = step_data();
    d.Set("progress", Value::Double(static_cast<double>(s.phase) / (progress_events + 1)));
    Emit(w, "workflow_progress", d, "Step " + s.id + " in progress");
    ++s.phase;
    return true;
  }
  if (s.phase == progress_events + 1 && s.artifact_ids.empty()) MakeArtifacts(w, s);
  int first_artifact_phase = progress_events + 1;
  int index = s.phase - first_artifact_phase;
  if (index < static_cast<int>(s.artifact_ids.size())) {
    Value d = step_data();
    d.Set("artifact", ArtifactRecord(artifacts_[s.artifact_ids[index]]));
    Emit(w, "artifact_created", d, "Artifact created");
    ++s.phase;
    return true;
  }
  s.status = "completed";
  s.completed_at = s.updated_at = IsoNow();
  w.units_billed += s.units;
  Value d = step_data();
  Value arts = Value::Array();
  for (const std::string& a : s.artifact_ids) arts.Append(ArtifactRecord(artifacts_[a]));
  d.Set("artifacts", arts);
  d.Set("capacityUnits", Value::Double(s.units));
  Emit(w, "step_completed", d, "Step " + s.id + " completed");
  ++w.current;
  return true;
}

// Applies dependsOn: the target argument gets the source artifact's index or URL, as the
// transform says. Generated results are 0-based indexes; uploads (media_references) negative.
void World::ResolveDependencies(WorkflowRun& w, StepRun& s) {
  s.normalized = s.arguments;
  s.normalized.Set("seed", Value::Int(static_cast<int64_t>(s.seed)));
  if (!s.depends_on.is_array()) return;
  // Global result index of each artifact, in creation order, per kind.
  std::map<std::string, std::vector<std::string>> by_kind;
  for (const std::string& id : w.artifact_ids) by_kind[artifacts_[id].kind].push_back(id);
  for (const Value& dep : s.depends_on.items()) {
    std::string src = dep.Find("sourceStepId")->as_string();
    std::string target = dep.Find("targetArgument")->as_string();
    std::string transform = dep.Find("transform")->as_string();
    int64_t index = 0;
    if (const Value* i = dep.Find("sourceArtifactIndex"); i && i->is_int()) index = i->as_int();
    std::string kind = transform.substr(0, transform.find('_'));
    if (const Value* mt = dep.Find("mediaType"); mt && mt->is_string()) kind = mt->as_string();
    Value resolved;
    if (src == "$input_media") {
      int64_t seen = 0;
      if (w.media_references.is_array())
        for (const Value& m : w.media_references.items()) {
          const Value* k = m.Find("kind");
          if (k && k->is_string() && k->as_string() != kind) continue;
          if (seen++ == index) {
            resolved = transform.find("_index") != std::string::npos ? Value::Int(-seen) : *m.Find("url");
            break;
          }
        }
    } else {
      std::vector<std::string> of_kind;
      for (const StepRun& other : w.steps)
        if (other.id == src)
          for (const std::string& a : other.artifact_ids)
            if (artifacts_[a].kind == kind || (kind != "image" && kind != "video" && kind != "audio")) of_kind.push_back(a);
      if (index < static_cast<int64_t>(of_kind.size())) {
        const std::string& aid = of_kind[index];
        if (transform.find("_index") != std::string::npos) {
          auto& list = by_kind[artifacts_[aid].kind];
          resolved = Value::Int(std::find(list.begin(), list.end(), aid) - list.begin());
        } else {
          resolved = Value::String(SignedMediaUrl(aid));
        }
      }
    }
    if (resolved.is_null()) continue;
    Value* existing = s.normalized.Find(target);
    const ToolInfo* tool = catalog_->Find(s.tool);
    const ArgumentInfo* arg = tool ? tool->FindArgument(target) : nullptr;
    bool array_target = arg && std::find(arg->types.begin(), arg->types.end(), "array") != arg->types.end();
    if (array_target) {
      if (!existing || !existing->is_array()) {
        s.normalized.Set(target, Value::Array());
        existing = s.normalized.Find(target);
      }
      existing->Append(resolved);
    } else {
      s.normalized.Set(target, resolved);
    }
  }
}

void World::MakeArtifacts(WorkflowRun& w, StepRun& s) {
  const ToolInfo* tool = catalog_->Find(s.tool);
  if (!tool || tool->outputs.empty()) return;
  const Value& a = s.normalized.is_null() ? s.arguments : s.normalized;
  auto num = [&](const char* k, double fallback) {
    const Value* v = a.Find(k);
    return v && v->is_number() ? v->as_number() : fallback;
  };
  int variations = tool->counts_variations ? std::max(1, static_cast<int>(num("numberOfVariations", 1))) : 1;
  MediaKind primary = tool->outputs[0];
  const Value* last_frame = a.Find("returnLastFrame");
  bool with_last_frame = primary == MediaKind::kVideo && last_frame && last_frame->is_bool() && last_frame->as_bool();
  for (int v = 0; v < variations; ++v) {
    for (int part = 0; part < (with_last_frame ? 2 : 1); ++part) {
      ArtifactSpec spec;
      spec.id = "art_" + w.id.substr(3) + "_" + s.id + "_" + std::to_string(s.artifact_ids.size());
      spec.tool = s.tool;
      spec.step_id = s.id;
      spec.seed = s.seed * 31 + static_cast<uint64_t>(v);
      MediaKind kind = part == 1 ? MediaKind::kImage : primary;
      if (kind == MediaKind::kImage) {
        spec.kind = "image";
        std::string fmt = a.Find("outputFormat") && a.Find("outputFormat")->is_string() ? a.Find("outputFormat")->as_string() : "png";
        bool jpeg = fmt == "jpg" || fmt == "jpeg";
        spec.mime = jpeg ? "image/jpeg" : "image/png";
        spec.extension = jpeg ? "jpg" : "png";
        spec.width = static_cast<int>(num("width", 1024));
        spec.height = static_cast<int>(num("height", 1024));
      } else if (kind == MediaKind::kVideo) {
        spec.kind = "video";
        spec.mime = "video/mp4";
        spec.extension = "mp4";
        spec.width = static_cast<int>(num("width", 1280));
        spec.height = static_cast<int>(num("height", 720));
        spec.seconds = num("duration", tool->default_seconds > 0 ? tool->default_seconds : 5);
      } else {
        spec.kind = "audio";
        spec.mime = "audio/wav";
        spec.extension = "wav";
        spec.seconds = num("duration", tool->default_seconds > 0 ? tool->default_seconds : 10);
      }
      artifacts_[spec.id] = spec;
      s.artifact_ids.push_back(spec.id);
      w.artifact_ids.push_back(spec.id);
    }
  }
}

}  // namespace sflow
