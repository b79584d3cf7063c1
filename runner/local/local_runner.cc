#include "runner/local/local_runner.h"

#include <algorithm>

#include "engine/crash_point.h"
#include "engine/json.h"
#include "engine/random.h"
#include "runner/artifact_download.h"
#include "runner/artifact_files.h"
#include "runner/local/step_cache.h"
#include "runner/sha256.h"

namespace sflow {

namespace {

using Clock = std::chrono::steady_clock;

// The jobID a request is built with before its real id is chosen (the cache key ignores it).
constexpr const char* kPlaceholderId = "00000000-0000-4000-8000-000000000000";

std::string ToolOf(const SpecStep& s) { return s.tool.empty() ? "project:" + s.type : s.tool; }

MediaKind KindOfType(const std::string& type) {
  return ParseMediaKind(type).value_or(MediaKind::kUnknown);
}

std::string ArtifactId(const std::string& project_id, int64_t job_index) {
  return project_id + "-" + std::to_string(job_index);
}

// The content type the upload is declared with, from the bytes.
std::string ContentTypeOf(const std::string& bytes, MediaKind kind) {
  std::string ext = ExtensionFor(kind, bytes);
  if (ext == "png") return "image/png";
  if (ext == "jpg") return "image/jpeg";
  if (ext == "webp") return "image/webp";
  if (ext == "mp4") return "video/mp4";
  if (ext == "wav") return "audio/wav";
  if (ext == "mp3") return "audio/mpeg";
  return kind == MediaKind::kImage ? "image/png" : kind == MediaKind::kVideo ? "video/mp4" : "audio/mpeg";
}

Value StepEvent(const std::string& type, const std::string& step, const std::string& project_id) {
  Value data = Value::Object();
  data.Set("stepId", Value::String(step));
  if (!project_id.empty()) data.Set("projectId", Value::String(project_id));
  Value e = Value::Object();
  e.Set("type", Value::String(type));
  e.Set("data", data);
  return e;
}

Value ErrorValue(const std::string& message) {
  Value e = Value::Object();
  e.Set("message", Value::String(message));
  return e;
}

}  // namespace

std::string NewProjectId() {
  uint64_t a = RandomU64(), b = RandomU64();
  a = (a & 0xFFFFFFFFFFFF0FFFull) | 0x0000000000004000ull;  // version 4
  b = (b & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;  // variant 10
  char out[37];
  std::snprintf(out, sizeof out, "%08X-%04X-%04X-%04X-%012llX", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xFFFF), static_cast<unsigned>(a & 0xFFFF),
                static_cast<unsigned>(b >> 48), static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFull));
  return out;
}

LocalRunner::LocalRunner(RunStore* store, ProjectService* service, HttpTransport* transport, LocalRunnerOptions options)
    : store_(store), service_(service), transport_(transport), options_(std::move(options)) {
  if (options_.jobs < 1) options_.jobs = 1;
}

void LocalRunner::Say(const std::string& line) {
  if (options_.reporter) options_.reporter->Line(line);
}

void LocalRunner::Report(const Value& record) { pending_reports_.push_back(record); }

// The deferred changes first, then `u`: in one transaction, in the order they were made.
RunUpdate LocalRunner::WithDeferred(RunUpdate u) {
  if (deferred_.steps.empty() && deferred_.projects.empty()) return u;
  deferred_.steps.insert(deferred_.steps.end(), std::make_move_iterator(u.steps.begin()),
                         std::make_move_iterator(u.steps.end()));
  deferred_.projects.insert(deferred_.projects.end(), u.projects.begin(), u.projects.end());
  u.steps = std::move(deferred_.steps);
  u.projects = std::move(deferred_.projects);
  deferred_ = RunUpdate{};
  return u;
}

Status LocalRunner::Write(RunUpdate u) { return store_->UpdateRun(run_.id, WithDeferred(std::move(u))); }

// Stores the round's events (and the run update they carry) in one transaction, then reports them.
Status LocalRunner::Commit(EventBatch* batch) {
  batch->run = WithDeferred(std::move(batch->run));
  if (batch->events.empty() && batch->run.steps.empty() && batch->run.artifacts.empty() &&
      batch->run.projects.empty() && !batch->run.status) {
    pending_reports_.clear();
    return Status::OK();
  }
  batch->cursor = std::max(sequence_, batch->events.empty() ? sequence_ : batch->events.back().sequence);
  if (batch->events.empty()) {
    if (Status s = store_->UpdateRun(run_.id, batch->run); !s.ok()) return s;
  } else {
    Result<AppendResult> r = store_->AppendEvents(run_.id, *batch);
    if (!r.ok()) return r.status();
    sequence_ = r->cursor;
  }
  for (const ArtifactRecord& a : batch->run.artifacts) {
    ArtifactRecord& known = artifacts_[a.remote_id];
    if (known.remote_id.empty()) known = a;
    else known.url = a.url;
  }
  if (options_.reporter)
    for (const Value& v : pending_reports_) options_.reporter->Event(run_.id, v);
  pending_reports_.clear();
  *batch = EventBatch{};
  return Status::OK();
}

Status LocalRunner::Load(const std::string& run_id) {
  Result<RunRecord> run = store_->GetRun(run_id);
  if (!run.ok()) return run.status();
  run_ = std::move(*run);
  if (run_.execution != Execution::kLocal) return Status::Internal("run " + run_id + " is not a local run");
  Result<LocalSpec> spec = SpecFromValue(run_.spec);
  if (!spec.ok())
    return Status::IOError("run " + run_id + ": " + spec.status().message() + "; the state database may be damaged");
  spec_ = std::move(*spec);
  sequence_ = run_.cursor;
  Result<std::vector<ArtifactRecord>> arts = store_->ListArtifacts(run_id);
  if (!arts.ok()) return arts.status();
  // A process that died between a step's commit and the removal of its part files left them
  // behind; the step is done and never downloaded again, so they go now.
  RemovePartFiles(run_, *arts);
  artifacts_.clear();
  other_artifacts_.clear();
  for (ArtifactRecord& a : *arts) artifacts_[a.remote_id] = std::move(a);
  step_errors_.assign(spec_.steps.size(), "");
  inflight_.clear();
  return Status::OK();
}

