// SqliteRunStore: RunStore (engine/run_store.h) on one SQLite connection.
//
// Each method is one transaction: writes run in BEGIN IMMEDIATE, multi-statement reads in a read
// transaction, so a reader never sees half of a write. The schema is store/migrations.cc; Open()
// migrates the database first. Tests open it over ":memory:"; the product opens it through
// StateDir (store/state_dir.h), which adds the file modes and the one-writer lock.
//
// Errors follow RunStore's contract. A value rejected by a CHECK constraint of the schema (which
// the checks below should have caught first) is kInternal; a uniqueness conflict is kConflict.
// Not thread-safe.
#ifndef SFLOW_STORE_SQLITE_RUN_STORE_H_
#define SFLOW_STORE_SQLITE_RUN_STORE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/run_store.h"
#include "store/sqlite_db.h"

namespace sflow {

class SqliteRunStore : public RunStore {
 public:
  // Milliseconds since the Unix epoch; tests pass a fixed clock.
  using Clock = std::function<int64_t()>;
  static int64_t SystemNowMs();

  // Migrates `db` to the latest schema and wraps it. Fails with Migrate()'s Status.
  static Result<std::unique_ptr<SqliteRunStore>> Open(std::unique_ptr<Db> db, Clock now_ms = {});

  Status CreateRun(const RunRecord& run) override;
  Status CreateRunWithIntent(const RunRecord& run, const IntentRecord& intent,
                             const RunUpdate& update) override;
  Result<RunRecord> GetRun(const std::string& run_id) override;
  Result<int64_t> CancelRequestedAt(const std::string& run_id) override;
  Result<std::vector<RunRecord>> ListRuns(const RunQuery& query) override;
  Result<std::vector<BatchRunRow>> ListBatchRuns(const std::string& batch) override;
  Status UpdateRun(const std::string& run_id, const RunUpdate& update) override;
  Status RecordIntent(const IntentRecord& intent, const RunUpdate& run) override;
  Status MarkIntent(const std::string& intent_id, const IntentUpdate& update) override;
  Result<std::vector<IntentRecord>> PendingIntents(const std::string& run_id) override;
  Result<AppendResult> AppendEvents(const std::string& run_id, const EventBatch& batch) override;
  // One BEGIN IMMEDIATE for the group, a SAVEPOINT per batch (rolled back alone when refused).
  std::vector<Result<AppendResult>> AppendEventGroup(const std::vector<RunBatch>& group) override;
  // One transaction for every function's writes (RunStore::WriteGroup).
  std::vector<Status> WriteGroup(const std::vector<const WriteFn*>& writes) override;
  Result<std::vector<EventRecord>> ListEvents(const std::string& run_id, int64_t after,
                                              int64_t limit) override;
  Result<int64_t> CountEvents(const std::string& run_id) override;
  Result<std::vector<ArtifactRecord>> ListArtifacts(const std::string& run_id) override;
  Status MarkArtifact(const std::string& run_id, const ArtifactRecord& artifact) override;
  Status RecordApproval(const ApprovalRecord& approval) override;
  Result<ApprovalRecord> FindApproval(const std::string& plan_digest) override;
  // Local execution: store/sqlite_project_rows.cc.
  using RunStore::RecordProject;
  Status RecordProjects(const std::vector<ProjectRecord>& projects, const RunUpdate& run) override;
  Status MarkProject(const std::string& project_id, const ProjectUpdate& update) override;
  Result<std::vector<ProjectRecord>> ListProjects(const std::string& run_id) override;
  Result<std::optional<ProjectRecord>> FindCompletedProject(const std::string& cache_key) override;
  Result<std::string> Setting(const std::string& name, const std::string& value_if_absent) override;
  // The ledger: store/sqlite_ledger_rows.cc.
  Result<std::vector<LedgerRow>> ListLedger(const LedgerQuery& query) override;
  Result<LedgerSpent> Spent(LedgerScope scope, const std::string& batch, const LedgerPayer& payer) override;
  Status FitsCeilings(const std::string& batch, const LedgerPayer& payer, const LedgerAmount& cost,
                      const std::vector<LedgerCeiling>& ceilings) override;

