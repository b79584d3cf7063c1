#include "runner/intents.h"

#include <cstdio>
#include <ctime>

#include "engine/crash_point.h"
#include "engine/json.h"
#include "engine/random.h"
#include "engine/run_id.h"

namespace sflow {

namespace {

std::string StringField(const Value& v, std::string_view key) {
  const Value* f = v.is_object() ? v.Find(key) : nullptr;
  return f && f->is_string() ? f->as_string() : std::string();
}

std::optional<RunStatus> WireStatusOf(const Value& workflow) {
  std::string s = StringField(workflow, "status");
  if (s == "canceled") s = "cancelled";
  if (s == "pending") s = "queued";
  return ParseName<RunStatus>(kRunStatusNames, s);
}

// Whether a failed send is the server's definitive "no" to this request, which no re-send of the
// same body and key can change: a 4xx other than 408 (timeout), 429 (rate limit), the active-
// workflow cap, and a start's 409 (per the Idempotency-Key draft: the first send still runs).
bool Refused(IntentKind kind, const Status& s) {
  const int http = s.http_status();
  if (http == 0) return s.code() == Status::Code::kInvalidPlan;  // refused locally: never sendable
  if (http < 400 || http >= 500 || http == 408 || http == 429) return false;
  if (s.reason() == "active_workflow_limit") return false;
  if (kind == IntentKind::kStart && http == 409) return false;
  return true;
}

Value ErrorObject(const Status& s) {
  Value err = Value::Object();
  if (s.http_status()) err.Set("httpStatus", Value::Int(s.http_status()));
  if (!s.reason().empty()) err.Set("code", Value::String(s.reason()));
  err.Set("message", Value::String(s.message()));
  return err;
}

// Stores `run` as a planned server run together with its first intent, `kind` with a fresh key
// and the exact `request`, status submitting: one transaction, so a crash never leaves a run that
// nothing can start. Nothing is sent.
Result<std::string> StoreRunWithIntent(RunStore& store, RunRecord run, IntentKind kind, std::string request) {
  run.execution = Execution::kServer;
  run.status = RunStatus::kPlanned;
  if (run.out_dir.empty()) run.out_dir = "sogni-out/" + run.id;
  IntentRecord intent;
  intent.id = run.id + (kind == IntentKind::kReseed ? "-reseed" : "-start");
  intent.run_id = run.id;
  intent.kind = kind;
  intent.idempotency_key = NewIdempotencyKey();
  intent.request = std::move(request);
  intent.state = IntentState::kPending;
  if (Status s = store.CreateRunWithIntent(run, intent, {.status = RunStatus::kSubmitting}); !s.ok()) return s;
  CrashPoint("run.created");
  return run.id;
}

}  // namespace

std::string NewIdempotencyKey() {
  char buf[40];
  std::snprintf(buf, sizeof buf, "sflow-%016llx%016llx", static_cast<unsigned long long>(RandomU64()),
                static_cast<unsigned long long>(RandomU64()));
  return buf;
}

Result<std::string> CreateServerRun(RunStore& store, const NewServerRun& spec, std::string run_id) {
  if (Status b = CheckStartBody(spec.start_body); !b.ok()) return b;
  if (run_id.empty()) run_id = MakeRunId(std::time(nullptr), RandomU64());
  RunRecord run;
  run.id = run_id;
  run.plan_path = spec.plan_path;
  run.plan_name = spec.plan_name;
  run.plan_digest = spec.plan_digest;
  run.params = spec.params;
  run.account = spec.account;
  run.api_url = spec.api_url;
  run.out_dir = spec.out_dir;
  for (const std::string& id : spec.step_ids) run.steps.push_back(StepRecord{.step_id = id});
  run.batch = spec.batch;
  run.batch_entry = spec.batch_entry;
  run.cost = spec.cost;
  run.ceilings = spec.ceilings;
  return StoreRunWithIntent(store, std::move(run), IntentKind::kStart, spec.start_body.ToJson());
}

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
  run.api_url = source.api_url;
  run.out_dir = out_dir;
  for (const StepRecord& s : source.steps) run.steps.push_back(StepRecord{.step_id = s.step_id, .tool = s.tool});
  if (Result<std::vector<LedgerRow>> was = store.ListLedger({.run_id = source.id}); was.ok() && !was->empty())
    run.cost = was->front().estimate;  // a store that keeps no ledger, or a run from before it: none
  Value body = Value::Object();
  if (!seed_overrides.empty()) {
    Value seeds = Value::Object();
    for (const auto& [step, seed] : seed_overrides) seeds.Set(step, Value::Int(seed));
    body.Set("seed_overrides", seeds);
  }
  body.Set("app_source", Value::String("sogni-flow"));
  return StoreRunWithIntent(store, std::move(run), IntentKind::kReseed, body.ToJson());
}