Result<RunOutcome> LocalRunner::Drive(const std::string& run_id) {
  if (Status s = Load(run_id); !s.ok()) return s;
  if (IsTerminal(run_.status)) return DownloadMissing(run_id, "");
  if (!options_.app_id.empty()) {
    app_id_ = options_.app_id;
  } else {
    Result<std::string> app = store_->Setting("app_id", "sogni-flow-" + NewProjectId());
    if (!app.ok()) return app.status();
    app_id_ = *app;
  }

  std::vector<std::vector<size_t>> deps;
  for (const SpecStep& s : spec_.steps) deps.push_back(s.deps);
  dag_ = std::make_unique<DagScheduler>(deps);
  Result<std::vector<ProjectRecord>> projects = store_->ListProjects(run_id);
  if (!projects.ok()) return projects.status();
  std::map<std::string, const ProjectRecord*> latest;  // per step: its newest project
  for (const ProjectRecord& p : *projects) latest[p.step_id] = &p;
  std::map<std::string, size_t> index_of;
  for (size_t i = 0; i < spec_.steps.size(); ++i) index_of[spec_.steps[i].id] = i;
  std::vector<std::pair<const ProjectRecord*, size_t>> reattach;
  for (const StepRecord& st : run_.steps) {
    auto it = index_of.find(st.step_id);
    if (it == index_of.end()) continue;
    const size_t i = it->second;
    if (st.status == RunStatus::kCompleted) {
      dag_->MarkDone(i);
    } else if (st.status == RunStatus::kFailed || st.status == RunStatus::kCancelled) {
      step_errors_[i] = st.error.is_object() && st.error.Find("message") && st.error.Find("message")->is_string()
                            ? st.error.Find("message")->as_string() : "failed";
      dag_->MarkFailed(i);
    } else if (auto p = latest.find(st.step_id); p != latest.end() && !IsFinal(p->second->state) &&
                                                  p->second->project_id == st.remote_id) {
      dag_->MarkRunning(i);
      reattach.push_back({p->second, i});
    } else if (p != latest.end() && p->second->state == ProjectState::kCompleted && p->second->project_id == st.remote_id) {
      dag_->MarkRunning(i);  // completed remotely, not yet downloaded: conclude it below
      reattach.push_back({p->second, i});
    }
  }
  if (run_.status == RunStatus::kPlanned || run_.status == RunStatus::kSubmitting || run_.status == RunStatus::kUnknown) {
    if (Status s = Write({.status = RunStatus::kRunning}); !s.ok()) return s;
    run_.status = RunStatus::kRunning;
    Say(run_id + ": running");
  }
  for (const auto& [project, step] : reattach)
    if (Status s = Reattach(*project, step); !s.ok()) return CloseStepsThen(s);
  if (Status s = CloseSteps(); !s.ok()) return s;

  last_news_ = Clock::now();
  auto last_cancel_check = Clock::now();
  for (;;) {
    while (static_cast<int>(inflight_.size() + starting_.size()) < options_.jobs && run_.cancel_requested_at == 0) {
      if (options_.cancel && options_.cancel->cancelled()) break;
      std::optional<size_t> next = dag_->NextReady();
      if (!next) break;
      if (Status s = StartStep(*next); !s.ok()) return s;
    }
    if (Status s = LaunchSteps(); !s.ok()) return s;
    if (dag_->Idle() || (inflight_.empty() && run_.cancel_requested_at != 0)) break;
    if (options_.start_only && dag_->running() == inflight_.size()) {
      if (Status st = Write({}); !st.ok()) return st;  // what was deferred (projects sent)
      RunOutcome out;
      out.status = run_.status;
      return out;
    }
    if (options_.cancel && options_.cancel->cancelled()) {
      if (Status st = Write({}); !st.ok()) return st;  // what was deferred (projects sent)
      return Status::Error(Status::Code::kCancelled, "interrupted; the projects keep running and `sogni-flow resume " +
                                                         run_id + "` takes them up");
    }
    std::vector<ProjectNews> news = service_->Wait(options_.poll);
    if (!news.empty()) last_news_ = Clock::now();
    if (Status s = Handle(news); !s.ok()) return s;
    if (Status s = CheckQuiet(); !s.ok()) return s;
    if (Clock::now() - last_cancel_check > std::chrono::seconds(1)) {
      last_cancel_check = Clock::now();
      // `sogni-flow cancel` from another process (the flag alone: the whole run, its spec and
      // steps, is too much to read every second for a large plan).
      Result<int64_t> at = store_->CancelRequestedAt(run_id);
      if (at.ok()) run_.cancel_requested_at = *at;
    }
  }
  return Finish();
}

// A project an earlier process committed: the server is asked what it knows before anything is
// sent again.
Status LocalRunner::Reattach(const ProjectRecord& project, size_t step) {
  inflight_[project.project_id] = InFlight{.step = step, .foreign = project.app_id != app_id_, .key = project.cache_key};
  if (project.state == ProjectState::kCompleted) return Conclude(project.project_id, nullptr);
  service_->Watch(project.project_id);
  Result<RemoteProject> remote = service_->Lookup(project.project_id);
  if (!remote.ok() && remote.status().code() == Status::Code::kNotFound) {
    // Never admitted (the crash came before the frame, or the server refused it): the same
    // request goes out again under the same id.
    Say(run_.id + ": step " + StepId(step) + ": project " + project.project_id + " is unknown to the server; sending it again");
    return Submit(step, project.project_id, project.request, Value(), /*resend=*/true);
  }
  if (!remote.ok()) return remote.status();
  Say(run_.id + ": step " + StepId(step) + ": re-attached to project " + project.project_id + " (" + remote->status + ")");
  if (project.state == ProjectState::kPending)
    deferred_.projects.push_back({.project_id = project.project_id, .state = ProjectState::kSent});
  if (remote->status == "completed" || remote->status == "failed" || remote->status == "canceled")
    return Conclude(project.project_id, &*remote);
  return Status::OK();
}

const ArtifactRecord* LocalRunner::SourceArtifact(const SpecBinding& b) const {
  const ArtifactRecord* found = nullptr;
  for (const auto& [id, a] : artifacts_)
    if (a.step_id == b.source_step && a.index == b.source_index && a.state == ArtifactState::kDone) found = &a;
  return found;
}