  // Removes the run and everything stored for it (steps, events, cursor, intents, artifact rows)
  // in one transaction; approvals (kept by plan digest) and downloaded files stay. kNotFound if
  // absent. Not part of RunStore: only `sogni-flow forget` removes runs, holding the run's lease.
  Status ForgetRun(const std::string& run_id);

  Db& db() { return *db_; }

 private:
  SqliteRunStore(std::unique_ptr<Db> db, Clock now_ms)
      : db_(std::move(db)), now_ms_(std::move(now_ms)) {}

  // Runs `body` inside a write (BEGIN IMMEDIATE) or read transaction and commits it. Inside
  // WriteGroup's transaction, a write is a savepoint of it instead (undone alone when `body`
  // fails, as its own transaction would be) and a read needs nothing more.
  template <typename F>
  Status Write(F&& body) {
    if (group_) return InGroup([&](int64_t now) { return body(now); });
    Transaction txn(db_.get(), Transaction::Kind::kWrite);
    if (Status s = txn.Begin(); !s.ok()) return s;
    if (Status s = body(now_ms_()); !s.ok()) return s;
    return txn.Commit();
  }
  template <typename F>
  Status Read(F&& body) {
    if (group_) return group_->broken.ok() ? body() : group_->broken;
    Transaction txn(db_.get(), Transaction::Kind::kRead);
    if (Status s = txn.Begin(); !s.ok()) return s;
    if (Status s = body(); !s.ok()) return s;
    return txn.Commit();
  }
  // A write inside WriteGroup's transaction (see Write).
  Status InGroup(const std::function<Status(int64_t)>& body);
  Status RequireRun(const std::string& run_id);
  // The checks done before a transaction, and the inserts done inside one.
  Status CheckNewRun(const RunRecord& run);
  Status CheckNewIntent(const IntentRecord& intent, const RunUpdate& run);
  Status InsertRun(const RunRecord& run, int64_t now);
  Status InsertIntent(const IntentRecord& intent, const RunUpdate& run, int64_t now);
  Status ApplyRunUpdate(const std::string& run_id, const RunUpdate& update, int64_t now);
  // AppendEvents' checks before a transaction, and its body inside one.
  Status CheckEventBatch(const std::string& run_id, const EventBatch& batch);
  Status ApplyEventBatch(const std::string& run_id, const EventBatch& batch, int64_t now, AppendResult* result);
  // The bodies of MarkArtifact() and MarkProject() inside a transaction. ApplyProjectMark checks
  // that the project belongs to `run_id` when it is not empty, and returns the project's run.
  Status ApplyArtifactMark(const std::string& run_id, const ArtifactRecord& a, int64_t now);
  Result<std::string> ApplyProjectMark(const std::string& run_id, const ProjectMark& m, int64_t now);
  Status UpsertStep(const std::string& run_id, const StepRecord& step, int64_t now);
  // The ledger inside a transaction: a new run's row after its ceilings are checked (kCostGate),
  // what a scope counts at `now`, and an ended run's row settled on what it was charged.
  Status CheckLedgerEntry(const RunRecord& run);
  Status InsertLedgerRow(const RunRecord& run, int64_t now);
  Result<LedgerSpent> SpentNow(LedgerScope scope, const std::string& batch, const LedgerPayer& payer, int64_t now);
  Status CheckCeilingsNow(const std::string& batch, const LedgerPayer& payer, const LedgerAmount& cost,
                          const std::vector<LedgerCeiling>& ceilings, int64_t now);
  Status SettleLedger(const std::string& run_id);
  Status SettleIfEnded(const std::string& run_id);
  Status LoadSteps(const std::string& run_id, std::vector<StepRecord>* steps);

  std::unique_ptr<Db> db_;
  Clock now_ms_;
  // While WriteGroup runs: its time, and the failure that ended its transaction (SQLite rolls a
  // transaction back by itself after some errors): every write after it fails with it.
  struct Group {
    int64_t now = 0;
    Status broken;
  };
  std::optional<Group> group_;
};

}  // namespace sflow

#endif  // SFLOW_STORE_SQLITE_RUN_STORE_H_
