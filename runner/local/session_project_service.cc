#include "runner/local/session_project_service.h"

#include <cstdlib>

#include "api/project_quote.h"
#include "api/projects_frames.h"
#include "engine/json.h"

namespace sflow {

namespace {

// A number the server may send as a number or as a decimal string.
std::optional<double> Amount(const Value* v) {
  if (!v) return std::nullopt;
  if (v->is_number()) return v->as_number();
  if (v->is_string() && !v->as_string().empty() && v->as_string().size() < 64) {
    char* end = nullptr;
    double d = std::strtod(v->as_string().c_str(), &end);
    if (end && *end == '\0' && d == d) return d;
  }
  return std::nullopt;
}

std::string Text(const Value& o, const char* key) {
  const Value* v = o.is_object() ? o.Find(key) : nullptr;
  return v && v->is_string() ? v->as_string() : "";
}

int64_t IntOr(const Value& o, const char* key, int64_t fallback) {
  const Value* v = o.is_object() ? o.Find(key) : nullptr;
  return v && v->is_int() && v->as_int() >= 0 && v->as_int() < (int64_t{1} << 40) ? v->as_int() : fallback;
}

std::string Upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

// An error field as sent: a number or a text.
std::string ErrorText(const Value& data) {
  std::string message = Text(data, "error_message");
  if (!message.empty()) return message;
  const Value* e = data.Find("error");
  if (e && e->is_string()) return e->as_string();
  if (e && e->is_number()) return "error " + e->Brief();
  return "no reason given";
}

}  // namespace

std::optional<ProjectNews> ProjectNewsReader::Read(const ProjectFrame& frame) {
  using K = ProjectNews::Kind;
  const Value& d = frame.data;
  if (!d.is_object()) return std::nullopt;
  ProjectNews n;
  n.project_id = Upper(Text(d, "jobID"));
  if (n.project_id.empty()) return std::nullopt;
  n.job_id = Upper(Text(d, "imgID"));
  n.wire_type = frame.type;
  n.raw = d;
  const std::string key = n.project_id + "/" + n.job_id;
  auto remembered = [&]() -> int64_t {
    auto it = job_index_.find(key);
    return it == job_index_.end() ? -1 : it->second;
  };
  if (frame.type == "jobState") {
    const std::string type = Text(d, "type");
    if (type == "queued") {
      n.kind = K::kQueued;
      n.queue_position = IntOr(d, "queuePosition", -1);
    } else if (type == "assigned" || type == "initiatingModel" || type == "jobStarted") {
      n.kind = K::kStarted;
      n.job_index = IntOr(d, "jobIndex", -1);
      if (n.job_index >= 0 && !n.job_id.empty()) job_index_[key] = n.job_index;
    } else if (type == "jobCompleted") {
      n.kind = K::kCompleted;
    } else {
      return std::nullopt;
    }
  } else if (frame.type == "jobProgress" || frame.type == "jobETA") {
    n.kind = K::kProgress;
    const Value* p = d.Find("progress");
    const Value* step = d.Find("step");
    const Value* count = d.Find("stepCount");
    if (p && p->is_number()) n.progress = p->as_number() > 1 ? p->as_number() / 100 : p->as_number();
    else if (step && count && step->is_number() && count->is_number() && count->as_number() > 0)
      n.progress = step->as_number() / count->as_number();
    n.job_index = remembered();
  } else if (frame.type == "jobResult") {
    const Value* canceled = d.Find("userCanceled");
    n.kind = canceled && canceled->is_bool() && canceled->as_bool() ? K::kJobFailed : K::kJobResult;
    if (n.kind == K::kJobFailed) n.error = "the job was cancelled";
    n.result_url = Text(d, "resultUrl");
    n.job_index = remembered();
  } else if (frame.type == "jobError") {
    // Without an imgID the whole project failed (the SDK's Projects/index.js reading).
    n.error = ErrorText(d);
    const bool cancelled = n.error == "artistCanceled" || Text(d, "error") == "artistCanceled";
    n.kind = n.job_id.empty() ? (cancelled ? K::kCancelled : K::kFailed) : K::kJobFailed;
    n.job_index = remembered();
  } else if (frame.type == "jobRetry") {
    n.kind = K::kJobRetry;
    n.job_index = IntOr(d, "jobIndex", -1);
    if (n.job_index >= 0 && !n.job_id.empty()) job_index_[key] = n.job_index;
  } else if (frame.type == "artistCancelConfirmation") {
    const Value* did = d.Find("didCancel");
    if (!did || !did->is_bool() || !did->as_bool()) return std::nullopt;
    n.kind = K::kCancelled;
    n.error = "cancelled";
  } else {
    return std::nullopt;
  }
  return n;
}


Result<ModelTraits> ModelCatalog::Traits(const std::string& model_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!models_) {
    Result<Value> models = client_->GetModelCatalog("/api/v1/models/list");
    if (!models.ok()) return models.status();
    Result<Value> tiers = client_->GetModelCatalog("/api/v2/models/tiers");
    if (!tiers.ok()) return tiers.status();
    models_ = std::move(*models);
    tiers_ = std::move(*tiers);
  }
  return TraitsFromModels(model_id, *models_, *tiers_);
}