// The bytes of each upload `params` makes (UploadsFor) from `sources`, each checked against the
// sha256 the run knows, and its content type from the bytes.
Status LocalRunner::ReadUploads(const Value& params, const InputFiles& sources,
                                InputBytes* out) {
  for (const ProjectUpload& up : UploadsFor(params)) {
    auto it = sources.find({up.param, up.index});
    if (it == sources.end()) continue;
    Result<std::string> bytes = ReadWholeFile(it->second.path);
    if (!bytes.ok()) return bytes.status();
    if (Sha256Hex(*bytes) != it->second.sha256)
      return Status::Error(Status::Code::kConflict, it->second.path + " changed since the run was created (its sha256 "
                                                    "differs); restore it, or start a new run");
    out->types[up.key()] = ContentTypeOf(*bytes, it->second.kind);
    out->bytes[{up.param, up.index}] = std::move(*bytes);
  }
  return Status::OK();
}

// Uploads them under the project's id, in the SDK's order.
Status LocalRunner::SendUploads(const std::string& project_id, const Value& params, const InputBytes& in) {
  for (const ProjectUpload& up : UploadsFor(params)) {
    auto it = in.bytes.find({up.param, up.index});
    if (it == in.bytes.end()) continue;
    if (Status s = service_->Upload(project_id, up, in.types.at(up.key()), it->second); !s.ok()) return s;
  }
  return Status::OK();
}

Status LocalRunner::StartStep(size_t i) {
  const SpecStep& step = spec_.steps[i];
  Value params = step.params;
  InputFiles uploads;  // by parameter and position
  std::vector<CacheInput> cache_inputs;
  for (const SpecBinding& b : step.bindings) {
    InputFile up;
    std::string url;
    if (!b.media.empty()) {
      const SpecMedia& m = spec_.media.at(b.media);
      up = {m.path, m.sha256, m.kind};
    } else {
      const ArtifactRecord* found = SourceArtifact(b);
      if (!found) {
        // The source made fewer artifacts than the plan asked for (a job failed).
        step_errors_[i] = "input " + b.target + " needs artifact " + std::to_string(b.source_index) + " of step '" +
                          b.source_step + "', which it did not make";
        if (Status s = Write({.steps = {StepRecord{.step_id = step.id, .tool = ToolOf(step), .status = RunStatus::kFailed,
                                                   .error = ErrorValue(step_errors_[i])}}});
            !s.ok())
          return s;
        Say(run_.id + ": step " + step.id + " failed: " + step_errors_[i]);
        dag_->Finish(i, false);
        return Status::OK();
      }
      up = {found->local_path, found->sha256, found->kind};
      url = found->url;
    }
    cache_inputs.push_back(CacheInput{b.target, b.position, up.sha256});
    if (b.upload) {
      uploads[{b.target, b.position}] = up;
    } else if (Value* v = params.Find(b.target); v && v->is_array()) {
      while (static_cast<int64_t>(v->items().size()) <= b.position) v->Append(Value::String(""));
      v->items()[static_cast<size_t>(b.position)] = Value::String(url);
    } else {
      params.Set(b.target, Value::String(url));
    }
  }
  // The bytes of every upload: their content types go into the request (as the SDK writes them),
  // and each must still have the sha256 the run knows. Read again to be sent (LaunchSteps), so
  // that a round of steps never holds all of their uploads in memory at once.
  MediaContentTypes content_types;
  {
    InputBytes in;
    if (Status r = ReadUploads(params, uploads, &in); !r.ok()) return r;
    content_types = std::move(in.types);
  }
  const Value* model = params.Find("modelId");
  Result<ModelTraits> traits = service_->Traits(model && model->is_string() ? model->as_string() : "");
  Result<Value> request = traits.ok() ? BuildJobRequest(kPlaceholderId, params, *traits, content_types)
                                      : Result<Value>(traits.status());
  if (!traits.ok() && traits.status().code() != Status::Code::kInvalidPlan) return traits.status();  // resumable
  if (!request.ok()) {
    // A request the API would refuse (validate finds these offline; the catalog the service
    // gives may still differ): the step fails before anything is sent or paid, its dependants
    // are skipped, and the others go on.
    return EndStep(i, "", ProjectState::kFailed, request.status().message() + " (nothing was sent)");
  }
  const std::string key = StepCacheKey(*request, cache_inputs);
  if (options_.use_cache && !step.no_cache) {
    Result<std::optional<ProjectRecord>> cached = store_->FindCompletedProject(key);
    if (!cached.ok()) return cached.status();
    if (*cached) {
      bool used = false;
      if (Status s = UseCache(i, **cached, &used); !s.ok()) return s;
      if (used) return Status::OK();
    }
  }
  const std::string project_id = NewProjectId();
  request->Set("jobID", Value::String(project_id));
  ProjectRecord p;
  p.project_id = project_id;
  p.run_id = run_.id;
  p.step_id = step.id;
  p.app_id = app_id_;
  p.request = request->ToJson();
  p.cache_key = key;
  if (step.quote_tokens >= 0) {
    p.quote = step.quote_tokens;
    p.quote_usd = step.quote_usd;
    p.token_type = step.token_type;
  }
  starting_.push_back(Starting{.step = i, .project = std::move(p), .params = std::move(params), .uploads = std::move(uploads)});
  return Status::OK();
}

// The projects of the steps started this round are committed together (one transaction for the
// round, before any of them is sent); then each one's inputs are uploaded and its request sent.
Status LocalRunner::LaunchSteps() {
  if (starting_.empty()) return Status::OK();
  std::vector<Starting> round = std::move(starting_);
  starting_.clear();
  std::vector<ProjectRecord> projects;
  RunUpdate u;
  for (const Starting& st : round) {
    const SpecStep& step = spec_.steps[st.step];
    projects.push_back(st.project);
    u.steps.push_back(StepRecord{.step_id = step.id, .tool = ToolOf(step), .status = RunStatus::kSubmitting,
                                 .artifact_count = step.artifact_count, .remote_id = st.project.project_id});
  }
  if (Status s = store_->RecordProjects(projects, WithDeferred(std::move(u))); !s.ok()) return s;
  for (const Starting& st : round) {
    CrashPoint("local.project_recorded");
    InputBytes in;
    if (Status r = ReadUploads(st.params, st.uploads, &in); !r.ok()) return r;
    if (Status up = SendUploads(st.project.project_id, st.params, in); !up.ok()) return up;
    inflight_[st.project.project_id] = InFlight{.step = st.step, .key = st.project.cache_key};
    if (Status s = Submit(st.step, st.project.project_id, st.project.request, st.params, /*resend=*/false); !s.ok())
      return s;
  }
  return Status::OK();
}

