// The ledger of SqliteRunStore (engine/ledger.h): a run's row stored with it, its ceilings checked
// in the transaction that would store it, its estimate replaced by what it was charged as soon
// as it has ended, and rows that outlive forgotten runs.
#include <gtest/gtest.h>

#include "runner/intents.h"
#include "tests/store/store_test_util.h"
#include "tests/support/test_util.h"

namespace sflow {
namespace {

constexpr int64_t kDayMs = 24 * 3600 * 1000;

class LedgerStoreTest : public testing::Test {
 protected:
  LedgerStoreTest() : store_(MemoryStore([this] { return now_; })) {}
  // A server run of `batch` estimated at 1 + `clip` units, under `ceilings`.
  Status Create(const std::string& id, double clip, const std::string& batch = "",
                std::vector<LedgerCeiling> ceilings = {}) {
    RunRecord r = SampleRun(id);
    r.batch = batch;
    r.batch_entry = batch.empty() ? "" : "teaser[n=" + id + "]";
    r.cost.steps["keyframe"] = {1, 0};
    r.cost.steps["clip"] = {clip, 0};
    r.ceilings = std::move(ceilings);
    return store_->CreateRun(r);
  }
  std::vector<LedgerRow> Rows(LedgerQuery q = {}) {
    Result<std::vector<LedgerRow>> rows = store_->ListLedger(q);
    EXPECT_OK(rows.status());
    return rows.ok() ? *rows : std::vector<LedgerRow>{};
  }
  double Units(LedgerScope scope, const std::string& batch = "") {
    Result<LedgerSpent> s = store_->Spent(scope, batch, {});
    EXPECT_OK(s.status());
    return s.ok() ? s->amount.units : -1;
  }
  int64_t now_ = kTestNow;
  std::unique_ptr<SqliteRunStore> store_;
};

TEST_F(LedgerStoreTest, ANewRunIsInTheLedgerAtItsEstimate) {
  ASSERT_OK(Create("r1", 30, "nightly"));
  std::vector<LedgerRow> rows = Rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].run_id, "r1");
  EXPECT_EQ(rows[0].batch, "nightly");
  EXPECT_EQ(rows[0].entry, "teaser[n=r1]");
  EXPECT_EQ(rows[0].day, LedgerDay(kTestNow));
  EXPECT_EQ(rows[0].status, "planned");
  EXPECT_FALSE(rows[0].actual.has_value());
  EXPECT_EQ(rows[0].Counted().units, 31);
  EXPECT_EQ(Units(LedgerScope::kDay), 31);
  EXPECT_EQ(Units(LedgerScope::kMonth), 31);
  EXPECT_EQ(Units(LedgerScope::kBatch, "nightly"), 31);
  EXPECT_EQ(Units(LedgerScope::kBatch, "other"), 0);
}

