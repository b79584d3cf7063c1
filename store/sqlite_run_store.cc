// Implementation details: every public method is Write() or Read() around a lambda, so the
// transaction boundary is visible at a glance and an early `return status` inside the lambda
// rolls everything back (Transaction's destructor). Inputs are checked before any SQL runs, so
// a malformed call fails with a precise kInternal instead of a CHECK constraint's text; the
// schema's CHECKs remain as the backstop. Rows are decoded by store/run_rows.h.
#include "store/sqlite_run_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "store/event_chunks.h"
#include "store/migrations.h"
#include "store/run_rows.h"

namespace sflow {

namespace {

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}
bool IsFingerprint(std::string_view s) { return s.size() <= 16 && IsLowerHex(s); }
bool IsSha256Hex(std::string_view s) { return s.size() == 64 && IsLowerHex(s); }

bool IsEmpty(const RunUpdate& u) {
  return !u.status && !u.waiting_reason && !u.workflow_id && !u.error && u.steps.empty() &&
         u.artifacts.empty() && u.saved.empty() && u.projects.empty() && !u.cancel_requested;
}

}  // namespace

Status CheckRunUpdate(const RunUpdate& u) {
  for (const StepRecord& s : u.steps) {
    if (s.step_id.empty()) return InvalidCall("a step without an id");
    if (s.artifact_count < 0) {
      return InvalidCall("step " + s.step_id + " has a negative artifact count");
    }
  }
  for (const ArtifactRecord& a : u.artifacts) {
    if (a.remote_id.empty()) return InvalidCall("an artifact without a remote id");
    if (a.index < 0) return InvalidCall("artifact " + a.remote_id + " has a negative index");
  }
  for (const ArtifactRecord& a : u.saved)
    if (Status s = CheckArtifactMark(a); !s.ok()) return s;
  for (const ProjectMark& m : u.projects)
    if (Status s = CheckProjectMark(m); !s.ok()) return s;
  if (u.workflow_id && u.workflow_id->empty()) return InvalidCall("an empty workflow id");
  return Status::OK();
}

Status CheckArtifactMark(const ArtifactRecord& a) {
  if (a.remote_id.empty()) return InvalidCall("an artifact without a remote id");
  if (a.size < 0) return InvalidCall("artifact " + a.remote_id + " has a negative size");
  if (a.state == ArtifactState::kDone && (a.local_path.empty() || !IsSha256Hex(a.sha256))) {
    return InvalidCall("artifact " + a.remote_id + " cannot be done without a local path and a sha256");
  }
  return Status::OK();
}

Status CheckProjectMark(const ProjectMark& m) {
  if (m.project_id.empty()) return InvalidCall("a project without an id");
  if (m.charge && !(*m.charge >= 0)) return InvalidCall("project " + m.project_id + " has a negative or NaN charge");
  if (m.state == ProjectState::kPending) return InvalidCall("project " + m.project_id + " cannot return to pending");
  return Status::OK();
}

int64_t SqliteRunStore::SystemNowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

Result<std::unique_ptr<SqliteRunStore>> SqliteRunStore::Open(std::unique_ptr<Db> db, Clock now_ms) {
  if (Status s = Migrate(db.get()); !s.ok()) return s;
  if (!now_ms) now_ms = &SystemNowMs;
  return std::unique_ptr<SqliteRunStore>(new SqliteRunStore(std::move(db), std::move(now_ms)));
}

Status SqliteRunStore::RequireRun(const std::string& run_id) {
  Result<Stmt> q = db_->Prepare("SELECT 1 FROM runs WHERE id = ?1");
  if (!q.ok()) return q.status();
  Result<bool> row = q->BindAll(run_id).Step();
  if (!row.ok()) return row.status();
  return *row ? Status::OK() : Status::NotFound("no run " + run_id + " in the state database");
}

// ---- runs

Status SqliteRunStore::CheckNewRun(const RunRecord& run) {
  if (run.id.empty()) return InvalidCall("a run without an id");
  if (!IsFingerprint(run.account)) {
    // Never echo the value: it might be the API key itself.
    return InvalidCall(
        "the account of run " + run.id +
        " must be a sha256 prefix of the API key (<= 16 lowercase hex digits), never the key");
  }
  RunUpdate steps_only;
  steps_only.steps = run.steps;
  if (Status s = CheckLedgerEntry(run); !s.ok()) return s;
  return CheckRunUpdate(steps_only);
}

