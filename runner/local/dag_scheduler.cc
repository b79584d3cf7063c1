#include "runner/local/dag_scheduler.h"

#include <algorithm>

namespace sflow {

DagScheduler::DagScheduler(const std::vector<std::vector<size_t>>& deps)
    : state_(deps.size(), State::kWaiting), dependants_(deps.size()), waiting_on_(deps.size(), 0) {
  for (size_t i = 0; i < deps.size(); ++i) {
    std::vector<size_t> d = deps[i];
    std::sort(d.begin(), d.end());
    d.erase(std::unique(d.begin(), d.end()), d.end());  // one edge per pair, however often named
    for (size_t from : d) {
      if (from >= deps.size() || from == i) continue;
      dependants_[from].push_back(i);
      ++waiting_on_[i];
    }
  }
  for (size_t i = 0; i < state_.size(); ++i)
    if (waiting_on_[i] == 0) {
      state_[i] = State::kReady;
      ready_.insert(i);
    }
}

void DagScheduler::MarkDone(size_t step) {
  if (step >= state_.size() || state_[step] == State::kDone) return;
  if (state_[step] == State::kRunning) --running_;
  ready_.erase(step);
  state_[step] = State::kDone;
  Resolve(step, true);
}

void DagScheduler::MarkFailed(size_t step) {
  if (step >= state_.size() || state_[step] == State::kFailed) return;
  if (state_[step] == State::kRunning) --running_;
  ready_.erase(step);
  state_[step] = State::kFailed;
  Resolve(step, false);
}

void DagScheduler::MarkRunning(size_t step) {
  if (step >= state_.size() || state_[step] == State::kRunning) return;
  ready_.erase(step);
  state_[step] = State::kRunning;
  ++running_;
}

std::optional<size_t> DagScheduler::NextReady() {
  if (ready_.empty()) return std::nullopt;
  size_t step = *ready_.begin();
  ready_.erase(ready_.begin());
  state_[step] = State::kRunning;
  ++running_;
  return step;
}

void DagScheduler::Finish(size_t step, bool ok) {
  if (step >= state_.size() || state_[step] != State::kRunning) return;
  --running_;
  state_[step] = ok ? State::kDone : State::kFailed;
  Resolve(step, ok);
}

void DagScheduler::Resolve(size_t step, bool ok) {
  for (size_t d : dependants_[step]) {
    if (!ok) {
      Skip(d);
      continue;
    }
    if (waiting_on_[d] > 0) --waiting_on_[d];
    if (waiting_on_[d] == 0 && state_[d] == State::kWaiting) {
      state_[d] = State::kReady;
      ready_.insert(d);
    }
  }
}

void DagScheduler::Skip(size_t step) {
  // Iterative: a 200-step chain must not recurse 200 frames deep per failure.
  std::vector<size_t> todo{step};
  while (!todo.empty()) {
    size_t s = todo.back();
    todo.pop_back();
    if (state_[s] != State::kWaiting && state_[s] != State::kReady) continue;  // ran, or skipped already
    ready_.erase(s);
    state_[s] = State::kSkipped;
    for (size_t d : dependants_[s]) todo.push_back(d);
  }
}

}  // namespace sflow
