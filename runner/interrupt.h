// Ctrl-C for commands that follow a run (docs/architecture.md, how a run is driven).
//
// While an InterruptGuard lives, the first SIGINT or SIGTERM calls `on_first` from a watcher
// thread (not from the signal handler, so it may lock and allocate); the runner then commits its
// cursor and returns, and the command exits 130 with the `resume` command to continue. A second
// signal ends the process at once with 130. The previous handlers come back when the guard goes.
// One guard at a time per process.
#ifndef SFLOW_RUNNER_INTERRUPT_H_
#define SFLOW_RUNNER_INTERRUPT_H_

#include <functional>
#include <thread>

namespace sflow {

class InterruptGuard {
 public:
  explicit InterruptGuard(std::function<void()> on_first);
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

  // True once a signal arrived while this guard lived.
  bool interrupted() const;

 private:
  std::function<void()> on_first_;
  std::thread watcher_;
  int pipe_[2] = {-1, -1};
};

}  // namespace sflow

#endif  // SFLOW_RUNNER_INTERRUPT_H_