TEST_F(LedgerStoreTest, ARunOverACeilingIsNotStoredAtAll) {
  const LedgerCeiling day{.scope = LedgerScope::kDay, .max_units = 40, .origin = "budget.day of b.yaml"};
  ASSERT_OK(Create("r1", 30, "", {day}));  // 31
  const LedgerPayer payer = LedgerPayer::Of("0123456789abcdef", "");  // SampleRun's
  ASSERT_OK(store_->FitsCeilings("", payer, {9, 0}, {day}));
  EXPECT_EQ(store_->FitsCeilings("", payer, {10, 0}, {day}).code(), Status::Code::kCostGate);
  ASSERT_OK(store_->FitsCeilings("", LedgerPayer::Of("fedcba9876543210", ""), {10, 0}, {day}));  // another account's
  Status over = Create("r2", 9, "", {day});  // 31 + 10 > 40
  EXPECT_EQ(over.code(), Status::Code::kCostGate);
  EXPECT_NE(over.message().find("the ceiling is 40 units (budget.day of b.yaml)"), std::string::npos) << over.message();
  EXPECT_EQ(store_->GetRun("r2").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(Rows().size(), 1u);
  ASSERT_OK(Create("r3", 8, "", {day}));  // 31 + 9 = 40: within
  EXPECT_EQ(Units(LedgerScope::kDay), 40);
}

TEST_F(LedgerStoreTest, EachScopeCountsItsOwnRuns) {
  const LedgerCeiling batch{.scope = LedgerScope::kBatch, .max_units = 10, .origin = "b"};
  const LedgerCeiling month{.scope = LedgerScope::kMonth, .max_units = 100, .origin = "m"};
  ASSERT_OK(Create("a1", 8, "a"));  // 9 in batch a
  EXPECT_EQ(Create("a2", 1, "a", {batch}).code(), Status::Code::kCostGate);  // 9 + 2 > 10
  ASSERT_OK(Create("b1", 8, "b", {batch}));  // batch b is empty: fits
  ASSERT_OK(Create("x1", 0, "", {batch}));   // a run of no batch: batch ceilings do not apply
  // Another day of the month still counts for the month, not for the day; a run of last month neither.
  now_ += kDayMs * 40;
  EXPECT_EQ(Units(LedgerScope::kDay), 0);
  EXPECT_EQ(Units(LedgerScope::kBatch, "a"), 9);  // a batch counts whenever its runs were stored
  const std::string month_of_now = LedgerMonth(LedgerDay(now_));
  ASSERT_NE(month_of_now, LedgerMonth(LedgerDay(kTestNow)));
  EXPECT_EQ(Units(LedgerScope::kMonth), 0);
  ASSERT_OK(Create("m1", 89, "", {month}));  // 90
  now_ += kDayMs;  // the next day of the same month
  ASSERT_EQ(LedgerMonth(LedgerDay(now_)), month_of_now);
  EXPECT_EQ(Units(LedgerScope::kDay), 0);
  EXPECT_EQ(Create("m2", 10, "", {month}).code(), Status::Code::kCostGate);  // 90 + 11 > 100
  ASSERT_OK(Create("m3", 9, "", {month}));                                    // 90 + 10: within
}

TEST_F(LedgerStoreTest, ACeilingCountsOnlyTheRunsOfItsPayer) {
  const LedgerCeiling day{.scope = LedgerScope::kDay, .max_units = 10, .origin = "d"};
  ASSERT_OK(Create("real", 8, "", {day}));  // 9, against SampleRun's endpoint and account
  RunRecord sandbox = SampleRun("sandbox");
  sandbox.api_url = "sandbox:in-process";
  sandbox.cost.steps["clip"] = {8, 0};
  sandbox.ceilings = {day};
  ASSERT_OK(store_->CreateRun(sandbox));  // the sandbox's runs never spend a real account's budget
  RunRecord other = SampleRun("other");
  other.account = "fedcba9876543210";
  other.cost.steps["clip"] = {8, 0};
  other.ceilings = {day};
  ASSERT_OK(store_->CreateRun(other));  // nor another account's
  EXPECT_EQ(Create("real2", 1, "", {day}).code(), Status::Code::kCostGate);  // 9 + 2 > 10
  std::vector<LedgerRow> rows = Rows({.run_id = "sandbox"});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].payer.api_url, "sandbox:in-process");
  EXPECT_EQ(rows[0].payer.account, "0123456789abcdef");
  EXPECT_EQ(Units(LedgerScope::kDay), 9 + 8 + 8) << "Spent without a payer counts every run";
}

TEST_F(LedgerStoreTest, AnEndedRunCountsWhatItWasCharged) {
  ASSERT_OK(Create("r1", 36));  // 37
  ASSERT_OK(store_->UpdateRun("r1", {.status = RunStatus::kRunning,
                                     .steps = {StepRecord{.step_id = "keyframe", .status = RunStatus::kCompleted, .units = 1}}}));
  EXPECT_FALSE(Rows()[0].actual.has_value()) << "a running run counts its estimate";
  EXPECT_EQ(Units(LedgerScope::kDay), 37);
  // It fails in its clip, which reported nothing and never started: the keyframe's unit alone.
  ASSERT_OK(store_->UpdateRun("r1", {.status = RunStatus::kFailed,
                                     .steps = {StepRecord{.step_id = "clip", .status = RunStatus::kPlanned}}}));
  ASSERT_TRUE(Rows()[0].actual.has_value());
  EXPECT_EQ(Rows()[0].actual->units, 1);
  EXPECT_EQ(Units(LedgerScope::kDay), 1);
  // Units the final read brings after the end replace what was counted.
  ASSERT_OK(store_->UpdateRun("r1", {.steps = {StepRecord{.step_id = "clip", .status = RunStatus::kFailed, .units = 12}}}));
  EXPECT_EQ(Units(LedgerScope::kDay), 13);
}

