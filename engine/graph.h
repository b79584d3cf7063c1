// The step graph: which step feeds which, in what order they can run, and where it loops.
//
// Built from the steps' dependsOn entries (references to "$input_media" and to unknown steps are
// not edges; validation reports the latter). Steps are identified by their index in the plan.
// Pure: no I/O, linear in steps + edges.
#ifndef SFLOW_ENGINE_GRAPH_H_
#define SFLOW_ENGINE_GRAPH_H_

#include <string>
#include <unordered_map>
#include <vector>

#include "engine/plan.h"

namespace sflow {

class StepGraph {
 public:
  explicit StepGraph(const Plan& plan);

  size_t size() const { return deps_.size(); }
  // Index of the step with this id, or -1. With duplicate ids, the first.
  int IndexOf(const std::string& id) const;
  // Indices of the steps that step i depends on (each once, in dependsOn order).
  const std::vector<int>& DependenciesOf(int i) const { return deps_[i]; }

  // Every cycle found, each as the list of step indices along it with the first repeated at the
  // end (a -> b -> a). Each cycle is reported once, found by depth-first search in plan order.
  std::vector<std::vector<int>> Cycles() const;

  // A topological order (dependencies first, ties in plan order); empty if there is a cycle.
  std::vector<int> TopologicalOrder() const;

 private:
  std::unordered_map<std::string, int> index_;
  std::vector<std::vector<int>> deps_;
};

}  // namespace sflow

#endif  // SFLOW_ENGINE_GRAPH_H_
