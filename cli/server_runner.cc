#include "cli/server_runner.h"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <ctime>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "api/event_follower.h"
#include "api/sse_parser.h"
#include "cli/artifact_files.h"
#include "cli/exit_codes.h"
#include "cli/sha256.h"
#include "engine/json.h"
#include "engine/run_id.h"

namespace sflow {

namespace {

using Clock = std::chrono::steady_clock;

uint64_t RandomU64() {
  static thread_local std::mt19937_64 rng{(static_cast<uint64_t>(std::random_device()()) << 32) ^
                                          std::random_device()()};
  return rng();
}

std::string RandomKey() {
  char buf[40];
  std::snprintf(buf, sizeof buf, "sflow-%016llx%016llx", static_cast<unsigned long long>(RandomU64()),
                static_cast<unsigned long long>(RandomU64()));
  return buf;
}

std::optional<RunStatus> WireStatus(std::string s) {
  if (s == "canceled") s = "cancelled";
  if (s == "pending") s = "queued";
  return ParseName<RunStatus>(kRunStatusNames, s);
}

std::string StringField(const Value& v, std::string_view key) {
  const Value* f = v.is_object() ? v.Find(key) : nullptr;
  return f && f->is_string() ? f->as_string() : std::string();
}

// The capacity units a workflow record's step reports. The contract (durable-workflow-step) has
// cost{estimate, actual} with `actual` untyped, so every spelling seen is accepted: cost.actual
// as a number or as {capacityUnits}, and cost.capacityUnits. Unknown: nullopt.
std::optional<double> StepUnits(const Value& step) {
  const Value* cost = step.is_object() ? step.Find("cost") : nullptr;
  if (!cost || !cost->is_object()) return std::nullopt;
  if (const Value* actual = cost->Find("actual")) {
    if (actual->is_number()) return actual->as_number();
    if (const Value* u = actual->is_object() ? actual->Find("capacityUnits") : nullptr; u && u->is_number())
      return u->as_number();
  }
  if (const Value* u = cost->Find("capacityUnits"); u && u->is_number()) return u->as_number();
  return std::nullopt;
}

// What a provenance file says about one downloaded artifact: enough to tell, from the file alone,
// which reviewed plan, step, tool, seed and arguments made it, on which workflow, at what cost.
// Nothing in it changes between two downloads of the same artifact.
std::string ProvenanceJson(const RunRecord& run, const ArtifactRecord& a, const StepRecord* step) {
  Value v = Value::Object();
  v.Set("kind", Value::String("sogni-flow/provenance"));
  v.Set("run", Value::String(run.id));
  v.Set("plan", Value::String(run.plan_path));
  v.Set("planName", Value::String(run.plan_name));
  v.Set("planDigest", Value::String(run.plan_digest));
  v.Set("workflowId", Value::String(run.workflow_id));
  v.Set("step", Value::String(a.step_id));
  v.Set("tool", step && !step->tool.empty() ? Value::String(step->tool) : Value::Null());
  v.Set("seed", step && step->seed ? Value::Int(*step->seed) : Value::Null());
  v.Set("argumentsDigest", step && !step->arguments_digest.empty() ? Value::String(step->arguments_digest) : Value::Null());
  v.Set("units", step && step->units ? Value::Double(*step->units) : Value::Null());
  v.Set("artifactId", Value::String(a.remote_id));
  v.Set("index", Value::Int(a.index));
  v.Set("mediaKind", Value::String(MediaKindName(a.kind)));
  v.Set("file", Value::String(a.local_path.substr(a.local_path.rfind('/') + 1)));
  v.Set("size", Value::Int(a.size));
  v.Set("sha256", Value::String(a.sha256));
  return v.ToJson() + "\n";
}

// Commits event batches (each with the cursor that covers it, one transaction) on a thread of
// its own, so that reading and parsing the stream go on during the previous batch's fsync. One
// batch is in flight at most: Submit() waits for the one before, so batches commit in order and
// memory stays bounded. Nothing may depend on a batch until Wait() has returned: the follower
// waits before it reconciles, reconnects, returns or reports an interruption. The destructor
// commits what is in flight.
class BatchCommitter {
 public:
  BatchCommitter(RunStore* store, std::string run_id, int64_t cursor)
      : store_(store), run_id_(std::move(run_id)), cursor_(cursor), thread_([this] { Loop(); }) {}
  ~BatchCommitter() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  BatchCommitter(const BatchCommitter&) = delete;
  BatchCommitter& operator=(const BatchCommitter&) = delete;

