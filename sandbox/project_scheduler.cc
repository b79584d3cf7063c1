// A project's rounds: every step_ms the scheduler thread moves each due project on one round:
// its wait in the queue (queued, with a falling queuePosition), assigned, then each job by itself
// (initiatingModel, jobStarted with jobETA, one jobProgress per step, jobResult), and one round
// after its last job, the end (jobCompleted, or a project jobError when no job completed).
#include <algorithm>

#include "sandbox/projects_impl.h"

namespace sflow {

using namespace hub;

namespace {

Value JobFrame(const ProjectRun& p, const JobRun& j, std::initializer_list<std::pair<const char*, Value>> extra) {
  Value v = Obj({{"jobID", Str(p.id)}, {"imgID", Str(j.img_id)}});
  for (const auto& [k, m] : extra) v.Set(k, m);
  return v;
}

}  // namespace

void ProjectsHub::Impl::AdvanceLocked(ProjectRun& p) {
  const int64_t now = NowMs();
  p.update_ms = now;
  dirty = true;
  if (p.status == "queued") {
    if (p.queue_left > 0) {  // still waiting: the queue moves up one place a round
      EmitLocked(p, "jobState",
                 Obj({{"type", Str("queued")}, {"jobID", Str(p.id)}, {"queuePosition", Int(p.queue_left)},
                      {"estimatedStartSeconds", Value::Double(p.queue_left * world->config().step_ms / 1000.0)},
                      {"queueStatus", Str("waiting")}}));
      --p.queue_left;
      return;
    }
    p.status = "processing";
    EmitLocked(p, "jobState", Obj({{"type", Str("assigned")}, {"jobID", Str(p.id)}, {"workerName", Str(p.worker)}}));
  }
  bool all_finished = true;
  for (JobRun& j : p.jobs) all_finished &= j.finished();
  if (!all_finished) {
    for (JobRun& j : p.jobs)
      if (!j.finished()) AdvanceJobLocked(p, j, now);
    return;
  }
  // Every job has finished: the project ends one round after its last job.
  bool any = std::any_of(p.jobs.begin(), p.jobs.end(), [](const JobRun& j) { return j.status == "jobCompleted"; });
  p.end_ms = now;
  if (any) {
    p.status = "completed";
    p.reason = "allJobsCompleted";
    EmitLocked(p, "jobState", Obj({{"type", Str("jobCompleted")}, {"jobID", Str(p.id)}}));
  } else {
    p.status = "failed";
    p.reason = "genfailure";
    EmitLocked(p, "jobError",
               Obj({{"jobID", Str(p.id)}, {"error", Str("genfailure")},
                    {"error_message", Str("Every job of the project failed")}, {"isFromWorker", Value::Bool(true)}}));
  }
  if (!conns.count(p.key)) p.claimed = false;
  active.erase(p.id);
  SettleLocked(p);
}

void ProjectsHub::Impl::AdvanceJobLocked(ProjectRun& p, JobRun& j, int64_t now) {
  const int s = p.steps;
  const double step_s = world->config().step_ms / 1000.0;
  j.update_ms = now;
  // A job's frames; under result_first, its states wait for its result (see JobRun::held).
  auto EmitLocked = [&](ProjectRun& project, const std::string& type, const Value& payload) {
    const bool ends = type == "jobResult" || type == "jobError" || type == "jobRetry";
    if (j.result_first && !ends) return j.held.emplace_back(type, payload), void();
    auto release = [&] {
      for (const auto& [t, v] : j.held) Impl::EmitLocked(project, t, v);
      j.held.clear();
    };
    if (type != "jobResult") release();
    Impl::EmitLocked(project, type, payload);
    if (type == "jobResult") release();
  };
  if (j.status == "queued") {  // onto a worker (first, or again after a jobRetry)
    j.status = "initiatingModel";
    j.start_ms = now;
    j.result_first = world->faults().Roll("result_first");
    EmitLocked(p, "jobState",
               JobFrame(p, j, {{"type", Str("initiatingModel")}, {"workerName", Str(p.worker)}, {"jobIndex", Int(j.index)}}));
    return;
  }
  if (j.status == "initiatingModel") {
    j.status = "jobStarted";
    EmitLocked(p, "jobState",
               JobFrame(p, j, {{"type", Str("jobStarted")}, {"workerName", Str(p.worker)}, {"jobIndex", Int(j.index)}}));
    EmitLocked(p, "jobETA", JobFrame(p, j, {{"etaSeconds", Value::Double((s + 1) * step_s)}}));
    return;
  }
  if (j.step < s) {
    const int step = ++j.step;
    j.status = "jobProgress";
    EmitLocked(p, "jobProgress", JobFrame(p, j, {{"step", Int(step)}, {"stepCount", Int(s)}}));
    if (step != std::max(1, s / 2)) return;
    if (j.fails) {
      j.status = "jobError";
      j.reason = "genfailure";
      j.end_ms = now;
      EmitLocked(p, "jobError",
                 JobFrame(p, j, {{"error", Str("genfailure")},
                                 {"error_message", Str("The worker failed to generate (sandbox fault step_fail)")},
                                 {"isFromWorker", Value::Bool(true)}}));
    } else if (j.attempt < kMaxAttempts && world->faults().Roll("retry_storm")) {
      // The worker dropped the render; the server requeues it for another worker, which gives
      // it a new imgID. Same jobIndex, no charge for the lost attempt.
      EmitLocked(p, "jobRetry",
                 JobFrame(p, j, {{"jobIndex", Int(j.index)}, {"attempt", Int(j.attempt)},
                                 {"maxAttempts", Int(kMaxAttempts)}, {"isFromWorker", Value::Bool(true)},
                                 {"error", Str("workerDisconnected")},
                                 {"error_message", Str("The worker went away; the job was requeued (sandbox fault retry_storm)")}}));
      ++j.attempt;
      j.img_id = NewUuidLocked();
      j.status = "queued";
      j.step = 0;
    } else if (s >= 2) {
      EmitLocked(p, "jobETA", JobFrame(p, j, {{"etaSeconds", Value::Double((s - step + 1) * step_s)}}));
    }
    return;
  }
  ArtifactSpec spec;
  spec.kind = p.kind;
  spec.mime = p.mime;
  spec.extension = p.extension;
  spec.tool = p.model->id;
  spec.step_id = p.id;
  spec.width = p.width;
  spec.height = p.height;
  spec.seconds = p.seconds;
  spec.seed = j.seed;
  j.artifact_id = world->AddArtifact(spec);
  j.status = "jobCompleted";
  j.reason = "jobCompleted";
  j.end_ms = now;
  Value result = JobFrame(p, j, {{"performedStepCount", Int(s)},
                                 {"lastSeed", Str(std::to_string(j.seed))},
                                 {"triggeredNSFWFilter", Value::Bool(false)},
                                 {"userCanceled", Value::Bool(false)},
                                 {"outputFormat", Str(p.format)}});
  // Without resultUrl the SDK mints one through /v1/image|media/downloadUrl (project_routes.cc).
  if (!world->faults().Roll("omit_result_url")) result.Set("resultUrl", Str(ResultUrlLocked(j)));
  EmitLocked(p, "jobResult", result);
}

std::string ProjectsHub::Impl::ResultUrlLocked(const JobRun& j) const {
  return j.hostile_url ? "file:///etc/passwd" : world->SignedMediaUrl(j.artifact_id);
}

void ProjectsHub::Impl::RunScheduler() {
  std::unique_lock<std::mutex> lock(mu);
  while (!stop) {
    const auto step = std::chrono::milliseconds(world->config().step_ms);
    auto now = Clock::now();
    auto next = now + std::chrono::hours(1);
    std::vector<std::string> due;
    for (const std::string& id : active)
      if (projects.at(id)->due <= now) due.push_back(id);
    for (const std::string& id : due) {
      ProjectRun& p = *projects.at(id);
      AdvanceLocked(p);
      p.due = now + step;
    }
    for (const std::string& id : active) next = std::min(next, projects.at(id)->due);
    if (next > Clock::now()) {
      cv.wait_until(lock, next);
    } else {  // step_ms 0: let the sockets in between rounds
      lock.unlock();
      std::this_thread::yield();
      lock.lock();
    }
  }
}

}  // namespace sflow
