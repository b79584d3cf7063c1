#include "api/project_events.h"

#include <cmath>

namespace sflow {

namespace {

std::string Text(const Value& data, const char* key) {
  const Value* v = data.Find(key);
  return v && v->is_string() ? v->as_string() : "";
}
std::optional<double> Number(const Value& data, const char* key) {
  const Value* v = data.Find(key);
  if (v && v->is_number() && std::isfinite(v->as_number())) return v->as_number();
  return std::nullopt;
}
std::optional<int64_t> Whole(const Value& data, const char* key) {
  std::optional<double> n = Number(data, key);
  if (!n || *n != std::floor(*n) || std::fabs(*n) > 9007199254740991.0) return std::nullopt;
  return static_cast<int64_t>(*n);
}
bool Flag(const Value& data, const char* key) {
  const Value* v = data.Find(key);
  return v && v->is_bool() && v->as_bool();
}
// `error` is sent as a number or as text (jobError's artistCanceled, ...).
std::string Code(const Value& data) {
  const Value* v = data.Find("error");
  if (!v) return "";
  if (v->is_string()) return v->as_string();
  if (v->is_number()) return v->ToJson();
  return "";
}

Status Malformed(const std::string& type, const std::string& why) {
  return Status::Internal("the server's '" + TerminalText(type) + "' frame " + why);
}

ProjectEvent Base(ProjectEventKind kind, const ProjectFrame& f) {
  ProjectEvent e;
  e.kind = kind;
  e.type = f.type;
  e.raw = f.data;
  e.project_id = Text(f.data, "jobID");
  e.job_id = Text(f.data, "imgID");
  e.job_index = Whole(f.data, "jobIndex");
  return e;
}

Result<ProjectEvent> JobState(const ProjectFrame& f) {
  std::string state = Text(f.data, "type");
  ProjectEventKind kind = state == "queued"            ? ProjectEventKind::kQueued
                          : state == "assigned"        ? ProjectEventKind::kAssigned
                          : state == "initiatingModel" ? ProjectEventKind::kInitiating
                          : state == "jobStarted"      ? ProjectEventKind::kStarted
                          : state == "jobCompleted"    ? ProjectEventKind::kCompleted
                                                       : ProjectEventKind::kOther;
  ProjectEvent e = Base(kind, f);
  e.worker_name = Text(f.data, "workerName");
  if (kind == ProjectEventKind::kQueued) {
    e.queue_position = Whole(f.data, "queuePosition").value_or(-1);
    // handleJobState: a finite estimatedStartSeconds >= 0 only.
    std::optional<double> start = Number(f.data, "estimatedStartSeconds");
    if (start && *start >= 0) e.eta_seconds = *start;
  }
  return e;
}

ProjectEvent Progress(const ProjectFrame& f) {
  ProjectEvent e = Base(ProjectEventKind::kProgress, f);
  e.step = Whole(f.data, "step").value_or(-1);
  e.step_count = Whole(f.data, "stepCount").value_or(-1);
  if (std::optional<double> p = Number(f.data, "progress"); p && *p >= 0 && *p <= 1) e.progress = *p;
  else if (e.step >= 0 && e.step_count > 0) e.progress = std::min(1.0, double(e.step) / double(e.step_count));
  if (std::optional<double> eta = Number(f.data, "etaSeconds"); eta && *eta >= 0) e.eta_seconds = *eta;
  return e;
}

ProjectEvent Result_(const ProjectFrame& f) {
  ProjectEvent e = Base(ProjectEventKind::kResult, f);
  e.result_url = Text(f.data, "resultUrl");
  e.last_frame_url = Text(f.data, "lastFrameUrl");
  e.output_format = Text(f.data, "outputFormat");
  e.user_canceled = Flag(f.data, "userCanceled");
  e.nsfw_filtered = Flag(f.data, "triggeredNSFWFilter");
  e.step = Whole(f.data, "performedStepCount").value_or(-1);
  return e;
}

}  // namespace

const char* ProjectEventKindName(ProjectEventKind kind) {
  switch (kind) {
    case ProjectEventKind::kAuthenticated: return "authenticated";
    case ProjectEventKind::kQueued: return "queued";
    case ProjectEventKind::kAssigned: return "assigned";
    case ProjectEventKind::kInitiating: return "initiating";
    case ProjectEventKind::kStarted: return "started";
    case ProjectEventKind::kProgress: return "progress";
    case ProjectEventKind::kEta: return "eta";
    case ProjectEventKind::kResult: return "result";
    case ProjectEventKind::kJobError: return "jobError";
    case ProjectEventKind::kRetry: return "retry";
    case ProjectEventKind::kCompleted: return "completed";
    case ProjectEventKind::kCancelConfirmation: return "cancelConfirmation";
    case ProjectEventKind::kBalanceUpdate: return "balanceUpdate";
    case ProjectEventKind::kOther: return "other";
  }
  return "other";
}

Result<std::vector<ProjectEvent>> ParseProjectFrame(const ProjectFrame& f) {
  static const char* kJobFrames[] = {"jobState", "jobProgress", "jobETA", "jobResult", "jobError", "jobRetry",
                                     "artistCancelConfirmation"};
  bool job_frame = false;
  for (const char* t : kJobFrames) job_frame = job_frame || f.type == t;
  bool known = job_frame || f.type == "authenticated" || f.type == "balanceUpdate";
  if (!known) {  // swarmModels, changeNetwork, toasts, LLM frames...: kept for the log
    ProjectEvent e;
    e.type = f.type;
    e.raw = f.data;
    return std::vector<ProjectEvent>{e};
  }
  if (!f.data.is_object()) return Malformed(f.type, "carries " + f.data.Brief() + ", not an object");
  if (job_frame && Text(f.data, "jobID").empty()) return Malformed(f.type, "has no jobID");
  std::vector<ProjectEvent> out;
  if (f.type == "authenticated") {
    for (const char* list : {"activeProjects", "unclaimedCompletedProjects"}) {
      const Value* projects = f.data.Find(list);
      if (!projects) continue;
      if (!projects->is_array()) return Malformed(f.type, std::string("has a '") + list + "' that is not a list");
      for (const Value& p : projects->items()) {
        if (!p.is_object() || Text(p, "id").empty())
          return Malformed(f.type, std::string("lists a project without an id in '") + list + "'");
        ProjectEvent e;
        e.kind = ProjectEventKind::kAuthenticated;
        e.type = f.type;
        e.project_id = Text(p, "id");
        e.unclaimed = std::string(list) == "unclaimedCompletedProjects";
        e.raw = p;
        out.push_back(std::move(e));
      }
    }
    if (out.empty()) {
      ProjectEvent e;
      e.kind = ProjectEventKind::kAuthenticated;
      e.type = f.type;
      e.raw = f.data;
      out.push_back(std::move(e));
    }
    return out;
  }
  if (f.type == "balanceUpdate") {
    ProjectEvent e;
    e.kind = ProjectEventKind::kBalanceUpdate;
    e.type = f.type;
    e.raw = f.data;
    out.push_back(std::move(e));
    return out;
  }
  if (f.type == "jobState") {
    Result<ProjectEvent> e = JobState(f);
    if (!e.ok()) return e.status();
    out.push_back(std::move(*e));
  } else if (f.type == "jobProgress") {
    out.push_back(Progress(f));
  } else if (f.type == "jobETA") {
    ProjectEvent e = Base(ProjectEventKind::kEta, f);
    if (std::optional<double> eta = Number(f.data, "etaSeconds"); eta && *eta >= 0) e.eta_seconds = *eta;
    out.push_back(std::move(e));
  } else if (f.type == "jobResult") {
    if (Text(f.data, "imgID").empty()) return Malformed(f.type, "has no imgID");
    out.push_back(Result_(f));
  } else if (f.type == "jobError" || f.type == "jobRetry") {
    bool retry = f.type == "jobRetry";
    if (retry && Text(f.data, "imgID").empty()) return Malformed(f.type, "has no imgID");
    ProjectEvent e = Base(retry ? ProjectEventKind::kRetry : ProjectEventKind::kJobError, f);
    e.error_code = Code(f.data);
    e.error_message = Text(f.data, "error_message");
    e.attempt = Whole(f.data, "attempt").value_or(-1);
    e.max_attempts = Whole(f.data, "maxAttempts").value_or(-1);
    out.push_back(std::move(e));
  } else {  // artistCancelConfirmation
    ProjectEvent e = Base(ProjectEventKind::kCancelConfirmation, f);
    e.did_cancel = Flag(f.data, "didCancel");
    e.error_message = Text(f.data, "error_message");
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace sflow