Status LocalRunner::Submit(size_t i, const std::string& project_id, const std::string& request, const Value&, bool resend) {
  // A new attempt: what the last one saw is forgotten; its key and its refusal and resend
  // counts are kept (they bound how often a lost project goes again).
  InFlight fresh{.step = i};
  if (auto it = inflight_.find(project_id); it != inflight_.end()) {
    fresh.key = it->second.key;
    fresh.refusals = it->second.refusals;
    fresh.resends = it->second.resends;
  }
  inflight_[project_id] = fresh;  // foreign = false: it goes out on this process's socket now
  if (resend) {
    // The inputs were uploaded under this id before (or not: the crash may have come first); a
    // signed PUT of the same bytes is harmless, so they go again.
    Result<Value> parsed = ParseJson(request);
    if (!parsed.ok()) return Status::IOError("project " + project_id + ": its stored request is not JSON");
    // What to upload comes from the spec, as in StartStep; the request itself is not rebuilt.
    const SpecStep& step = spec_.steps[i];
    InputFiles uploads;
    for (const SpecBinding& b : step.bindings) {
      if (!b.upload) continue;
      if (!b.media.empty()) {
        const SpecMedia& m = spec_.media.at(b.media);
        uploads[{b.target, b.position}] = {m.path, m.sha256, m.kind};
      } else if (const ArtifactRecord* a = SourceArtifact(b)) {
        uploads[{b.target, b.position}] = {a->local_path, a->sha256, a->kind};
      }
    }
    InputBytes in;
    if (Status r = ReadUploads(step.params, uploads, &in); !r.ok()) return r;
    if (Status up = SendUploads(project_id, step.params, in); !up.ok()) return up;
  }
  if (options_.before_send && !options_.before_send())
    return Status::Error(Status::Code::kCancelled, "stopped before sending (test hook)");
  CrashPoint("local.before_send");
  if (Status s = service_->Send(project_id, request); !s.ok()) {
    if (s.code() != Status::Code::kUnavailable) return s;
    // The socket closed under the frame (a server restarting refuses and closes): the project
    // stays in flight, unsent as far as we know. The reconnect's lookups (or the quiet check's)
    // find out whether the server has it and send it again only if it does not; a session
    // that cannot come back ends the drive.
    Say(run_.id + ": step " + StepId(i) + ": project " + project_id + " not sent (" + s.message() +
        "); it goes again once the socket is back");
    return Status::OK();
  }
  CrashPoint("local.sent");
  // Not a commit of its own: the project is looked up on resume whether it is pending or sent, so
  // "sent" (and the step queued) ride with the next commit, usually the round of its first news.
  deferred_.steps.push_back(StepRecord{.step_id = StepId(i), .tool = ToolOf(spec_.steps[i]), .status = RunStatus::kQueued,
                                       .artifact_count = spec_.steps[i].artifact_count, .remote_id = project_id});
  deferred_.projects.push_back({.project_id = project_id, .state = ProjectState::kSent});
  Say(run_.id + ": step " + StepId(i) + ": project " + project_id + (resend ? " sent again" : " sent"));
  return Status::OK();
}

// A completed project of any run with the same key: its files, if intact, become this step's.
Status LocalRunner::UseCache(size_t i, const ProjectRecord& cached, bool* used) {
  const SpecStep& step = spec_.steps[i];
  // The project's files: their ids begin with its id. Another run's artifacts are read once, not
  // once per cached step (a large plan run again would read them n times), and read again when
  // the project's files there are not all done (that run was still going when they were read).
  std::vector<ArtifactRecord> files;
  auto collect = [&](const std::map<std::string, ArtifactRecord>& theirs) {
    files.clear();
    for (auto a = theirs.lower_bound(cached.project_id);
         a != theirs.end() && a->first.rfind(cached.project_id, 0) == 0; ++a)
      if (a->second.step_id == cached.step_id) files.push_back(a->second);
    return !files.empty() && std::all_of(files.begin(), files.end(), [](const ArtifactRecord& a) {
      return a.state == ArtifactState::kDone;
    });
  };
  auto read_theirs = [&]() -> Status {
    Result<std::vector<ArtifactRecord>> theirs = store_->ListArtifacts(cached.run_id);
    if (!theirs.ok()) return theirs.status();
    std::map<std::string, ArtifactRecord>& mapped = other_artifacts_[cached.run_id];
    mapped.clear();
    for (ArtifactRecord& a : *theirs) mapped[a.remote_id] = std::move(a);
    return Status::OK();
  };
  if (cached.run_id == run_.id) {
    collect(artifacts_);
  } else {
    const bool known = other_artifacts_.count(cached.run_id) > 0;
    if (!known)
      if (Status s = read_theirs(); !s.ok()) return s;
    if (!collect(other_artifacts_[cached.run_id]) && known) {
      if (Status s = read_theirs(); !s.ok()) return s;
      collect(other_artifacts_[cached.run_id]);
    }
  }
  Result<bool> intact = VerifyCachedFiles(files);
  if (!intact.ok()) return intact.status();
  if (!*intact) return Status::OK();  // moved or edited since: run the step
  const std::string dir = run_.out_dir + "/" + SafeFileName(step.id);
  if (Status s = PrepareStepDirectory(dir); !s.ok()) return s;
  // The files and their provenance first (one directory sync for all of them), then one commit:
  // the copies (done) and the step's end. A crash in between copies them again, and the same
  // bytes under an existing name are success.
  RunUpdate u;
  // A copy's id names the step it is copied for: one run may take one project's files twice.
  auto copy_id = [&](const ArtifactRecord& a) { return "cache:" + step.id + ":" + a.remote_id; };
  for (const ArtifactRecord& a : files) {
    ArtifactRecord mine = a;
    mine.remote_id = copy_id(a);
    mine.step_id = step.id;
    const std::string name = a.local_path.substr(a.local_path.rfind('/') + 1);
    mine.local_path = dir + "/" + name;
    if (mine.local_path != a.local_path) {
      // Streamed, and named only when the bytes copied are the ones verified above.
      Status s = CopyNoReplace(dir, a.local_path, mine.local_path, a.sha256, SyncDir::kByCaller);
      if (s.code() == Status::Code::kNotFound) {
        // Changed since it was verified. Before any copy: run the step. After one: its files are
        // half here, unrecorded, and the step's own download could meet them; say so instead.
        if (&a == &files.front()) return Status::OK();
        return Status::IOError(s.message() + " while step " + step.id + " was copied from the cache; run again");
      }
      if (!s.ok()) return s;
    }
    StepRecord rec{.step_id = step.id, .tool = ToolOf(step), .remote_id = cached.project_id};
    std::string prov = ProvenanceJson(run_, mine, &rec);
    if (Status s = WriteNoReplace(dir, mine.local_path + ".provenance.json", prov, SyncDir::kByCaller);
        !s.ok() && s.code() != Status::Code::kConflict)
      return s;
    mine.state = ArtifactState::kPlanned;
    u.artifacts.push_back(mine);
    mine.state = ArtifactState::kDone;
    u.saved.push_back(mine);
  }
  if (Status s = SyncDirectory(dir); !s.ok()) return s;
  u.steps.push_back(StepRecord{.step_id = step.id, .tool = ToolOf(step), .status = RunStatus::kCompleted,
                               .artifact_count = static_cast<int64_t>(files.size()), .remote_id = cached.project_id});
  if (Status s = Write(u); !s.ok()) return s;
  for (const ArtifactRecord& a : u.saved) artifacts_[a.remote_id] = a;
  Say(run_.id + ": step " + step.id + ": cached (project " + cached.project_id + " of run " + cached.run_id +
      "), 0 tokens");
  dag_->Finish(i, true);
  *used = true;
  return Status::OK();
}