SessionProjectService::SessionProjectService(ProjectsSession* session, ApiClient* client, std::string network)
    : session_(session), client_(client), network_(std::move(network)), catalog_(client), inbox_(std::make_shared<ProjectInbox>()) {
  session_->SubscribeAccount(inbox_);  // the reconnect and failure notices
}

SessionProjectService::~SessionProjectService() {
  for (const std::string& id : watched_) session_->Unsubscribe(id);
}

void SessionProjectService::Watch(const std::string& project_id) {
  if (watched_.insert(project_id).second) session_->Subscribe(project_id, inbox_);
}

void SessionProjectService::Unwatch(const std::string& project_id) {
  if (watched_.erase(project_id)) session_->Unsubscribe(project_id);
}

Status SessionProjectService::Send(const std::string& project_id, const std::string& job_request) {
  Watch(project_id);
  Result<Value> body = ParseJson(job_request);
  if (!body.ok()) return Status::IOError("project " + project_id + ": the stored jobRequest is not JSON");
  return session_->Send(EncodeProjectFrame("jobRequest", *body));
}

std::vector<ProjectNews> SessionProjectService::Wait(std::chrono::milliseconds wait) {
  std::vector<ProjectNews> out;
  for (SessionEvent& ev : inbox_->Wait(wait)) {
    if (ev.kind == SessionEventKind::kReconnected) {
      out.push_back(ProjectNews{.kind = ProjectNews::Kind::kReconnected});
      continue;
    }
    if (ev.kind == SessionEventKind::kSessionFailed) {
      ProjectNews n{.kind = ProjectNews::Kind::kSessionFailed};
      n.failure = ev.status;
      out.push_back(n);
      continue;
    }
    // `authenticated` (activeProjects, unclaimedCompletedProjects) is not read: after a
    // reconnect the runner looks each of its projects up, which covers both lists.
    std::optional<ProjectNews> n = reader_.Read(ev.frame);
    if (n && watched_.count(n->project_id)) out.push_back(std::move(*n));
  }
  return out;
}

RemoteProject RemoteProjectFromRecord(const Value& project) {
  RemoteProject r;
  r.status = Text(project, "status");
  // v1 records use the RawProject names.
  if (r.status == "progress") r.status = "processing";
  if (r.status == "errored") r.status = "failed";
  if (r.status == "cancelled") r.status = "canceled";
  if (const Value* cost = project.Find("costActual"); cost && cost->is_object()) r.charge = Amount(cost->Find("costInToken"));
  if (r.charge && *r.charge < 0) r.charge.reset();
  r.error = Text(project, "reason");
  int64_t position = 0;
  for (const char* list : {"workerJobs", "completedWorkerJobs"}) {
    const Value* jobs = project.Find(list);
    if (!jobs || !jobs->is_array()) continue;
    for (const Value& j : jobs->items()) {
      if (!j.is_object()) continue;
      RemoteJob job;
      job.job_id = Text(j, "imgID");
      if (job.job_id.empty()) job.job_id = Text(j, "id");
      const Value* index = j.Find("jobIndex");
      job.job_index = index && index->is_int() && index->as_int() >= 0 && index->as_int() < 100000 ? index->as_int() : position;
      ++position;
      const std::string status = Text(j, "status");
      job.done = status == "jobCompleted";
      job.failed = status == "jobError" || status == "jobFailed" || status == "jobCanceled" || status == "jobCancelled";
      job.result_url = Text(j, "resultUrl");
      r.jobs.push_back(job);
    }
  }
  return r;
}

