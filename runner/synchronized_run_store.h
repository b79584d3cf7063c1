// SynchronizedRunStore: a RunStore that several threads may share. Each call runs whole under
// one mutex on the wrapped store, so every call stays one transaction and the order of two
// threads' transitions is the order in which they got the lock. Used by the drive pool
// (runner/drive_pool.h) of `run -j N` and `resume --all`, where several run drivers of one
// process drive runs of one state directory at once (each under its run's lease,
// store/run_lease.h; the threads take turns on the connection).
//
// Event batches are committed in groups by the store's GroupCommitter (runner/group_committer.h):
// AppendEvents() hands its batch over and returns with that batch's result once the group it
// went in is durable; the followers of the drive pool hand theirs to committer() directly and
// read on. With many runs at once, one fsync then serves many runs instead of one each.
#ifndef SFLOW_RUNNER_SYNCHRONIZED_RUN_STORE_H_
#define SFLOW_RUNNER_SYNCHRONIZED_RUN_STORE_H_

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

  Status CreateRun(const RunRecord& run) override { return Locked([&] { return inner_->CreateRun(run); }); }
  Status CreateRunWithIntent(const RunRecord& run, const IntentRecord& i, const RunUpdate& u) override {
    return Locked([&] { return inner_->CreateRunWithIntent(run, i, u); });
  }
  Result<RunRecord> GetRun(const std::string& id) override { return Locked([&] { return inner_->GetRun(id); }); }
  Result<int64_t> CancelRequestedAt(const std::string& id) override {
    return Locked([&] { return inner_->CancelRequestedAt(id); });
  }
  Result<std::vector<RunRecord>> ListRuns(const RunQuery& q) override {
    return Locked([&] { return inner_->ListRuns(q); });
  }
  Status UpdateRun(const std::string& id, const RunUpdate& u) override {
    return Locked([&] { return inner_->UpdateRun(id, u); });
  }
  Status RecordIntent(const IntentRecord& i, const RunUpdate& u) override {
    return Locked([&] { return inner_->RecordIntent(i, u); });
  }
  Status MarkIntent(const std::string& id, const IntentUpdate& u) override {
    return Locked([&] { return inner_->MarkIntent(id, u); });
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
    return Locked([&] { return inner_->MarkArtifact(id, a); });
  }
  Status RecordApproval(const ApprovalRecord& a) override { return Locked([&] { return inner_->RecordApproval(a); }); }
  Result<ApprovalRecord> FindApproval(const std::string& digest) override {
    return Locked([&] { return inner_->FindApproval(digest); });
  }
  using RunStore::RecordProject;
  Status RecordProjects(const std::vector<ProjectRecord>& p, const RunUpdate& u) override {
    return Locked([&] { return inner_->RecordProjects(p, u); });
  }
  Status MarkProject(const std::string& id, const ProjectUpdate& u) override {
    return Locked([&] { return inner_->MarkProject(id, u); });
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
  std::mutex mu_;  // the wrapped store
  // Last: its thread starts once the above exist, and commits through the wrapped store under
  // mu_ (never through this object's virtual functions, which a subclass overrides).
  GroupCommitter committer_{[this](const std::vector<RunBatch>& g) { return Locked([&] { return inner_->AppendEventGroup(g); }); }};
};

}  // namespace sflow

#endif  // SFLOW_RUNNER_SYNCHRONIZED_RUN_STORE_H_
