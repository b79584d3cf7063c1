// RunStore: the durable record of runs, their steps, events, paid-request intents, artifacts and
// cost approvals. Everything the engine must not forget across a crash goes through it.
//
// Contract (every implementation):
// - Each method is ONE transaction: it happens completely or not at all. Once a write returns OK
//   it survives a process crash and a power loss (the SQLite store: WAL, synchronous=FULL).
// - Errors: kNotFound (no such run, intent or artifact), kConflict (the write contradicts what is
//   stored: a duplicate id, another workflow id, a reused idempotency key, leaving a final state;
//   or the database is busy), kIOError (disk full, I/O error, corrupt file), kInternal (the caller
//   passed something malformed: bad JSON, an account that is not a fingerprint). After an error
//   nothing of the call is stored, with one exception: an I/O error while committing leaves the
//   outcome unknown, and after a restart the call is then either wholly present or wholly absent.
// - Times are milliseconds since the Unix epoch, stamped by the store; the *_at fields of the
//   records passed in are ignored.
// - A final run status (completed, partial_failure, failed, cancelled) is never left: an update
//   to another status is kConflict. What may still change after it: artifacts (refreshed URLs,
//   downloads), the run's error, and its steps' details (status, seed, units, digest, error).
// - Not thread-safe. Several processes may write one state directory at once (each write is one
//   transaction); one process drives a run at a time (store/run_lease.h).
// Implementation: store/sqlite_run_store.h. Status names are the wire's where one exists.
#ifndef SFLOW_ENGINE_RUN_STORE_H_
#define SFLOW_ENGINE_RUN_STORE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/ledger.h"
#include "engine/plan.h"
#include "engine/status.h"
#include "engine/value.h"