Status LocalRunner::Handle(const std::vector<ProjectNews>& news) {
  EventBatch batch;
  std::vector<std::string> ended;  // projects whose end arrived this round
  std::vector<std::string> lost;   // projects the server no longer knows
  std::vector<std::string> refused;  // projects refused too often: their steps fail
  for (const ProjectNews& n : news) {
    using K = ProjectNews::Kind;
    if (n.kind == K::kSessionFailed) {
      if (Status s = Commit(&batch); !s.ok()) return s;
      return n.failure.ok() ? Status::Error(Status::Code::kUnavailable, "the projects socket gave up") : n.failure;
    }
    if (n.kind == K::kReconnected) {
      // Projects may have ended while the socket was away, or the server may have lost them (a
      // restart from an older state): ask for each one.
      for (auto& [id, f] : inflight_) {
        Result<RemoteProject> remote = service_->Lookup(id);
        if (!remote.ok() && remote.status().code() == Status::Code::kNotFound) lost.push_back(id);
        if (!remote.ok()) continue;  // asked again at the next quiet check
        if (remote->status == "completed" || remote->status == "failed" || remote->status == "canceled")
          ended.push_back(id);
      }
      continue;
    }
    auto it = inflight_.find(n.project_id);
    if (it == inflight_.end()) continue;  // a project of another run, or one already concluded
    InFlight& f = it->second;
    const SpecStep& step = spec_.steps[f.step];
    EventRecord e;
    e.sequence = sequence_ + 1 + static_cast<int64_t>(batch.events.size());
    Value record = Value::Object();
    record.Set("type", Value::String(n.wire_type.empty() ? "project" : n.wire_type));
    record.Set("stepId", Value::String(step.id));
    record.Set("projectId", Value::String(n.project_id));
    record.Set("data", n.raw);
    e.type = n.wire_type;
    e.json = record.ToJson();
    batch.events.push_back(std::move(e));
    switch (n.kind) {
      case K::kQueued: {
        Value ev = StepEvent("step_queued", step.id, n.project_id);
        if (n.queue_position >= 0) ev.Find("data")->Set("queuePosition", Value::Int(n.queue_position));
        Report(ev);
        break;
      }
      case K::kStarted:
        if (f.started) break;
        f.started = true;
        batch.run.steps.push_back(StepRecord{.step_id = step.id, .tool = ToolOf(step), .status = RunStatus::kRunning,
                                             .artifact_count = step.artifact_count, .remote_id = n.project_id});
        Report(StepEvent("step_started", step.id, n.project_id));
        break;
      case K::kProgress: {
        Value ev = StepEvent("step_progress", step.id, n.project_id);
        ev.Find("data")->Set("progress", Value::Double(n.progress));
        Report(ev);
        break;
      }
      case K::kJobResult: {
        // Which of the step's media a result is comes from its job's jobIndex (a jobState or
        // jobRetry before it). A result whose job is not known yet is left to the project's
        // record, looked up at its end (which has every job's index), unless the step asked for
        // one medium: counting results instead put a reordered pair under swapped indexes and a
        // duplicated one twice under two.
        const int64_t wanted = std::max<int64_t>(step.artifact_count, 1);
        const int64_t index = n.job_index >= 0 ? n.job_index : wanted == 1 ? 0 : -1;
        if (index < 0 || index >= wanted) break;  // unknown yet, or more results than asked for
        std::string url = n.result_url;
        if (url.empty()) {
          Result<std::string> minted = service_->MintResultUrl(n.project_id, n.job_id, KindOfType(step.type));
          if (minted.ok()) url = *minted;  // else the lookup at the end finds it
        }
        if (!url.empty()) {
          ArtifactRecord a{.step_id = step.id, .index = index, .remote_id = ArtifactId(n.project_id, index), .url = url,
                           .kind = KindOfType(step.type)};
          batch.run.artifacts.push_back(a);
        }
        break;
      }
      case K::kJobFailed: {
        const std::string job = n.job_index >= 0 ? "#" + std::to_string(n.job_index) : n.job_id;
        if (!f.failed_jobs.insert(job).second) break;  // the same failure again (a duplicated frame)
        Say(run_.id + ": step " + step.id + ": a job failed: " + n.error);
        if (step.artifact_count <= 1 || static_cast<int64_t>(f.failed_jobs.size()) >= step.artifact_count)
          ended.push_back(n.project_id);
        break;
      }
      case K::kJobRetry:
        Say(run_.id + ": step " + step.id + ": a job was requeued (no charge)");
        break;
      case K::kRefused:
        // Not admitted, so nothing was paid: once the socket is back (it closes after such a
        // refusal), the lookup of the reconnect finds the project unknown and sends it again.
        if (++f.refusals > kMaxRefusals) {
          step_errors_[f.step] = n.error + " (refused " + std::to_string(f.refusals) + " times)";
          refused.push_back(n.project_id);
        } else {
          Say(run_.id + ": step " + step.id + ": project " + n.project_id + " refused while the server restarts (" +
              n.error + "); it goes again once the socket is back");
        }
        break;
      case K::kCompleted:
      case K::kFailed:
      case K::kCancelled:
        if (n.kind != K::kCompleted && !n.error.empty()) step_errors_[f.step] = n.error;
        ended.push_back(n.project_id);
        break;
      default:
        break;
    }
  }
  if (Status s = Commit(&batch); !s.ok()) return s;
  for (const std::string& id : refused)
    if (auto it = inflight_.find(id); it != inflight_.end())
      if (Status s = EndStep(it->second.step, id, ProjectState::kFailed, step_errors_[it->second.step]); !s.ok())
        return s;
  for (const std::string& id : lost)
    if (auto it = inflight_.find(id); it != inflight_.end())
      if (Status s = SendAgain(id, it->second.step); !s.ok()) return s;
  for (const std::string& id : ended)
    if (inflight_.count(id))
      if (Status s = Conclude(id, nullptr); !s.ok()) return CloseStepsThen(s);
  return CloseSteps();
}

