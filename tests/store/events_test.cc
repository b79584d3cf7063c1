// Events and their cursor: UNIQUE(run, sequence) and one transaction per batch.
#include <gtest/gtest.h>

#include "store/sqlite_run_store.h"
#include "tests/store/store_test_util.h"
#include "tests/support/test_util.h"

namespace sflow {
namespace {

class EventsTest : public testing::Test {
 protected:
  EventsTest() : store_(MemoryStore()) {
    if (!store_->CreateRun(SampleRun("r1")).ok()) ADD_FAILURE() << "CreateRun";
  }
  std::vector<int64_t> Sequences() {
    std::vector<int64_t> out;
    Result<std::vector<EventRecord>> events = store_->ListEvents("r1", -1, 0);
    EXPECT_OK(events.status());
    if (events.ok())
      for (const EventRecord& e : *events) out.push_back(e.sequence);
    return out;
  }
  int64_t Cursor() {
    Result<RunRecord> run = store_->GetRun("r1");
    EXPECT_OK(run.status());
    return run.ok() ? run->cursor : -2;
  }
  std::unique_ptr<SqliteRunStore> store_;
};

TEST_F(EventsTest, ReplayedSequencesAreDroppedIdempotently) {
  ASSERT_OK(StatusOf(store_->AppendEvents("r1", SampleBatch(0, 4))));
  std::string before = Dump(store_->db());
  // The server ignored Last-Event-ID and replayed from 0: nothing changes, twice over.
  for (int i = 0; i < 2; ++i) {
    Result<AppendResult> r = store_->AppendEvents("r1", SampleBatch(0, 4));
    ASSERT_OK(r.status());
    EXPECT_EQ(r->inserted, 0);
    EXPECT_EQ(r->duplicates, 5);
    EXPECT_EQ(r->cursor, 4);
    EXPECT_EQ(Dump(store_->db()), before);
  }
  // An overlapping batch stores only the new part.
  Result<AppendResult> r = store_->AppendEvents("r1", SampleBatch(3, 7));
  ASSERT_OK(r.status());
  EXPECT_EQ(r->inserted, 3);
  EXPECT_EQ(r->duplicates, 2);
  EXPECT_EQ(Sequences(), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(*store_->CountEvents("r1"), 8) << "replays are never counted";
}

TEST_F(EventsTest, CountEventsOfAnUnknownRunIsNotFound) {
  EXPECT_EQ(*store_->CountEvents("r1"), 0);
  EXPECT_EQ(store_->CountEvents("nope").status().code(), Status::Code::kNotFound);
}

TEST_F(EventsTest, TheFirstCopyOfASequenceWins) {
  ASSERT_OK(StatusOf(store_->AppendEvents("r1", SampleBatch(0, 0))));
  EventBatch changed = SampleBatch(0, 0);
  changed.events[0].json = R"({"sequence":0,"type":"something_else"})";
  ASSERT_OK(StatusOf(store_->AppendEvents("r1", changed)));
  EXPECT_EQ((*store_->ListEvents("r1", -1, 0))[0].json, SampleEvent(0).json);
}

TEST_F(EventsTest, TheSameSequenceTwiceInOneBatchIsStoredOnce) {
  EventBatch b = SampleBatch(0, 1);
  b.events.push_back(SampleEvent(1));
  Result<AppendResult> r = store_->AppendEvents("r1", b);
  ASSERT_OK(r.status());
  EXPECT_EQ(r->inserted, 2);
  EXPECT_EQ(r->duplicates, 1);
}

TEST_F(EventsTest, TheCursorNeverMovesBackwards) {
  ASSERT_OK(StatusOf(store_->AppendEvents("r1", SampleBatch(0, 9))));
  Result<AppendResult> r = store_->AppendEvents("r1", SampleBatch(2, 3));
  ASSERT_OK(r.status());
  EXPECT_EQ(r->cursor, 9);
  EXPECT_EQ(Cursor(), 9);
  // A batch without events may still move the cursor on (a heartbeat id, a skipped gap).
  ASSERT_OK(StatusOf(store_->AppendEvents("r1", {.cursor = 12})));
  EXPECT_EQ(Cursor(), 12);
}

TEST_F(EventsTest, ACursorThatDoesNotCoverItsEventsIsRefused) {
  EventBatch b = SampleBatch(0, 5);
  b.cursor = 4;
  Result<AppendResult> r = store_->AppendEvents("r1", b);
  EXPECT_EQ(r.status().code(), Status::Code::kInternal);
  EXPECT_EQ(r.status().message(), "run store: cursor 4 of run r1 does not cover event sequence 5");
  EXPECT_TRUE(Sequences().empty());
  EventBatch negative = SampleBatch(0, 0);
  negative.events[0].sequence = -1;
  EXPECT_EQ(store_->AppendEvents("r1", negative).status().code(), Status::Code::kInternal);
}

TEST_F(EventsTest, AnUnknownRunIsNotFound) {
  EXPECT_EQ(store_->AppendEvents("nope", SampleBatch(0, 1)).status().code(),
            Status::Code::kNotFound);
}

// A statement failing in the middle of a batch leaves neither the events nor the cursor.
TEST_F(EventsTest, EventsAndCursorCommitTogetherOrNotAtAll) {
  ASSERT_OK(StatusOf(store_->AppendEvents("r1", SampleBatch(0, 1))));
  const std::string before = Dump(store_->db());
  // Steps of AppendEvents: BEGIN, cursor read, the chunk's insert, cursor update, COMMIT. Fail each.
  for (int n = 1; n <= 5; ++n) {
    store_->db().TEST_InjectStepFault(n, /*persistent=*/false);
    Result<AppendResult> r = store_->AppendEvents("r1", SampleBatch(2, 6));
    ASSERT_TRUE(store_->db().TEST_fault_hit()) << "n=" << n;
    ASSERT_FALSE(r.ok()) << "n=" << n;
    EXPECT_EQ(r.status().code(), Status::Code::kIOError);
    EXPECT_EQ(Dump(store_->db()), before) << "n=" << n;
  }
  store_->db().TEST_InjectStepFault(6, false);
  ASSERT_OK(StatusOf(store_->AppendEvents("r1", SampleBatch(2, 6))));
  EXPECT_FALSE(store_->db().TEST_fault_hit());
  store_->db().TEST_InjectStepFault(0, false);
  EXPECT_EQ(Cursor(), 6);
  EXPECT_EQ(Sequences().size(), 7u);
}

// The store does not check an event's JSON as it writes (the follower has), but a stored event
// that is not a JSON object is damage when read: never handed out, the run's events refused.
TEST_F(EventsTest, AMalformedEventIsNeverHandedOut) {
  EventBatch b = SampleBatch(0, 4);
  b.events[2].json = "{not json";
  ASSERT_OK(StatusOf(store_->AppendEvents("r1", b)));
  Result<std::vector<EventRecord>> events = store_->ListEvents("r1", -1, 0);
  ASSERT_FALSE(events.ok());
  EXPECT_EQ(events.status().code(), Status::Code::kIOError);
  EXPECT_NE(events.status().message().find("event 3 (sequence 2): json is not a JSON object"), std::string::npos)
      << events.status().message();
}

TEST_F(EventsTest, TheRunUpdateOfABatchIsPartOfItsTransaction) {
  ASSERT_OK(store_->UpdateRun("r1", {.workflow_id = "wf-1"}));
  EventBatch b = SampleBatch(0, 2);
  b.run.status = RunStatus::kRunning;
  b.run.steps = {{.step_id = "keyframe", .status = RunStatus::kCompleted, .artifact_count = 1}};
  b.run.artifacts = {{.step_id = "keyframe", .index = 0, .remote_id = "art-1", .url = "u"}};
  ASSERT_OK(StatusOf(store_->AppendEvents("r1", b)));
  RunRecord run = *store_->GetRun("r1");
  EXPECT_EQ(run.status, RunStatus::kRunning);
  EXPECT_EQ(run.steps[0].status, RunStatus::kCompleted);
  EXPECT_EQ(store_->ListArtifacts("r1")->size(), 1u);

  EventBatch bad = SampleBatch(3, 4);
  bad.run.workflow_id = "wf-other";
  EXPECT_EQ(store_->AppendEvents("r1", bad).status().code(), Status::Code::kConflict);
  EXPECT_EQ(Cursor(), 2);
  EXPECT_EQ(Sequences().size(), 3u);
}

// ---- the group commit of several runs' batches (AppendEventGroup)

class EventGroupTest : public EventsTest {
 protected:
  EventGroupTest() {
    for (const char* id : {"r2", "r3"})
      if (!store_->CreateRun(SampleRun(id)).ok()) ADD_FAILURE() << "CreateRun " << id;
  }
  std::vector<int64_t> SequencesOf(const std::string& run) {
    std::vector<int64_t> out;
    Result<std::vector<EventRecord>> events = store_->ListEvents(run, -1, 0);
    EXPECT_OK(events.status());
    if (events.ok())
      for (const EventRecord& e : *events) out.push_back(e.sequence);
    return out;
  }
  const std::string r1_ = "r1", r2_ = "r2", r3_ = "r3", unknown_ = "nope";
};

TEST_F(EventGroupTest, EachBatchIsAppliedAsAloneAndARefusedOneAlone) {
  EventBatch a = SampleBatch(0, 2), b = SampleBatch(0, 1), bad = SampleBatch(0, 4), c = SampleBatch(0, 3), d = SampleBatch(0, 0);
  // Refused inside the transaction, after its events were written: its run update names another
  // workflow than the run's (kConflict), so its savepoint is undone.
  ASSERT_OK(store_->UpdateRun("r2", {.workflow_id = "wf-2"}));
  bad.run.workflow_id = "wf-other";
  EventBatch uncovered = SampleBatch(0, 2);
  uncovered.cursor = 1;  // refused before it
  const int64_t steps_before = store_->db().TEST_steps();
  std::vector<Result<AppendResult>> r = store_->AppendEventGroup(
      {{&r1_, &a}, {&r2_, &bad}, {&unknown_, &b}, {&r3_, &uncovered}, {&r2_, &b}, {&r3_, &c}, {&r1_, &d}});
  ASSERT_EQ(r.size(), 7u);
  EXPECT_OK(r[0].status());
  EXPECT_EQ(r[1].status().code(), Status::Code::kConflict);
  EXPECT_EQ(r[2].status().code(), Status::Code::kNotFound);
  EXPECT_EQ(r[3].status().code(), Status::Code::kInternal);
  ASSERT_OK(r[4].status());
  EXPECT_EQ(r[4]->inserted, 2);  // r2's refused batch left nothing behind
  ASSERT_OK(r[5].status());
  ASSERT_OK(r[6].status());
  EXPECT_EQ(r[6]->duplicates, 1);  // a later batch of the same run sees the earlier one
  EXPECT_EQ(SequencesOf("r1"), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(SequencesOf("r2"), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(SequencesOf("r3"), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(store_->GetRun("r3")->cursor, 3);
  EXPECT_GT(store_->db().TEST_steps(), steps_before);
}

// Each batch commits whole or not at all, whatever SQL step of the group fails (BEGIN and COMMIT
// included): a failure inside one batch refuses that batch alone, a failure of the transaction
// itself every batch; nothing half-written remains either way.
TEST_F(EventGroupTest, EachBatchOfAGroupCommitsWholeOrNotAtAll) {
  EventBatch a = SampleBatch(0, 1), b = SampleBatch(0, 2);
  const std::vector<int64_t> want_a = {0, 1}, want_b = {0, 1, 2};
  bool some_alone = false, all_refused = false;
  for (int n = 1;; ++n) {
    ASSERT_LT(n, 100);
    store_ = MemoryStore();
    for (const char* id : {"r1", "r2"}) ASSERT_OK(store_->CreateRun(SampleRun(id)));
    const std::string before = Dump(store_->db());
    store_->db().TEST_InjectStepFault(n, /*persistent=*/false);
    std::vector<Result<AppendResult>> r = store_->AppendEventGroup({{&r1_, &a}, {&r2_, &b}});
    const bool hit = store_->db().TEST_fault_hit();
    store_->db().TEST_InjectStepFault(0, false);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(SequencesOf("r1"), r[0].ok() ? want_a : std::vector<int64_t>{}) << "n=" << n;
    EXPECT_EQ(SequencesOf("r2"), r[1].ok() ? want_b : std::vector<int64_t>{}) << "n=" << n;
    EXPECT_EQ(store_->GetRun("r1")->cursor, r[0].ok() ? 1 : -1) << "n=" << n;
    EXPECT_EQ(store_->GetRun("r2")->cursor, r[1].ok() ? 2 : -1) << "n=" << n;
    if (!hit) {  // past the last step: the whole group went through
      EXPECT_OK(r[0].status());
      EXPECT_OK(r[1].status());
      break;
    }
    EXPECT_FALSE(r[0].ok() && r[1].ok()) << "n=" << n << ": a step failed and nothing was refused";
    for (const Result<AppendResult>& one : r) {
      if (!one.ok()) {
        EXPECT_EQ(one.status().code(), Status::Code::kIOError) << "n=" << n;
      }
    }
    if (r[0].ok() != r[1].ok()) some_alone = true;
    if (!r[0].ok() && !r[1].ok()) {
      all_refused = true;
      EXPECT_EQ(Dump(store_->db()), before) << "n=" << n;
    }
  }
  EXPECT_TRUE(some_alone) << "no failure inside a batch was seen";
  EXPECT_TRUE(all_refused) << "no failure of the transaction itself was seen";
}

}  // namespace
}  // namespace sflow