namespace sflow {

// The status of a run and of each of its steps (one grammar for both; see store/migrations.cc).
// planned: nothing sent. submitting: an intent is committed, its request may be in flight.
// unknown: a request's outcome is not known; left only by reconciliation, never by resubmitting.
enum class RunStatus { kPlanned, kSubmitting, kQueued, kRunning, kWaitingForUser, kCompleted,
                       kPartialFailure, kFailed, kCancelled, kUnknown };
enum class IntentKind { kStart, kReseed, kConfirmCost, kCancel };
enum class IntentState { kPending, kSent, kDone, kUnknown };  // done is final
enum class ArtifactState { kPlanned, kDownloading, kDone, kFailed };  // done is final
// A direct project of a local run (one per attempt at a step). pending: committed, its jobRequest
// may or may not have reached the server. sent: the frame went out. The last three are final.
enum class ProjectState { kPending, kSent, kCompleted, kFailed, kCancelled };

inline constexpr const char* kRunStatusNames[] = {"planned", "submitting", "queued", "running",
    "waiting_for_user", "completed", "partial_failure", "failed", "cancelled", "unknown"};
inline constexpr const char* kIntentKindNames[] = {"start", "reseed", "confirm_cost", "cancel"};
inline constexpr const char* kIntentStateNames[] = {"pending", "sent", "done", "unknown"};
inline constexpr const char* kArtifactStateNames[] = {"planned", "downloading", "done", "failed"};
inline constexpr const char* kProjectStateNames[] = {"pending", "sent", "completed", "failed", "cancelled"};

inline const char* Name(RunStatus s) { return kRunStatusNames[static_cast<int>(s)]; }
inline const char* Name(IntentKind k) { return kIntentKindNames[static_cast<int>(k)]; }
inline const char* Name(IntentState s) { return kIntentStateNames[static_cast<int>(s)]; }
inline const char* Name(ArtifactState s) { return kArtifactStateNames[static_cast<int>(s)]; }
inline const char* Name(ProjectState s) { return kProjectStateNames[static_cast<int>(s)]; }
inline bool IsFinal(ProjectState s) { return s >= ProjectState::kCompleted; }
// ParseName<RunStatus>("running") == RunStatus::kRunning; nullopt for an unknown name.
template <typename E, size_t N>
std::optional<E> ParseName(const char* const (&names)[N], std::string_view name) {
  for (size_t i = 0; i < N; ++i) {
    if (name == names[i]) return static_cast<E>(i);
  }
  return std::nullopt;
}
inline bool IsTerminal(RunStatus s) {
  return s == RunStatus::kCompleted || s == RunStatus::kPartialFailure ||
         s == RunStatus::kFailed || s == RunStatus::kCancelled;
}

// Every member has a default initializer, so a designated initializer names only what it sets:
// store.UpdateRun(id, {.status = RunStatus::kRunning}).
struct StepRecord {
  std::string step_id{};           // the plan's step id
  std::string tool{};              // toolName, or "project:<type>" for a direct project
  RunStatus status = RunStatus::kPlanned;
  std::optional<int64_t> seed{};   // the remote seed; a reseed resends the unchanged ones
  int64_t artifact_count = 0;
  std::string remote_id{};         // local execution: the project id
  Value error{};                   // null, or the step's error object
  int64_t updated_at = 0;
  std::optional<double> units{};   // capacity units the server reports (kept once known)
  std::string arguments_digest{};  // sha256 of the server's step arguments, keys sorted (kept once known)
};

struct RunRecord {
  std::string id{};                // the local run id, chosen by the engine
  std::string plan_path{}, plan_name{}, plan_digest{};
  Value params = Value::Object();  // the resolved params
  Execution execution = Execution::kServer;
  RunStatus status = RunStatus::kPlanned;
  std::string waiting_reason{};    // why waiting_for_user; empty otherwise
  std::string workflow_id{};       // remote id; empty until the start is answered
  std::string account{};           // sha256 prefix of the API key (<= 16 hex): NEVER the key
  std::string out_dir{};
  std::string api_url{};           // the API base URL the run was started against; "" = unknown (older state)
  int64_t cancel_requested_at = 0; // read only: when the server accepted a cancel (0 = never)
  Value spec{};                    // local runs: what they execute (runner/local/local_spec.h); null otherwise
  Value error{};                   // null, or an error object
  int64_t created_at = 0, updated_at = 0;
  int64_t cursor = -1;             // read only: last committed event sequence; -1 before any
  std::vector<StepRecord> steps{}; // in plan order
  // Write only: the batch file and the entry of it this run is for (`batch run`), stored with
  // the run in its creating transaction; "" = not a batch's. Read back with ListBatchRuns.
  std::string batch{}, batch_entry{};
  // Write only: what the run is expected to cost (its ledger row, engine/ledger.h, stored in its
  // creating transaction), and the ceilings it must fit under: a new run whose estimate would
  // take a ceiling's scope (the runs of its account at its api_url) over it is kCostGate, and
  // nothing of it is stored.
  LedgerEstimate cost{};
  std::vector<LedgerCeiling> ceilings{};
};

// A run's row of the ledger. The row outlives the run (what was spent stays spent when a run is
// forgotten): plan_name and status are then empty.
struct LedgerRow {
  std::string run_id{}, batch{};
  LedgerPayer payer{};             // the run's key fingerprint and endpoint
  std::string entry{};             // the batch file's run it is ("" = none, or forgotten)
  std::string day{};               // YYYY-MM-DD, UTC, when the run was stored
  int64_t created_at = 0;
  std::string plan_name{}, status{};
  LedgerEstimate estimate{};
  std::optional<LedgerAmount> actual{};  // once the run has ended
  LedgerAmount Counted() const { return actual ? *actual : estimate.Total(); }
};
struct LedgerQuery {
  std::string from_day{}, to_day{};  // inclusive, YYYY-MM-DD; "" = unbounded
  std::string batch{};               // "" = any
  std::string run_id{};              // "" = any
};
// What a scope counts now (engine/ledger.h).
struct LedgerSpent {
  std::string key{};                 // the batch, day or month it is
  int64_t runs = 0, open = 0;        // open: counted at their estimate (not ended yet)
  LedgerAmount amount{};
};

// One run of a batch: its entry (e.g. "product-shot[product=kettle]") and the run.
struct BatchRunRow {
  std::string entry{}, run_id{};
};

struct ArtifactRecord {
  std::string step_id{};
  int64_t index = 0;               // position among the step's artifacts
  std::string remote_id{};         // unique within the run
  std::string url{};               // where to fetch it (may be presigned: refreshed by upserts)
  MediaKind kind = MediaKind::kUnknown;
  ArtifactState state = ArtifactState::kPlanned;
  std::string local_path{};        // final path, named by the runner; required for done
  int64_t size = 0;                // bytes, when done
  std::string sha256{};            // 64 lowercase hex digits; required for done
  int64_t updated_at = 0;
};

// A project's change of state carried by a RunUpdate (local runs): what MarkProject() applies,
// without a run update of its own.
struct ProjectMark {
  std::string project_id{};
  ProjectState state = ProjectState::kSent;
  std::optional<double> charge{};
  std::optional<Value> error{};
};

// Changes to a run, applied in the same transaction as the call that carries them. Unset fields
// are left alone. Steps are upserted by step_id (a new one goes last; a known seed is only replaced
// by another seed, never forgotten). Artifacts are upserted by remote_id: a new one is stored as
// planned; for a known one only step_id, index, url and kind change (never its download state).
struct RunUpdate {
  std::optional<RunStatus> status{};
  std::optional<std::string> waiting_reason{};
  std::optional<std::string> workflow_id{};  // set once: another value is kConflict
  std::optional<Value> error{};              // a null Value clears
  std::vector<StepRecord> steps{};
  std::vector<ArtifactRecord> artifacts{};
  // Artifacts downloaded or given up, each stored as MarkArtifact() stores it (done: with its
  // local path, size and sha256), after `artifacts`: a step's files and its end in one commit.
  std::vector<ArtifactRecord> saved{};
  // Projects of this run that change state, each as MarkProject() changes it, after `saved`.
  std::vector<ProjectMark> projects{};
  // true: the server accepted a cancel of the run's workflow; stamped once (cancel_requested_at),
  // ignored on a run that has ended. The run is "cancel requested" until its end is stored.
  bool cancel_requested = false;
};

struct EventRecord {
  int64_t sequence = 0;            // the remote sequence (>= 0), unique within the run
  std::string type{};              // "step_completed", ...
  std::string status{};            // the event's status field, if any
  std::string json{};              // the event as received (valid JSON), stored byte for byte
  int64_t received_at = 0;
};

// Events and the cursor that covers them, committed together (one fsync for the whole batch).
struct EventBatch {
  std::vector<EventRecord> events{};
  int64_t cursor = -1;             // must be >= every sequence in `events`
  RunUpdate run{};                 // state derived from these events, in the same transaction
};
struct AppendResult {
  int64_t inserted = 0, duplicates = 0;  // duplicates: sequences already stored, dropped
  int64_t cursor = -1;                   // the stored cursor afterwards
};

struct IntentRecord {
  std::string id{}, run_id{};
  IntentKind kind = IntentKind::kStart;
  std::string idempotency_key{};   // sent as Idempotency-Key; 1..255 characters
  std::string request{};           // the exact JSON body, resent byte for byte after a crash
  IntentState state = IntentState::kPending;
  std::string response{};          // JSON; empty until answered
  int64_t created_at = 0, updated_at = 0;
};
struct IntentUpdate {
  IntentState state = IntentState::kSent;
  std::string response{};          // JSON, or empty to keep the stored one
  RunUpdate run{};                 // e.g. the workflow_id the response carried
};

struct ApprovalRecord {
  std::string plan_digest{};
  double ceiling = 0;              // capacity units approved
  std::string approved_by{};
  int64_t expires_at = 0;          // 0 = never
  std::string file_path{};         // the PLAN.approval.json it came from
  int64_t created_at = 0;
};

// Local execution. A project's identity is the id the client chose (the jobRequest's jobID, an
// uppercase UUID) and the state directory's appId: there is no Idempotency-Key for projects, so
// the record, with the exact jobRequest, is committed BEFORE the frame is sent, and after a crash
// the same request goes out again under the same id only when the server does not know it.
struct ProjectRecord {
  std::string project_id{};        // the jobID; unique in the state directory
  std::string run_id{}, step_id{};
  std::string app_id{};            // the socket's appId the project was sent under
  std::string request{};           // the exact jobRequest JSON, resent byte for byte
  std::string cache_key{};         // 64 hex digits (runner/local/step_cache.h); "" = not cached
  ProjectState state = ProjectState::kPending;
  std::optional<double> quote{};   // what the estimate route quoted, in tokens of `token_type`
  std::optional<double> quote_usd{};
  std::string token_type{};        // "spark" | "sogni" | ""
  std::optional<double> charge{};  // what the project cost, once known (tokens)
  Value error{};                   // null, or why it failed
  int64_t created_at = 0, updated_at = 0;
};
struct ProjectUpdate {
  ProjectState state = ProjectState::kSent;
  std::optional<double> charge{};
  std::optional<Value> error{};
  RunUpdate run{};                 // applied in the same transaction (the step's status, artifacts)
};

struct RunQuery {
  std::vector<RunStatus> statuses{};  // empty = any
  int64_t limit = 0;                  // 0 = no limit
};

class RunStore {
 public:
  virtual ~RunStore() = default;

