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

PoolExecutor::PoolExecutor(int max_threads) : max_threads_(std::max(max_threads, 1)) {
  timer_ = std::thread([this] { Time(); });
}

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
  ready_.push_back(h);
  if (idle_ > 0) {
    work_cv_.notify_one();
  } else if (static_cast<int>(workers_.size()) < max_threads_) {
    workers_.emplace_back([this] { Work(); });
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
      std::coroutine_handle<> h = ready_.front();
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
    if (timers_.empty()) {
      timer_cv_.wait(lock);
      continue;
    }
    if (TimerQueue::Clock::now() < timers_.next()) {
      timer_cv_.wait_until(lock, timers_.next());
      continue;
    }
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