  // Takes `batch` (which comes back empty, with the previous batch's capacity). Returns the error
  // of an earlier batch, if any: after one, nothing more is committed.
  Status Submit(EventBatch* batch) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !busy_; });
    if (!error_.ok()) return error_;
    std::swap(pending_, *batch);
    batch->events.clear();
    batch->run = RunUpdate();
    busy_ = true;
    cv_.notify_all();
    return Status::OK();
  }
  // Until nothing is in flight; the first error of any batch.
  Status Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !busy_; });
    return error_;
  }
  // After Wait(): the committed cursor.
  int64_t cursor() const { return cursor_; }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return busy_ || quit_; });
      if (!busy_) return;  // quit, nothing in flight
      lock.unlock();
      Result<AppendResult> r = store_->AppendEvents(run_id_, pending_);
      lock.lock();
      if (r.ok()) {
        cursor_ = r->cursor;
      } else {
        error_ = r.status();
      }
      busy_ = false;
      cv_.notify_all();
    }
  }

  RunStore* store_;
  const std::string run_id_;
  std::mutex mu_;
  std::condition_variable cv_;
  EventBatch pending_;
  bool busy_ = false, quit_ = false;
  Status error_;
  int64_t cursor_;
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace

std::string NewIdempotencyKey() { return RandomKey(); }

namespace {

// Stores `run` (plan, params, account and steps filled in; out_dir "" = sogni-out/<id>) as a
// planned server run together with its first intent, `kind` with a fresh Idempotency-Key and the
// exact `request`, run status submitting: one transaction, so a crash never leaves a run without
// the intent that starts it. Nothing is sent.
Result<std::string> StoreRunWithIntent(RunStore& store, RunRecord run, IntentKind kind, std::string request) {
  run.execution = Execution::kServer;
  run.status = RunStatus::kPlanned;
  if (run.out_dir.empty()) run.out_dir = "sogni-out/" + run.id;
  IntentRecord intent;
  intent.id = run.id + (kind == IntentKind::kReseed ? "-reseed" : "-start");
  intent.run_id = run.id;
  intent.kind = kind;
  intent.idempotency_key = RandomKey();
  intent.request = std::move(request);
  intent.state = IntentState::kPending;
  if (Status s = store.CreateRunWithIntent(run, intent, {.status = RunStatus::kSubmitting}); !s.ok()) return s;
  return run.id;
}

}  // namespace

Result<std::string> CreateReseedRun(RunStore& store, const RunRecord& source,
                                    const std::map<std::string, int64_t>& seed_overrides,
                                    const std::string& out_dir, std::string run_id) {
  if (source.workflow_id.empty()) return Status::Internal("run " + source.id + " has no workflow id");
  if (run_id.empty()) run_id = MakeRunId(std::time(nullptr), RandomU64());
  RunRecord run;
  run.id = run_id;
  run.plan_path = source.plan_path;
  run.plan_name = source.plan_name;
  run.plan_digest = source.plan_digest;
  run.params = source.params.is_object() ? source.params : Value::Object();
  run.params.Set("cloned_from_run", Value::String(source.id));
  run.params.Set("cloned_from_workflow", Value::String(source.workflow_id));
  run.account = source.account;
  run.out_dir = out_dir;
  for (const StepRecord& s : source.steps) run.steps.push_back(StepRecord{.step_id = s.step_id, .tool = s.tool});
  Value body = Value::Object();
  if (!seed_overrides.empty()) {
    Value seeds = Value::Object();
    for (const auto& [step, seed] : seed_overrides) seeds.Set(step, Value::Int(seed));
    body.Set("seed_overrides", seeds);
  }
  body.Set("app_source", Value::String("sogni-flow"));
  return StoreRunWithIntent(store, std::move(run), IntentKind::kReseed, body.ToJson());
}

