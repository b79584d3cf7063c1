// Implementation details: records, events, media objects, admin and persistence. Route logic for
// workflows is in workflows.cc, for templates in templates.cc.
#include "sandbox/world.h"

#include <algorithm>
#include <ctime>
#include <sstream>

#include <Poco/DigestEngine.h>
#include <Poco/HMACEngine.h>
#include <Poco/SHA2Engine.h>

namespace sflow {

namespace {

class Sha256Engine : public Poco::SHA2Engine {
 public:
  enum { BLOCK_SIZE = 64, DIGEST_SIZE = 32 };
  Sha256Engine() : Poco::SHA2Engine(Poco::SHA2Engine::SHA_256) {}
};


}  // namespace

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string IsoNow() {
  int64_t ms = NowMs();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

Reply Ok(Value data, int status) {
  Reply r;
  r.status = status;
  r.body = Value::Object();
  r.body.Set("status", Value::String("success"));
  r.body.Set("data", std::move(data));
  return r;
}

World::World(SandboxConfig config, Faults* faults, const ToolCatalog* catalog, std::string base_url)
    : config_(std::move(config)), faults_(faults), catalog_(catalog), base_url_(std::move(base_url)) {}

Reply World::Error(int status, const std::string& message, Value details) const {
  Reply r;
  r.status = status;
  r.body = Value::Object();
  r.body.Set("status", Value::String("error"));
  r.body.Set("message", Value::String(message));
  r.body.Set("errorCode", Value::Int(status));
  if (!details.is_null()) r.body.Set("details", std::move(details));
  return r;
}

std::string World::NewId(const std::string& prefix) {
  // Deterministic for a given --seed and order of requests.
  uint64_t x = config_.seed * 0x9E3779B97F4A7C15ull + (++id_counter_) * 0xBF58476D1CE4E5B9ull;
  x ^= x >> 31;
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(x));
  return prefix + buf;
}

WorkflowRun* World::Find(const std::string& id) {
  auto it = workflows_.find(id);
  return it == workflows_.end() || it->second->forgotten ? nullptr : it->second.get();
}

int World::ActiveCount(const std::string& owner) const {
  int n = 0;
  for (const auto& [id, w] : workflows_) n += w->owner == owner && w->active() && !w->forgotten;
  return n;
}

void World::Touch(WorkflowRun& w) {
  w.updated_ms = NowMs();
  w.updated_at = IsoNow();
  dirty_ = true;
}

void World::SetStatus(WorkflowRun& w, const std::string& status) {
  w.status = status;
  Touch(w);
}

void World::Emit(WorkflowRun& w, const std::string& type, Value data, const std::string& message) {
  int64_t sequence = static_cast<int64_t>(w.events.size()) + 1;
  Value e = Value::Object();
  e.Set("id", Value::String(std::to_string(sequence)));
  e.Set("workflowId", Value::String(w.id));
  e.Set("sequence", Value::Int(sequence));
  e.Set("timestamp", Value::String(IsoNow()));
  e.Set("type", Value::String(type));
  e.Set("status", Value::String(w.status));
  if (!message.empty()) e.Set("message", Value::String(message));
  e.Set("data", data.is_null() ? Value::Object() : std::move(data));
  w.events.push_back(LoggedEvent{sequence, type, w.status, e.ToJson()});
  Touch(w);
  changed_.notify_all();
}

Value World::ArtifactRecord(const ArtifactSpec& a) const {
  Value v = Value::Object();
  v.Set("id", Value::String(a.id));
  v.Set("kind", Value::String(a.kind));
  v.Set("url", Value::String(SignedMediaUrl(a.id)));
  v.Set("mimeType", Value::String(a.mime));
  if (a.width) v.Set("width", Value::Int(a.width));
  if (a.height) v.Set("height", Value::Int(a.height));
  if (a.seconds > 0) v.Set("durationSeconds", Value::Double(a.seconds));
  v.Set("toolName", Value::String(a.tool));
  v.Set("stepId", Value::String(a.step_id));
  return v;
}

Value World::WorkflowRecord(const WorkflowRun& w) const {
  Value r = Value::Object();
  r.Set("workflowId", Value::String(w.id));
  r.Set("status", Value::String(w.status));
  if (!w.waiting_reason.empty()) r.Set("waitingReason", Value::String(w.waiting_reason));
  r.Set("awaitingCostApproval", Value::Bool(w.awaiting_cost_approval));
  r.Set("safeContentFilter", Value::Bool(w.safe_content_filter));
  Value backbone = Value::Object();
  backbone.Set("schemaVersion", Value::String("2026-04-27.1"));
  backbone.Set("modelKnowledgeVersion", Value::String("2026-04-27.2"));
  backbone.Set("routingPolicyVersion", Value::String("2026-04-27.1"));
  r.Set("backbone", backbone);
  r.Set("title", Value::String(w.title));
  r.Set("input", w.input);
  Value steps = Value::Array();
  for (const StepRun& s : w.steps) {
    Value st = Value::Object();
    st.Set("id", Value::String(s.id));
    st.Set("sequence", Value::Int(s.sequence));
    st.Set("toolName", Value::String(s.tool));
    st.Set("arguments", s.arguments);
    if (s.depends_on.is_array()) st.Set("dependsOn", s.depends_on);
    // Runtime state beyond the PROTO plan shape, as the docs describe it (steps[i].artifacts).
    st.Set("status", Value::String(s.status));
    Value arts = Value::Array();
    for (const std::string& a : s.artifact_ids) arts.Append(ArtifactRecord(artifacts_.at(a)));
    st.Set("artifacts", arts);
    Value cost = Value::Object();
    Value estimate = Value::Object();
    estimate.Set("costClass", Value::String(s.cost_class));
    estimate.Set("unit", Value::String(s.cost_unit));
    estimate.Set("quantity", Value::Double(s.cost_quantity));
    cost.Set("estimate", estimate);
    // What the step was billed, once it has ended (PROTO leaves `actual` untyped: a number here):
    // its units when it completed, nothing (0) when it failed or was cancelled; absent before.
    if (s.status == "completed") cost.Set("actual", Value::Double(s.units));
    else if (s.status == "failed" || s.status == "cancelled") cost.Set("actual", Value::Double(0));
    st.Set("cost", cost);
    st.Set("seed", Value::Int(static_cast<int64_t>(s.seed)));
    if (!s.error.is_null()) st.Set("error", s.error);
    steps.Append(st);
  }
  r.Set("steps", steps);
  r.Set("events", Value::Array());  // the log is served by the events routes
  Value arts = Value::Array();
  for (const std::string& a : w.artifact_ids) arts.Append(ArtifactRecord(artifacts_.at(a)));
  r.Set("artifacts", arts);
  Value ts = Value::Object();
  ts.Set("createdAt", Value::String(w.created_at));
  ts.Set("updatedAt", Value::String(w.updated_at));
  if (!w.completed_at.empty()) ts.Set("completedAt", Value::String(w.completed_at));
  r.Set("timestamps", ts);
  // The SDK type's own spellings of the same times.
  r.Set("createdAt", Value::String(w.created_at));
  r.Set("updatedAt", Value::String(w.updated_at));
  r.Set("createTime", Value::Int(w.created_ms));
  r.Set("updateTime", Value::Int(w.updated_ms));
  Value billing = Value::Object();
  billing.Set("estimatedCapacityUnits", Value::Double(w.estimated_units));
  billing.Set("billedCapacityUnits", Value::Double(w.units_billed));
  if (w.max_units) billing.Set("maxEstimatedCapacityUnits", Value::Double(*w.max_units));
  r.Set("billingPreview", billing);
  if (!w.error.is_null()) r.Set("error", w.error);
  if (!w.cloned_from.empty()) r.Set("clonedFromRunId", Value::String(w.cloned_from));
  return r;
}

// ---- media ----------------------------------------------------------------------------------

std::string World::SignedMediaUrl(const std::string& object_id) const {
  // Expiry on a 30-minute boundary so that one artifact's URL is stable within a record's life.
  int64_t expires = (NowMs() / 1000 / 1800 + 2) * 1800;
  Poco::HMACEngine<Sha256Engine> hmac(config_.secret);
  hmac.update(object_id + "\n" + std::to_string(expires));
  std::string sig = Poco::DigestEngine::digestToHex(hmac.digest());
  return base_url_ + "/_sandbox/media/" + object_id + "?X-Amz-Expires=" + std::to_string(expires) +
         "&X-Amz-Signature=" + sig;
}

bool World::CheckSignature(const std::string& object_id, const std::string& expires, const std::string& signature) const {
  char* end = nullptr;
  long long e = std::strtoll(expires.c_str(), &end, 10);
  if (expires.empty() || *end != '\0' || e * 1000 < NowMs()) return false;
  Poco::HMACEngine<Sha256Engine> hmac(config_.secret);
  hmac.update(object_id + "\n" + expires);
  return Poco::DigestEngine::digestToHex(hmac.digest()) == signature;
}

std::string World::StoreUpload(const std::string& owner, std::string content_type, std::string bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string id = NewId("up_");
  uploads_[id] = Upload{owner, std::move(content_type), std::move(bytes)};
  dirty_ = true;
  return id;
}

std::string World::NewUploadSlot(const std::string& owner, const std::string& key, const std::string& content_type) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string token = NewId("slot_");
  slots_[token] = Slot{owner, key, content_type, NewId("up_")};
  return token;
}

