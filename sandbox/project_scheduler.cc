// A project's rounds: every step_ms the scheduler thread moves each due project one phase on
// (assigned, started, progress per step, results, the end) and emits that phase's frames.
#include <algorithm>

#include "sandbox/projects_impl.h"

namespace sflow {

using namespace hub;

void ProjectsHub::Impl::AdvanceLocked(ProjectRun& p) {
  const int64_t now = NowMs();
  const int s = p.steps;
  const int phase = ++p.phase;
  p.update_ms = now;
  auto job_frame = [&](const JobRun& j, std::initializer_list<std::pair<const char*, Value>> extra) {
    Value v = Obj({{"jobID", Str(p.id)}, {"imgID", Str(j.img_id)}});
    for (const auto& [k, m] : extra) v.Set(k, m);
    return v;
  };
  if (phase == 1) {
    p.status = "processing";
    EmitLocked(p, "jobState", Obj({{"type", Str("assigned")}, {"jobID", Str(p.id)}, {"workerName", Str(p.worker)}}));
    for (JobRun& j : p.jobs) {
      j.status = "initiatingModel";
      j.start_ms = j.update_ms = now;
      EmitLocked(p, "jobState",
                 job_frame(j, {{"type", Str("initiatingModel")}, {"workerName", Str(p.worker)},
                               {"jobIndex", Int(j.index)}}));
    }
  } else if (phase == 2) {
    for (JobRun& j : p.jobs) {
      j.status = "jobStarted";
      j.update_ms = now;
      EmitLocked(p, "jobState",
                 job_frame(j, {{"type", Str("jobStarted")}, {"workerName", Str(p.worker)},
                               {"jobIndex", Int(j.index)}}));
    }
  } else if (phase <= 2 + s) {
    const int step = phase - 2;
    for (JobRun& j : p.jobs) {
      if (j.finished()) continue;
      j.status = "jobProgress";
      j.step = step;
      j.update_ms = now;
      EmitLocked(p, "jobProgress", job_frame(j, {{"step", Int(step)}, {"stepCount", Int(s)}}));
      if (j.fails && step == std::max(1, s / 2)) {
        j.status = "jobError";
        j.reason = "genfailure";
        j.end_ms = now;
        EmitLocked(p, "jobError",
                   job_frame(j, {{"error", Str("genfailure")},
                                 {"error_message", Str("The worker failed to generate (sandbox fault step_fail)")},
                                 {"isFromWorker", Value::Bool(true)}}));
      }
    }
  } else if (phase == 3 + s) {
    for (JobRun& j : p.jobs) {
      if (j.finished()) continue;
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
      j.step = s;
      j.end_ms = j.update_ms = now;
      EmitLocked(p, "jobResult",
                 job_frame(j, {{"performedStepCount", Int(s)},
                               {"lastSeed", Str(std::to_string(j.seed))},
                               {"resultUrl", Str(world->SignedMediaUrl(j.artifact_id))},
                               {"triggeredNSFWFilter", Value::Bool(false)},
                               {"userCanceled", Value::Bool(false)},
                               {"outputFormat", Str(p.format)}}));
    }
  } else {
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
                      {"error_message", Str("Every job of the project failed")},
                      {"isFromWorker", Value::Bool(true)}}));
    }
    if (!conns.count(p.key)) p.claimed = false;
    active.erase(p.id);
    SettleLocked(p);
  }
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