Result<WorkflowReply> RequestCancel(RunStore& store, ApiClient& client, const RunRecord& run) {
  IntentRecord intent;
  intent.idempotency_key = RandomKey();
  intent.id = run.id + "-cancel-" + intent.idempotency_key.substr(6, 12);
  intent.run_id = run.id;
  intent.kind = IntentKind::kCancel;
  intent.request = "{}";
  intent.state = IntentState::kPending;
  if (Status s = store.RecordIntent(intent, {}); !s.ok()) return s;
  if (Status s = store.MarkIntent(intent.id, {.state = IntentState::kSent}); !s.ok()) return s;
  Result<WorkflowReply> reply = client.CancelWorkflow(run.workflow_id);
  if (!reply.ok()) {
    (void)store.MarkIntent(intent.id, {.state = IntentState::kUnknown});
    return reply.status();
  }
  RunUpdate update;
  // A terminal status is left for the follower to confirm (with its events and artifacts).
  std::optional<RunStatus> st = WireStatus(StringField(reply->workflow, "status"));
  if (st && !IsTerminal(*st)) update.status = *st;
  // Accepted (now, or by an earlier request): the run is "cancel requested" until its end is stored.
  update.cancel_requested = reply->Flag("transitioned") || (st && (*st == RunStatus::kCancelled || !IsTerminal(*st)));
  if (Status s = store.MarkIntent(intent.id, {.state = IntentState::kDone, .response = reply->data.ToJson(), .run = update});
      !s.ok())
    return s;
  return reply;
}

Status AbandonUnsentStart(RunStore& store, const std::string& run_id) {
  Result<RunRecord> run = store.GetRun(run_id);
  if (!run.ok()) return run.status();
  if (!run->workflow_id.empty()) return Status::Error(Status::Code::kConflict, "run " + run_id + " has a workflow");
  Result<std::vector<IntentRecord>> pending = store.PendingIntents(run_id);
  if (!pending.ok()) return pending.status();
  for (const IntentRecord& i : *pending) {
    if (i.kind != IntentKind::kStart && i.kind != IntentKind::kReseed) continue;
    if (i.state != IntentState::kPending)
      return Status::Error(Status::Code::kConflict, "the start of run " + run_id + " may have reached the server");
    Value error = Value::Object();
    error.Set("message", Value::String("cancelled before its start request was sent"));
    return store.MarkIntent(i.id, {.state = IntentState::kDone, .response = R"({"abandoned":true})",
                                   .run = {.status = RunStatus::kCancelled, .error = error}});
  }
  return Status::Error(Status::Code::kConflict, "run " + run_id + " has no unsent start");
}

Result<std::string> CreateServerRun(RunStore& store, const NewServerRun& spec, std::string run_id) {
  if (run_id.empty()) run_id = MakeRunId(std::time(nullptr), RandomU64());
  RunRecord run;
  run.id = run_id;
  run.plan_path = spec.plan_path;
  run.plan_name = spec.plan_name;
  run.plan_digest = spec.plan_digest;
  run.params = spec.params;
  run.account = spec.account;
  run.out_dir = spec.out_dir;
  for (const std::string& id : spec.step_ids) run.steps.push_back(StepRecord{.step_id = id});
  return StoreRunWithIntent(store, std::move(run), IntentKind::kStart, spec.start_body.ToJson());
}

ServerRunner::ServerRunner(RunStore* store, ApiClient* client, HttpTransport* transport,
                           ServerRunnerOptions options)
    : store_(store), client_(client), transport_(transport), options_(std::move(options)) {}

void ServerRunner::Say(const std::string& line) {
  if (options_.reporter) options_.reporter->Line(line);
}

