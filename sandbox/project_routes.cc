// The hub's REST routes (projects, download URLs, sync, the socket host's model reads) and
// ProjectsHub itself.
#include <Poco/String.h>

#include "sandbox/projects_impl.h"

namespace sflow {

using namespace hub;

bool ProjectsHub::Impl::RequireAuth(RouteContext& ctx) {
  if (!ctx.caller.owner.empty()) return true;
  SendJson(ctx, 401, ErrorBody(401, "Unauthorized"));
  return false;
}

void ProjectsHub::Impl::GetProject(RouteContext& ctx, const std::string& raw_id, bool v2) {
  ctx.route = v2 ? "/v2/projects/:id" : "/v1/projects/:id";
  if (!RequireAuth(ctx)) return;
  Value record;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = projects.find(Upper(raw_id));
    // v1 stores a project only once it finished; v2 is the owner's live lookup.
    if (it != projects.end() && it->second->owner == ctx.caller.owner && (v2 || it->second->finished()))
      record = RecordLocked(*it->second, v2 ? Flavor::kV2 : Flavor::kV1);
  }
  if (record.is_null()) return SendJson(ctx, 404, ErrorBody(404, "Project not found"));
  SendJson(ctx, 200, Envelope(Obj({{"project", record}})));
}

bool ProjectsHub::Impl::DownloadUrl(RouteContext& ctx, const std::vector<std::string>& seg) {
  const std::string type = Q(ctx, "type");
  if (type != "complete" && type != "preview") return false;
  const std::string project_id = Upper(Q(ctx, "jobId"));
  std::string artifact, error;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = projects.find(project_id);
    if (it == projects.end()) return false;
    if (it->second->owner != ctx.caller.owner) {
      error = "Project not found";
    } else {
      std::string sub = Upper(Q(ctx, seg[1] == "image" ? "imageId" : "id"));
      if (sub.empty()) sub = Upper(Q(ctx, seg[1] == "image" ? "id" : "imageId"));
      for (const JobRun& j : it->second->jobs)
        if (j.img_id == sub) artifact = j.hostile_url ? ResultUrlLocked(j) : j.artifact_id;
      if (type == "preview") error = "No preview for that job (the sandbox renders none)";
      else if (!Q(ctx, "artifact").empty()) error = "No " + Q(ctx, "artifact") + " for that job";
      else if (artifact.empty()) error = "No result for that jobId and id";
    }
  }
  ctx.route = "/" + seg[0] + "/" + seg[1] + "/downloadUrl";
  if (!RequireAuth(ctx)) return true;
  if (!error.empty()) {
    SendJson(ctx, 404, ErrorBody(404, error));
    return true;
  }
  const std::string url = artifact.rfind("file://", 0) == 0 ? artifact : world->SignedMediaUrl(artifact);
  SendJson(ctx, 200, Envelope(Obj({{"downloadUrl", Str(url)}})));
  return true;
}

void ProjectsHub::Impl::Sync(RouteContext& ctx) {
  ctx.route = "/api/v1/artist/projects/sync";
  if (!RequireAuth(ctx)) return;
  const std::string app_id = Q(ctx, "appId");
  Value active_list = Value::Array(), unclaimed = Value::Array();
  {
    std::lock_guard<std::mutex> lock(mu);
    int64_t now = NowMs();
    for (const auto& [id, p] : projects) {
      if (p->owner != ctx.caller.owner || (!app_id.empty() && p->app_id != app_id)) continue;
      if (!p->finished())
        active_list.Append(RecordLocked(*p, Flavor::kRecovered));
      else if (!p->claimed && now - p->end_ms < kUnclaimedHoldMs)
        unclaimed.Append(RecordLocked(*p, Flavor::kRecovered));  // read-only: not consumed
    }
  }
  SendJson(ctx, 200,
           Obj({{"activeProjects", active_list}, {"unclaimedCompletedProjects", unclaimed},
                {"serverTime", Int(NowMs())}}));
}

