// What the hub says about a project and an account: the frames' routing, `authenticated`,
// `swarmModels`, costs and the RawProject / RecoveredProject records.
#include <algorithm>

#include "sandbox/projects_impl.h"

namespace sflow {

using namespace hub;

void ProjectsHub::Impl::EmitLocked(const ProjectRun& p, const std::string& type, const Value& payload) {
  auto it = conns.find(p.key);
  if (it != conns.end()) it->second->Push(Frame(type, payload));
}

void ProjectsHub::Impl::Send(Conn& c, const std::string& type, const Value& payload) { c.Push(Frame(type, payload)); }

Value ProjectsHub::Impl::AuthenticatedLocked(Conn& c) {
  Value active_list = Value::Array(), unclaimed = Value::Array();
  int64_t now = NowMs();
  if (!c.app_id.empty()) {
    for (auto& [id, p] : projects) {
      if (p->key != c.key) continue;
      if (!p->finished()) {
        active_list.Append(RecordLocked(*p, Flavor::kRecovered));
      } else if (!p->claimed && now - p->end_ms < kUnclaimedHoldMs) {
        unclaimed.Append(RecordLocked(*p, Flavor::kRecovered));
        p->claimed = true;  // delivered once
        dirty = true;
      }
    }
  }
  Value entitlement = Obj({{"active", Value::Bool(false)}, {"trialing", Value::Bool(false)},
                           {"trialCapped", Value::Bool(false)}, {"subscription", Value::Null()}});
  return Obj({{"id", Str(c.owner)},
              {"clientType", Str("artist")},
              {"username", Str(c.username)},
              {"address", Str(c.address)},
              {"SID", Int(1)},
              {"clientSID", Int(1)},
              {"addressSID", Int(1)},
              {"balanceVersion", Int(2)},
              {"tokens", BalancesLocked(c.owner, false)},
              {"subscriptionEntitlement", entitlement},
              {"activeProjects", active_list},
              {"unclaimedCompletedProjects", unclaimed},
              {"activeLLMJobIDs", Value::Array()},
              {"isMainnet", Value::Bool(false)},
              {"accountWasMigrated", Value::Bool(false)},
              {"hasUnclaimedAirdrop", Value::Bool(false)},
              {"firstLoginAfterMigration", Value::Bool(false)}});
}

Value ProjectsHub::Impl::SwarmModels() {
  Value v = Value::Object();
  for (const ModelInfo& m : Models()) v.Set(m.id, Int(m.workers));
  return v;
}

// ---- records ----

enum class Flavor { kV1, kV2, kRecovered };

Value ProjectsHub::Impl::CostLocked(const ProjectRun& p, size_t jobs) const {
  // The quote is for every job; each completed job costs its share.
  const double share = static_cast<double>(jobs) / std::max<size_t>(1, p.jobs.size());
  return Obj({{"costInRenderSec", Money(p.quote.job_seconds * static_cast<double>(jobs))},
              {"costInUSD", Money(p.quote.usd * share)},
              {"costInToken", Money(p.quote.In(p.token_type) * share)}});
}

Value ProjectsHub::Impl::JobRecord(const ProjectRun& p, const JobRun& j) const {
  Value worker = Obj({{"id", Str("worker-sandbox-" + std::to_string(j.index + 1))},
                      {"name", Str(p.worker)},
                      {"username", Str(p.worker)},
                      {"address", Str("0x" + std::string(39, '0') + "1")}});
  Value r = Obj({{"id", Str(j.img_id)},
                 {"SID", Str(std::to_string(p.sid * 100 + j.index))},
                 {"imgID", Str(j.img_id)},
                 {"jobIndex", Int(j.index)},
                 {"worker", worker},
                 {"createTime", Int(j.create_ms)},
                 {"startTime", j.start_ms ? Int(j.start_ms) : Value::Null()},
                 {"updateTime", Int(j.update_ms)},
                 {"endTime", j.end_ms ? Int(j.end_ms) : Value::Null()},
                 {"status", Str(j.status)},
                 {"reason", j.reason.empty() ? Value::Null() : Str(j.reason)},
                 {"performedSteps", Int(j.step)},
                 {"triggeredNSFWFilter", Value::Bool(false)},
                 {"seedUsed", Int(j.seed)},
                 {"costActual", CostLocked(p, j.status == "jobCompleted" ? 1 : 0)},
                 {"network", Str(p.network)},
                 {"txId", Str("")},
                 {"jobType", Str(p.kind)},
                 {"tokenType", Str(p.token_type)},
                 {"isTest", Value::Bool(true)}});
  if (j.status == "jobCompleted") r.Set("outputFormat", Str(p.format));
  if (p.kind != "image") {
    r.Set("modelType", Str(p.kind));
    if (p.kind == "video") {
      r.Set("videoFrames", Int(p.frames));
      r.Set("videoFps", Int(p.fps));
      r.Set("width", Int(p.width));
      r.Set("height", Int(p.height));
    } else {
      r.Set("audioDuration", Value::Double(p.seconds));
    }
  }
  return r;
}

Value ProjectsHub::Impl::RecordLocked(const ProjectRun& p, Flavor flavor) const {
  std::string status;
  if (flavor == Flavor::kV2) {
    status = p.status;
  } else {
    status = p.status == "queued"       ? "queued"
             : p.status == "processing" ? "progress"
             : p.status == "completed"  ? "completed"
             : p.status == "failed"     ? "errored"
                                        : "cancelled";
  }
  Value working = Value::Array(), done = Value::Array();
  size_t completed = 0;
  for (const JobRun& j : p.jobs) {
    if (j.status == "queued") continue;  // not yet on a worker: no worker job exists
    (j.finished() ? done : working).Append(JobRecord(p, j));
    completed += j.status == "jobCompleted";
  }
  Value counts = Value::Object();
  for (const JobRun& j : p.jobs)
    if (j.finished()) {
      Value* n = counts.Find(j.status);
      counts.Set(j.status, Int(n ? n->as_int() + 1 : 1));
    }
  Value model = Obj({{"id", Str(p.model->id)}, {"SID", Int(p.model->sid)}, {"name", Str(p.model->name)},
                     {"type", Str(p.kind)}});
  Value r = Obj({{"id", Str(p.id)},
                 {"SID", Int(p.sid)},
                 {"artist", Obj({{"id", Str(p.owner)}, {"username", Str(Username(p.owner))},
                                 {"address", Str(WalletAddress(p.owner))}})},
                 {"model", model},
                 {"imageCount", Int(static_cast<int64_t>(p.jobs.size()))},
                 {"stepCount", Int(p.steps)},
                 {"previewCount", Int(p.previews)},
                 {"hasGuideImage", Value::Bool(false)},
                 {"denoiseStrength", Str("0.500000")},
                 {"costEstimate", Obj({{"quote", Obj({{"project", CostLocked(p, p.jobs.size())}})}})},
                 {"costActual", CostLocked(p, completed)},
                 {"createTime", Int(p.create_ms)},
                 {"updateTime", Int(p.update_ms)},
                 {"endTime", p.end_ms ? Int(p.end_ms) : Value::Null()},
                 {"status", Str(status)},
                 {"reason", p.reason.empty() ? Value::Null() : Str(p.reason)},
                 {"network", Str(p.network)},
                 {"txId", Str("")},
                 {"tokenType", Str(p.token_type)},
                 {"jobCountCompletedByState", counts},
                 {"isTest", Value::Bool(true)},
                 {"workerJobs", working},
                 {"completedWorkerJobs", done}});
  if (!p.billing_mode.empty()) r.Set("billingMode", Str(p.billing_mode));
  if (p.kind == "image") {
    if (!p.size_preset.empty()) r.Set("sizePreset", Str(p.size_preset));
    r.Set("width", Int(p.width));
    r.Set("height", Int(p.height));
  } else {
    r.Set("modelType", Str(p.kind));
    if (p.kind == "video") {
      r.Set("videoFrames", Int(p.frames));
      r.Set("videoFps", Int(p.fps));
      r.Set("width", Int(p.width));
      r.Set("height", Int(p.height));
    }
  }
  if (flavor == Flavor::kV2) r.Set("finished", Value::Bool(p.finished()));
  if (flavor == Flavor::kRecovered) {
    r.Set("appId", Str(p.app_id));
    if (!p.app_source.empty()) r.Set("appSource", Str(p.app_source));
    r.Set("jobType", Str(p.kind));
    r.Set("clientRequestData", Str(Base64Encode(p.request.ToJson())));
  }
  return r;
}

}  // namespace sflow