Status ServerRunner::Start(RunRecord* run) {
  if (!run->workflow_id.empty()) return Status::OK();
  Result<std::vector<IntentRecord>> pending = store_->PendingIntents(run->id);
  if (!pending.ok()) return pending.status();
  const IntentRecord* intent = nullptr;
  for (const IntentRecord& i : *pending)
    if (i.kind == IntentKind::kStart || i.kind == IntentKind::kReseed) intent = &i;
  if (!intent) return Status::Internal("run " + run->id + " has neither a workflow id nor a pending start");
  if (intent->kind == IntentKind::kReseed) return StartReseed(run, *intent);

  Result<Value> body = ParseJson(intent->request);
  if (!body.ok() || !body->is_object()) return Status::Internal("stored start request is not a JSON object");
  StartWorkflowRequest req;
  for (const Value::Member& m : body->members()) {
    const Value& v = m.value;
    if (m.key == "input") req.input = v;
    else if (m.key == "workflow_id" && v.is_string()) req.workflow_id = v.as_string();
    else if (m.key == "inputs") req.inputs = v;
    else if (m.key == "token_type" && v.is_string()) req.token_type = v.as_string();
    else if (m.key == "billing_mode" && v.is_string()) req.billing_mode = v.as_string();
    else if (m.key == "app_source" && v.is_string()) req.app_source = v.as_string();
    else if (m.key == "max_estimated_capacity_units" && v.is_number()) req.max_estimated_capacity_units = v.as_number();
    else if (m.key == "confirm_cost" && v.is_bool()) req.confirm_cost = v.as_bool();
    else if (m.key == "safe_content_filter" && v.is_bool()) req.safe_content_filter = v.as_bool();
    else if (m.key == "media_references") req.media_references = v;
  }
  Result<WorkflowReply> reply = SendIntent(run, *intent, "start", {Status::Code::kInvalidPlan},
                                           [&] { return client_->StartWorkflow(req, intent->idempotency_key); });
  if (!reply.ok()) return reply.status();
  Say(run->id + ": started workflow " + run->workflow_id);
  return Status::OK();
}

Status ServerRunner::StartReseed(RunRecord* run, const IntentRecord& intent) {
  Result<Value> body = ParseJson(intent.request);
  if (!body.ok() || !body->is_object()) return Status::Internal("stored reseed request is not a JSON object");
  std::string source = run->params.is_object() ? StringField(run->params, "cloned_from_workflow") : "";
  if (source.empty()) return Status::Internal("run " + run->id + " does not name the workflow it reseeds");
  ReseedRequest req;
  if (const Value* o = body->Find("seed_overrides"); o && o->is_object())
    for (const Value::Member& m : o->members())
      if (m.value.is_int()) req.seed_overrides[m.key] = m.value.as_int();
  req.token_type = StringField(*body, "token_type");
  req.billing_mode = StringField(*body, "billing_mode");
  req.app_source = StringField(*body, "app_source");
  Result<WorkflowReply> reply =
      SendIntent(run, intent, "reseed", {Status::Code::kInvalidPlan, Status::Code::kConflict, Status::Code::kNotFound},
                 [&] { return client_->ReseedWorkflow(source, req, intent.idempotency_key); });
  if (!reply.ok()) return reply.status();
  Say(run->id + ": reseeded " + source + " as workflow " + run->workflow_id +
      (reply->Flag("idempotent") ? " (idempotent replay)" : ""));
  return Status::OK();
}

