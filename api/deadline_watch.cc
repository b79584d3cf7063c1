#include "api/deadline_watch.h"

namespace sflow {

DeadlineWatch::~DeadlineWatch() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DeadlineWatch::Watch(StreamCancel* cancel, Clock::time_point deadline) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto old = by_cancel_.find(cancel); old != by_cancel_.end()) {
      by_time_.erase(old->second);
      by_cancel_.erase(old);
    }
    by_cancel_[cancel] = by_time_.emplace(deadline, cancel);
    if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
  }
  changed_.notify_all();
}

void DeadlineWatch::Unwatch(StreamCancel* cancel) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = by_cancel_.find(cancel); it != by_cancel_.end()) {
    by_time_.erase(it->second);
    by_cancel_.erase(it);
  }
}

void DeadlineWatch::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (by_time_.empty()) {
      changed_.wait(lock);
      continue;
    }
    auto first = by_time_.begin();
    // A copy: wait_until reads the time point after it has let go of mu_, and an Unwatch meanwhile
    // frees the map's node (ASan found the reference dangling).
    const Clock::time_point until = first->first;
    if (Clock::now() < until) {
      changed_.wait_until(lock, until);
      continue;
    }
    // Under mu_: Unwatch cannot return while this runs, so the StreamCancel is alive.
    first->second->Cancel();
    by_cancel_.erase(first->second);
    by_time_.erase(first);
  }
}

}  // namespace sflow
