// The two executors of the runner's coroutines (runner/task.h).
//
//   PoolExecutor    worker threads, started as needed and kept, and one timer thread: what the
//                   drive pool runs every run's coroutine on. The work between waits (REST
//                   calls, store commits, downloads) runs on the workers; a run that waits (on
//                   its event stream, a backoff) holds none of them. Up to `threads` workers
//                   start at once; beyond that, up to `max_threads`, a worker more starts for each
//                   piece of work that has waited kStarvedAfter for one: a slow or unreachable
//                   API blocks workers in its calls and retries, and runs must not queue behind
//                   each other for them (giving up, Ctrl-C and --timeout would take runs /
//                   threads times as long).
//   InlineExecutor  the calling thread only: Run(task) continues the task there each time it is
//                   scheduled, until it ends. A driver's blocking Drive() is its coroutine run so,
//                   which is how the tests drive one run.
//
// Destroy an executor only once nothing is scheduled on it any more.
#ifndef SFLOW_RUNNER_EXECUTOR_H_
#define SFLOW_RUNNER_EXECUTOR_H_

#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <queue>
#include <thread>
#include <vector>

#include "runner/task.h"

namespace sflow {

// Continuations due at a time, in order (ties: first scheduled first).
class TimerQueue {
 public:
  using Clock = std::chrono::steady_clock;
  void Add(Clock::time_point when, std::coroutine_handle<> h);
  bool empty() const { return heap_.empty(); }
  Clock::time_point next() const { return heap_.top().when; }
  // The handles due by `now`, removed.
  std::vector<std::coroutine_handle<>> TakeDue(Clock::time_point now);

 private:
  struct Entry {
    Clock::time_point when;
    uint64_t seq;
    std::coroutine_handle<> h;
    bool operator>(const Entry& o) const { return when != o.when ? when > o.when : seq > o.seq; }
  };
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap_;
  uint64_t seq_ = 0;
};

class PoolExecutor final : public Executor {
 public:
  // `may_grow`: asked before workers are added beyond `threads` (null: always). The drive pool
  // grows only while workers wait on the API, not while they queue for the disk.
  PoolExecutor(int threads, int max_threads, std::function<bool()> may_grow = nullptr);
  ~PoolExecutor() override;
  PoolExecutor(const PoolExecutor&) = delete;
  PoolExecutor& operator=(const PoolExecutor&) = delete;

  void Schedule(std::coroutine_handle<> h) override;
  void ScheduleAfter(std::chrono::milliseconds delay, std::coroutine_handle<> h) override;
  int threads_started() const;

  static constexpr std::chrono::milliseconds kStarvedAfter{500};

 private:
  struct Ready {
    std::coroutine_handle<> h;
    TimerQueue::Clock::time_point since;
  };
  void Work();
  void Time();
  void StartWorker();  // under mu_

  const int threads_, max_threads_;
  const std::function<bool()> may_grow_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_, timer_cv_;
  std::deque<Ready> ready_;
  TimerQueue timers_;
  int idle_ = 0;
  bool quit_ = false;
  std::vector<std::thread> workers_;
  std::thread timer_;
};

class InlineExecutor final : public Executor {
 public:
  void Schedule(std::coroutine_handle<> h) override;
  void ScheduleAfter(std::chrono::milliseconds delay, std::coroutine_handle<> h) override;

  // Runs `task` on the calling thread to its end and returns its result.
  template <class T>
  T Run(Task<T> task) {
    std::optional<T> out;
    Launch<T>(std::move(task), [&](T v) {
      std::lock_guard<std::mutex> lock(mu_);
      out.emplace(std::move(v));
      cv_.notify_all();
    });
    RunUntil([&] { return out.has_value(); });
    return std::move(*out);
  }

 private:
  // Continues what is scheduled until done() holds (checked under the lock).
  template <class Done>
  void RunUntil(Done done) {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      if (done()) return;
      for (std::coroutine_handle<> h : timers_.TakeDue(TimerQueue::Clock::now())) ready_.push_back(h);
      if (!ready_.empty()) {
        std::coroutine_handle<> h = ready_.front();
        ready_.pop_front();
        lock.unlock();
        h.resume();
        lock.lock();
        continue;
      }
      if (timers_.empty()) cv_.wait(lock);
      else cv_.wait_until(lock, timers_.next());
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::coroutine_handle<>> ready_;
  TimerQueue timers_;
};

// Runs `fn` on a thread of its own and continues the awaiting coroutine on `ex` with its result:
// for what blocks for long and has no coroutine of its own (a local run's driver).
template <class T, class Fn>
auto OnOwnThread(Executor& ex, Fn fn) {
  struct Awaiter {
    Executor* ex;
    Fn fn;
    std::optional<T> out;
    bool await_ready() noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
      std::thread([this, h] {
        out.emplace(fn());
        ex->Schedule(h);  // the last thing this thread does with the awaiter
      }).detach();
    }
    T await_resume() { return std::move(*out); }
  };
  return Awaiter{&ex, std::move(fn), std::nullopt};
}

}  // namespace sflow

#endif  // SFLOW_RUNNER_EXECUTOR_H_