Result<std::optional<IntentRecord>> OpenIntent(RunStore& store, const std::string& run_id, IntentKind kind) {
  Result<std::vector<IntentRecord>> open = store.PendingIntents(run_id);
  if (!open.ok()) return open.status();
  for (IntentRecord& i : *open)
    if (i.kind == kind) return std::optional<IntentRecord>(std::move(i));
  return std::optional<IntentRecord>();
}

Result<IntentRecord> RecordOrReuseIntent(RunStore& store, const RunRecord& run, IntentKind kind,
                                         const std::string& request) {
  Result<std::optional<IntentRecord>> open = OpenIntent(store, run.id, kind);
  if (!open.ok()) return open.status();
  if (*open) return std::move(**open);
  IntentRecord intent;
  intent.idempotency_key = NewIdempotencyKey();
  intent.id = run.id + "-" + Name(kind) + "-" + intent.idempotency_key.substr(6, 12);
  intent.run_id = run.id;
  intent.kind = kind;
  intent.request = request;
  intent.state = IntentState::kPending;
  if (Status s = store.RecordIntent(intent, {}); !s.ok()) return s;
  CrashPoint("intent.recorded");
  return intent;
}

namespace {

// A request whose answer did not say what happened (a malformed or cut body, no workflowId): the
// server may have acted on it, so the intent is re-sent under its key by a resume. That is an
// interruption (kUnavailable: exit 4, with the resume command), not a failure of the run.
// Other codes keep their meaning (a TLS refusal, Ctrl-C, the local store).
Status OutcomeUnknown(const Status& s) {
  if (s.code() != Status::Code::kInternal) return s;
  return Status::Error(Status::Code::kUnavailable,
                       s.message() + "; whether the server acted on it is not known: a resume asks it again "
                                     "with the same Idempotency-Key");
}

}  // namespace

