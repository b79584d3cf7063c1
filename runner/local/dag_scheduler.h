// DagScheduler: which steps of a local run may start now, as ninja's Plan decides which edges are
// ready. Pure bookkeeping: no clock, no I/O, no threads.
//
// A step is ready once every step it depends on has finished well. Ready steps are handed out in
// plan order (the lowest index first), so two runs of one plan start their steps in the same
// order. A step that fails (or is skipped) skips every step that depends on it, transitively,
// while independent branches go on: the run then ends partial_failure.
#ifndef SFLOW_RUNNER_LOCAL_DAG_SCHEDULER_H_
#define SFLOW_RUNNER_LOCAL_DAG_SCHEDULER_H_

#include <cstddef>
#include <optional>
#include <set>
#include <vector>

namespace sflow {

class DagScheduler {
 public:
  enum class State { kWaiting, kReady, kRunning, kDone, kFailed, kSkipped };

  // `deps[i]`: the steps step i waits for. Indexes out of range and self-dependencies are
  // ignored; a cycle leaves its steps waiting forever (validate refuses cycles first).
  explicit DagScheduler(const std::vector<std::vector<size_t>>& deps);

  // Records the outcome of a step that ended before this scheduler existed (a resumed run, a
  // cached step) or one that is running now (re-attached after a crash). Call before NextReady;
  // a step marked running must then be Finish()ed like any other.
  void MarkDone(size_t step);
  void MarkFailed(size_t step);
  void MarkRunning(size_t step);

  // The ready step of the lowest index, now running; nullopt when none is ready.
  std::optional<size_t> NextReady();
  // A running step ended. ok: its dependants whose other inputs are done become ready; not ok:
  // each dependant, and theirs, is skipped.
  void Finish(size_t step, bool ok);

  State state(size_t step) const { return state_[step]; }
  size_t size() const { return state_.size(); }
  size_t running() const { return running_; }
  // Nothing is running and nothing is ready: every step is done, failed, skipped or waiting on a
  // cycle.
  bool Idle() const { return running_ == 0 && ready_.empty(); }

 private:
  void Resolve(size_t step, bool ok);  // `step` reached done or failed: tell its dependants
  void Skip(size_t step);

  std::vector<State> state_;
  std::vector<std::vector<size_t>> dependants_;
  std::vector<size_t> waiting_on_;  // per step: dependencies not done yet
  std::set<size_t> ready_;
  size_t running_ = 0;
};

}  // namespace sflow

#endif  // SFLOW_RUNNER_LOCAL_DAG_SCHEDULER_H_