// A project of this run that the server does not know (never admitted, or lost by a restart
// from an older state): the same request goes out again under the same id, as on resume. A
// server that does know the id after all runs nothing twice for it.
Status LocalRunner::SendAgain(const std::string& project_id, size_t step) {
  Result<std::vector<ProjectRecord>> projects = store_->ListProjects(run_.id);
  if (!projects.ok()) return projects.status();
  for (const ProjectRecord& p : *projects) {
    if (p.project_id != project_id) continue;
    if (InFlight& f = inflight_[project_id]; ++f.resends > kMaxRefusals)
      return EndStep(step, project_id, ProjectState::kFailed,
                     "the server lost project " + project_id + " " + std::to_string(f.resends) + " times");
    Say(run_.id + ": step " + StepId(step) + ": project " + project_id + " is unknown to the server; sending it again");
    return Submit(step, project_id, p.request, Value(), /*resend=*/true);
  }
  return Status::Internal("project " + project_id + " of step " + StepId(step) + " is not in the store");
}

// The project ended: one lookup brings what the socket may have missed (results, the charge),
// then the files are downloaded and the step ends.
Status LocalRunner::Conclude(const std::string& project_id, const RemoteProject* known) {
  auto it = inflight_.find(project_id);
  if (it == inflight_.end() || it->second.closing) return Status::OK();
  const size_t i = it->second.step;
  const SpecStep& step = spec_.steps[i];
  RemoteProject remote;
  if (known) {
    remote = *known;
  } else {
    Result<RemoteProject> r = service_->Lookup(project_id);
    if (!r.ok() && r.status().code() == Status::Code::kNotFound) return SendAgain(project_id, i);
    if (!r.ok()) return r.status();  // resumable: the project is still pending or sent in the store
    remote = std::move(*r);
  }
  if (remote.status != "completed" && remote.status != "failed" && remote.status != "canceled") {
    // Not ended after all: the record lags the socket, or the end arrived in the same round as a
    // restart that lost the project (it was just sent again). Never concluded from a record that
    // has not ended: the project is looked up again every lookup_interval (CheckQuiet) until its
    // record shows the end, or its end comes as news.
    if (!it->second.ending)
      Say(run_.id + ": step " + step.id + ": project " + project_id + " is " + remote.status + "; waiting for its end");
    it->second.ending = true;
    return Status::OK();
  }
  RunUpdate u;
  for (const RemoteJob& j : remote.jobs) {
    if (!j.done || j.failed || j.job_index < 0 || j.job_index >= std::max<int64_t>(step.artifact_count, 1)) continue;
    const std::string id = ArtifactId(project_id, j.job_index);
    auto have = artifacts_.find(id);
    if (have != artifacts_.end() && !have->second.url.empty()) continue;
    std::string url = j.result_url;
    if (url.empty()) {
      Result<std::string> minted = service_->MintResultUrl(project_id, j.job_id, KindOfType(step.type));
      if (!minted.ok() && minted.status().code() == Status::Code::kNotFound) return SendAgain(project_id, i);
      if (!minted.ok()) return minted.status();
      url = *minted;
    }
    u.artifacts.push_back(ArtifactRecord{.step_id = step.id, .index = j.job_index, .remote_id = id, .url = url,
                                         .kind = KindOfType(step.type)});
  }
  if (!u.artifacts.empty()) {
    if (Status s = Write(u); !s.ok()) return s;
    for (const ArtifactRecord& a : u.artifacts) artifacts_[a.remote_id] = a;
  }
  const bool completed = remote.status == "completed";
  // The project's artifacts: their ids begin with the project id (ArtifactId), so they sit
  // together in artifacts_ and are found without walking the run's others.
  std::vector<ArtifactRecord> mine;
  for (auto a = artifacts_.lower_bound(project_id); a != artifacts_.end() && a->first.rfind(project_id, 0) == 0; ++a)
    if (a->second.step_id == step.id) mine.push_back(a->second);
  const int64_t produced = static_cast<int64_t>(mine.size());
  if (!completed || produced == 0) {
    std::string why = step_errors_[i].empty() ? (remote.error.empty() ? "the project " + remote.status : remote.error)
                                              : step_errors_[i];
    return EndStep(i, project_id, remote.status == "canceled" ? ProjectState::kCancelled : ProjectState::kFailed, why);
  }
  // Download this step's files (each once; a crash resumes them from their part files). The
  // provenance beside each file is written from the step as it will be stored (its project,
  // charge, seed and key), not from run_ as it was loaded: a process that resumes after a crash
  // between the provenance and the store's "done" writes the same bytes again, which is what
  // makes it success. The seed is the step's own (never a result's lastSeed, which a resumed
  // process may not have seen).
  StepRecord done{.step_id = step.id, .tool = ToolOf(step), .status = RunStatus::kCompleted,
                  .artifact_count = produced, .remote_id = project_id, .units = remote.charge,
                  .arguments_digest = it->second.key};
  if (const Value* seed = step.params.Find("seed"); seed && seed->is_int()) done.seed = seed->as_int();
  // The run as the download needs it, without its frozen spec and step list (moved aside for
  // the copy): copying those for every step grew with the square of the plan.
  Value spec = std::move(run_.spec);
  std::vector<StepRecord> steps = std::move(run_.steps);
  RunRecord for_files = run_;
  run_.spec = std::move(spec);
  run_.steps = std::move(steps);
  for_files.steps = {done};
  // The files' marks are stored with the step's end below, in one commit.
  DownloadOptions dl{options_.reporter, options_.cancel, options_.clock, /*defer_marks=*/true};
  DownloadTally tally;
  // What the download stored comes back as it was stored: reading the run's whole artifact table
  // here, once per step, made a run's CPU grow with the square of its steps.
  std::vector<ArtifactRecord> marked;
  Status got = DownloadArtifactList(*store_, *transport_, for_files, mine, dl, &tally, &marked);
  if (got.code() == Status::Code::kUnavailable) {
    // A stored URL may have gone stale (a signature that expired, a server restarted from an
    // older state that made the result again under another object): each file still missing
    // gets a fresh URL from the project's record, once, and is tried again. Without this a
    // resume would try the dead URL forever.
    Result<int> fresh = RefreshUrls(project_id, step, remote);
    if (!fresh.ok() && fresh.status().code() == Status::Code::kNotFound) return SendAgain(project_id, i);
    if (!fresh.ok()) return fresh.status();
    if (*fresh > 0) {
      if (Status s = StoreSaved(&marked); !s.ok()) return s;
      mine.clear();
      for (auto a = artifacts_.lower_bound(project_id); a != artifacts_.end() && a->first.rfind(project_id, 0) == 0; ++a)
        if (a->second.step_id == step.id) mine.push_back(a->second);
      tally = DownloadTally{};
      got = DownloadArtifactList(*store_, *transport_, for_files, mine, dl, &tally, &marked);
    }
  }
  if (!got.ok()) {
    // What was saved before the failure is stored now (a later attempt finds it done).
    if (Status s = StoreSaved(&marked); !s.ok()) return s;
    return got;
  }
  if (tally.failed > 0) {
    // Paid (the project completed), but not all its files could be saved: the charge is kept.
    return EndStep(i, project_id, ProjectState::kFailed, tally.first_problem, std::move(marked), remote.charge);
  }
  // The step's end is committed with the others of this round (CloseSteps): one commit for all
  // the steps that ended together.
  it->second.closing = true;
  closing_.push_back(Closing{.project_id = project_id, .step = i, .done = done, .charge = remote.charge,
                             .saved = std::move(marked)});
  return Status::OK();
}