Result<WorkflowReply> SendIntent(RunStore& store, ApiClient& client, const RunRecord& run, const IntentRecord& intent) {
  const bool starts_run = intent.kind == IntentKind::kStart || intent.kind == IntentKind::kReseed;
  std::string target = run.workflow_id;
  if (intent.kind == IntentKind::kReseed) {
    target = run.params.is_object() ? StringField(run.params, "cloned_from_workflow") : "";
    if (target.empty()) return Status::Internal("run " + run.id + " does not name the workflow it reseeds");
  }
  if (intent.state == IntentState::kPending) {
    if (Status s = store.MarkIntent(intent.id, {.state = IntentState::kSent}); !s.ok()) return s;
  }
  CrashPoint("intent.sent");
  Result<WorkflowReply> reply = client.SendStored(intent.kind, target, intent.request, intent.idempotency_key);
  if (!reply.ok()) {
    const Status& s = reply.status();
    if (s.reason() == "active_workflow_limit") return s;  // nothing happened; the caller waits and re-sends
    if (Refused(intent.kind, s)) {
      IntentUpdate refused{.state = IntentState::kDone, .response = ErrorObject(s).ToJson()};
      if (starts_run) {
        refused.run.status = RunStatus::kFailed;
        refused.run.error = ErrorObject(s);
        if (intent.kind == IntentKind::kReseed && s.reason() == "not_found") {  // the workflow reseeded is gone
          refused.run.error->Set("code", Value::String("workflow_not_found"));
          refused.run.error->Set("message", Value::String("the server no longer knows workflow " + target +
                                                         ", which this run reseeds (" + s.message() + ")"));
        }
      }
      if (Status m = store.MarkIntent(intent.id, refused); !m.ok()) return m;
      return s;
    }
    IntentUpdate unknown{.state = IntentState::kUnknown};
    if (starts_run) unknown.run.status = RunStatus::kUnknown;
    if (Status m = store.MarkIntent(intent.id, unknown); !m.ok()) return m;
    return OutcomeUnknown(s);
  }
  CrashPoint("intent.answered");
  IntentUpdate done{.state = IntentState::kDone};
  std::optional<RunStatus> answered = WireStatusOf(reply->workflow);
  switch (intent.kind) {
    case IntentKind::kStart:
    case IntentKind::kReseed: {
      std::string wid = StringField(reply->workflow, "workflowId");
      // Without a workflow id the outcome is not known: the intent stays sent, for a re-send.
      if (wid.empty())
        return OutcomeUnknown(Status::Internal(std::string(Name(intent.kind)) + " answer without a workflowId"));
      // A start keeps the workflow it answered; a reseed its whole answer (the reseed details too).
      done.response = (intent.kind == IntentKind::kReseed ? reply->data : reply->workflow).ToJson();
      done.run.workflow_id = wid;
      done.run.status = answered && !IsTerminal(*answered) && *answered != RunStatus::kPlanned &&
                                *answered != RunStatus::kSubmitting && *answered != RunStatus::kUnknown
                            ? *answered
                            : RunStatus::kQueued;
      break;
    }
    case IntentKind::kConfirmCost:
      done.response = reply->data.ToJson();
      done.run.status = RunStatus::kRunning;
      done.run.waiting_reason = "";
      break;
    case IntentKind::kCancel:
      done.response = reply->data.ToJson();
      // A terminal status is left for the follower, which stores it after the events up to it.
      if (answered && !IsTerminal(*answered) && (*answered == RunStatus::kQueued || *answered == RunStatus::kRunning ||
                                                 *answered == RunStatus::kWaitingForUser))
        done.run.status = *answered;
      // Accepted (now, or by an earlier request): the run is "cancel requested" until its end is
      // stored, which `status` shows.
      done.run.cancel_requested = reply->Flag("transitioned") ||
                                  (answered && (*answered == RunStatus::kCancelled || !IsTerminal(*answered)));
      break;
  }
  if (Status m = store.MarkIntent(intent.id, done); !m.ok()) return m;
  CrashPoint("intent.done");
  return reply;
}

Result<WorkflowReply> RequestCancel(RunStore& store, ApiClient& client, const RunRecord& run) {
  if (run.workflow_id.empty()) return Status::Error(Status::Code::kConflict, "run " + run.id + " has no workflow");
  Result<IntentRecord> intent = RecordOrReuseIntent(store, run, IntentKind::kCancel, "{}");
  if (!intent.ok()) return intent.status();
  return SendIntent(store, client, run, *intent);
}

Result<WorkflowReply> ConfirmCost(RunStore& store, ApiClient& client, const RunRecord& run) {
  Result<std::optional<IntentRecord>> open = OpenIntent(store, run.id, IntentKind::kConfirmCost);
  if (!open.ok()) return open.status();
  if (!*open) {
    const bool cost_wait = run.status == RunStatus::kWaitingForUser &&
                           (run.waiting_reason == "cost_approval_required" ||
                            run.waiting_reason == "cost_reauthorization_required");
    if (!cost_wait)
      return Status::InvalidPlan("run " + run.id + " is " + Name(run.status) +
                                 (run.waiting_reason.empty() ? "" : " (" + run.waiting_reason + ")") +
                                 ", not waiting for cost approval");
    if (run.workflow_id.empty()) return Status::InvalidPlan("run " + run.id + " has no workflow id");
  }
  Result<IntentRecord> intent = RecordOrReuseIntent(store, run, IntentKind::kConfirmCost, R"({"decision":"confirm"})");
  if (!intent.ok()) return intent.status();
  return SendIntent(store, client, run, *intent);
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

}  // namespace sflow