Result<WorkflowReply> ServerRunner::SendIntent(RunRecord* run, const IntentRecord& intent, const std::string& what,
                                               std::initializer_list<Status::Code> refusals,
                                               const std::function<Result<WorkflowReply>()>& send) {
  if (options_.before_start_post && !options_.before_start_post())
    return Status::Error(Status::Code::kCancelled, "stopped before the " + what + " request (test hook)");
  if (intent.state == IntentState::kPending) {
    if (Status s = store_->MarkIntent(intent.id, {.state = IntentState::kSent}); !s.ok()) return s;
  } else {
    Say(run->id + ": re-sending the " + what + " request with its original Idempotency-Key");
  }
  Result<WorkflowReply> reply = send();
  if (!reply.ok()) {
    Status s = reply.status();
    if (std::find(refusals.begin(), refusals.end(), s.code()) != refusals.end()) {
      Value err = Value::Object();
      err.Set("message", Value::String(s.message()));
      (void)store_->MarkIntent(intent.id, {.state = IntentState::kDone, .run = {.status = RunStatus::kFailed, .error = err}});
    } else if (s.code() == Status::Code::kUnavailable) {
      (void)store_->MarkIntent(intent.id, {.state = IntentState::kUnknown, .run = {.status = RunStatus::kUnknown}});
    }
    return s;
  }
  std::string wid = StringField(reply->workflow, "workflowId");
  if (wid.empty()) return Status::Internal(what + " answer without a workflowId");
  // A start keeps the workflow it answered; a reseed its whole answer (the reseed details too).
  const Value& response = intent.kind == IntentKind::kReseed ? reply->data : reply->workflow;
  if (Status s = store_->MarkIntent(intent.id, {.state = IntentState::kDone, .response = response.ToJson(),
                                                .run = {.status = RunStatus::kQueued, .workflow_id = wid}});
      !s.ok())
    return s;
  run->workflow_id = wid;
  run->status = RunStatus::kQueued;
  return reply;
}

Status ServerRunner::Follow(RunRecord* run) {
  EventFollower follower({.workflow_id = run->workflow_id, .cursor = std::max<int64_t>(run->cursor, 0)});
  EventBatch batch;
  Status store_error;
  bool stop = false;
  auto last_flush = Clock::now();
  BatchCommitter committer(store_, run->id, run->cursor);
  // Hands the batch to the committer; with `wait`, returns once everything is durable.
  auto flush = [&](bool wait) -> Status {
    if (!batch.events.empty() || batch.run.status) {
      batch.cursor = follower.cursor();
      if (Status s = committer.Submit(&batch); !s.ok()) return s;
      last_flush = Clock::now();
    }
    if (!wait) return Status::OK();
    Status s = committer.Wait();
    run->cursor = committer.cursor();
    return s;
  };
  auto absorb = [&](FollowOutcome& o) {
    for (FollowedEvent& e : o.deliver) {
      // The text as received is stored byte for byte; only a record from a reconciling GET
      // (already parsed by the client) is serialized.
      EventRecord rec{.sequence = e.sequence, .type = StringField(e.record, "type"),
                      .status = StringField(e.record, "status"),
                      .json = e.raw.empty() ? e.record.ToJson() : std::move(e.raw)};
      if (options_.reporter) options_.reporter->Event(run->id, e.record);
      batch.events.push_back(std::move(rec));
    }
    if (o.status && *o.status != last_status_) {
      last_status_ = *o.status;
      Say(run->id + ": " + *o.status);
      if (auto st = WireStatus(*o.status); st && !IsTerminal(*st)) batch.run.status = *st;
    }
    if (o.stops()) stop = true;
  };
  int failures = 0;
  std::mt19937_64 jitter(RandomU64());
  FollowOutcome offered;  // reused for every frame: no allocation per event
  batch.events.reserve(std::min<size_t>(options_.flush_events, 4096));
  while (true) {
    int64_t before = follower.cursor();
    SseParser parser;
    follower.StreamStarted();
    HttpRequest req = client_->EventStreamRequest(run->workflow_id, follower.cursor(),
                                                  follower.cursor() > 0 ? follower.LastEventId() : "");
    StreamHandlers handlers;
    handlers.on_chunk = [&](std::string_view bytes) {
      Status fs = parser.Feed(bytes, [&](const SseEvent& e) {
        follower.Offer(e, &offered);
        absorb(offered);
      });
      if (!fs.ok()) return false;
      if (batch.events.size() >= options_.flush_events || Clock::now() - last_flush >= options_.flush_interval) {
        store_error = flush(/*wait=*/false);
        if (!store_error.ok()) return false;
      }
      return !stop;
    };
    Result<HttpResponse> head = transport_->Stream(req, handlers, options_.cancel);
    parser.Finish();
    if (!store_error.ok()) return store_error;
    if (options_.cancel && options_.cancel->cancelled()) {
      if (Status s = flush(/*wait=*/true); !s.ok()) return s;  // everything received so far, with its cursor
      return Status::Error(Status::Code::kCancelled, "interrupted; the workflow keeps running on the server");
    }
    std::optional<double> wait_s;
    if (!head.ok()) {
      if (head.status().code() != Status::Code::kUnavailable) return head.status();
    } else if (head->status == 401 || head->status == 402 || head->status == 403) {
      return Status::Error(Status::Code::kPermission, "event stream: HTTP " + std::to_string(head->status));
    } else if (head->status == 404) {
      return Status::NotFound("workflow " + run->workflow_id + " not found on the server");
    } else if (head->status >= 300) {
      std::string ra = head->Header("Retry-After");
      if (!ra.empty() && std::all_of(ra.begin(), ra.end(), ::isdigit)) wait_s = std::min(30.0, std::stod(ra));
    }
    // Fill holes (and catch up after a dropped stream) from the log itself.
    if (stop || follower.gap() || head.ok()) {
      Result<std::vector<Value>> records = client_->ListEvents(run->workflow_id, follower.cursor());
      if (records.ok()) {
        FollowOutcome reconciled = follower.Reconcile(std::move(*records));
        absorb(reconciled);
      } else if (records.status().code() == Status::Code::kPermission) {
        return records.status();
      }
    }
    if (Status s = flush(/*wait=*/true); !s.ok()) return s;
    if (stop && !follower.gap()) return Status::OK();
    if (follower.cursor() > before) {
      failures = 0;
    } else if (Result<Value> w = client_->GetWorkflow(run->workflow_id);
               w.ok() && (EventFollower::IsTerminal(StringField(*w, "status")) ||
                          StringField(*w, "status") == "waiting_for_user") && !follower.gap()) {
      return Status::OK();  // a stream of a run that has ended sends nothing more
    } else if (++failures > options_.max_stream_failures) {
      return Status::Error(Status::Code::kUnavailable, "event stream of " + run->workflow_id +
                                                           ": no progress after " + std::to_string(failures) + " attempts");
    }
    auto cap = std::min<int64_t>(options_.backoff_max.count(), options_.backoff_base.count() << std::min(failures, 10));
    int64_t ms = failures == 0 ? 0 : std::uniform_int_distribution<int64_t>(0, cap)(jitter);
    if (wait_s) ms = std::max<int64_t>(ms, static_cast<int64_t>(*wait_s * 1000));
    for (int64_t slept = 0; slept < ms; slept += 50) {  // a Ctrl-C during backoff is not kept waiting
      if (options_.cancel && options_.cancel->cancelled()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(50, ms - slept)));
    }
  }
}

