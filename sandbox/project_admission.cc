// The client's frames: jobRequest (a new project), cancel, and the small requests beside them.
#include <algorithm>
#include <cstdio>

#include "engine/json.h"
#include "sandbox/project_request.h"
#include "sandbox/projects_impl.h"

namespace sflow {

using namespace hub;

std::string ProjectsHub::Impl::NewUuidLocked() {
  uint64_t a = Mix(world->config().seed * 0xD1B54A32D192ED03ull + (++counter));
  uint64_t b = Mix(a ^ 0xA0761D6478BD642Full);
  a = (a & ~0xF000ull) | 0x4000ull;                          // version 4
  b = (b & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;  // RFC 4122 variant
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08llX-%04llX-%04llX-%04llX-%012llX", static_cast<unsigned long long>(a >> 32),
                static_cast<unsigned long long>((a >> 16) & 0xFFFF), static_cast<unsigned long long>(a & 0xFFFF),
                static_cast<unsigned long long>(b >> 48), static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFull));
  return buf;
}

void ProjectsHub::Impl::RejectJob(Conn& c, const std::string& id, const std::string& code, const std::string& message) {
  Send(c, "jobError",
        Obj({{"jobID", Str(id)}, {"error", Str(code)}, {"error_message", Str(message)},
             {"isFromWorker", Value::Bool(false)}}));
}

void ProjectsHub::Impl::CreateLocked(Conn& c, const Value& req) {
  const Value* idv = req.is_object() ? req.Find("jobID") : nullptr;
  if (!idv || !idv->is_string() || idv->as_string().empty()) return;  // nothing to answer to
  const std::string id = Upper(idv->as_string());
  if (auto it = projects.find(id); it != projects.end()) {
    // A resend of a request that already arrived runs nothing twice and charges nothing more:
    // the project moves to this socket, which is told where it is (INFERRED: docs/sandbox.md).
    if (it->second->owner != c.owner)
      return RejectJob(c, id, "duplicateJobID", "A project with this jobID already exists");
    ProjectRun& p = *it->second;
    p.key = c.key;
    p.app_id = c.app_id;
    p.claimed = true;
    return ReplayLocked(c, p);
  }
  if (!restart_refused.count(id) && world->faults().Roll("restart_refusal")) {
    // The socket is "shutting down": the request is not admitted (nothing queued or held), the
    // refusal names the close code, and the socket closes with it. The SDK sends the same request
    // once more after it reconnects; that one is admitted.
    restart_refused.insert(id);
    Send(c, "jobError",
         Obj({{"jobID", Str(id)}, {"error", Int(kServerRestarting)},
              {"error_message", Str("Server is restarting, please try again")}, {"isFromWorker", Value::Bool(false)}}));
    std::lock_guard<std::mutex> conn_lock(c.mu);
    c.restarting = true;
    return;
  }
  const Value* kfs = req.Find("keyFrames");
  const Value* kf = kfs && kfs->is_array() && kfs->size() > 0 ? &kfs->items()[0] : nullptr;
  if (!kf || !kf->is_object()) return RejectJob(c, id, "invalidJobRequest", "jobRequest needs keyFrames[0]");
  const Value* model_id = kf->Find("modelID");
  const ModelInfo* model = model_id && model_id->is_string() ? FindModel(model_id->as_string()) : nullptr;
  if (!model)
    return RejectJob(c, id, "invalidModel",
                     "Model " + (model_id && model_id->is_string() ? model_id->as_string() : std::string("(none)")) +
                         " is not available on this network");
  double count = Num(req.Find("numberOfImages"), 1);
  if (count < 1 || count > kMaxMedia || count != static_cast<int>(count))
    return RejectJob(c, id, "invalidJobRequest",
                     "numberOfImages must be a whole number from 1 to " + std::to_string(kMaxMedia));

  auto p = std::make_unique<ProjectRun>();
  p->id = id;
  p->sid = ++next_sid;
  p->owner = c.owner;
  p->app_id = c.app_id;
  p->key = c.key;
  p->request = req;
  p->model = model;
  ReadJobRequest(req, *kf, c.network, p.get());
  p->quote = PriceOf(p->quote_in, world->config().price_percent);
  // Not admitted unless the account can pay: a project-level jobError (no imgID), which the SDK
  // turns into a failed project (the real service's answer is not documented: docs/sandbox.md).
  if (std::string why; !HoldLocked(*p, &why)) {
    --next_sid;
    return RejectJob(c, id, "insufficientFunds", why);
  }
  const Value* seed = kf->Find("seed");
  bool fixed_seed = seed && seed->is_number() && seed->as_number() >= 0;
  uint64_t base = fixed_seed ? static_cast<uint64_t>(seed->as_number()) : Mix(Fnv1a(id));
  int64_t now = NowMs();
  p->create_ms = p->update_ms = now;
  int n = static_cast<int>(count);
  for (int i = 0; i < n; ++i) {
    JobRun j;
    j.img_id = NewUuidLocked();
    j.index = i;
    j.seed = static_cast<uint32_t>(fixed_seed ? base + i : Mix(base + i));
    j.create_ms = j.update_ms = now;
    p->jobs.push_back(std::move(j));
  }
  if (world->faults().Roll("step_fail")) p->jobs.back().fails = true;
  if (world->faults().Roll("hostile_result_url"))
    for (JobRun& j : p->jobs) j.hostile_url = true;

  int position = 1;
  for (const std::string& other : active) position += projects.at(other)->status == "queued";
  p->queue_left = static_cast<int>(std::min(1000.0, world->faults().Value("queue_rounds", 0)));
  if (p->queue_left > 0) {
    world->faults().Count("queue_rounds");
    position = std::max(position, p->queue_left + 1);
  }
  ProjectRun& run = *p;
  projects[id] = std::move(p);
  active.insert(id);
  EmitLocked(run, "jobState",
             Obj({{"type", Str("queued")}, {"jobID", Str(id)}, {"queuePosition", Int(position)},
                  {"estimatedStartSeconds", Value::Double((run.queue_left + 1) * world->config().step_ms / 1000.0)},
                  {"queueStatus", Str("waiting")}}));
  SendBalanceLocked(run.owner);
  run.due = Clock::now() + std::chrono::milliseconds(world->config().step_ms);
  cv.notify_all();
}

