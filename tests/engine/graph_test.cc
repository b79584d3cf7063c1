#include "engine/graph.h"

#include <gtest/gtest.h>

namespace sflow {
namespace {

// Builds a plan whose steps depend on each other as `edges` says: {"b", {"a"}} = b depends on a.
Plan MakePlan(const std::vector<std::pair<std::string, std::vector<std::string>>>& edges) {
  Plan plan;
  int line = 1;
  for (const auto& [id, deps] : edges) {
    Step s;
    s.id = id;
    s.loc = {line++, 5};
    for (const std::string& d : deps) {
      Dependency dep;
      dep.source_step_id = d;
      s.depends_on.push_back(dep);
    }
    plan.steps.push_back(s);
  }
  return plan;
}

std::string Names(const Plan& plan, const std::vector<int>& idx) {
  std::string out;
  for (int i : idx) out += (out.empty() ? "" : " ") + plan.steps[i].id;
  return out;
}

TEST(StepGraphTest, TopologicalOrderKeepsPlanOrderForIndependentSteps) {
  Plan plan = MakePlan({{"c", {"b"}}, {"a", {}}, {"b", {"a"}}, {"d", {}}});
  StepGraph g(plan);
  EXPECT_EQ(Names(plan, g.TopologicalOrder()), "a b c d");
  EXPECT_TRUE(g.Cycles().empty());
}

TEST(StepGraphTest, IgnoresInputMediaAndUnknownSources) {
  Plan plan = MakePlan({{"a", {"$input_media", "ghost"}}, {"b", {"a", "a"}}});
  StepGraph g(plan);
  EXPECT_TRUE(g.DependenciesOf(0).empty());
  EXPECT_EQ(g.DependenciesOf(1), std::vector<int>{0});  // listed once
  EXPECT_EQ(Names(plan, g.TopologicalOrder()), "a b");
}

TEST(StepGraphTest, FindsATwoStepCycleAsAPath) {
  Plan plan = MakePlan({{"a", {"b"}}, {"b", {"a"}}});
  StepGraph g(plan);
  auto cycles = g.Cycles();
  ASSERT_EQ(cycles.size(), 1u);
  EXPECT_EQ(Names(plan, cycles[0]), "a b a");
  EXPECT_TRUE(g.TopologicalOrder().empty());
}

// A cycle beside an independent step: no order at all, not a partial one (which would run the
// independent step and silently leave the cycle out).
TEST(StepGraphTest, ACycleBesideAnIndependentStepLeavesNoOrder) {
  Plan plan = MakePlan({{"a", {"b"}}, {"b", {"a"}}, {"c", {}}});
  StepGraph g(plan);
  EXPECT_TRUE(g.TopologicalOrder().empty()) << Names(plan, g.TopologicalOrder());
  EXPECT_EQ(g.Cycles().size(), 1u);
}

TEST(StepGraphTest, PrintsLongerCyclesInRunningOrder) {
  // a needs b, b needs c, c needs a: for c to run, a must have run; for b, c; for a, b.
  Plan plan = MakePlan({{"a", {"b"}}, {"b", {"c"}}, {"c", {"a"}}, {"d", {"a"}}});
  auto cycles = StepGraph(plan).Cycles();
  ASSERT_EQ(cycles.size(), 1u);
  EXPECT_EQ(Names(plan, cycles[0]), "a c b a");
}

TEST(StepGraphTest, SelfLoopIsACycle) {
  Plan plan = MakePlan({{"a", {"a"}}});
  auto cycles = StepGraph(plan).Cycles();
  ASSERT_EQ(cycles.size(), 1u);
  EXPECT_EQ(Names(plan, cycles[0]), "a a");
}

TEST(StepGraphTest, DeepChainsDoNotExhaustTheStack) {
  std::vector<std::pair<std::string, std::vector<std::string>>> edges;
  for (int i = 0; i < 200000; ++i)
    edges.push_back({"s" + std::to_string(i), i ? std::vector<std::string>{"s" + std::to_string(i - 1)}
                                                : std::vector<std::string>{}});
  edges[0].second = {"s199999"};  // close the loop
  Plan plan = MakePlan(edges);
  StepGraph g(plan);
  auto cycles = g.Cycles();
  ASSERT_EQ(cycles.size(), 1u);
  EXPECT_EQ(cycles[0].size(), 200001u);
}

}  // namespace
}  // namespace sflow
