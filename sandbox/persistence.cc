// Implementation details: the whole world as one JSON document, written by the Sandbox's saver
// thread (atomically: temp file, fsync, rename) whenever something changed, and read back when a
// sandbox starts with the same --data-dir. Uploads travel base64-encoded; generated artifacts are
// stored as their specs and made again on demand. A workflow that was mid-step resumes at its
// next tick.
#include <chrono>
#include <sstream>

#include <Poco/Base64Decoder.h>
#include <Poco/Base64Encoder.h>

#include "engine/json.h"
#include "sandbox/world.h"

namespace sflow {

namespace {

std::string ToBase64(const std::string& bytes) {
  std::ostringstream out;
  Poco::Base64Encoder enc(out);
  enc.rdbuf()->setLineLength(0);
  enc << bytes;
  enc.close();
  return out.str();
}

std::string FromBase64(const std::string& text) {
  std::istringstream in(text);
  Poco::Base64Decoder dec(in);
  std::ostringstream out;
  out << dec.rdbuf();
  return out.str();
}

Value S(const std::string& s) { return Value::String(s); }
Value I(int64_t i) { return Value::Int(i); }
Value D(double d) { return Value::Double(d); }
Value B(bool b) { return Value::Bool(b); }

std::string GetS(const Value& v, const char* k) {
  const Value* x = v.Find(k);
  return x && x->is_string() ? x->as_string() : "";
}
int64_t GetI(const Value& v, const char* k) {
  const Value* x = v.Find(k);
  return x && x->is_number() ? static_cast<int64_t>(x->as_number()) : 0;
}
double GetD(const Value& v, const char* k) {
  const Value* x = v.Find(k);
  return x && x->is_number() ? x->as_number() : 0;
}
bool GetB(const Value& v, const char* k) {
  const Value* x = v.Find(k);
  return x && x->is_bool() && x->as_bool();
}
// A reference, so that range-for over GetV(...).items() does not walk a destroyed temporary.
const Value& GetV(const Value& v, const char* k) {
  static const Value kNull;
  const Value* x = v.Find(k);
  return x ? *x : kNull;
}

}  // namespace

Value World::Snapshot() {
  std::lock_guard<std::mutex> lock(mu_);
  Value snap = Value::Object();
  snap.Set("format", S("sogni-flow-sandbox/1"));
  snap.Set("idCounter", I(static_cast<int64_t>(id_counter_)));
  Value wfs = Value::Array();
  for (const std::string& id : workflow_order_) {
    const WorkflowRun& w = *workflows_[id];
    Value x = Value::Object();
    x.Set("id", S(w.id));
    x.Set("owner", S(w.owner));
    x.Set("status", S(w.status));
    x.Set("waitingReason", S(w.waiting_reason));
    x.Set("awaitingCostApproval", B(w.awaiting_cost_approval));
    x.Set("costConfirmed", B(w.cost_confirmed));
    x.Set("willPartiallyFail", B(w.will_partially_fail));
    x.Set("title", S(w.title));
    x.Set("input", w.input);
    x.Set("mediaReferences", w.media_references);
    x.Set("safeContentFilter", B(w.safe_content_filter));
    x.Set("tokenType", S(w.token_type));
    x.Set("billingMode", S(w.billing_mode));
    x.Set("appSource", S(w.app_source));
    if (w.max_units) x.Set("maxUnits", D(*w.max_units));
    x.Set("estimatedUnits", D(w.estimated_units));
    x.Set("unitsBilled", D(w.units_billed));
    x.Set("current", I(static_cast<int64_t>(w.current)));
    Value events = Value::Array();
    for (const LoggedEvent& e : w.events) events.Append(S(e.json));  // the served text, verbatim
    x.Set("events", events);
    Value arts = Value::Array();
    for (const std::string& a : w.artifact_ids) arts.Append(S(a));
    x.Set("artifactIds", arts);
    x.Set("clonedFrom", S(w.cloned_from));
    x.Set("error", w.error);
    x.Set("createdMs", I(w.created_ms));
    x.Set("updatedMs", I(w.updated_ms));
    x.Set("createdAt", S(w.created_at));
    x.Set("updatedAt", S(w.updated_at));
    x.Set("completedAt", S(w.completed_at));
    Value steps = Value::Array();
    for (const StepRun& s : w.steps) {
      Value y = Value::Object();
      y.Set("id", S(s.id));
      y.Set("sequence", I(s.sequence));
      y.Set("tool", S(s.tool));
      y.Set("arguments", s.arguments);
      y.Set("normalized", s.normalized);
      y.Set("dependsOn", s.depends_on);
      y.Set("status", S(s.status));
      y.Set("phase", I(s.phase));
      Value ids = Value::Array();
      for (const std::string& a : s.artifact_ids) ids.Append(S(a));
      y.Set("artifactIds", ids);
      y.Set("units", D(s.units));
      y.Set("costClass", S(s.cost_class));
      y.Set("costUnit", S(s.cost_unit));
      y.Set("costQuantity", D(s.cost_quantity));
      y.Set("seed", I(static_cast<int64_t>(s.seed)));
      y.Set("error", s.error);
      y.Set("createdAt", S(s.created_at));
      y.Set("updatedAt", S(s.updated_at));
      y.Set("completedAt", S(s.completed_at));
      steps.Append(y);
    }
    x.Set("steps", steps);
    wfs.Append(x);
  }
  snap.Set("workflows", wfs);
  Value idem = Value::Array();
  for (const auto& [slot, i] : idempotency_) {
    Value x = Value::Object();
    x.Set("slot", S(slot));
    x.Set("body", S(i.body));
    x.Set("workflowId", S(i.workflow_id));
    x.Set("replyStatus", I(i.reply.status));
    x.Set("replyBody", i.reply.body);
    idem.Append(x);
  }
  snap.Set("idempotency", idem);
  Value tpls = Value::Array();
  for (const std::string& id : template_order_) tpls.Append(templates_[id]);
  snap.Set("templates", tpls);
  Value arts = Value::Array();
  for (const auto& [id, a] : artifacts_) {
    Value x = Value::Object();
    x.Set("id", S(a.id));
    x.Set("kind", S(a.kind));
    x.Set("mime", S(a.mime));
    x.Set("extension", S(a.extension));
    x.Set("tool", S(a.tool));
    x.Set("stepId", S(a.step_id));
    x.Set("width", I(a.width));
    x.Set("height", I(a.height));
    x.Set("seconds", D(a.seconds));
    x.Set("seed", I(static_cast<int64_t>(a.seed)));
    arts.Append(x);
  }
  snap.Set("artifacts", arts);
  Value ups = Value::Array();
  for (const auto& [id, u] : uploads_) {
    Value x = Value::Object();
    x.Set("id", S(id));
    x.Set("owner", S(u.owner));
    x.Set("contentType", S(u.content_type));
    x.Set("bytes", S(ToBase64(u.bytes)));
    ups.Append(x);
  }
  snap.Set("uploads", ups);
  Value keys = Value::Object();
  for (const auto& [k, id] : upload_keys_) keys.Set(k, S(id));
  snap.Set("uploadKeys", keys);
  Value downloads = Value::Object();
  for (const auto& [id, n] : downloads_) downloads.Set(id, I(n));
  snap.Set("downloads", downloads);
  Value resumed = Value::Object();
  for (const auto& [id, n] : resumed_downloads_) resumed.Set(id, I(n));
  snap.Set("resumedDownloads", resumed);
  return snap;
}

void World::Restore(const Value& snap) {
  std::lock_guard<std::mutex> lock(mu_);
  // The snapshot may be up to 200 ms older than the process that wrote it (a kill loses the
  // rest), and ids handed out in those moments must never name something else now: a client may
  // hold a signed URL of such an object. So the counter goes on from a point no earlier start
  // reached, the wall clock's milliseconds times 1024 (a start mints far fewer ids than that
  // between two milliseconds of a restart).
  const uint64_t now_ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  id_counter_ = static_cast<uint64_t>(GetI(snap, "idCounter")) + (now_ms << 10);
  for (const Value& x : GetV(snap, "workflows").items()) {
    auto w = std::make_unique<WorkflowRun>();
    w->id = GetS(x, "id");
    w->owner = GetS(x, "owner");
    w->status = GetS(x, "status");
    w->waiting_reason = GetS(x, "waitingReason");
    w->awaiting_cost_approval = GetB(x, "awaitingCostApproval");
    w->cost_confirmed = GetB(x, "costConfirmed");
    w->will_partially_fail = GetB(x, "willPartiallyFail");
    w->title = GetS(x, "title");
    w->input = GetV(x, "input");
    w->media_references = GetV(x, "mediaReferences");
    w->safe_content_filter = GetB(x, "safeContentFilter");
    w->token_type = GetS(x, "tokenType");
    w->billing_mode = GetS(x, "billingMode");
    w->app_source = GetS(x, "appSource");
    if (x.Find("maxUnits")) w->max_units = GetD(x, "maxUnits");
    w->estimated_units = GetD(x, "estimatedUnits");
    w->units_billed = GetD(x, "unitsBilled");
    w->current = static_cast<size_t>(GetI(x, "current"));
    for (const Value& e : GetV(x, "events").items()) {
      Result<Value> ev = ParseJson(e.as_string());
      if (!ev.ok()) continue;
      w->events.push_back(LoggedEvent{ev->Find("sequence")->as_int(), ev->Find("type")->as_string(),
                                      ev->Find("status")->as_string(), e.as_string()});
    }
    for (const Value& a : GetV(x, "artifactIds").items()) w->artifact_ids.push_back(a.as_string());
    w->cloned_from = GetS(x, "clonedFrom");
    w->error = GetV(x, "error");
    w->created_ms = GetI(x, "createdMs");
    w->updated_ms = GetI(x, "updatedMs");
    w->created_at = GetS(x, "createdAt");
    w->updated_at = GetS(x, "updatedAt");
    w->completed_at = GetS(x, "completedAt");
    for (const Value& y : GetV(x, "steps").items()) {
      StepRun s;
      s.id = GetS(y, "id");
      s.sequence = static_cast<int>(GetI(y, "sequence"));
      s.tool = GetS(y, "tool");
      s.arguments = GetV(y, "arguments");
      s.normalized = GetV(y, "normalized");
      s.depends_on = GetV(y, "dependsOn");
      s.status = GetS(y, "status");
      s.phase = static_cast<int>(GetI(y, "phase"));
      for (const Value& a : GetV(y, "artifactIds").items()) s.artifact_ids.push_back(a.as_string());
      s.units = GetD(y, "units");
      s.cost_class = GetS(y, "costClass");
      s.cost_unit = GetS(y, "costUnit");
      s.cost_quantity = GetD(y, "costQuantity");
      s.seed = static_cast<uint64_t>(GetI(y, "seed"));
      s.error = GetV(y, "error");
      s.created_at = GetS(y, "createdAt");
      s.updated_at = GetS(y, "updatedAt");
      s.completed_at = GetS(y, "completedAt");
      w->steps.push_back(std::move(s));
    }
    w->due = std::chrono::steady_clock::now();
    workflow_order_.push_back(w->id);
    workflows_[w->id] = std::move(w);
  }
  for (const Value& x : GetV(snap, "idempotency").items()) {
    Reply r;
    r.status = static_cast<int>(GetI(x, "replyStatus"));
    r.body = GetV(x, "replyBody");
    idempotency_[GetS(x, "slot")] = Idempotent{GetS(x, "body"), GetS(x, "workflowId"), r};
  }
  for (const Value& t : GetV(snap, "templates").items()) {
    std::string id = GetS(t, "id");
    templates_[id] = t;
    template_order_.push_back(id);
  }
  for (const Value& x : GetV(snap, "artifacts").items()) {
    ArtifactSpec a;
    a.id = GetS(x, "id");
    a.kind = GetS(x, "kind");
    a.mime = GetS(x, "mime");
    a.extension = GetS(x, "extension");
    a.tool = GetS(x, "tool");
    a.step_id = GetS(x, "stepId");
    a.width = static_cast<int>(GetI(x, "width"));
    a.height = static_cast<int>(GetI(x, "height"));
    a.seconds = GetD(x, "seconds");
    a.seed = static_cast<uint64_t>(GetI(x, "seed"));
    artifacts_[a.id] = a;
  }
  for (const Value& x : GetV(snap, "uploads").items())
    uploads_[GetS(x, "id")] = Upload{GetS(x, "owner"), GetS(x, "contentType"), FromBase64(GetS(x, "bytes"))};
  for (const Value::Member& m : GetV(snap, "uploadKeys").members()) upload_keys_[m.key] = m.value.as_string();
  for (const Value::Member& m : GetV(snap, "downloads").members()) downloads_[m.key] = m.value.as_int();
  for (const Value::Member& m : GetV(snap, "resumedDownloads").members()) resumed_downloads_[m.key] = m.value.as_int();
  dirty_ = false;
}

}  // namespace sflow
