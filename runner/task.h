// Coroutines for the runner: a run that waits on its event stream, on a commit or on a backoff
// holds no thread. A driver is written as a Task-returning coroutine; each wait suspends it, and
// whoever ends the wait (the stream's on_done, a timer) hands it back to an Executor, which
// continues it on one of its threads (runner/executor.h).
//
//   Task<T>     runs when awaited (lazily), hands its T to the awaiter and continues it at once
//               when it returns (symmetric transfer: a chain of tasks does not grow the stack).
//   Executor    Schedule(h): continue h soon on one of its threads; ScheduleAfter(d, h): after d.
//               co_await ex.Switch() continues on the executor; co_await ex.Sleep(d) after d.
//   Launch      starts a task on the calling thread (until it first waits) and calls `done`
//               with its result, on whichever thread finishes it.
//
// Exceptions are not used by the runner: one escaping a coroutine ends the process.
#ifndef SFLOW_RUNNER_TASK_H_
#define SFLOW_RUNNER_TASK_H_

#include <chrono>
#include <coroutine>
#include <exception>
#include <functional>
#include <optional>
#include <utility>

namespace sflow {

template <class T>
class [[nodiscard]] Task {
 public:
  struct promise_type {
    std::optional<T> value;
    std::coroutine_handle<> continuation;

    Task get_return_object() noexcept { return Task(std::coroutine_handle<promise_type>::from_promise(*this)); }
    std::suspend_always initial_suspend() noexcept { return {}; }
    struct Final {
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        std::coroutine_handle<> next = h.promise().continuation;
        return next ? next : std::noop_coroutine();
      }
      void await_resume() noexcept {}
    };
    Final final_suspend() noexcept { return {}; }
    template <class U>
    void return_value(U&& v) {
      value.emplace(std::forward<U>(v));
    }
    void unhandled_exception() noexcept { std::terminate(); }
  };

  Task(Task&& other) noexcept : h_(std::exchange(other.h_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      if (h_) h_.destroy();
      h_ = std::exchange(other.h_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() {
    if (h_) h_.destroy();
  }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
    h_.promise().continuation = awaiting;
    return h_;
  }
  T await_resume() { return std::move(*h_.promise().value); }

 private:
  explicit Task(std::coroutine_handle<promise_type> h) : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual void Schedule(std::coroutine_handle<> h) = 0;
  virtual void ScheduleAfter(std::chrono::milliseconds delay, std::coroutine_handle<> h) = 0;

  auto Switch() {
    struct Awaiter {
      Executor* ex;
      bool await_ready() noexcept { return false; }
      void await_suspend(std::coroutine_handle<> h) { ex->Schedule(h); }
      void await_resume() noexcept {}
    };
    return Awaiter{this};
  }
  auto Sleep(std::chrono::milliseconds delay) {
    struct Awaiter {
      Executor* ex;
      std::chrono::milliseconds delay;
      bool await_ready() noexcept { return false; }
      void await_suspend(std::coroutine_handle<> h) { ex->ScheduleAfter(delay, h); }
      void await_resume() noexcept {}
    };
    return Awaiter{this, delay};
  }
};

namespace task_internal {

struct Detached {
  struct promise_type {
    Detached get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};

template <class T>
Detached Run(Task<T> task, std::function<void(T)> done) {
  done(co_await std::move(task));
}

}  // namespace task_internal

template <class T>
void Launch(Task<T> task, std::function<void(T)> done) {
  task_internal::Run(std::move(task), std::move(done));
}

}  // namespace sflow

#endif  // SFLOW_RUNNER_TASK_H_