Result<RemoteProject> SessionProjectService::Lookup(const std::string& project_id) {
  Result<Value> record = client_->GetProjectV2(project_id);
  if (!record.ok()) return record.status();
  return RemoteProjectFromRecord(*record);
}

Status SessionProjectService::Cancel(const std::string& project_id) {
  Value data = Value::Object();  // the SDK's cancel (Projects/index.js cancel())
  data.Set("jobID", Value::String(project_id));
  data.Set("error", Value::String("artistCanceled"));
  data.Set("error_message", Value::String("artistCanceled"));
  data.Set("isFromWorker", Value::Bool(false));
  return session_->Send(EncodeProjectFrame("jobError", data));
}

Status SessionProjectService::Upload(const std::string& project_id, const ProjectUpload& upload,
                                     const std::string& content_type, const std::string& bytes) {
  MediaUrlQuery q;
  q.family = upload.route.find("/media/") != std::string::npos ? "media" : "image";
  q.version = 1;
  q.job_id = project_id;
  q.type = upload.type;
  q.content_type = content_type;
  q.id = upload.id.empty() ? (q.family == "image" ? project_id : "") : upload.id;
  return client_->UploadProjectMedia(q, bytes);
}

Result<std::string> SessionProjectService::MintResultUrl(const std::string& project_id, const std::string& job_id,
                                                         MediaKind kind) {
  MediaUrlQuery q;
  q.family = kind == MediaKind::kImage ? "image" : "media";
  q.version = 1;
  q.job_id = project_id;
  q.type = "complete";
  q.id = job_id;
  return client_->GetDownloadUrl(q);
}

Result<ProjectQuoteFigures> SessionProjectService::Quote(const Value& params, const std::string& token_type) {
  return QuoteProject(*client_, catalog_, params, token_type, network_);
}

Result<ProjectQuoteFigures> QuoteProject(ApiClient& client, ModelCatalog& catalog, const Value& params,
                                         const std::string& token_type, const std::string& default_network) {
  ApiClient* client_ = &client;
  std::string network = Text(params, "network");
  if (network.empty()) network = default_network.empty() ? "fast" : default_network;
  const std::string tt = token_type.empty() ? "spark" : token_type;
  Value resolved = params;
  if (Text(params, "sizePreset").size() && Text(params, "sizePreset") != "custom") {
    Result<std::string> preset_path = SizePresetPathFor(params, network);
    if (!preset_path.ok()) return preset_path.status();
    Result<Value> presets = client_->GetEstimate(*preset_path);
    if (!presets.ok()) return presets.status();
    Result<Value> applied = ApplySizePreset(params, *presets);
    if (!applied.ok()) return applied.status();
    resolved = *applied;
  }
  const std::string model_id = Text(params, "modelId");
  Result<ModelTraits> traits = catalog.Traits(model_id);
  if (!traits.ok()) return traits.status();
  Result<std::string> path = EstimatePathFor(resolved, tt, network, &*traits);
  if (!path.ok()) return path.status();
  Result<Value> answer = client_->GetEstimate(*path);
  if (!answer.ok()) return answer.status();
  Result<ProjectQuote> quote = ParseEstimate(*answer, tt);
  if (!quote.ok()) return quote.status();
  return ProjectQuoteFigures{quote->tokens, quote->usd, tt};
}

Result<double> SpendableBalance(const Value& balance, const std::string& token_type) {
  const std::string tt = token_type.empty() ? "spark" : token_type;
  const Value* b = balance.is_object() ? balance.Find(tt) : nullptr;
  if (!b || !b->is_object()) return Status::Internal("the balance answer has no '" + tt + "' balance");
  if (std::optional<double> net = Amount(b->Find("net"))) return *net;
  std::optional<double> settled = Amount(b->Find("settled")), credit = Amount(b->Find("credit")),
                        debit = Amount(b->Find("debit"));
  if (!settled) return Status::Internal("the balance answer's '" + tt + "' balance has no net or settled amount");
  return *settled + credit.value_or(0) - debit.value_or(0);
}

Result<double> SessionProjectService::Balance(const std::string& token_type) {
  return AccountBalance(*client_, token_type);
}

Result<double> AccountBalance(ApiClient& client, const std::string& token_type) {
  Result<Value> balance = client.Balance();
  if (!balance.ok()) return balance.status();
  return SpendableBalance(*balance, token_type);
}

}  // namespace sflow