std::string World::ObjectForKey(const std::string& owner, const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = upload_keys_.find(owner + "\n" + key);
  return it == upload_keys_.end() ? "" : it->second;
}

bool World::FillUploadSlot(const std::string& token, const std::string& content_type, std::string bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = slots_.find(token);
  if (it == slots_.end()) return false;
  const Slot& slot = it->second;
  uploads_[slot.object_id] = Upload{slot.owner, content_type.empty() ? slot.content_type : content_type, std::move(bytes)};
  upload_keys_[slot.owner + "\n" + slot.key] = slot.object_id;
  slots_.erase(it);  // one upload per presigned URL
  dirty_ = true;
  return true;
}

std::string World::AddArtifact(ArtifactSpec spec) {
  std::lock_guard<std::mutex> lock(mu_);
  if (spec.id.empty()) spec.id = NewId("art_");
  std::string id = spec.id;
  artifacts_[id] = std::move(spec);
  dirty_ = true;
  return id;
}

void World::BeginDelivery() {
  std::lock_guard<std::mutex> lock(mu_);
  ++deliveries_;
}

void World::EndDelivery(const std::string& object_id, bool count, bool resumed) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (count) ++(resumed ? resumed_downloads_ : downloads_)[object_id];
    --deliveries_;
  }
  deliveries_ended_.notify_all();
}

