#include "engine/graph.h"

#include <algorithm>
#include <queue>

namespace sflow {

StepGraph::StepGraph(const Plan& plan) : deps_(plan.steps.size()) {
  for (size_t i = 0; i < plan.steps.size(); ++i) index_.emplace(plan.steps[i].id, static_cast<int>(i));
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    for (const Dependency& d : plan.steps[i].depends_on) {
      int j = IndexOf(d.source_step_id);
      if (j < 0) continue;
      if (std::find(deps_[i].begin(), deps_[i].end(), j) == deps_[i].end()) deps_[i].push_back(j);
    }
  }
}

int StepGraph::IndexOf(const std::string& id) const {
  auto it = index_.find(id);
  return it == index_.end() ? -1 : it->second;
}

std::vector<std::vector<int>> StepGraph::Cycles() const {
  // Iterative DFS (a 10,000-step chain must not exhaust the stack). A back edge to a node on
  // the stack closes a cycle; the path is read off the stack.
  enum Mark { kNone, kInStack, kDone };
  std::vector<Mark> mark(size(), kNone);
  std::vector<std::vector<int>> cycles;
  struct Frame { int node; size_t next; };
  for (size_t root = 0; root < size(); ++root) {
    if (mark[root] != kNone) continue;
    std::vector<Frame> stack{{static_cast<int>(root), 0}};
    mark[root] = kInStack;
    while (!stack.empty()) {
      Frame& f = stack.back();
      if (f.next < deps_[f.node].size()) {
        int next = deps_[f.node][f.next++];
        if (mark[next] == kInStack) {
          // The cycle, in the direction "depends on": from next through the stack back to next.
          std::vector<int> cycle;
          auto it = std::find_if(stack.begin(), stack.end(), [&](const Frame& x) { return x.node == next; });
          for (; it != stack.end(); ++it) cycle.push_back(it->node);
          cycle.push_back(next);
          // Print it in running order: the step that must run first comes first.
          std::reverse(cycle.begin(), cycle.end());
          cycles.push_back(std::move(cycle));
        } else if (mark[next] == kNone) {
          mark[next] = kInStack;
          stack.push_back({next, 0});
        }
      } else {
        mark[f.node] = kDone;
        stack.pop_back();
      }
    }
  }
  return cycles;
}

std::vector<int> StepGraph::TopologicalOrder() const {
  // Kahn's algorithm with a min-heap so that independent steps keep plan order.
  std::vector<int> pending(size(), 0);
  std::vector<std::vector<int>> dependents(size());
  for (size_t i = 0; i < size(); ++i) {
    pending[i] = static_cast<int>(deps_[i].size());
    for (int d : deps_[i]) dependents[d].push_back(static_cast<int>(i));
  }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (size_t i = 0; i < size(); ++i)
    if (pending[i] == 0) ready.push(static_cast<int>(i));
  std::vector<int> order;
  while (!ready.empty()) {
    int n = ready.top();
    ready.pop();
    order.push_back(n);
    for (int d : dependents[n])
      if (--pending[d] == 0) ready.push(d);
  }
  if (order.size() != size()) order.clear();
  return order;
}

}  // namespace sflow
