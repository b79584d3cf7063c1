#include "runner/executor.h"

#include <utility>

namespace sflow {

void TimerQueue::Add(Clock::time_point when, std::coroutine_handle<> h) { heap_.push(Entry{when, seq_++, h}); }

std::vector<std::coroutine_handle<>> TimerQueue::TakeDue(Clock::time_point now) {
  std::vector<std::coroutine_handle<>> due;
  while (!heap_.empty() && heap_.top().when <= now) {
    due.push_back(heap_.top().h);
    heap_.pop();
  }
  return due;
}

PoolExecutor::PoolExecutor(int threads, int max_threads, std::function<bool()> may_grow)
    : threads_(std::max(threads, 1)),
      max_threads_(std::max(max_threads, std::max(threads, 1))),
      may_grow_(std::move(may_grow)) {
  timer_ = std::thread([this] { Time(); });
}

void PoolExecutor::StartWorker() { workers_.emplace_back([this] { Work(); }); }

PoolExecutor::~PoolExecutor() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    quit_ = true;
  }
  work_cv_.notify_all();
  timer_cv_.notify_all();
  timer_.join();
  for (std::thread& t : workers_) t.join();
}

void PoolExecutor::Schedule(std::coroutine_handle<> h) {
  std::lock_guard<std::mutex> lock(mu_);
  ready_.push_back(Ready{h, TimerQueue::Clock::now()});
  if (idle_ > 0) {
    work_cv_.notify_one();
  } else if (static_cast<int>(workers_.size()) < threads_) {
    StartWorker();
  } else if (static_cast<int>(workers_.size()) < max_threads_) {
    timer_cv_.notify_one();  // the timer thread watches for starved work
  }
}

void PoolExecutor::ScheduleAfter(std::chrono::milliseconds delay, std::coroutine_handle<> h) {
  std::lock_guard<std::mutex> lock(mu_);
  timers_.Add(TimerQueue::Clock::now() + delay, h);
  timer_cv_.notify_one();
}

int PoolExecutor::threads_started() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(workers_.size());
}

void PoolExecutor::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (!ready_.empty()) {
      std::coroutine_handle<> h = ready_.front().h;
      ready_.pop_front();
      lock.unlock();
      h.resume();
      lock.lock();
      continue;
    }
    if (quit_) return;
    ++idle_;
    work_cv_.wait(lock);
    --idle_;
  }
}

void PoolExecutor::Time() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!quit_) {
    const TimerQueue::Clock::time_point now = TimerQueue::Clock::now();
    // Work that has waited kStarvedAfter for a worker: a worker more for each such piece, up
    // to max_threads_ (the workers are blocked, and the work behind them is not theirs to wait on).
    const bool can_grow = static_cast<int>(workers_.size()) < max_threads_;
    const bool starved = can_grow && !ready_.empty() && idle_ == 0 && now - ready_.front().since >= kStarvedAfter;
    if (starved && (!may_grow_ || may_grow_())) {
      for (Ready& r : ready_) {
        if (now - r.since < kStarvedAfter || static_cast<int>(workers_.size()) >= max_threads_) break;
        StartWorker();
        r.since = now;  // counted once: another worker for it only after another wait
      }
      continue;
    }
    TimerQueue::Clock::time_point wake = TimerQueue::Clock::time_point::max();
    if (!timers_.empty()) wake = timers_.next();
    // Starved but not to grow now: asked again in a while, not at once (no spinning).
    if (can_grow && !ready_.empty())
      wake = std::min(wake, starved ? now + kStarvedAfter / 4 : ready_.front().since + kStarvedAfter);
    if (wake == TimerQueue::Clock::time_point::max()) {
      timer_cv_.wait(lock);
      continue;
    }
    if (now < wake) {
      timer_cv_.wait_until(lock, wake);
      continue;
    }
    if (timers_.empty() || now < timers_.next()) continue;
    std::vector<std::coroutine_handle<>> due = timers_.TakeDue(TimerQueue::Clock::now());
    lock.unlock();
    for (std::coroutine_handle<> h : due) Schedule(h);
    lock.lock();
  }
}

void InlineExecutor::Schedule(std::coroutine_handle<> h) {
  std::lock_guard<std::mutex> lock(mu_);
  ready_.push_back(h);
  cv_.notify_all();
}

void InlineExecutor::ScheduleAfter(std::chrono::milliseconds delay, std::coroutine_handle<> h) {
  std::lock_guard<std::mutex> lock(mu_);
  timers_.Add(TimerQueue::Clock::now() + delay, h);
  cv_.notify_all();
}

}  // namespace sflow