// ---- admin ----------------------------------------------------------------------------------

void World::CountRequest(const std::string& route, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[route][status];
}

void World::CountStreamOpened() {
  std::lock_guard<std::mutex> lock(mu_);
  ++streams_opened_;
}

bool World::AllowRequest(const std::string& owner, int* retry_after) {
  if (config_.rate_limit_per_second <= 0) return true;
  std::lock_guard<std::mutex> lock(mu_);
  int64_t second = NowMs() / 1000;
  Bucket& b = rate_[owner];
  if (b.second != second) b = Bucket{second, 0};
  if (++b.count <= config_.rate_limit_per_second) return true;
  *retry_after = 1;
  return false;
}

Value World::Stats() {
  std::unique_lock<std::mutex> lock(mu_);
  deliveries_ended_.wait_for(lock, std::chrono::milliseconds(500), [&] { return deliveries_ == 0; });
  Value s = Value::Object();
  Value requests = Value::Object();
  for (const auto& [route, by_status] : requests_) {
    Value r = Value::Object();
    for (const auto& [status, n] : by_status) r.Set(std::to_string(status), Value::Int(n));
    requests.Set(route, r);
  }
  s.Set("requests", requests);
  s.Set("streamsOpened", Value::Int(streams_opened_));
  Value by_key = Value::Object();
  for (const auto& [slot, idem] : idempotency_) {
    size_t a = slot.find('\n'), b = slot.find('\n', a + 1);
    std::string key = slot.substr(b + 1);
    if (slot.substr(a + 1, b - a - 1) != "start") continue;
    Value* n = by_key.Find(key);
    by_key.Set(key, Value::Int(n ? n->as_int() + 1 : 1));
  }
  s.Set("workflowsByIdempotencyKey", by_key);
  Value billed = Value::Object();
  for (const std::string& id : workflow_order_) billed.Set(id, Value::Double(workflows_[id]->units_billed));
  s.Set("unitsBilled", billed);
  s.Set("workflowsCreated", Value::Int(static_cast<int64_t>(workflow_order_.size())));
  Value downloads = Value::Object();
  for (const auto& [id, n] : downloads_) downloads.Set(id, Value::Int(n));
  s.Set("downloads", downloads);
  Value resumed = Value::Object();
  for (const auto& [id, n] : resumed_downloads_) resumed.Set(id, Value::Int(n));
  s.Set("resumedDownloads", resumed);
  Value faults = Value::Object();
  for (const auto& [name, n] : faults_->Fired()) faults.Set(name, Value::Int(n));
  s.Set("faults", faults);
  return s;
}

void World::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  workflows_.clear();
  workflow_order_.clear();
  idempotency_.clear();
  created_per_key_.clear();
  templates_.clear();
  template_order_.clear();
  artifacts_.clear();
  uploads_.clear();
  slots_.clear();
  upload_keys_.clear();
  media_cache_.clear();
  media_cache_bytes_ = 0;
  requests_.clear();
  streams_opened_ = 0;
  downloads_.clear();
  resumed_downloads_.clear();
  rate_.clear();
  faults_->Reset();
  dirty_ = true;
  changed_.notify_all();
}

Reply World::Forget(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  WorkflowRun* w = Find(id);
  if (!w) return Error(404, "Workflow not found");
  w->forgotten = true;
  dirty_ = true;
  changed_.notify_all();  // open streams of it end
  Reply r;
  r.raw_body = "{\"forgotten\":true}";
  return r;
}

Reply World::AuthoritativeEvents(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  WorkflowRun* w = Find(id);
  if (!w) return Error(404, "Workflow not found");
  Reply r;
  std::string head = "{\"workflowId\":";
  AppendJsonString(&head, id);
  head += ",\"status\":";
  AppendJsonString(&head, w->status);
  r.raw_body = head + ",\"events\":[";
  for (size_t i = 0; i < w->events.size(); ++i) r.raw_body += (i ? "," : "") + w->events[i].json;
  r.raw_body += "]}";
  return r;
}

}  // namespace sflow
