#include "runner/synchronized_run_store.h"

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <vector>

namespace sflow {

Result<AppendResult> SynchronizedRunStore::AppendEvents(const std::string& id, const EventBatch& b) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<AppendResult>> result;
  committer_.Submit(&id, &b, [&](Result<AppendResult> r) {
    std::lock_guard<std::mutex> lock(mu);
    result = std::move(r);
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return result.has_value(); });
  return std::move(*result);
}

Status SynchronizedRunStore::Grouped(const WriteFn& write) {
  Writer w(&write);
  std::unique_lock<std::mutex> q(queue_mu_);
  queue_.push_back(&w);
  w.cv.wait(q, [&] { return w.done || queue_.front() == &w; });
  if (w.done) return w.status;
  // The leader: every write queued behind it (up to kMaxGroup) goes in its transaction.
  std::vector<Writer*> group(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(std::min(queue_.size(), kMaxGroup)));
  q.unlock();
  std::vector<const WriteFn*> fns;
  fns.reserve(group.size());
  for (Writer* g : group) fns.push_back(g->fn);
  std::vector<Status> results = Locked([&] { return inner_->WriteGroup(fns); });
  q.lock();
  for (size_t i = 0; i < group.size(); ++i) {
    queue_.pop_front();
    group[i]->status = i < results.size() ? results[i] : Status::Internal("the store answered fewer writes than it was given");
    group[i]->done = true;
    if (group[i] != &w) group[i]->cv.notify_one();
  }
  if (!queue_.empty()) queue_.front()->cv.notify_one();  // the next leader
  return w.status;
}

}  // namespace sflow
