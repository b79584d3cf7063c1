// The group commit of SynchronizedRunStore: batches of many threads go to the store in fewer
// transactions than batches, and each caller gets its own batch's result.
#include "runner/synchronized_run_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "runner/group_committer.h"
#include "store/sqlite_run_store.h"
#include "tests/store/store_test_util.h"
#include "tests/support/test_util.h"

namespace sflow {
namespace {

// A store that holds its first group until every writer has arrived (so that the others queue
// behind it), then passes everything to a real store; it counts the groups and their sizes.
struct CountingStore : RunStore {
  explicit CountingStore(SqliteRunStore* inner) : inner(inner) {}
  std::vector<Result<AppendResult>> AppendEventGroup(const std::vector<RunBatch>& group) override {
    {
      std::unique_lock<std::mutex> lock(mu);
      sizes.push_back(group.size());
      if (sizes.size() == 1) arrived_all.wait_for(lock, std::chrono::seconds(10), [&] { return arrived == expected; });
    }
    if (sizes.size() == 1) std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the others queue
    return inner->AppendEventGroup(group);
  }
  // Everything else goes straight through.
  Status CreateRun(const RunRecord& r) override { return inner->CreateRun(r); }
  Status CreateRunWithIntent(const RunRecord& r, const IntentRecord& i, const RunUpdate& u) override {
    return inner->CreateRunWithIntent(r, i, u);
  }
  Result<RunRecord> GetRun(const std::string& id) override { return inner->GetRun(id); }
  Result<int64_t> CancelRequestedAt(const std::string& id) override { return inner->CancelRequestedAt(id); }
  Result<std::vector<RunRecord>> ListRuns(const RunQuery& q) override { return inner->ListRuns(q); }
  Status UpdateRun(const std::string& id, const RunUpdate& u) override { return inner->UpdateRun(id, u); }
  Status RecordIntent(const IntentRecord& i, const RunUpdate& u) override { return inner->RecordIntent(i, u); }
  Status MarkIntent(const std::string& id, const IntentUpdate& u) override { return inner->MarkIntent(id, u); }
  Result<std::vector<IntentRecord>> PendingIntents(const std::string& id) override { return inner->PendingIntents(id); }
  Result<AppendResult> AppendEvents(const std::string& id, const EventBatch& b) override {
    return inner->AppendEvents(id, b);
  }
  Result<std::vector<EventRecord>> ListEvents(const std::string& id, int64_t a, int64_t l) override {
    return inner->ListEvents(id, a, l);
  }
  Result<int64_t> CountEvents(const std::string& id) override { return inner->CountEvents(id); }
  Result<std::vector<ArtifactRecord>> ListArtifacts(const std::string& id) override { return inner->ListArtifacts(id); }
  Status MarkArtifact(const std::string& id, const ArtifactRecord& a) override { return inner->MarkArtifact(id, a); }
  Status RecordApproval(const ApprovalRecord& a) override { return inner->RecordApproval(a); }
  Result<ApprovalRecord> FindApproval(const std::string& d) override { return inner->FindApproval(d); }
  using RunStore::RecordProject;
  Status RecordProjects(const std::vector<ProjectRecord>& p, const RunUpdate& u) override {
    return inner->RecordProjects(p, u);
  }
  Status MarkProject(const std::string& id, const ProjectUpdate& u) override { return inner->MarkProject(id, u); }
  Result<std::vector<ProjectRecord>> ListProjects(const std::string& id) override { return inner->ListProjects(id); }
  Result<std::optional<ProjectRecord>> FindCompletedProject(const std::string& k) override {
    return inner->FindCompletedProject(k);
  }
  Result<std::string> Setting(const std::string& n, const std::string& v) override { return inner->Setting(n, v); }
  std::vector<Status> WriteGroup(const std::vector<const WriteFn*>& writes) override {
    {
      std::unique_lock<std::mutex> lock(mu);
      write_sizes.push_back(writes.size());
      if (write_sizes.size() == 1) arrived_all.wait_for(lock, std::chrono::seconds(10), [&] { return arrived == expected; });
    }
    if (write_sizes.size() == 1) std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the others queue
    return inner->WriteGroup(writes);
  }

  // A writer is about to call the store: the first group waits for all of them.
  void Arrive() {
    {
      std::lock_guard<std::mutex> lock(mu);
      ++arrived;
    }
    arrived_all.notify_all();
  }