  // Stores a new run with its steps and an empty cursor. kConflict if the id is taken.
  virtual Status CreateRun(const RunRecord& run) = 0;
  // CreateRun(run) and RecordIntent(intent, update) in ONE transaction: either the run exists with
  // its first pending intent (and `update` applied) or neither row does, so a crash never leaves a
  // run that nothing can start. intent.run_id must be run.id. kConflict if the run id is taken
  // (even by an earlier call with the same arguments) or the intent's id or key is stored already.
  virtual Status CreateRunWithIntent(const RunRecord& run, const IntentRecord& intent,
                                     const RunUpdate& update) = 0;
  // The run with its steps and cursor. kNotFound if absent.
  virtual Result<RunRecord> GetRun(const std::string& run_id) = 0;
  // When cancel was requested for the run (0: never), without reading the rest of it: what a
  // runner polls for `sogni-flow cancel` from another process. kNotFound if absent.
  virtual Result<int64_t> CancelRequestedAt(const std::string& run_id) = 0;
  // Matching runs with their steps, newest first.
  virtual Result<std::vector<RunRecord>> ListRuns(const RunQuery& query) = 0;
  // Applies `update` (see RunUpdate). kNotFound if the run is absent.
  virtual Status UpdateRun(const std::string& run_id, const RunUpdate& update) = 0;