Status ServerRunner::Confirm(RunRecord* run, RunOutcome* outcome) {
  Result<Value> got = client_->GetWorkflow(run->workflow_id);
  if (!got.ok()) return got.status();
  const Value& w = *got;
  std::string wire = StringField(w, "status");
  std::optional<RunStatus> st = WireStatus(wire);
  if (!st) return Status::Internal("workflow " + run->workflow_id + " has an unknown status '" + wire + "'");
  RunUpdate update{.status = *st, .waiting_reason = StringField(w, "waitingReason")};
  if (const Value* e = w.Find("error"); e && e->is_object()) update.error = *e;
  std::set<std::string> seen;
  auto add_artifact = [&](const Value& a, const std::string& step, int64_t index) {
    std::string id = StringField(a, "id");
    if (id.empty() || !seen.insert(id).second) return;
    ArtifactRecord rec{.step_id = step, .index = index, .remote_id = id, .url = StringField(a, "url")};
    rec.kind = ParseMediaKind(StringField(a, "kind")).value_or(MediaKind::kUnknown);
    update.artifacts.push_back(std::move(rec));
  };
  if (const Value* steps = w.Find("steps"); steps && steps->is_array()) {
    for (const Value& s : steps->items()) {
      std::string sid = StringField(s, "id");
      if (sid.empty()) continue;
      int64_t n = 0;
      if (const Value* arts = s.Find("artifacts"); arts && arts->is_array())
        for (const Value& a : arts->items()) add_artifact(a, sid, n++);
      std::optional<RunStatus> ss = WireStatus(StringField(s, "status"));
      if (!ss) continue;
      StepRecord step{.step_id = sid, .tool = StringField(s, "toolName"), .status = *ss, .artifact_count = n};
      if (const Value* seed = s.Find("seed"); seed && seed->is_int()) step.seed = seed->as_int();
      step.units = StepUnits(s);
      if (const Value* args = s.Find("arguments"); args && args->is_object())
        step.arguments_digest = Sha256Hex(args->ToJson(/*sort_keys=*/true));
      update.steps.push_back(std::move(step));
    }
  }
  if (const Value* arts = w.Find("artifacts"); arts && arts->is_array()) {
    std::map<std::string, int64_t> next;
    for (const ArtifactRecord& a : update.artifacts) next[a.step_id] = std::max(next[a.step_id], a.index + 1);
    for (const Value& a : arts->items()) {
      std::string step = StringField(a, "stepId");
      if (step.empty()) step = "_";
      if (!seen.count(StringField(a, "id"))) add_artifact(a, step, next[step]++);
    }
  }
  if (Status s = store_->UpdateRun(run->id, update); !s.ok()) return s;
  run->status = *st;
  outcome->status = *st;
  outcome->waiting_reason = update.waiting_reason.value_or("");
  const Value* aca = w.Find("awaitingCostApproval");
  outcome->awaiting_cost_approval = (aca && aca->is_bool() && aca->as_bool()) ||
                                    outcome->waiting_reason == "cost_approval_required";
  if (wire != last_status_) Say(run->id + ": " + wire), last_status_ = wire;
  return Status::OK();
}