void ProjectsHub::Impl::Active(RouteContext& ctx) {
  ctx.route = "/api/v1/artist/projects/active";
  if (!RequireAuth(ctx)) return;
  Value list = Value::Array();
  {
    std::lock_guard<std::mutex> lock(mu);
    for (const std::string& id : active) {
      const ProjectRun& p = *projects.at(id);
      if (p.owner == ctx.caller.owner)
        list.Append(Obj({{"id", Str(p.id)}, {"status", Str(p.status == "queued" ? "queued" : "progress")},
                         {"appId", Str(p.app_id)}}));
    }
  }
  SendJson(ctx, 200, Obj({{"projects", list}}));
}

void ProjectsHub::Impl::ModelsList(RouteContext& ctx) {
  ctx.route = "/api/v1/models/list";
  Value list = Value::Array();
  for (const ModelInfo& m : Models())
    list.Append(Obj({{"id", Str(m.id)}, {"name", Str(m.name)}, {"SID", Int(m.sid)}, {"tier", Str(m.tier)},
                     {"media", Str(m.media)}}));
  SendJson(ctx, 200, list);
}

void ProjectsHub::Impl::Reset() {
  std::lock_guard<std::mutex> lock(mu);
  projects.clear();
  active.clear();
  ledgers.clear();
  restart_refused.clear();
  dirty = true;
}

ProjectsHub::ProjectsHub(World* world) : impl_(std::make_unique<Impl>(world)) {
  Impl* raw = impl_.get();
  impl_->scheduler = std::thread([raw] { raw->RunScheduler(); });
}

ProjectsHub::~ProjectsHub() { Stop(); }

void ProjectsHub::Stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  if (impl_->scheduler.joinable()) impl_->scheduler.join();
}

bool ProjectsHub::Route(RouteContext& ctx) {
  if (Poco::icompare(ctx.req.get("Upgrade", ""), "websocket") == 0) {
    impl_->ServeSocket(ctx);
    return true;
  }
  const PathMatch path(ctx.path);
  const std::vector<std::string>& seg = path.seg;
  const std::string& m = ctx.method;
  auto is = [&](std::initializer_list<const char*> parts) { return path.Is(parts); };
  if (is({"_sandbox", "reset"}) && m == "POST") {
    impl_->Reset();
    return false;  // routes.cc answers it
  }
  if (is({"_sandbox", "balance"}) && m == "POST") {
    impl_->AdminBalance(ctx);
    return true;
  }
  if (is({"v4", "account", "balance"}) && m == "GET") {
    impl_->Balance(ctx);
    return true;
  }
  if (m != "GET") return false;
  if (is({"v1", "projects", "*"}) || is({"v2", "projects", "*"})) {
    impl_->GetProject(ctx, seg[2], seg[0] == "v2");
    return true;
  }
  if (seg.size() == 3 && (seg[0] == "v1" || seg[0] == "v2") && (seg[1] == "image" || seg[1] == "media") &&
      seg[2] == "downloadUrl")
    return impl_->DownloadUrl(ctx, seg);
  if (is({"api", "v1", "models", "list"})) {
    impl_->ModelsList(ctx);
    return true;
  }
  if (is({"api", "v2", "models", "tiers"})) {
    ctx.route = "/api/v2/models/tiers";
    SendJson(ctx, 200, Tiers());
    return true;
  }
  if (is({"api", "v1", "status", "network", "*", "models"})) {
    ctx.route = "/api/v1/status/network/:network/models";
    Value v = Value::Object();
    for (const ModelInfo& model : Models()) v.Set(std::to_string(model.sid), Int(model.workers));
    SendJson(ctx, 200, v);
    return true;
  }
  if (is({"v1", "subscriptions", "status"})) {
    ctx.route = "/v1/subscriptions/status";
    if (!impl_->RequireAuth(ctx)) return true;
    SendJson(ctx, 200,
             Envelope(Obj({{"subscription", Obj({{"active", Value::Bool(false)}, {"status", Str("none")}})}})));
    return true;
  }
  if (is({"api", "v1", "artist", "projects", "sync"})) {
    impl_->Sync(ctx);
    return true;
  }
  if (is({"api", "v1", "artist", "projects", "active"})) {
    impl_->Active(ctx);
    return true;
  }
  return false;
}

void ProjectsHub::AddStats(Value* stats) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  stats->Set("projectsCreated", Value::Int(static_cast<int64_t>(impl_->projects.size())));
}

}  // namespace sflow
