// engine/ledger.h: what an ended run counts, the ceilings, and the estimate's JSON as the state
// database may hold it (damaged).
#include "engine/ledger.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace sflow {
namespace {

LedgerEstimate TwoSteps() {
  LedgerEstimate e;
  e.steps["keyframe"] = {1, 0};
  e.steps["clip"] = {36, 0};
  return e;
}

TEST(LedgerTest, AnEndedServerRunCountsWhatItsStepsReported) {
  // Reported units replace the estimate; a step that never ran counts nothing; one that ran and
  // reported nothing counts its estimate.
  EXPECT_EQ(ActualCost(TwoSteps(), {{"keyframe", "completed", 1}, {"clip", "completed", 30}}, {}).units, 31);
  EXPECT_EQ(ActualCost(TwoSteps(), {{"keyframe", "failed", std::nullopt}, {"clip", "planned", std::nullopt}}, {}).units, 1);
  EXPECT_EQ(ActualCost(TwoSteps(), {{"keyframe", "completed", 1}, {"clip", "queued", std::nullopt}}, {}).units, 1);
  EXPECT_EQ(ActualCost(TwoSteps(), {{"keyframe", "completed", 1}, {"clip", "running", std::nullopt}}, {}).units, 37);
  EXPECT_EQ(ActualCost(TwoSteps(), {{"keyframe", "completed", 0}, {"clip", "cancelled", 0}}, {}).units, 0);
}

TEST(LedgerTest, StepsTheRunDoesNotHaveCountTheirEstimate) {
  // A damaged store (a step row lost): the estimate stands rather than nothing.
  EXPECT_EQ(ActualCost(TwoSteps(), {{"keyframe", "completed", 1}}, {}).units, 37);
}

TEST(LedgerTest, AnEndedLocalRunCountsItsProjectsChargesAtTheirQuotesRate) {
  LedgerEstimate e;
  e.steps["hero"] = {0, 0.01};
  e.steps["cut"] = {0, 0.02};
  // hero: two attempts, charged 1 and 2 tokens quoted at 4 tokens = $0.04 (a cent a token).
  std::vector<SettledProject> p = {{"hero", 4, 0.04, 1}, {"hero", 4, 0.04, 2}};
  LedgerAmount a = ActualCost(e, {{"hero", "completed", std::nullopt}, {"cut", "planned", std::nullopt}}, p);
  EXPECT_DOUBLE_EQ(a.usd, 0.03);  // cut never sent: nothing
  EXPECT_EQ(a.units, 0);
  // A project sent whose charge is not known counts the step's estimate (or what is known, if more).
  p = {{"hero", 4, 0.04, std::nullopt}};
  EXPECT_DOUBLE_EQ(ActualCost(e, {{"hero", "failed", std::nullopt}}, p).usd, 0.01 + 0.02);
  // No rate to convert a charge (quoted 0 tokens): the estimate; a charge of 0 needs none.
  p = {{"hero", 0, 0, 5}};
  EXPECT_DOUBLE_EQ(ActualCost(e, {{"hero", "completed", std::nullopt}, {"cut", "planned", std::nullopt}}, p).usd, 0.01);
  p = {{"hero", 0, 0, 0}};
  EXPECT_DOUBLE_EQ(ActualCost(e, {{"hero", "completed", std::nullopt}, {"cut", "planned", std::nullopt}}, p).usd, 0);
  // A step served from the cache has no project of this run: nothing.
  EXPECT_DOUBLE_EQ(ActualCost(e, {{"hero", "completed", std::nullopt}, {"cut", "completed", std::nullopt}}, {}).usd, 0);
}

TEST(LedgerTest, ACeilingIsCrossedOnlyAboveIt) {
  LedgerCeiling c{.scope = LedgerScope::kDay, .max_units = 100, .origin = "budget.day of b.yaml"};
  EXPECT_TRUE(CheckCeiling(c, "2026-12-06", {76, 0}, {24, 0}).ok());  // equal is within
  Status s = CheckCeiling(c, "2026-12-06", {76, 0}, {38, 0});
  EXPECT_EQ(s.code(), Status::Code::kCostGate);
  EXPECT_EQ(s.message(), "it would take the day 2026-12-06 to 114 units (76 units so far, 38 units this run); the ceiling is "
                         "100 units (budget.day of b.yaml)");
  LedgerCeiling usd{.scope = LedgerScope::kBatch, .max_usd = 0.01, .origin = "--max-usd 0.01"};
  EXPECT_TRUE(CheckCeiling(usd, "nightly", {1e9, 0.004}, {1e9, 0.006}).ok());  // units do not count for dollars
  // Three quotes of $0.002468 reach a ceiling of $0.007404 exactly, whatever the binary sums say.
  EXPECT_TRUE(CheckCeiling(LedgerCeiling{.scope = LedgerScope::kDay, .max_usd = 0.007404, .origin = "x"}, "d",
                           {0, 0.002468 + 0.002468}, {0, 0.002468}).ok());
  EXPECT_EQ(CheckCeiling(usd, "nightly", {0, 0.004}, {0, 0.0061}).message(),
            "it would take batch 'nightly' to $0.0101 ($0.004 so far, $0.0061 this run); the ceiling is $0.01 (--max-usd 0.01)");
  LedgerCeiling zero{.scope = LedgerScope::kMonth, .max_units = 0, .origin = "x"};
  EXPECT_TRUE(CheckCeiling(zero, "2026-12", {0, 0}, {0, 5}).ok());  // a free run fits a ceiling of 0
  EXPECT_FALSE(CheckCeiling(zero, "2026-12", {0, 0}, {0.0001, 0}).ok());
}

TEST(LedgerTest, TheEstimateRoundTripsAndDamageIsRefused) {
  LedgerEstimate e = TwoSteps();
  Result<LedgerEstimate> back = LedgerEstimate::FromJson(e.ToJson());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->Total().units, 37);
  for (const char* bad : {"[]", "1", "{\"a\":1}", "{\"a\":{\"units\":1}}", "{\"a\":{\"units\":-1,\"usd\":0}}",
                          "{\"a\":{\"units\":\"1\",\"usd\":0}}", "{\"a\":{\"units\":1e999,\"usd\":0}}", "not json"}) {
    Result<LedgerEstimate> r = LedgerEstimate::FromJson(bad);
    EXPECT_EQ(r.status().code(), Status::Code::kInternal) << bad;
  }
}

TEST(LedgerTest, DaysAreUtcWhateverTheZone) {
  const char* was = std::getenv("TZ");
  const std::string saved = was ? was : "";
  for (const char* zone : {"UTC", "Etc/GMT+12", "Etc/GMT-14", "ABC+24"}) {
    setenv("TZ", zone, 1);
    tzset();
    EXPECT_EQ(LedgerDay(1764979200000), "2025-12-06") << zone;  // 2025-12-06T00:00:00Z
    EXPECT_EQ(LedgerDay(1764979200000 - 1), "2025-12-05") << zone;
    EXPECT_EQ(LedgerMonth(LedgerDay(1764979200000)), "2025-12") << zone;
  }
  if (was) setenv("TZ", saved.c_str(), 1);
  else unsetenv("TZ");
  tzset();
}

TEST(LedgerTest, FiguresAreShortAndNeverHuge) {
  EXPECT_EQ(LedgerFigure(38), "38");
  EXPECT_EQ(LedgerFigure(12.5), "12.5");
  EXPECT_EQ(LedgerFigure(0.00861), "0.0086");
  EXPECT_EQ(LedgerFigure(0), "0");
  EXPECT_LE(LedgerFigure(1e308).size(), 12u);
}

}  // namespace
}  // namespace sflow