Status ServerRunner::Download(RunRecord* run, RunOutcome* outcome) {
  Result<std::vector<ArtifactRecord>> arts = store_->ListArtifacts(run->id);
  if (!arts.ok()) return arts.status();
  Result<RunRecord> fresh = store_->GetRun(run->id);  // the steps as Confirm() stored them
  if (!fresh.ok()) return fresh.status();
  auto step_of = [&](const std::string& id) -> const StepRecord* {
    for (const StepRecord& st : fresh->steps)
      if (st.step_id == id) return &st;
    return nullptr;
  };
  Status first_error;
  auto cancelled = [&] { return options_.cancel && options_.cancel->cancelled(); };
  const Status interrupted = Status::Error(Status::Code::kCancelled,
                                           "interrupted; the artifacts not downloaded yet follow on resume");
  for (ArtifactRecord a : *arts) {
    std::string dir = run->out_dir + "/" + SafeFileName(a.step_id);
    // Streamed into a part file of a fixed name, so that a download cut short (even by SIGKILL)
    // is resumed with Range by the next attempt or process (design.md section 6).
    const std::string part = PartPathFor(dir, a.index);
    if (a.state == ArtifactState::kDone) {
      ::unlink(part.c_str());  // a crash after the store knew, before the part was removed
      ++outcome->artifacts_done;
      continue;
    }
    if (cancelled()) return interrupted;  // the part file (if any) is resumed with Range later
    Status s = MakeDirectories(dir);
    Result<PartFetch> got = Status::Error(Status::Code::kUnavailable, "not tried");
    for (int attempt = 0; s.ok() && attempt < 5 && !cancelled(); ++attempt) {
      if (attempt) std::this_thread::sleep_for(std::chrono::milliseconds(100 << attempt));
      got = FetchPart(*transport_, a.url, part, options_.cancel);
      if (got.ok() && got->complete) break;
      if (got.ok() && got->status < 500 && got->status != 429 && got->status != 408) break;
      if (!got.ok() && got.status().code() == Status::Code::kIOError) break;  // the local disk
    }
    if (cancelled()) return interrupted;
    if (s.ok() && !got.ok()) s = got.status();
    else if (s.ok() && !got->complete)
      s = Status::Error(Status::Code::kUnavailable, "download of artifact " + a.remote_id + ": HTTP " +
                                                        std::to_string(got->status));
    Result<std::string> body = std::string();
    if (s.ok()) body = ReadWholeFile(part);
    if (s.ok() && !body.ok()) s = body.status();
    if (s.ok() && got->total >= 0 && static_cast<int64_t>(body->size()) != got->total) {
      ::unlink(part.c_str());  // not the object the server announced: never publish it
      s = Status::Error(Status::Code::kUnavailable, "download of artifact " + a.remote_id + ": " +
                                                        std::to_string(body->size()) + " bytes, not " +
                                                        std::to_string(got->total));
    }
    std::string path = dir + "/" + std::to_string(a.index) + "." + (s.ok() ? ExtensionFor(a.kind, *body) : "bin");
    if (s.ok()) s = PublishPart(dir, part, path);
    if (!s.ok()) {
      Say(run->id + ": artifact " + a.remote_id + ": " + s.message());
      a.state = ArtifactState::kFailed;
      (void)store_->MarkArtifact(run->id, a);
      ++outcome->artifacts_failed;
      if (first_error.ok()) first_error = s;
      continue;
    }
    a.state = ArtifactState::kDone;
    a.local_path = path;
    a.size = static_cast<int64_t>(body->size());
    a.sha256 = Sha256Hex(*body);
    // Beside the file, before the store calls it done: a crash in between writes it again (same
    // bytes are success). One that differs (written by an earlier attempt) is left alone.
    Status p = WriteNoReplace(dir, path + ".provenance.json", ProvenanceJson(*run, a, step_of(a.step_id)));
    if (!p.ok() && p.code() != Status::Code::kConflict) {
      Say(run->id + ": provenance of " + path + ": " + p.message());
      a.state = ArtifactState::kFailed;
      (void)store_->MarkArtifact(run->id, a);
      ++outcome->artifacts_failed;
      if (first_error.ok()) first_error = p;
      continue;
    }
    if (Status m = store_->MarkArtifact(run->id, a); !m.ok()) return m;
    ::unlink(part.c_str());  // only now: until the store knew, the part proved the bytes complete
    ++outcome->artifacts_done;
    Say(run->id + ": saved " + path + " (" + std::to_string(a.size) + " bytes)");
  }
  return first_error.ok() || first_error.code() == Status::Code::kConflict ? Status::OK() : first_error;
}