Status LocalRunner::StoreSaved(std::vector<ArtifactRecord>* marked) {
  if (!marked->empty())
    if (Status s = Write({.saved = *marked}); !s.ok()) return s;
  RemovePartFiles(run_, *marked);  // only now: until the store knew, a part proved its bytes complete
  for (ArtifactRecord& a : *marked) artifacts_[a.remote_id] = std::move(a);
  marked->clear();
  return Status::OK();
}

// A failure that ends the drive: the steps already concluded are stored first (a resume would
// find their files complete and only store them, but need not).
Status LocalRunner::CloseStepsThen(Status failure) {
  Status closed = CloseSteps();
  return failure.ok() ? closed : failure;
}

// The steps whose files are saved (Conclude) end together: their files' marks, projects and
// steps in one commit, and only then are their part files removed, their ends reported and
// their dependants let go.
Status LocalRunner::CloseSteps() {
  if (closing_.empty()) return Status::OK();
  RunUpdate u;
  for (const Closing& c : closing_) {
    u.steps.push_back(c.done);
    u.saved.insert(u.saved.end(), c.saved.begin(), c.saved.end());
    u.projects.push_back({.project_id = c.project_id, .state = ProjectState::kCompleted, .charge = c.charge});
  }
  if (Status s = Write(std::move(u)); !s.ok()) return s;
  std::vector<Closing> closed = std::move(closing_);
  closing_.clear();
  for (Closing& c : closed) {
    // Once per step (not per commit), so that the point's count does not depend on how steps
    // happened to end together: a kill here leaves this step's part files, and those of the
    // steps after it, for the next Load().
    CrashPoint("download.marked");
    RemovePartFiles(run_, c.saved);  // only now: until the store knew, a part proved its bytes complete
    for (ArtifactRecord& a : c.saved) artifacts_[a.remote_id] = std::move(a);
    service_->Unwatch(c.project_id);
    inflight_.erase(c.project_id);
    Report(StepEvent("step_completed", StepId(c.step), c.project_id));
    dag_->Finish(c.step, true);
  }
  return Status::OK();
}

// New URLs for the project's results that are not downloaded yet: the record's, else minted.
// Returns how many changed.
Result<int> LocalRunner::RefreshUrls(const std::string& project_id, const SpecStep& step, const RemoteProject& remote) {
  RunUpdate u;
  for (const RemoteJob& j : remote.jobs) {
    if (!j.done || j.failed || j.job_index < 0) continue;
    auto have = artifacts_.find(ArtifactId(project_id, j.job_index));
    if (have == artifacts_.end() || have->second.state == ArtifactState::kDone) continue;
    std::string url = j.result_url;
    if (url.empty()) {
      Result<std::string> minted = service_->MintResultUrl(project_id, j.job_id, KindOfType(step.type));
      if (!minted.ok()) return minted.status();
      url = *minted;
    }
    if (url == have->second.url) continue;
    ArtifactRecord a = have->second;
    a.url = url;
    u.artifacts.push_back(a);
  }
  if (u.artifacts.empty()) return 0;
  if (Status s = Write(u); !s.ok()) return s;
  for (const ArtifactRecord& a : u.artifacts) artifacts_[a.remote_id].url = a.url;
  Say(run_.id + ": step " + step.id + ": " + std::to_string(u.artifacts.size()) + " result URL(s) renewed");
  return static_cast<int>(u.artifacts.size());
}