void ProjectsHub::Impl::ReplayLocked(Conn& c, const ProjectRun& p) {
  auto job = [&](const JobRun& j, std::initializer_list<std::pair<const char*, Value>> extra) {
    Value v = Obj({{"jobID", Str(p.id)}, {"imgID", Str(j.img_id)}});
    for (const auto& [k, m] : extra) v.Set(k, m);
    return v;
  };
  if (p.status == "queued") {
    Send(c, "jobState",
         Obj({{"type", Str("queued")}, {"jobID", Str(p.id)}, {"queuePosition", Int(p.queue_left + 1)},
              {"queueStatus", Str("waiting")}}));
    return;
  }
  if (p.status != "canceled")
    Send(c, "jobState", Obj({{"type", Str("assigned")}, {"jobID", Str(p.id)}, {"workerName", Str(p.worker)}}));
  for (const JobRun& j : p.jobs) {
    if (j.status == "jobCompleted") {
      Send(c, "jobResult",
           job(j, {{"performedStepCount", Int(p.steps)}, {"lastSeed", Str(std::to_string(j.seed))},
                   {"resultUrl", Str(ResultUrlLocked(j))}, {"triggeredNSFWFilter", Value::Bool(false)},
                   {"userCanceled", Value::Bool(false)}, {"outputFormat", Str(p.format)}}));
    } else if (j.status == "jobError" && j.reason != "artistCanceled") {
      Send(c, "jobError", job(j, {{"error", Str(j.reason)}, {"error_message", Str("The job failed")},
                                  {"isFromWorker", Value::Bool(true)}}));
    } else if (j.status != "queued" && j.status != "jobError") {
      Send(c, "jobState", job(j, {{"type", Str("jobStarted")}, {"workerName", Str(p.worker)}, {"jobIndex", Int(j.index)}}));
    }
  }
  if (p.status == "completed") {
    Send(c, "jobState", Obj({{"type", Str("jobCompleted")}, {"jobID", Str(p.id)}}));
  } else if (p.status == "failed") {
    Send(c, "jobError", Obj({{"jobID", Str(p.id)}, {"error", Str(p.reason)},
                             {"error_message", Str("Every job of the project failed")}, {"isFromWorker", Value::Bool(true)}}));
  } else if (p.status == "canceled") {
    Send(c, "artistCancelConfirmation", Obj({{"didCancel", Value::Bool(true)}, {"jobID", Str(p.id)}}));
  }
}