  SqliteRunStore* inner;
  std::mutex mu;
  std::condition_variable arrived_all;
  int arrived = 0, expected = 0;
  std::vector<size_t> sizes;        // of the event groups
  std::vector<size_t> write_sizes;  // of the write groups
};

// Every one of `n` calls went to the store in a group, and fewer groups than calls were made.
void ExpectGrouped(const std::vector<size_t>& group_sizes, int n) {
  size_t calls = 0;
  for (size_t g : group_sizes) calls += g;
  EXPECT_EQ(calls, static_cast<size_t>(n));
  EXPECT_LT(group_sizes.size(), static_cast<size_t>(n)) << "every call was a transaction of its own";
}

TEST(SynchronizedRunStoreTest, ConcurrentBatchesCommitInGroupsEachWithItsOwnResult) {
  std::unique_ptr<SqliteRunStore> sqlite = MemoryStore();
  constexpr int kRuns = 12;
  for (int i = 0; i < kRuns; ++i) ASSERT_OK(sqlite->CreateRun(SampleRun("r" + std::to_string(i))));
  CountingStore counting(sqlite.get());
  counting.expected = kRuns;
  SynchronizedRunStore store(&counting);
  std::vector<Result<AppendResult>> results(kRuns, Status::Internal("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kRuns; ++i) {
    threads.emplace_back([&, i] {
      // Run r5's batch names a run that does not exist: refused alone.
      const std::string id = i == 5 ? "nope" : "r" + std::to_string(i);
      EventBatch batch = SampleBatch(0, i);
      counting.Arrive();
      results[i] = store.AppendEvents(id, batch);
    });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kRuns; ++i) {
    if (i == 5) {
      EXPECT_EQ(results[i].status().code(), Status::Code::kNotFound);
      continue;
    }
    ASSERT_OK(results[i].status());
    EXPECT_EQ(results[i]->inserted, i + 1) << "run r" << i;
    EXPECT_EQ(results[i]->cursor, i) << "run r" << i;
    EXPECT_EQ(*sqlite->CountEvents("r" + std::to_string(i)), i + 1);
  }
  ExpectGrouped(counting.sizes, kRuns);
}

// The other writes are grouped too (LevelDB's writer queue): one transaction for the writes of
// every thread that queued meanwhile, each with its own result; a refused write is undone alone.
TEST(SynchronizedRunStoreTest, ConcurrentWritesCommitInGroupsEachWithItsOwnResult) {
  std::unique_ptr<SqliteRunStore> sqlite = MemoryStore();
  constexpr int kRuns = 12;
  for (int i = 0; i < kRuns; ++i) ASSERT_OK(sqlite->CreateRun(SampleRun("r" + std::to_string(i))));
  ASSERT_OK(sqlite->RecordIntent(SampleIntent("i-taken", "r0"), {}));
  CountingStore counting(sqlite.get());
  counting.expected = kRuns;
  SynchronizedRunStore store(&counting);
  std::vector<Status> results(kRuns, Status::Internal("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kRuns; ++i) {
    threads.emplace_back([&, i] {
      counting.Arrive();
      if (i == 7) {  // its run inserted, then its intent refused (the id is taken): undone whole
        results[i] = store.CreateRunWithIntent(SampleRun("r-new"), SampleIntent("i-taken", "r-new"), {});
      } else if (i == 3) {
        results[i] = store.CreateRun(SampleRun("r0"));  // a run that exists: refused alone
      } else if (i == 5) {
        results[i] = store.UpdateRun("nope", {.status = RunStatus::kRunning});
      } else {
        results[i] = store.UpdateRun("r" + std::to_string(i), {.status = RunStatus::kRunning, .workflow_id = "wf_" + std::to_string(i)});
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(results[3].code(), Status::Code::kConflict) << results[3].ToString();
  EXPECT_FALSE(results[7].ok());
  EXPECT_EQ(sqlite->GetRun("r-new").status().code(), Status::Code::kNotFound) << "half of a refused write stayed";
  EXPECT_EQ(results[5].code(), Status::Code::kNotFound) << results[5].ToString();
  for (int i = 0; i < kRuns; ++i) {
    if (i == 3 || i == 5 || i == 7) continue;
    ASSERT_OK(results[i]);
    Result<RunRecord> r = sqlite->GetRun("r" + std::to_string(i));
    ASSERT_OK(r.status());
    EXPECT_EQ(r->status, RunStatus::kRunning) << "run r" << i;
    EXPECT_EQ(r->workflow_id, "wf_" + std::to_string(i));
  }
  EXPECT_EQ(sqlite->GetRun("r3")->status, SampleRun("r3").status) << "the refused write changed nothing";
  ExpectGrouped(counting.write_sizes, kRuns);
}

// A group whose transaction fails (here its commit) fails every write in it, none half-done;
// the next group starts clean.
TEST(SqliteRunStoreGroupTest, AFailedCommitFailsEveryWriteOfTheGroupAndKeepsNone) {
  std::unique_ptr<SqliteRunStore> sqlite = MemoryStore();
  ASSERT_OK(sqlite->CreateRun(SampleRun("r1")));
  ASSERT_OK(sqlite->CreateRun(SampleRun("r2")));
  RunStore::WriteFn a = [](RunStore& s) { return s.UpdateRun("r1", {.status = RunStatus::kRunning}); };
  RunStore::WriteFn b = [](RunStore& s) { return s.UpdateRun("r2", {.status = RunStatus::kRunning}); };
  RunStore::WriteFn refused = [](RunStore& s) { return s.UpdateRun("nope", {.status = RunStatus::kRunning}); };
  // Steps of the group: BEGIN, then per write SAVEPOINT + its statements + RELEASE, then COMMIT.
  // Failing "every step from the 40th" reaches the COMMIT whatever the writes' own counts.
  for (int64_t at = 1; at <= 40; ++at) {
    sqlite->db().TEST_InjectStepFault(at, /*persistent=*/true);
    std::vector<Status> out = sqlite->WriteGroup({&a, &refused, &b});
    sqlite->db().TEST_InjectStepFault(0, false);
    ASSERT_EQ(out.size(), 3u);
    const bool any_ok = out[0].ok() || out[2].ok();
    const bool r1 = sqlite->GetRun("r1")->status == RunStatus::kRunning;
    const bool r2 = sqlite->GetRun("r2")->status == RunStatus::kRunning;
    EXPECT_EQ(r1, out[0].ok()) << "step " << at << ": r1's write says " << out[0].ToString();
    EXPECT_EQ(r2, out[2].ok()) << "step " << at << ": r2's write says " << out[2].ToString();
    EXPECT_FALSE(out[1].ok());
    if (any_ok) break;  // the fault came after the commit: the group went through
    EXPECT_EQ(*sqlite->db().IntegrityCheck(), "ok");
  }
  std::vector<Status> out = sqlite->WriteGroup({&a, &refused, &b});
  EXPECT_TRUE(out[0].ok() && out[2].ok()) << out[0].ToString() << " " << out[2].ToString();
  EXPECT_EQ(sqlite->GetRun("r1")->status, RunStatus::kRunning);
  EXPECT_EQ(sqlite->GetRun("r2")->status, RunStatus::kRunning);
}

}  // namespace
}  // namespace sflow

namespace sflow {
namespace {

// GroupCommitter (runner/group_committer.h): one thread commits every run's batches, in groups;
// each Submit gets its own batch's result, in order, and nothing queued is lost at destruction.
TEST(GroupCommitterTest, EveryBatchIsCommittedOnceWithItsOwnResult) {
  std::unique_ptr<SqliteRunStore> sqlite = MemoryStore();
  constexpr int kRuns = 8, kBatches = 25;
  std::vector<std::string> ids;
  for (int i = 0; i < kRuns; ++i) {
    ids.push_back("r" + std::to_string(i));
    ASSERT_OK(sqlite->CreateRun(SampleRun(ids.back())));
  }
  CountingStore counting(sqlite.get());  // no first-group hold: counting.expected stays 0
  std::vector<std::vector<int64_t>> cursors(kRuns);
  {
    std::optional<GroupCommitter> committer;
    committer.emplace(&counting);
    std::vector<std::thread> threads;
    for (int r = 0; r < kRuns; ++r) {
      threads.emplace_back([&, r] {
        for (int b = 0; b < kBatches; ++b) {  // one in flight per run, as a follower does
          EventBatch batch = SampleBatch(b * 4, b * 4 + 3);
          std::mutex mu;
          std::condition_variable cv;
          bool done = false;
          committer->Submit(&ids[r], &batch, [&](Result<AppendResult> res) {
            std::lock_guard<std::mutex> lock(mu);
            cursors[r].push_back(res.ok() ? res->cursor : -100);
            done = true;
            cv.notify_all();
          });
          std::unique_lock<std::mutex> lock(mu);
          cv.wait(lock, [&] { return done; });
        }
      });
    }
    for (std::thread& t : threads) t.join();
    // Queued and never waited for: committed before the destructor returns.
    EventBatch last = SampleBatch(kBatches * 4, kBatches * 4);
    int finished = 0;
    committer->Submit(&ids[0], &last, [&](Result<AppendResult> res) { finished += res.ok(); });
    const std::string unknown = "nope";
    committer->Submit(&unknown, &last, [&](Result<AppendResult> res) {
      finished += res.status().code() == Status::Code::kNotFound;
    });
    committer.reset();
    EXPECT_EQ(finished, 2);
  }
  for (int r = 0; r < kRuns; ++r) {
    ASSERT_EQ(cursors[r].size(), static_cast<size_t>(kBatches)) << ids[r];
    for (int b = 0; b < kBatches; ++b) EXPECT_EQ(cursors[r][b], b * 4 + 3) << ids[r];
    EXPECT_EQ(*sqlite->CountEvents(ids[r]), kBatches * 4 + (r == 0 ? 1 : 0));
  }
  size_t batches = 0;
  for (size_t n : counting.sizes) batches += n;
  EXPECT_EQ(batches, static_cast<size_t>(kRuns * kBatches + 2));
  EXPECT_LT(counting.sizes.size(), batches) << "every batch was a transaction of its own";
}

}  // namespace
}  // namespace sflow