Status SqliteRunStore::InsertRun(const RunRecord& run, int64_t now) {
  Status exists = RequireRun(run.id);
  if (exists.ok()) {
    return Status::Error(Status::Code::kConflict, "run " + run.id + " already exists");
  }
  if (exists.code() != Status::Code::kNotFound) return exists;
  // First the ceilings (kCostGate: nothing is stored), under the write lock: two processes cannot
  // both fit a run under the last of a ceiling.
  if (Status s = InsertLedgerRow(run, now); !s.ok()) return s;
  Result<Stmt> ins = db_->Prepare(
      "INSERT INTO runs (id, plan_path, plan_name, plan_digest, params, execution, status, "
      "waiting_reason, workflow_id, account, out_dir, error, created_at, updated_at, api_url) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14)");
  if (!ins.ok()) return ins.status();
  std::optional<std::string> workflow;
  if (!run.workflow_id.empty()) workflow = run.workflow_id;
  ins->BindAll(run.id, run.plan_path, run.plan_name, run.plan_digest, run.params.ToJson(),
               ExecutionName(run.execution), Name(run.status), run.waiting_reason, workflow,
               run.account, run.out_dir, JsonOrNull(run.error), now, run.api_url);
  if (Status s = ins->Run(); !s.ok()) return s;
  if (!run.spec.is_null()) {
    Result<Stmt> spec = db_->Prepare("INSERT INTO run_specs (run_id, spec) VALUES (?1, ?2)");
    if (!spec.ok()) return spec.status();
    if (Status s = spec->BindAll(run.id, run.spec.ToJson()).Run(); !s.ok()) return s;
  }
  Result<Stmt> cur = db_->Prepare("INSERT INTO cursors (run_id, last_sequence) VALUES (?1, -1)");
  if (!cur.ok()) return cur.status();
  if (Status s = cur->BindAll(run.id).Run(); !s.ok()) return s;
  for (const StepRecord& step : run.steps) {
    if (Status s = UpsertStep(run.id, step, now); !s.ok()) return s;
  }
  if (!run.batch.empty()) {
    Result<Stmt> b = db_->Prepare("INSERT INTO batch_runs (batch, entry, run_id) VALUES (?1, ?2, ?3)");
    if (!b.ok()) return b.status();
    if (Status s = b->BindAll(run.batch, run.batch_entry, run.id).Run(); !s.ok()) return s;
  }
  return Status::OK();
}

Result<std::vector<BatchRunRow>> SqliteRunStore::ListBatchRuns(const std::string& batch) {
  std::vector<BatchRunRow> rows;
  Status s = Read([&]() -> Status {
    Result<Stmt> q = db_->Prepare(
        "SELECT b.entry, b.run_id FROM batch_runs b JOIN runs r ON r.id = b.run_id "
        "WHERE b.batch = ?1 ORDER BY b.rowid");  // the order they were stored: no clock decides it
    if (!q.ok()) return q.status();
    q->BindAll(batch);
    while (true) {
      Result<bool> row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) return Status::OK();
      rows.push_back(BatchRunRow{.entry = q->Text(0), .run_id = q->Text(1)});
    }
  });
  if (!s.ok()) return s;
  return rows;
}

Status SqliteRunStore::CreateRun(const RunRecord& run) {
  if (Status s = CheckNewRun(run); !s.ok()) return s;
  return Write([&](int64_t now) -> Status { return InsertRun(run, now); });
}

Status SqliteRunStore::CreateRunWithIntent(const RunRecord& run, const IntentRecord& intent,
                                           const RunUpdate& update) {
  if (Status s = CheckNewRun(run); !s.ok()) return s;
  if (intent.run_id != run.id) return InvalidCall("intent " + intent.id + " is not for run " + run.id);
  if (Status s = CheckNewIntent(intent, update); !s.ok()) return s;
  return Write([&](int64_t now) -> Status {
    if (Status s = InsertRun(run, now); !s.ok()) return s;
    return InsertIntent(intent, update, now);
  });
}