void ProjectsHub::Impl::CancelLocked(Conn& c, const Value& msg) {
  const Value* idv = msg.is_object() ? msg.Find("jobID") : nullptr;
  if (!idv || !idv->is_string()) return;
  const std::string id = Upper(idv->as_string());
  auto refuse = [&](const std::string& why) {
    Send(c, "artistCancelConfirmation",
          Obj({{"didCancel", Value::Bool(false)}, {"jobID", Str(id)}, {"error_message", Str(why)}}));
  };
  auto it = projects.find(id);
  if (it == projects.end() || it->second->owner != c.owner) return refuse("Project not found");
  ProjectRun& p = *it->second;
  if (p.status == "canceled") {
    return Send(c, "artistCancelConfirmation", Obj({{"didCancel", Value::Bool(true)}, {"jobID", Str(id)}}));
  }
  if (p.finished()) return refuse("Project already finished");
  int64_t now = NowMs();
  for (JobRun& j : p.jobs) {
    if (j.finished()) continue;
    if (j.status != "queued") j.end_ms = now;  // a queued job never reached a worker
    j.status = "jobError";
    j.reason = "artistCanceled";
    j.update_ms = now;
  }
  p.status = "canceled";
  p.reason = "artistCanceled";
  p.update_ms = p.end_ms = now;
  active.erase(id);
  SettleLocked(p);
  Send(c, "artistCancelConfirmation", Obj({{"didCancel", Value::Bool(true)}, {"jobID", Str(id)}}));
}

void ProjectsHub::Impl::HandleClientFrame(Conn& c, const std::string& text) {
  Result<Value> frame = ParseJson(text);
  if (!frame.ok() || !frame->is_object()) return;
  const Value* type = frame->Find("type");
  const Value* data = frame->Find("data");
  if (!type || !type->is_string()) return;
  Value payload;
  if (data && data->is_string()) {
    std::string json;
    if (!LenientBase64Decode(data->as_string(), &json)) return;
    Result<Value> p = ParseJson(json);
    if (!p.ok()) return;
    payload = std::move(p).value();
  }
  const std::string& t = type->as_string();
  std::lock_guard<std::mutex> lock(mu);
  dirty = true;
  if (t == "jobRequest") {
    CreateLocked(c, payload);
  } else if (t == "jobError") {
    const Value* err = payload.is_object() ? payload.Find("error") : nullptr;
    if (err && err->is_string() && err->as_string() == "artistCanceled") CancelLocked(c, payload);
  } else if (t == "changeNetwork") {
    if (payload.is_string() && (payload.as_string() == "fast" || payload.as_string() == "relaxed"))
      c.network = payload.as_string();
    Send(c, "changeNetwork", Obj({{"network", Str(c.network)}}));
  } else if (t == "setSocketEventSubscriptions") {
    if (payload.is_object())
      for (const auto& m : payload.members())
        if (m.value.is_bool()) c.subscriptions.Set(m.key, m.value);
    Send(c, "socketEventSubscriptionsUpdated", Obj({{"socketEventSubscriptions", c.subscriptions}}));
  } else if (t == "llmJobRequest") {
    const Value* id = payload.is_object() ? payload.Find("jobID") : nullptr;
    Send(c, "llmJobError",
          Obj({{"jobID", id && id->is_string() ? *id : Str("")},
               {"error", Str("llmUnavailable")},
               {"error_message", Str("The sandbox runs no LLM workers")}}));
  }
}

}  // namespace sflow
