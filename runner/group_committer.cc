#include "runner/group_committer.h"

#include <utility>
#include <vector>

#include "engine/crash_point.h"

namespace sflow {

GroupCommitter::GroupCommitter(RunStore* store, Budget budget)
    : GroupCommitter([store](const std::vector<RunStore::RunBatch>& g) { return store->AppendEventGroup(g); },
                     budget) {}

GroupCommitter::GroupCommitter(CommitGroup commit, Budget budget)
    : commit_(std::move(commit)), budget_(budget), thread_([this] { Loop(); }) {}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void GroupCommitter::Submit(const std::string* run_id, const EventBatch* batch, Done done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(Queued{run_id, batch, std::move(done)});
  }
  cv_.notify_one();
}

void GroupCommitter::Loop() {
  std::vector<Queued> group;
  std::vector<RunStore::RunBatch> batches;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return !queue_.empty() || quit_; });
      if (queue_.empty()) return;  // quit, and everything queued is committed
      size_t events = 0;
      while (!queue_.empty() && group.size() < kMaxGroup &&
             (group.empty() || events + queue_.front().batch->events.size() <= kMaxGroupEvents)) {
        events += queue_.front().batch->events.size();
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    batches.clear();
    for (const Queued& q : group) batches.push_back(RunStore::RunBatch{q.run_id, q.batch});
    CrashPoint("follow.before_commit");
    std::vector<Result<AppendResult>> results = commit_(batches);
    if (!results.empty() && results.front().ok()) CrashPoint("follow.committed");
    for (size_t i = 0; i < group.size(); ++i)
      group[i].done(i < results.size() ? std::move(results[i]) : Result<AppendResult>(Status::Internal("no result")));
    group.clear();
  }
}

}  // namespace sflow
