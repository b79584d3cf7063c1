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
  // Steps of AppendEvents: BEGIN, cursor read, 5 inserts, cursor update, COMMIT. Fail each.
  for (int n = 1; n <= 9; ++n) {
    store_->db().TEST_InjectStepFault(n, /*persistent=*/false);
    Result<AppendResult> r = store_->AppendEvents("r1", SampleBatch(2, 6));
    ASSERT_TRUE(store_->db().TEST_fault_hit()) << "n=" << n;
    ASSERT_FALSE(r.ok()) << "n=" << n;
    EXPECT_EQ(r.status().code(), Status::Code::kIOError);
    EXPECT_EQ(Dump(store_->db()), before) << "n=" << n;
  }
  store_->db().TEST_InjectStepFault(10, false);
  ASSERT_OK(StatusOf(store_->AppendEvents("r1", SampleBatch(2, 6))));
  EXPECT_FALSE(store_->db().TEST_fault_hit());
  store_->db().TEST_InjectStepFault(0, false);
  EXPECT_EQ(Cursor(), 6);
  EXPECT_EQ(Sequences().size(), 7u);
}

TEST_F(EventsTest, AMalformedEventInTheMiddleStoresNothing) {
  EventBatch b = SampleBatch(0, 4);
  b.events[2].json = "{not json";
  Result<AppendResult> r = store_->AppendEvents("r1", b);
  EXPECT_EQ(r.status().code(), Status::Code::kInternal);
  EXPECT_NE(r.status().message().find("CHECK constraint failed"), std::string::npos);
  EXPECT_TRUE(Sequences().empty());
  EXPECT_EQ(Cursor(), -1);
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

}  // namespace
}  // namespace sflow