  // Commits a pending intent (and `run`, e.g. status submitting) BEFORE its request is sent.
  // Recording the same intent again (same id, run, kind, key, request) is OK and changes nothing;
  // anything else under a stored id or key is kConflict.
  virtual Status RecordIntent(const IntentRecord& intent, const RunUpdate& run) = 0;
  // Moves an intent on (see IntentState) and applies update.run with it. Marking a done intent
  // done again is OK and changes nothing; leaving done or returning to pending is kConflict.
  virtual Status MarkIntent(const std::string& intent_id, const IntentUpdate& update) = 0;
  // Intents not done, oldest first: of one run, or of every run when run_id is empty.
  virtual Result<std::vector<IntentRecord>> PendingIntents(const std::string& run_id) = 0;

  // Stores new events (those above the stored cursor; the rest are counted as duplicates and
  // dropped), advances the cursor (never backwards) and applies batch.run, all in one
  // transaction. kInternal if the cursor does not cover the events. Each event's json must be a
  // JSON object: it is the caller's to check (the follower checks every frame it takes; records
  // of a reconciling GET are serialized values), and the store does not check it again on this
  // hot path. A stored event that is not one is damage when read, never handed out.
  virtual Result<AppendResult> AppendEvents(const std::string& run_id, const EventBatch& batch) = 0;
  // Several runs' batches in one transaction (one fsync for all: the group commit of `run -j`,
  // runner/synchronized_run_store.h). Each batch is applied as AppendEvents applies it and
  // isolated from the others: one refused (kNotFound, kInvalidPlan, ...) leaves the others
  // committed. One result per batch, in order; a failure of the transaction itself (I/O, busy)
  // is every batch's. The default applies them one AppendEvents at a time.
  struct RunBatch {
    const std::string* run_id;
    const EventBatch* batch;
  };
  virtual std::vector<Result<AppendResult>> AppendEventGroup(const std::vector<RunBatch>& group) {
    std::vector<Result<AppendResult>> out;
    out.reserve(group.size());
    for (const RunBatch& b : group) out.push_back(AppendEvents(*b.run_id, *b.batch));
    return out;
  }
  // Writes of several callers in one transaction where the store can: one fsync for all (the
  // group commit of SynchronizedRunStore, for the drive pool's runs). Each function calls write
  // methods of the store it is given, in order; each write method behaves as it does alone (it
  // takes effect whole or not at all, and a refused one leaves the others), but nothing is
  // durable before this returns, and a transaction that fails to commit fails every function
  // that had succeeded. The default calls each function on this store, one after another.
  using WriteFn = std::function<Status(RunStore&)>;
  virtual std::vector<Status> WriteGroup(const std::vector<const WriteFn*>& writes) {
    std::vector<Status> out;
    out.reserve(writes.size());
    for (const WriteFn* w : writes) out.push_back((*w)(*this));
    return out;
  }
  // Events with sequence > after, ascending; at most `limit` (0 = all).
  virtual Result<std::vector<EventRecord>> ListEvents(const std::string& run_id, int64_t after,
                                                      int64_t limit) = 0;
  // How many events of the run are stored (without reading them). kNotFound if the run is absent.
  virtual Result<int64_t> CountEvents(const std::string& run_id) = 0;
  // The runs of a batch in the order they were stored (so the last one of an entry is its newest,
  // whatever the clock said when it was made).
  virtual Result<std::vector<BatchRunRow>> ListBatchRuns(const std::string& batch) {
    (void)batch;
    return Status::Internal("this store keeps no batches");
  }

