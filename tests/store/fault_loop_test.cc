// SQLite's anomaly testing applied to the store (https://sqlite.org/testing.html): run an
// operation sequence with a failure injected at step N, for N = 1, 2, ... until the sequence
// completes untouched. Every time, each call must succeed or fail cleanly, and the database,
// reopened without the fault, must pass integrity_check and hold exactly the state after the
// last successful call, or after the failed call too (an error while committing leaves the
// outcome unknown, never half of it). Resuming from there must reach the fault-free end state.
//
// Two injectors: Db::TEST_InjectStepFault fails the Nth SQL step (our error paths, rollbacks),
// and FaultVfs fails the Nth file write or sync inside SQLite (its recovery, our mapping).
#include <gtest/gtest.h>

#include <functional>

#include "store/fault_vfs.h"
#include "store/migrations.h"
#include "store/state_dir.h"
#include "tests/store/store_test_util.h"
#include "tests/support/test_util.h"

namespace sflow {
namespace {

using Op = std::function<Status(RunStore&)>;

// What the engine does for one server run, from creation to completion.
std::vector<Op> RunLifecycle() {
  return {
      [](RunStore& s) { return s.CreateRun(SampleRun("r1")); },
      [](RunStore& s) {
        return s.RecordIntent(SampleIntent("i1", "r1"), {.status = RunStatus::kSubmitting});
      },
      [](RunStore& s) { return s.MarkIntent("i1", {.state = IntentState::kSent}); },
      [](RunStore& s) {
        return s.MarkIntent("i1", {.state = IntentState::kDone,
                                   .response = R"({"id":"wf-1"})",
                                   .run = {.status = RunStatus::kQueued, .workflow_id = "wf-1"}});
      },
      [](RunStore& s) {
        EventBatch b = SampleBatch(0, 4);
        b.run.status = RunStatus::kRunning;
        return s.AppendEvents("r1", b).status();
      },
      [](RunStore& s) {
        EventBatch b = SampleBatch(5, 9);
        b.run.steps = {
            {.step_id = "keyframe", .status = RunStatus::kCompleted, .artifact_count = 1}};
        b.run.artifacts = {{.step_id = "keyframe",
                            .remote_id = "art-1",
                            .url = "https://cdn/a",
                            .kind = MediaKind::kImage}};
        return s.AppendEvents("r1", b).status();
      },
      [](RunStore& s) {
        return s.MarkArtifact("r1", {.remote_id = "art-1",
                                     .state = ArtifactState::kDownloading,
                                     .local_path = "out/r1/keyframe-0.png"});
      },
      [](RunStore& s) {
        return s.MarkArtifact("r1", {.remote_id = "art-1",
                                     .state = ArtifactState::kDone,
                                     .local_path = "out/r1/keyframe-0.png",
                                     .size = 10,
                                     .sha256 = Sha('e')});
      },
      [](RunStore& s) {
        return s.RecordApproval({.plan_digest = "d", .ceiling = 30, .approved_by = "ana"});
      },
      [](RunStore& s) { return s.UpdateRun("r1", {.status = RunStatus::kCompleted}); },
  };
}

// What CreateServerRun does, then the start request: the run and its start intent are one
// transaction, so no failure point may leave the run without its intent.
std::vector<Op> CreateWithIntent() {
  return {
      [](RunStore& s) {
        return s.CreateRunWithIntent(SampleRun("r1"), SampleIntent("i1", "r1"),
                                     {.status = RunStatus::kSubmitting});
      },
      [](RunStore& s) { return s.MarkIntent("i1", {.state = IntentState::kSent}); },
  };
}

enum class Injector { kSqlStep, kVfs };

class FaultLoopTest : public testing::TestWithParam<std::tuple<Injector, bool, FaultVfs::Error>> {
 protected:
  void SetUp() override { ASSERT_OK(FaultVfs::Register()); }
  void TearDown() override { FaultVfs::FailAt(0, false); }