Status SqliteRunStore::LoadSteps(const std::string& run_id, std::vector<StepRecord>* steps) {
  Result<Stmt> q = db_->Prepare("SELECT " + std::string(kStepColumns) +
                                " FROM steps WHERE run_id = ?1 ORDER BY position");
  if (!q.ok()) return q.status();
  q->BindAll(run_id);
  return CollectRows<StepRecord>(*q, DecodeStep, steps);
}

Result<RunRecord> SqliteRunStore::GetRun(const std::string& run_id) {
  RunRecord out;
  Status s = Read([&]() -> Status {
    Result<Stmt> q = db_->Prepare(std::string(kSelectRuns) + " WHERE r.id = ?1");
    if (!q.ok()) return q.status();
    Result<bool> row = q->BindAll(run_id).Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("no run " + run_id + " in the state database");
    Result<RunRecord> run = DecodeRun(*q);
    if (!run.ok()) return run.status();
    out = std::move(*run);
    return LoadSteps(run_id, &out.steps);
  });
  if (!s.ok()) return s;
  return out;
}

Result<int64_t> SqliteRunStore::CancelRequestedAt(const std::string& run_id) {
  int64_t at = 0;
  Status s = Read([&]() -> Status {
    Result<Stmt> q = db_->Prepare("SELECT cancel_requested_at FROM runs WHERE id = ?1");
    if (!q.ok()) return q.status();
    Result<bool> row = q->BindAll(run_id).Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("no run " + run_id + " in the state database");
    at = q->Int(0);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return at;
}

Result<std::vector<RunRecord>> SqliteRunStore::ListRuns(const RunQuery& query) {
  Value statuses = Value::Array();
  for (RunStatus st : query.statuses) statuses.Append(Value::String(Name(st)));
  std::vector<RunRecord> out;
  Status s = Read([&]() -> Status {
    Result<Stmt> q =
        db_->Prepare(std::string(kSelectRuns) +
                     " WHERE ?1 = '[]' OR r.status IN (SELECT value FROM json_each(?1))"
                     " ORDER BY r.created_at DESC, r.id DESC LIMIT ?2");
    if (!q.ok()) return q.status();
    q->BindAll(statuses.ToJson(), query.limit > 0 ? query.limit : int64_t{-1});
    if (Status st = CollectRows<RunRecord>(*q, DecodeRun, &out); !st.ok()) return st;
    for (RunRecord& run : out) {
      if (Status st = LoadSteps(run.id, &run.steps); !st.ok()) return st;
    }
    return Status::OK();
  });
  if (!s.ok()) return s;
  return out;
}

Status SqliteRunStore::UpdateRun(const std::string& run_id, const RunUpdate& update) {
  if (Status s = CheckRunUpdate(update); !s.ok()) return s;
  return Write([&](int64_t now) -> Status {
    if (Status s = RequireRun(run_id); !s.ok()) return s;
    return ApplyRunUpdate(run_id, update, now);
  });
}

Status SqliteRunStore::UpsertStep(const std::string& run_id, const StepRecord& step, int64_t now) {
  // A known step keeps its position, found by the primary key; only a new one scans the run's
  // steps for the next position (COALESCE stops at its first non-NULL argument), so that updating
  // a step of a large run does not read all of its steps.
  Result<Stmt> q = db_->Prepare(
      "INSERT INTO steps (run_id, step_id, position, tool, status, seed, artifact_count, "
      "remote_id, error, updated_at, units, arguments_digest) VALUES (?1, ?2, "
      "COALESCE((SELECT position FROM steps WHERE run_id = ?1 AND step_id = ?2), "
      "(SELECT COALESCE(MAX(position) + 1, 0) FROM steps WHERE run_id = ?1)), ?3, ?4, ?5, ?6, ?7, "
      "?8, ?9, ?10, ?11) ON CONFLICT (run_id, step_id) DO UPDATE SET "
      "tool = CASE WHEN excluded.tool <> '' THEN excluded.tool ELSE tool END, "
      "status = excluded.status, seed = COALESCE(excluded.seed, seed), "
      "artifact_count = excluded.artifact_count, "
      "remote_id = CASE WHEN excluded.remote_id <> '' THEN excluded.remote_id ELSE remote_id END, "
      "error = excluded.error, updated_at = excluded.updated_at, "
      "units = COALESCE(excluded.units, units), "
      "arguments_digest = CASE WHEN excluded.arguments_digest <> '' THEN excluded.arguments_digest "
      "ELSE arguments_digest END");
  if (!q.ok()) return q.status();
  return q
      ->BindAll(run_id, step.step_id, step.tool, Name(step.status), step.seed, step.artifact_count,
                step.remote_id, JsonOrNull(step.error), now, step.units, step.arguments_digest)
      .Run();
}

Status SqliteRunStore::ApplyRunUpdate(const std::string& run_id, const RunUpdate& u, int64_t now) {
  if (IsEmpty(u)) return Status::OK();
  Result<Stmt> cur = db_->Prepare("SELECT status, workflow_id FROM runs WHERE id = ?1");
  if (!cur.ok()) return cur.status();
  Result<bool> found = cur->BindAll(run_id).Step();
  if (!found.ok()) return found.status();
  if (!*found) return Status::NotFound("no run " + run_id + " in the state database");
  const std::string stored_status = cur->Text(0);
  std::optional<std::string> stored_workflow = cur->OptText(1);
  std::optional<RunStatus> from = ParseName<RunStatus>(kRunStatusNames, stored_status);
  const bool ended = from && IsTerminal(*from);
  if (ended && u.status && *u.status != *from) {
    return Status::Error(Status::Code::kConflict, "run " + run_id + " has ended (" + stored_status +
                                                      "); its status cannot become " + Name(*u.status));
  }
  if (u.workflow_id && stored_workflow && *stored_workflow != *u.workflow_id) {
    return Status::Error(Status::Code::kConflict,
                         "run " + run_id + " is already bound to workflow " + *stored_workflow +
                             "; refusing to rebind it to " + *u.workflow_id);
  }
  Result<Stmt> q = db_->Prepare(
      "UPDATE runs SET status = COALESCE(?2, status), "
      "waiting_reason = COALESCE(?3, waiting_reason), workflow_id = COALESCE(?4, workflow_id), "
      "error = CASE WHEN ?5 THEN ?6 ELSE error END, updated_at = ?7, "
      "cancel_requested_at = CASE WHEN ?8 AND cancel_requested_at = 0 THEN ?7 "
      "ELSE cancel_requested_at END WHERE id = ?1");
  if (!q.ok()) return q.status();
  std::optional<std::string> status;
  if (u.status) status = Name(*u.status);
  std::optional<std::string> error;
  if (u.error) error = JsonOrNull(*u.error);
  q->BindAll(run_id, status, u.waiting_reason, u.workflow_id, int64_t{u.error.has_value()}, error,
             now, int64_t{u.cancel_requested && !ended});
  if (Status s = q->Run(); !s.ok()) return s;
  for (const StepRecord& step : u.steps) {
    if (Status s = UpsertStep(run_id, step, now); !s.ok()) return s;
  }
  for (const ArtifactRecord& a : u.artifacts) {
    Result<Stmt> ins = db_->Prepare(
        "INSERT INTO artifacts (run_id, step_id, idx, remote_id, url, kind, state, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'planned', ?7) ON CONFLICT (run_id, remote_id) DO UPDATE "
        "SET step_id = excluded.step_id, idx = excluded.idx, "
        "url = CASE WHEN excluded.url <> '' THEN excluded.url ELSE url END, "
        "kind = CASE WHEN excluded.kind <> 'unknown' THEN excluded.kind ELSE kind END, "
        "updated_at = excluded.updated_at");
    if (!ins.ok()) return ins.status();
    ins->BindAll(run_id, a.step_id, a.index, a.remote_id, a.url, MediaKindName(a.kind), now);
    if (Status s = ins->Run(); !s.ok()) return s;
  }
  for (const ArtifactRecord& a : u.saved)
    if (Status s = ApplyArtifactMark(run_id, a, now); !s.ok()) return s;
  for (const ProjectMark& m : u.projects)
    if (Result<std::string> r = ApplyProjectMark(run_id, m, now); !r.ok()) return r.status();
  // An ended run counts what it was charged (engine/ledger.h), as soon as that is known: when it
  // ends, and when its steps or projects change after (a final read's units, a late charge);
  // not for each file saved after its end.
  const bool ends_now = !ended && u.status && IsTerminal(*u.status);
  if (ends_now || (ended && (!u.steps.empty() || !u.projects.empty()))) return SettleLedger(run_id);
  return Status::OK();
}

// ---- intents

Status SqliteRunStore::CheckNewIntent(const IntentRecord& in, const RunUpdate& run) {
  if (in.id.empty() || in.run_id.empty()) return InvalidCall("an intent without an id or a run");
  if (in.idempotency_key.empty() || in.idempotency_key.size() > 255) {
    return InvalidCall("intent " + in.id + " needs an idempotency key of 1 to 255 characters");
  }
  if (in.request.empty()) return InvalidCall("intent " + in.id + " has no request body");
  return CheckRunUpdate(run);
}

Status SqliteRunStore::InsertIntent(const IntentRecord& in, const RunUpdate& run, int64_t now) {
  if (Status s = RequireRun(in.run_id); !s.ok()) return s;
  Result<Stmt> q = db_->Prepare(
      "SELECT id, run_id, kind, request FROM intents WHERE id = ?1 OR idempotency_key = ?2");
  if (!q.ok()) return q.status();
  q->BindAll(in.id, in.idempotency_key);
  for (;;) {
    Result<bool> row = q->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    bool same = q->Text(0) == in.id && q->Text(1) == in.run_id && q->Text(2) == Name(in.kind) &&
                q->Text(3) == in.request;
    if (same) return Status::OK();  // recorded before, with its run update: nothing to do
    return Status::Error(
        Status::Code::kConflict,
        q->Text(0) == in.id
            ? "intent " + in.id + " is already recorded with another request"
            : "intent " + in.id + " reuses the idempotency key of intent " + q->Text(0));
  }
  Result<Stmt> ins = db_->Prepare(
      "INSERT INTO intents (id, run_id, kind, idempotency_key, request, state, response, "
      "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 'pending', NULL, ?6, ?6)");
  if (!ins.ok()) return ins.status();
  ins->BindAll(in.id, in.run_id, Name(in.kind), in.idempotency_key, in.request, now);
  if (Status s = ins->Run(); !s.ok()) return s;
  return ApplyRunUpdate(in.run_id, run, now);
}

Status SqliteRunStore::RecordIntent(const IntentRecord& in, const RunUpdate& run) {
  if (Status s = CheckNewIntent(in, run); !s.ok()) return s;
  return Write([&](int64_t now) -> Status { return InsertIntent(in, run, now); });
}

Status SqliteRunStore::MarkIntent(const std::string& intent_id, const IntentUpdate& update) {
  if (Status s = CheckRunUpdate(update.run); !s.ok()) return s;
  return Write([&](int64_t now) -> Status {
    Result<Stmt> q = db_->Prepare("SELECT state, run_id FROM intents WHERE id = ?1");
    if (!q.ok()) return q.status();
    Result<bool> row = q->BindAll(intent_id).Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("no intent " + intent_id + " in the state database");
    std::string from = q->Text(0), run_id = q->Text(1);
    std::string to = Name(update.state);
    if (from == "done" && to == "done") return Status::OK();  // answered before: nothing to do
    if (from == "done" || (to == "pending" && from != "pending")) {
      return Status::Error(Status::Code::kConflict,
                           "intent " + intent_id + " is " + from + "; it cannot become " + to);
    }
    Result<Stmt> up = db_->Prepare(
        "UPDATE intents SET state = ?2, response = COALESCE(?3, response), updated_at = ?4 "
        "WHERE id = ?1");
    if (!up.ok()) return up.status();
    std::optional<std::string> response;
    if (!update.response.empty()) response = update.response;
    if (Status s = up->BindAll(intent_id, to, response, now).Run(); !s.ok()) return s;
    return ApplyRunUpdate(run_id, update.run, now);
  });
}

Result<std::vector<IntentRecord>> SqliteRunStore::PendingIntents(const std::string& run_id) {
  std::vector<IntentRecord> out;
  Status s = Read([&]() -> Status {
    Result<Stmt> q = db_->Prepare("SELECT " + std::string(kIntentColumns) +
                                  " FROM intents WHERE state <> 'done' AND (?1 = '' OR run_id = ?1)"
                                  " ORDER BY created_at, rowid");
    if (!q.ok()) return q.status();
    q->BindAll(run_id);
    return CollectRows<IntentRecord>(*q, DecodeIntent, &out);
  });
  if (!s.ok()) return s;
  return out;
}

// ---- events

Status SqliteRunStore::CheckEventBatch(const std::string& run_id, const EventBatch& b) {
  for (const EventRecord& e : b.events) {
    if (e.sequence < 0 || e.sequence > b.cursor) {
      return InvalidCall("cursor " + std::to_string(b.cursor) + " of run " + run_id +
                     " does not cover event sequence " + std::to_string(e.sequence));
    }
  }
  return CheckRunUpdate(b.run);
}

Result<AppendResult> SqliteRunStore::AppendEvents(const std::string& run_id, const EventBatch& b) {
  if (Status s = CheckEventBatch(run_id, b); !s.ok()) return s;
  AppendResult result;
  Status s = Write([&](int64_t now) -> Status { return ApplyEventBatch(run_id, b, now, &result); });
  if (!s.ok()) return s;
  return result;
}

std::vector<Status> SqliteRunStore::WriteGroup(const std::vector<const WriteFn*>& writes) {
  std::vector<Status> out(writes.size());
  if (group_) {  // a function that groups again: its writes join this transaction
    for (size_t i = 0; i < writes.size(); ++i) out[i] = (*writes[i])(*this);
    return out;
  }
  Transaction txn(db_.get(), Transaction::Kind::kWrite);
  Status s = txn.Begin();
  if (s.ok()) {
    group_.emplace();
    group_->now = now_ms_();
    for (size_t i = 0; i < writes.size(); ++i) out[i] = (*writes[i])(*this);
    s = group_->broken;
    group_.reset();
    if (s.ok()) s = txn.Commit();
  }
  if (!s.ok())  // nothing was committed: every write that had succeeded fails with the transaction
    for (Status& o : out)
      if (o.ok()) o = s;
  return out;
}

Status SqliteRunStore::InGroup(const std::function<Status(int64_t)>& body) {
  if (!group_->broken.ok()) return group_->broken;
  if (Status sp = db_->Exec("SAVEPOINT write"); !sp.ok()) return group_->broken = sp;
  Status s = body(group_->now);
  if (s.ok()) {
    if (Status rel = db_->Exec("RELEASE write"); !rel.ok()) return group_->broken = rel;
    return s;
  }
  // Undone alone, as its own transaction would be; unless SQLite has already rolled the whole
  // transaction back (after an I/O error, a full disk), which ends the group.
  if (sqlite3_get_autocommit(db_->handle())) return group_->broken = s;
  if (Status rb = db_->Exec("ROLLBACK TO write"); !rb.ok()) return group_->broken = rb;
  if (Status rel = db_->Exec("RELEASE write"); !rel.ok()) return group_->broken = rel;
  return s;
}

std::vector<Result<AppendResult>> SqliteRunStore::AppendEventGroup(const std::vector<RunBatch>& group) {
  std::vector<Result<AppendResult>> out;
  out.reserve(group.size());
  std::vector<bool> checked(group.size(), false);  // passed the checks done before the transaction
  for (size_t i = 0; i < group.size(); ++i) {
    Status c = CheckEventBatch(*group[i].run_id, *group[i].batch);
    checked[i] = c.ok();
    out.push_back(c.ok() ? Result<AppendResult>(AppendResult()) : Result<AppendResult>(c));
  }
  Status s = Write([&](int64_t now) -> Status {
    for (size_t i = 0; i < group.size(); ++i) {
      if (!checked[i]) continue;
      if (Status sp = db_->Exec("SAVEPOINT batch"); !sp.ok()) return sp;
      AppendResult result;
      Status b = ApplyEventBatch(*group[i].run_id, *group[i].batch, now, &result);
      if (b.ok()) {
        out[i] = result;
      } else {
        out[i] = b;  // refused alone: its savepoint is undone, the others stay
        if (Status rb = db_->Exec("ROLLBACK TO batch"); !rb.ok()) return rb;
      }
      if (Status rel = db_->Exec("RELEASE batch"); !rel.ok()) return rel;
    }
    return Status::OK();
  });
  if (!s.ok())  // nothing was committed: every batch that got this far fails with the transaction
    for (size_t i = 0; i < group.size(); ++i)
      if (checked[i] && out[i].ok()) out[i] = s;
  return out;
}

Status SqliteRunStore::ApplyEventBatch(const std::string& run_id, const EventBatch& b, int64_t now,
                                       AppendResult* out) {
  AppendResult& result = *out;
  Result<Stmt> cur = db_->Prepare("SELECT last_sequence FROM cursors WHERE run_id = ?1");
  if (!cur.ok()) return cur.status();
  Result<bool> row = cur->BindAll(run_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound("no run " + run_id + " in the state database");
  const int64_t stored = cur->Int(0);
  // The events above the stored cursor, ascending, the first copy of each sequence; the rest
  // are already stored (the cursor covers only what is stored or known not to exist).
  std::vector<const EventRecord*> take;
  take.reserve(b.events.size());
  for (const EventRecord& e : b.events) {
    if (e.sequence > stored) take.push_back(&e);
    else ++result.duplicates;
  }
  std::stable_sort(take.begin(), take.end(), [](const EventRecord* x, const EventRecord* y) { return x->sequence < y->sequence; });
  size_t kept = 0, bytes = 0;
  for (size_t i = 0; i < take.size(); ++i) {
    if (kept > 0 && take[kept - 1]->sequence == take[i]->sequence) {
      ++result.duplicates;
      continue;
    }
    bytes += take[i]->type.size() + take[i]->status.size() + take[i]->json.size() + 64;
    take[kept++] = take[i];
  }
  take.resize(kept);
  if (!take.empty()) {
    std::string body;
    body.reserve(bytes);
    for (const EventRecord* e : take) AppendToChunk(*e, e->received_at ? e->received_at : now, &body);
    Result<Stmt> ins = db_->Prepare(
        "INSERT INTO event_chunks (run_id, first_sequence, last_sequence, count, body) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!ins.ok()) return ins.status();
    ins->BindStatic(1, run_id).Bind(2, take.front()->sequence).Bind(3, take.back()->sequence);
    ins->Bind(4, static_cast<int64_t>(take.size())).BindStatic(5, body);
    if (Status st = ins->Run(); !st.ok()) return st;
    result.inserted = static_cast<int64_t>(take.size());
  }
  result.cursor = std::max(stored, b.cursor);
  if (result.cursor != stored) {
    Result<Stmt> up = db_->Prepare("UPDATE cursors SET last_sequence = ?2 WHERE run_id = ?1");
    if (!up.ok()) return up.status();
    if (Status st = up->BindAll(run_id, result.cursor).Run(); !st.ok()) return st;
  }
  return ApplyRunUpdate(run_id, b.run, now);
}

Result<std::vector<EventRecord>> SqliteRunStore::ListEvents(const std::string& run_id,
                                                            int64_t after, int64_t limit) {
  std::vector<EventRecord> out;
  Status s = Read([&]() -> Status {
    if (Status st = RequireRun(run_id); !st.ok()) return st;
    Result<Stmt> q = db_->Prepare("SELECT " + std::string(kChunkColumns) +
                                  " FROM event_chunks WHERE run_id = ?1 AND last_sequence > ?2 ORDER BY first_sequence");
    if (!q.ok()) return q.status();
    q->BindAll(run_id, after);
    const size_t want = limit > 0 ? static_cast<size_t>(limit) : SIZE_MAX;
    while (out.size() < want) {
      Result<bool> row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      if (Status d = DecodeChunkRow(*q, after, &out); !d.ok()) return d;
    }
    if (out.size() > want) out.resize(want);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return out;
}

Result<int64_t> SqliteRunStore::CountEvents(const std::string& run_id) {
  int64_t n = 0;
  Status s = Read([&]() -> Status {
    if (Status st = RequireRun(run_id); !st.ok()) return st;
    Result<Stmt> q = db_->Prepare("SELECT coalesce(sum(count), 0) FROM event_chunks WHERE run_id = ?1");
    if (!q.ok()) return q.status();
    Result<bool> row = q->BindAll(run_id).Step();
    if (!row.ok()) return row.status();
    n = q->Int(0);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return n;
}

// ---- artifacts

Result<std::vector<ArtifactRecord>> SqliteRunStore::ListArtifacts(const std::string& run_id) {
  std::vector<ArtifactRecord> out;
  Status s = Read([&]() -> Status {
    if (Status st = RequireRun(run_id); !st.ok()) return st;
    Result<Stmt> q = db_->Prepare("SELECT " + std::string(kArtifactColumns) +
                                  " FROM artifacts WHERE run_id = ?1 ORDER BY rowid");
    if (!q.ok()) return q.status();
    q->BindAll(run_id);
    return CollectRows<ArtifactRecord>(*q, DecodeArtifact, &out);
  });
  if (!s.ok()) return s;
  return out;
}

Status SqliteRunStore::MarkArtifact(const std::string& run_id, const ArtifactRecord& a) {
  if (Status s = CheckArtifactMark(a); !s.ok()) return s;
  return Write([&](int64_t now) -> Status { return ApplyArtifactMark(run_id, a, now); });
}

Status SqliteRunStore::ApplyArtifactMark(const std::string& run_id, const ArtifactRecord& a, int64_t now) {
  Result<Stmt> q = db_->Prepare(
      "SELECT state, local_path, size, sha256 FROM artifacts WHERE run_id = ?1 AND remote_id = ?2");
  if (!q.ok()) return q.status();
  Result<bool> row = q->BindAll(run_id, a.remote_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound("run " + run_id + " has no artifact " + a.remote_id);
  if (q->Text(0) == "done") {
    if (a.state == ArtifactState::kDone && q->Text(1) == a.local_path && q->Int(2) == a.size &&
        q->Text(3) == a.sha256) {
      return Status::OK();
    }
    return Status::Error(Status::Code::kConflict, "artifact " + a.remote_id + " of run " + run_id +
                                                      " is already downloaded to " + q->Text(1));
  }
  Result<Stmt> up = db_->Prepare(
      "UPDATE artifacts SET state = ?3, local_path = ?4, size = ?5, sha256 = ?6, updated_at = ?7 "
      "WHERE run_id = ?1 AND remote_id = ?2");
  if (!up.ok()) return up.status();
  return up->BindAll(run_id, a.remote_id, Name(a.state), a.local_path, a.size, a.sha256, now).Run();
}

Status SqliteRunStore::ForgetRun(const std::string& run_id) {
  return Write([&](int64_t) -> Status {
    if (Status s = RequireRun(run_id); !s.ok()) return s;
    // ON DELETE CASCADE (foreign_keys=ON) takes the run's rows in every other table with it.
    Result<Stmt> del = db_->Prepare("DELETE FROM runs WHERE id = ?1");
    if (!del.ok()) return del.status();
    return del->BindAll(run_id).Run();
  });
}

// ---- approvals

Status SqliteRunStore::RecordApproval(const ApprovalRecord& a) {
  if (a.plan_digest.empty()) return InvalidCall("an approval without a plan digest");
  if (!(a.ceiling >= 0)) return InvalidCall("an approval with a negative or NaN ceiling");
  return Write([&](int64_t now) -> Status {
    Result<Stmt> q = db_->Prepare(
        "INSERT INTO approvals (plan_digest, ceiling, approved_by, expires_at, file_path, "
        "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (plan_digest, file_path) DO "
        "UPDATE SET ceiling = excluded.ceiling, approved_by = excluded.approved_by, "
        "expires_at = excluded.expires_at, created_at = excluded.created_at");
    if (!q.ok()) return q.status();
    return q->BindAll(a.plan_digest, a.ceiling, a.approved_by, a.expires_at, a.file_path, now)
        .Run();
  });
}

Result<ApprovalRecord> SqliteRunStore::FindApproval(const std::string& plan_digest) {
  ApprovalRecord out;
  Status s = Read([&]() -> Status {
    Result<Stmt> q = db_->Prepare(
        "SELECT plan_digest, ceiling, approved_by, expires_at, file_path, created_at "
        "FROM approvals WHERE plan_digest = ?1 AND (expires_at = 0 OR expires_at > ?2) "
        "ORDER BY created_at DESC, id DESC LIMIT 1");
    if (!q.ok()) return q.status();
    Result<bool> row = q->BindAll(plan_digest, now_ms_()).Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("no unexpired approval for plan digest " + plan_digest);
    out = {q->Text(0), q->Double(1), q->Text(2), q->Int(3), q->Text(4), q->Int(5)};
    return Status::OK();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace sflow