Result<RunOutcome> ServerRunner::Drive(const std::string& run_id) {
  Result<RunRecord> loaded = store_->GetRun(run_id);
  if (!loaded.ok()) return loaded.status();
  RunRecord run = std::move(*loaded);
  RunOutcome outcome;
  if (Status s = Start(&run); !s.ok()) return s;
  if (options_.start_only) {
    outcome.status = run.status;
    return outcome;
  }
  for (int round = 0; round < 1000; ++round) {
    if (!IsTerminal(run.status) || round == 0) {
      if (Status s = Follow(&run); !s.ok()) return s;
    }
    if (Status s = Confirm(&run, &outcome); !s.ok()) return s;
    if (IsTerminal(run.status) || run.status == RunStatus::kWaitingForUser) break;
  }
  if (options_.download) {
    if (Status s = Download(&run, &outcome); !s.ok()) return s;
  }
  if (Result<int64_t> n = store_->CountEvents(run_id); n.ok()) outcome.events_stored = *n;
  return outcome;
}

Result<RunOutcome> ServerRunner::DownloadMissing(const std::string& run_id, const std::string& out_dir) {
  Result<RunRecord> loaded = store_->GetRun(run_id);
  if (!loaded.ok()) return loaded.status();
  RunRecord run = std::move(*loaded);
  if (!out_dir.empty()) run.out_dir = out_dir;
  RunOutcome outcome;
  outcome.status = run.status;
  if (Status s = Download(&run, &outcome); !s.ok()) return s;
  return outcome;
}

int ExitCodeForOutcome(const RunOutcome& outcome) {
  switch (outcome.status) {
    case RunStatus::kCompleted: return outcome.artifacts_failed ? kExitRunFailed : kExitOk;
    case RunStatus::kFailed:
    case RunStatus::kPartialFailure:
    case RunStatus::kCancelled: return kExitRunFailed;
    case RunStatus::kWaitingForUser: return outcome.awaiting_cost_approval ? kExitCostGate : kExitTimeout;
    default: return kExitUnavailable;
  }
}

}  // namespace sflow