Status LocalRunner::EndStep(size_t i, const std::string& project_id, ProjectState how, const std::string& error,
                            std::vector<ArtifactRecord> saved, std::optional<double> charge) {
  const SpecStep& step = spec_.steps[i];
  step_errors_[i] = error;
  const RunStatus status = how == ProjectState::kCancelled ? RunStatus::kCancelled : RunStatus::kFailed;
  RunUpdate u{.steps = {StepRecord{.step_id = step.id, .tool = ToolOf(step), .status = status, .remote_id = project_id,
                                   .error = ErrorValue(error), .units = charge}},
              .saved = saved};
  if (!project_id.empty())  // a step ended before it had a project (its request could not be made) has none to close
    u.projects = {{.project_id = project_id, .state = how, .charge = charge, .error = ErrorValue(error)}};
  Status s = Write(u);
  if (s.code() == Status::Code::kConflict) {
    // The project had ended otherwise already (e.g. a cancel confirmed after its end): the step
    // and its files are stored without it.
    u.projects.clear();
    s = Write(std::move(u));
  }
  if (!s.ok()) return s;
  RemovePartFiles(run_, saved);
  for (ArtifactRecord& a : saved) artifacts_[a.remote_id] = std::move(a);
  if (!project_id.empty()) {
    service_->Unwatch(project_id);
    inflight_.erase(project_id);
  }
  Say(run_.id + ": step " + step.id + " " + Name(status) + ": " + error);
  Report(StepEvent(status == RunStatus::kCancelled ? "step_cancelled" : "step_failed", step.id, project_id));
  dag_->Finish(i, false);
  return Status::OK();
}

// Projects in flight and no news for a while: each one is looked up, so that a socket that lost
// frames without dropping cannot leave the run waiting forever. Projects whose news never come
// (sent under another appId) or whose end the record did not show yet are looked up more often.
Status LocalRunner::CheckQuiet() {
  if (inflight_.empty()) return Status::OK();
  const auto now = Clock::now();
  const bool quiet = now - last_news_ >= options_.quiet_check;
  const bool due = now - last_lookup_ >= options_.lookup_interval;
  if (!quiet && !due) return Status::OK();
  if (quiet) last_news_ = now;
  last_lookup_ = now;
  std::vector<std::pair<std::string, RemoteProject>> ended;
  std::vector<std::pair<std::string, size_t>> lost;
  for (const auto& [id, f] : inflight_) {
    if (!quiet && !f.foreign && !f.ending) continue;
    Result<RemoteProject> remote = service_->Lookup(id);
    if (!remote.ok() && remote.status().code() == Status::Code::kNotFound) lost.push_back({id, f.step});
    if (!remote.ok()) continue;
    if (remote->status == "completed" || remote->status == "failed" || remote->status == "canceled")
      ended.push_back({id, *remote});
  }
  for (const auto& [id, step] : lost)
    if (Status s = SendAgain(id, step); !s.ok()) return s;
  for (const auto& [id, remote] : ended)
    if (Status s = Conclude(id, &remote); !s.ok()) return CloseStepsThen(s);
  return CloseSteps();
}

Result<RunOutcome> LocalRunner::Finish() {
  RunOutcome out;
  int64_t done = 0, failed = 0, skipped = 0;
  RunUpdate u;
  for (size_t i = 0; i < spec_.steps.size(); ++i) {
    switch (dag_->state(i)) {
      case DagScheduler::State::kDone: ++done; break;
      case DagScheduler::State::kFailed: ++failed; break;
      default: {
        ++skipped;  // never started: an input failed, or the run was cancelled
        std::string why = run_.cancel_requested_at ? "not run: the run was cancelled" : "not run: an input step failed";
        u.steps.push_back(StepRecord{.step_id = spec_.steps[i].id, .tool = ToolOf(spec_.steps[i]),
                                     .status = RunStatus::kCancelled, .error = ErrorValue(why)});
        break;
      }
    }
  }
  RunStatus status = RunStatus::kCompleted;
  if (run_.cancel_requested_at) status = RunStatus::kCancelled;
  else if (failed + skipped > 0) status = done > 0 ? RunStatus::kPartialFailure : RunStatus::kFailed;
  u.status = status;
  if (status != RunStatus::kCompleted) {
    std::string first;
    for (size_t i = 0; i < spec_.steps.size() && first.empty(); ++i)
      if (!step_errors_[i].empty()) first = "step " + spec_.steps[i].id + ": " + step_errors_[i];
    u.error = ErrorValue(first.empty() ? std::string(Name(status)) : first);
    out.problem = first;
  }
  if (Status s = Write(u); !s.ok()) return s;
  Say(run_.id + ": " + Name(status) + " (" + std::to_string(done) + " of " + std::to_string(spec_.steps.size()) +
      " steps)");
  out.status = status;
  Result<std::vector<ArtifactRecord>> arts = store_->ListArtifacts(run_.id);
  if (!arts.ok()) return arts.status();
  for (const ArtifactRecord& a : *arts) {
    if (a.state == ArtifactState::kDone) ++out.artifacts_done;
    if (a.state == ArtifactState::kFailed) ++out.artifacts_failed;
  }
  Result<int64_t> events = store_->CountEvents(run_.id);
  if (events.ok()) out.events_stored = *events;
  return out;
}

Result<RunOutcome> LocalRunner::DownloadMissing(const std::string& run_id, const std::string& out_dir) {
  Result<RunRecord> run = store_->GetRun(run_id);
  if (!run.ok()) return run.status();
  if (!out_dir.empty()) run->out_dir = out_dir;
  // The files' marks are stored with the step's end below, in one commit.
  DownloadOptions dl{options_.reporter, options_.cancel, options_.clock, /*defer_marks=*/true};
  DownloadTally tally;
  if (Status s = DownloadArtifacts(*store_, *transport_, *run, dl, &tally); !s.ok()) return s;
  RunOutcome out;
  out.status = run->status;
  out.artifacts_done = tally.done;
  out.artifacts_failed = tally.failed;
  out.problem = tally.first_problem;
  Result<int64_t> events = store_->CountEvents(run_id);
  if (events.ok()) out.events_stored = *events;
  return out;
}

Status LocalRunner::RequestCancel(const RunRecord& run) {
  if (Status s = store_->UpdateRun(run.id, {.cancel_requested = true}); !s.ok()) return s;
  Result<std::vector<ProjectRecord>> projects = store_->ListProjects(run.id);
  if (!projects.ok()) return projects.status();
  Status first;
  for (const ProjectRecord& p : *projects) {
    if (IsFinal(p.state)) continue;
    Status s = service_->Cancel(p.project_id);
    if (!s.ok() && first.ok()) first = s;
  }
  return first;
}

}  // namespace sflow
