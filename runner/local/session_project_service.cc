#include "runner/local/session_project_service.h"

#include <cstdlib>

#include "api/project_events.h"
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

ProjectNews NewsOf(const ProjectEvent& e, const ProjectFrame& frame) {
  using K = ProjectNews::Kind;
  ProjectNews n;
  n.project_id = e.project_id;
  n.job_id = e.job_id;
  n.job_index = e.job_index.value_or(-1);
  n.queue_position = e.queue_position;
  n.progress = e.progress;
  n.result_url = e.result_url;
  n.wire_type = frame.type;
  n.raw = frame.data;
  switch (e.kind) {
    case ProjectEventKind::kQueued: n.kind = K::kQueued; break;
    case ProjectEventKind::kAssigned:
    case ProjectEventKind::kStarted: n.kind = K::kStarted; break;
    case ProjectEventKind::kProgress:
    case ProjectEventKind::kEta: n.kind = K::kProgress; break;
    case ProjectEventKind::kResult:
      n.kind = e.user_canceled ? K::kJobFailed : K::kJobResult;
      if (e.user_canceled) n.error = "the job was cancelled";
      break;
    case ProjectEventKind::kJobError:
      // Without an imgID the whole project failed (the SDK's reading).
      n.kind = e.job_id.empty() ? K::kFailed : K::kJobFailed;
      n.error = e.error_message.empty() ? e.error_code : e.error_message;
      if (e.error_code == "artistCanceled" || e.error_message == "artistCanceled") {
        if (e.job_id.empty()) n.kind = K::kCancelled;
        n.error = "cancelled";
      }
      break;
    case ProjectEventKind::kRetry: n.kind = K::kJobRetry; break;
    case ProjectEventKind::kCompleted: n.kind = K::kCompleted; break;
    case ProjectEventKind::kCancelConfirmation: n.kind = e.did_cancel ? K::kCancelled : K::kProgress; break;
    case ProjectEventKind::kBalanceUpdate: n.kind = K::kBalance; break;
    default: n.kind = K::kBalance; n.project_id.clear(); break;  // nothing for a project
  }
  return n;
}

}  // namespace

SessionProjectService::SessionProjectService(ProjectsSession* session, ApiClient* client, std::string network)
    : session_(session), client_(client), network_(std::move(network)), inbox_(std::make_shared<ProjectInbox>()) {
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
    Result<std::vector<ProjectEvent>> events = ParseProjectFrame(ev.frame);
    if (!events.ok()) continue;  // a malformed frame is skipped, as the SDK does
    for (const ProjectEvent& e : *events) {
      if (e.kind == ProjectEventKind::kAuthenticated) continue;  // re-attach is by lookup
      ProjectNews n = NewsOf(e, ev.frame);
      if (n.project_id.empty() || !watched_.count(n.project_id)) continue;
      out.push_back(std::move(n));
    }
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
  return QuoteProject(*client_, params, token_type, network_);
}

Result<ProjectQuoteFigures> QuoteProject(ApiClient& client, const Value& params, const std::string& token_type,
                                         const std::string& default_network) {
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
  Result<std::string> path = EstimatePathFor(resolved, tt, network);
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