  // --- The ledger (engine/ledger.h). The defaults: a store that keeps none.
  // Its rows, in the order they were stored.
  virtual Result<std::vector<LedgerRow>> ListLedger(const LedgerQuery& query) {
    (void)query;
    return Status::Internal("this store keeps no ledger");
  }
  // What a scope counts now, of `payer`'s runs: kBatch that batch's runs; kDay and kMonth the
  // store's today and this month (UTC).
  virtual Result<LedgerSpent> Spent(LedgerScope scope, const std::string& batch, const LedgerPayer& payer) {
    (void)scope, (void)batch, (void)payer;
    return Status::Internal("this store keeps no ledger");
  }
  // Whether a new run of `batch` ("" = none: batch ceilings do not apply) paid by `payer` and
  // estimated at `cost` fits under every ceiling now: kCostGate naming the first it would cross.
  // It only reads: CreateRun checks again (the run's account and api_url are its payer), in the
  // transaction that stores the run.
  virtual Status FitsCeilings(const std::string& batch, const LedgerPayer& payer, const LedgerAmount& cost,
                              const std::vector<LedgerCeiling>& ceilings) {
    (void)batch, (void)payer, (void)cost, (void)ceilings;
    return Status::OK();
  }

  // The run's artifacts in the order they were first announced.
  virtual Result<std::vector<ArtifactRecord>> ListArtifacts(const std::string& run_id) = 0;
  // Sets state, local_path, size and sha256 of the artifact `artifact.remote_id`. kConflict when
  // it is done already (unless this is the same done again); kInternal for done without a path
  // or a sha256.
  virtual Status MarkArtifact(const std::string& run_id, const ArtifactRecord& artifact) = 0;

  // Stores an approval, replacing an earlier one of the same digest and file.
  virtual Status RecordApproval(const ApprovalRecord& approval) = 0;
  // The newest unexpired approval of a plan digest. kNotFound if none.
  virtual Result<ApprovalRecord> FindApproval(const std::string& plan_digest) = 0;

  // --- Local execution (direct projects).
  // Commits projects (state pending, all of one run) and `run` (e.g. their steps submitting,
  // remote_id = the project id) in one transaction, BEFORE their frames are sent. Recording the
  // same project again (same id, run, step and request) is OK and changes nothing; another
  // request under a stored id is kConflict (and nothing of the call is stored).
  virtual Status RecordProjects(const std::vector<ProjectRecord>& projects, const RunUpdate& run) = 0;
  Status RecordProject(const ProjectRecord& project, const RunUpdate& run) { return RecordProjects({project}, run); }
  // Moves a project on: pending -> sent -> completed | failed | cancelled (a final state is never
  // left: another final state is kConflict, the same one again is OK) and applies update.run.
  virtual Status MarkProject(const std::string& project_id, const ProjectUpdate& update) = 0;
  // The run's projects, oldest first. kNotFound if the run is absent.
  virtual Result<std::vector<ProjectRecord>> ListProjects(const std::string& run_id) = 0;
  // The newest completed project of any run whose cache key is `cache_key`, if one exists.
  virtual Result<std::optional<ProjectRecord>> FindCompletedProject(const std::string& cache_key) = 0;
  // A setting of the state directory: the stored value of `name`, or `value_if_absent`, stored
  // now (the first caller wins; every later caller gets the same value).
  virtual Result<std::string> Setting(const std::string& name, const std::string& value_if_absent) = 0;
};

}  // namespace sflow

#endif  // SFLOW_ENGINE_RUN_STORE_H_
