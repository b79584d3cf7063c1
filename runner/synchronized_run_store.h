// SynchronizedRunStore: a RunStore that several threads may share. Each call runs whole under
// one mutex on the wrapped store, so every call stays one transaction and the order of two
// threads' transitions is the order in which they got the lock. Used by the drive pool
// (runner/drive_pool.h) of `run -j N` and `resume --all`, where several run drivers of one
// process drive runs of one state directory at once (each under its run's lease,
// store/run_lease.h; the threads take turns on the connection).
//
// Every other write (CreateRun, UpdateRun, the intents, the artifacts' and projects' marks,
// approvals) is committed in groups as well, as LevelDB commits its writers: the callers queue,
// the first in the queue takes everything queued behind it into one transaction of the wrapped
// store (RunStore::WriteGroup) while the others wait, and each returns with its own write's
// result once that transaction is durable. A write's promise is unchanged (whole or not at all,
// durable when it returns); 200 runs at once pay a few fsyncs where they paid one per write.
//
// Event batches are committed in groups by the store's GroupCommitter (runner/group_committer.h):
// AppendEvents() hands its batch over and returns with that batch's result once the group it
// went in is durable; the followers of the drive pool hand theirs to committer() directly and
// read on. With many runs at once, one fsync then serves many runs instead of one each.
#ifndef SFLOW_RUNNER_SYNCHRONIZED_RUN_STORE_H_
#define SFLOW_RUNNER_SYNCHRONIZED_RUN_STORE_H_

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "engine/run_store.h"
#include "runner/group_committer.h"

namespace sflow {

class SynchronizedRunStore : public RunStore {
  template <typename F>
  auto Locked(F&& f) -> decltype(f()) {
    std::lock_guard<std::mutex> lock(mu_);
    return f();
  }

 public:
  explicit SynchronizedRunStore(RunStore* inner) : inner_(inner) {}

  Status CreateRun(const RunRecord& run) override {
    return Grouped([&](RunStore& s) { return s.CreateRun(run); });
  }
  Status CreateRunWithIntent(const RunRecord& run, const IntentRecord& i, const RunUpdate& u) override {
    return Grouped([&](RunStore& s) { return s.CreateRunWithIntent(run, i, u); });
  }
  Result<RunRecord> GetRun(const std::string& id) override { return Locked([&] { return inner_->GetRun(id); }); }
  Result<int64_t> CancelRequestedAt(const std::string& id) override {
    return Locked([&] { return inner_->CancelRequestedAt(id); });
  }
  Result<std::vector<RunRecord>> ListRuns(const RunQuery& q) override {
    return Locked([&] { return inner_->ListRuns(q); });
  }
  Status UpdateRun(const std::string& id, const RunUpdate& u) override {
    return Grouped([&](RunStore& s) { return s.UpdateRun(id, u); });
  }
  Status RecordIntent(const IntentRecord& i, const RunUpdate& u) override {
    return Grouped([&](RunStore& s) { return s.RecordIntent(i, u); });
  }
  Status MarkIntent(const std::string& id, const IntentUpdate& u) override {
    return Grouped([&](RunStore& s) { return s.MarkIntent(id, u); });
  }
  Result<std::vector<IntentRecord>> PendingIntents(const std::string& id) override {
    return Locked([&] { return inner_->PendingIntents(id); });
  }
  Result<AppendResult> AppendEvents(const std::string& id, const EventBatch& b) override;
  std::vector<Result<AppendResult>> AppendEventGroup(const std::vector<RunBatch>& group) override {
    return Locked([&] { return inner_->AppendEventGroup(group); });
  }
  // The committer of this store's event batches, for followers that hand batches over.
  GroupCommitter& committer() { return committer_; }
  Result<std::vector<EventRecord>> ListEvents(const std::string& id, int64_t after, int64_t limit) override {
    return Locked([&] { return inner_->ListEvents(id, after, limit); });
  }
  Result<int64_t> CountEvents(const std::string& id) override {
    return Locked([&] { return inner_->CountEvents(id); });
  }
  Result<std::vector<ArtifactRecord>> ListArtifacts(const std::string& id) override {
    return Locked([&] { return inner_->ListArtifacts(id); });
  }
  Status MarkArtifact(const std::string& id, const ArtifactRecord& a) override {
    return Grouped([&](RunStore& s) { return s.MarkArtifact(id, a); });
  }
  Status RecordApproval(const ApprovalRecord& a) override {
    return Grouped([&](RunStore& s) { return s.RecordApproval(a); });
  }
  Result<ApprovalRecord> FindApproval(const std::string& digest) override {
    return Locked([&] { return inner_->FindApproval(digest); });
  }
  using RunStore::RecordProject;
  Status RecordProjects(const std::vector<ProjectRecord>& p, const RunUpdate& u) override {
    return Grouped([&](RunStore& s) { return s.RecordProjects(p, u); });
  }
  Status MarkProject(const std::string& id, const ProjectUpdate& u) override {
    return Grouped([&](RunStore& s) { return s.MarkProject(id, u); });
  }
  Result<std::vector<ProjectRecord>> ListProjects(const std::string& id) override {
    return Locked([&] { return inner_->ListProjects(id); });
  }
  Result<std::optional<ProjectRecord>> FindCompletedProject(const std::string& key) override {
    return Locked([&] { return inner_->FindCompletedProject(key); });
  }
  Result<std::string> Setting(const std::string& name, const std::string& value_if_absent) override {
    return Locked([&] { return inner_->Setting(name, value_if_absent); });
  }

 private:
  RunStore* inner_;
  // A write waiting for its group (LevelDB's DBImpl::Writer): done once its group committed.
  struct Writer {
    explicit Writer(const WriteFn* f) : fn(f) {}
    const WriteFn* fn;
    Status status;
    bool done = false;
    std::condition_variable cv;
  };
  static constexpr size_t kMaxGroup = 64;
  // `write` (on the wrapped store) in the next group; returns its own result once durable.
  Status Grouped(const WriteFn& write);

  std::mutex mu_;  // the wrapped store
  std::mutex queue_mu_;
  std::deque<Writer*> queue_;  // under queue_mu_; the front one leads
  // Last: its thread starts once the above exist, and commits through the wrapped store under
  // mu_ (never through this object's virtual functions, which a subclass overrides).
  GroupCommitter committer_{[this](const std::vector<RunBatch>& g) { return Locked([&] { return inner_->AppendEventGroup(g); }); }};
};

}  // namespace sflow

#endif  // SFLOW_RUNNER_SYNCHRONIZED_RUN_STORE_H_