  Result<std::unique_ptr<StateDir>> Open(const std::string& dir, bool faulty) {
    return StateDir::Open(
        {.path = dir, .vfs = faulty ? FaultVfs::kName : "", .now_ms = FixedClock()});
  }
  void CheckEveryFailurePoint(const std::vector<Op>& ops);
  // snapshots[i]: the dump after the first i operations.
  std::vector<std::string> Snapshots(const std::vector<Op>& ops) {
    TempDir tmp;
    Result<std::unique_ptr<StateDir>> opened = Open(tmp.path() + "/s", false);
    EXPECT_OK(opened.status());
    if (!opened.ok()) return {};
    StateDir* d = opened->get();
    std::vector<std::string> out{Dump(d->sqlite_store().db())};
    for (const Op& op : ops) {
      EXPECT_OK(op(d->store()));
      out.push_back(Dump(d->sqlite_store().db()));
    }
    return out;
  }
};

TEST_P(FaultLoopTest, EveryFailurePointLeavesAConsistentResumableStore) { CheckEveryFailurePoint(RunLifecycle()); }

TEST_P(FaultLoopTest, CreateRunWithIntentIsAllOrNothing) { CheckEveryFailurePoint(CreateWithIntent()); }

void FaultLoopTest::CheckEveryFailurePoint(const std::vector<Op>& ops) {
  const auto [injector, persistent, error] = GetParam();
  const std::vector<std::string> snap = Snapshots(ops);
  ASSERT_EQ(snap.size(), ops.size() + 1);
  int completed_at = 0, unknown_outcomes = 0;
  for (int n = 1; n < 1000 && completed_at == 0; ++n) {
    SCOPED_TRACE("fault at " + std::to_string(n));
    TempDir tmp;
    const std::string dir = tmp.path() + "/s";
    size_t failed = ops.size();  // index of the failing operation
    bool hit = false;
    {
      Result<std::unique_ptr<StateDir>> d = Open(dir, injector == Injector::kVfs);
      ASSERT_OK(d.status());
      Db& db = (*d)->sqlite_store().db();
      if (injector == Injector::kSqlStep) {
        db.TEST_InjectStepFault(n, persistent);
      } else {
        FaultVfs::FailAt(n, persistent, error);
      }
      for (size_t i = 0; i < ops.size(); ++i) {
        Status s = ops[i]((*d)->store());
        if (!s.ok()) {
          EXPECT_EQ(s.code(), Status::Code::kIOError) << s.ToString();
          EXPECT_NE(s.message().find("state database " + dir + "/state.db"), std::string::npos);
          // In words, with the code by name (never "extended code 4874").
          EXPECT_EQ(s.message().find("extended code"), std::string::npos) << s.message();
          if (injector == Injector::kVfs && error == FaultVfs::Error::kDiskFull) {
            EXPECT_EQ(s.message().rfind("disk full writing the state database " + dir + "/state.db (SQLITE_FULL", 0), 0u)
                << s.message();
          } else if (injector == Injector::kVfs) {
            EXPECT_NE(s.message().find("(SQLITE_IOERR_"), std::string::npos) << s.message();
          }
          failed = i;
          break;
        }
      }
      hit = injector == Injector::kSqlStep ? db.TEST_fault_hit() : FaultVfs::fault_hit();
      if (!hit) {
        EXPECT_EQ(failed, ops.size()) << "an error without a fault";
      }
      // Closing may meet the (persistent) fault too; the file must cope.
    }
    FaultVfs::FailAt(0, false);
    if (!hit) {
      completed_at = n;
      break;
    }
    Result<std::unique_ptr<StateDir>> d = Open(dir, false);
    ASSERT_OK(d.status());
    Db& db = (*d)->sqlite_store().db();
    ASSERT_EQ(*db.IntegrityCheck(), "ok");
    std::string now = Dump(db);
    size_t resume_from;
    if (now == snap[failed]) {
      resume_from = failed;
    } else if (failed < ops.size() && now == snap[failed + 1]) {
      resume_from = failed + 1;  // committed although the call reported an error
      ++unknown_outcomes;
    } else {
      FAIL() << "operation " << failed << " left a partial state:\n" << now;
    }
    for (size_t i = resume_from; i < ops.size(); ++i) ASSERT_OK(ops[i]((*d)->store()));
    EXPECT_EQ(Dump(db), snap.back());
  }
  ASSERT_GT(completed_at, 1) << "the loop never completed or never injected";
  std::printf("[ fault loop ] %s %s: %d failure points, %d with the outcome unknown\n",
              injector == Injector::kSqlStep ? "sql-step" : "vfs-io",
              persistent ? "persistent" : "once", completed_at - 1, unknown_outcomes);
}

std::string ParamName(const testing::TestParamInfo<FaultLoopTest::ParamType>& info) {
  auto [injector, persistent, error] = info.param;
  std::string name = injector == Injector::kSqlStep ? "SqlStep" : "FileIo";
  name += persistent ? "Persistent" : "Once";
  if (injector == Injector::kVfs) {
    name += error == FaultVfs::Error::kDiskFull ? "DiskFull" : "IoError";
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(
    Faults, FaultLoopTest,
    testing::Values(std::make_tuple(Injector::kSqlStep, false, FaultVfs::Error::kIO),
                    std::make_tuple(Injector::kSqlStep, true, FaultVfs::Error::kIO),
                    std::make_tuple(Injector::kVfs, false, FaultVfs::Error::kIO),
                    std::make_tuple(Injector::kVfs, true, FaultVfs::Error::kIO),
                    std::make_tuple(Injector::kVfs, false, FaultVfs::Error::kDiskFull),
                    std::make_tuple(Injector::kVfs, true, FaultVfs::Error::kDiskFull)),
    ParamName);

// Opening and migrating an empty directory under I/O faults: a clean error or a working store,
// and afterwards the directory always opens at the latest version.
TEST(FaultLoopOpenTest, MigrationFromEmptyUnderIoFaults) {
  ASSERT_OK(FaultVfs::Register());
  int n = 1;
  for (; n < 1000; ++n) {
    SCOPED_TRACE("fault at " + std::to_string(n));
    TempDir tmp;
    const std::string dir = tmp.path() + "/s";
    FaultVfs::FailAt(n, /*persistent=*/true);
    {
      Result<std::unique_ptr<StateDir>> d =
          StateDir::Open({.path = dir, .vfs = FaultVfs::kName, .now_ms = FixedClock()});
      if (!d.ok()) {
        EXPECT_EQ(d.status().code(), Status::Code::kIOError) << d.status().ToString();
      }
    }
    bool hit = FaultVfs::fault_hit();
    FaultVfs::FailAt(0, false);
    Result<std::unique_ptr<StateDir>> d = StateDir::Open({.path = dir, .now_ms = FixedClock()});
    ASSERT_OK(d.status());
    EXPECT_EQ(*(*d)->sqlite_store().db().IntegrityCheck(), "ok");
    EXPECT_EQ(*(*d)->sqlite_store().db().QueryInt("PRAGMA user_version"), LatestSchemaVersion());
    EXPECT_OK((*d)->store().CreateRun(SampleRun("r1")));
    if (!hit) break;
  }
  EXPECT_GT(n, 1);
}

}  // namespace
}  // namespace sflow