TEST_F(LedgerStoreTest, ALocalRunCountsItsProjectsChargesEvenWhenTheyComeAfterItsEnd) {
  RunRecord r = SampleRun("l1");
  r.execution = Execution::kLocal;
  r.steps = {StepRecord{.step_id = "hero", .tool = "project:image"}};
  r.cost.steps["hero"] = {0, 0.015};
  ASSERT_OK(store_->CreateRun(r));
  ProjectRecord p{.project_id = "P-1", .run_id = "l1", .step_id = "hero", .app_id = "app", .request = "{}",
                  .quote = 1.5, .quote_usd = 0.015, .token_type = "spark"};
  ASSERT_OK(store_->RecordProject(p, {}));
  // The step record holds the tokens charged as its units (runner/local): never counted as units.
  ASSERT_OK(store_->UpdateRun("l1", {.status = RunStatus::kCompleted,
                                     .steps = {StepRecord{.step_id = "hero", .status = RunStatus::kCompleted, .units = 3}}}));
  std::vector<LedgerRow> rows = Rows();
  ASSERT_TRUE(rows[0].actual.has_value());
  EXPECT_EQ(rows[0].actual->units, 0);
  EXPECT_DOUBLE_EQ(rows[0].actual->usd, 0.015) << "sent, charge not known yet: its estimate";
  ASSERT_OK(store_->MarkProject("P-1", {.state = ProjectState::kCompleted, .charge = 0.75}));
  EXPECT_DOUBLE_EQ(Rows()[0].actual->usd, 0.0075);
}

TEST_F(LedgerStoreTest, WhatWasSpentStaysSpentWhenARunIsForgotten) {
  ASSERT_OK(Create("r1", 4, "nightly"));
  ASSERT_OK(store_->ForgetRun("r1"));
  std::vector<LedgerRow> rows = Rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, "");
  EXPECT_EQ(rows[0].entry, "");
  EXPECT_EQ(Units(LedgerScope::kBatch, "nightly"), 5);
}

TEST_F(LedgerStoreTest, AReseedIsEstimatedAsItsSource) {
  ASSERT_OK(Create("r1", 6));
  ASSERT_OK(store_->UpdateRun("r1", {.status = RunStatus::kCompleted, .workflow_id = "wf-1"}));
  Result<RunRecord> source = store_->GetRun("r1");
  ASSERT_OK(source.status());
  Result<std::string> id = CreateReseedRun(*store_, *source, {{"keyframe", 9}}, "out", "r2");
  ASSERT_OK(id.status());
  std::vector<LedgerRow> rows = Rows({.run_id = "r2"});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].estimate.Total().units, 7);
}

TEST_F(LedgerStoreTest, ADamagedRowIsDamageToReadButNeverStopsARunsEnd) {
  ASSERT_OK(Create("r1", 4));
  ASSERT_OK(store_->db().Exec("UPDATE ledger SET steps = '[1]' WHERE run_id = 'r1'"));
  EXPECT_EQ(store_->ListLedger({}).status().code(), Status::Code::kIOError);
  ASSERT_OK(store_->UpdateRun("r1", {.status = RunStatus::kCompleted,
                                     .steps = {StepRecord{.step_id = "keyframe", .status = RunStatus::kCompleted, .units = 1}}}));
  EXPECT_EQ(*store_->db().QueryInt("SELECT CAST(units_actual AS INTEGER) FROM ledger"), 1);
}

TEST_F(LedgerStoreTest, ADamagedAmountNeverLowersWhatWasSpent) {
  ASSERT_OK(Create("r1", 4));  // 5
  ASSERT_OK(Create("r2", 4));  // 5
  ASSERT_OK(store_->db().Exec("PRAGMA ignore_check_constraints = 1; UPDATE ledger SET units = -100 WHERE run_id = 'r2'; "
                              "PRAGMA ignore_check_constraints = 0"));
  EXPECT_EQ(Units(LedgerScope::kDay), 5);
  EXPECT_EQ(store_->ListLedger({}).status().code(), Status::Code::kIOError) << "and reading it names the damage";
}

TEST_F(LedgerStoreTest, MalformedAmountsAreRefusedBeforeAnythingIsStored) {
  RunRecord r = SampleRun("r1");
  r.cost.steps["keyframe"] = {-1, 0};
  EXPECT_EQ(store_->CreateRun(r).code(), Status::Code::kInternal);
  r.cost.steps["keyframe"] = {std::numeric_limits<double>::quiet_NaN(), 0};
  EXPECT_EQ(store_->CreateRun(r).code(), Status::Code::kInternal);
  r.cost.steps["keyframe"] = {1, 0};
  r.ceilings = {LedgerCeiling{.max_usd = std::numeric_limits<double>::infinity(), .origin = "x"}};
  EXPECT_EQ(store_->CreateRun(r).code(), Status::Code::kInternal);
  EXPECT_EQ(store_->GetRun("r1").status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace sflow
