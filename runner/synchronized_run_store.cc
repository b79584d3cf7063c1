#include "runner/synchronized_run_store.h"

namespace sflow {

Result<AppendResult> SynchronizedRunStore::AppendEvents(const std::string& id, const EventBatch& b) {
  Writer self(&id, &b);
  std::unique_lock<std::mutex> queue(queue_mu_);
  writers_.push_back(&self);
  // Wait until a leader has committed this batch, or until it is this writer's turn to lead.
  self.cv.wait(queue, [&] { return self.done || writers_.front() == &self; });
  if (self.done) return std::move(self.result);

  // The leader: takes the batches queued so far (itself first), commits them as one group while
  // more writers queue behind, then wakes each with its result and hands over to the next.
  std::vector<Writer*> group;
  std::vector<RunBatch> batches;
  size_t events = 0;
  for (Writer* w : writers_) {
    if (group.size() == kMaxGroup || (!group.empty() && events + w->batch->events.size() > kMaxGroupEvents)) break;
    group.push_back(w);
    batches.push_back(RunBatch{w->run_id, w->batch});
    events += w->batch->events.size();
  }
  queue.unlock();
  std::vector<Result<AppendResult>> results = AppendEventGroup(batches);
  queue.lock();
  for (size_t i = 0; i < group.size(); ++i) {
    Writer* w = writers_.front();  // the group is the queue's head, in order
    writers_.pop_front();
    w->result = i < results.size() ? std::move(results[i]) : Status::Internal("the group gave no result");
    w->done = true;
    if (w != &self) w->cv.notify_one();
  }
  if (!writers_.empty()) writers_.front()->cv.notify_one();
  return std::move(self.result);
}

}  // namespace sflow
