#include "api/event_follower.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "api/sse_parser.h"
#include "engine/json.h"

namespace sflow {
namespace {

// An event record as the sandbox logs it (sandbox/world.cc Emit).
Value Record(int64_t sequence, const std::string& type = "workflow_progress", const std::string& status = "running",
             const std::string& workflow = "wf_1") {
  Value e = Value::Object();
  e.Set("id", Value::String(std::to_string(sequence)));
  e.Set("workflowId", Value::String(workflow));
  e.Set("sequence", Value::Int(sequence));
  e.Set("timestamp", Value::String("2026-05-01T00:00:00.000Z"));
  e.Set("type", Value::String(type));
  e.Set("status", Value::String(status));
  e.Set("data", Value::Object());
  return e;
}

// The frame the sandbox sends for it (sandbox/sse.cc Frame): `id: N / event: type / data: record`.
SseEvent Frame(int64_t sequence, const std::string& type = "workflow_progress", const std::string& status = "running") {
  SseEvent f;
  f.id = std::to_string(sequence);
  f.own_id = true;
  f.type = type;
  f.data = Record(sequence, type, status).ToJson();
  return f;
}

// `event: workflow_status` carries no id, so it inherits the previous frame's.
SseEvent StatusFrame(const std::string& status, const std::string& inherited_id = "") {
  SseEvent f;
  f.id = inherited_id;
  f.type = "workflow_status";
  f.data = R"({"workflowId":"wf_1","status":")" + status + R"("})";
  return f;
}

std::vector<int64_t> Sequences(const FollowOutcome& o) {
  std::vector<int64_t> out;
  for (const FollowedEvent& e : o.deliver) {
    Result<Value> record = ParseJson(e.json);  // delivered text is always a JSON object
    EXPECT_TRUE(record.ok() && record->is_object()) << e.json;
    const Value* s = record.ok() ? record->Find("sequence") : nullptr;
    if (s && s->is_int()) {
      EXPECT_EQ(s->as_int(), e.sequence);
    }
    out.push_back(e.sequence);
  }
  return out;
}

using Seqs = std::vector<int64_t>;

EventFollower Follower(int64_t cursor = 0) { return EventFollower(EventFollower::Options{"wf_1", cursor}); }

TEST(EventFollowerTest, DeliversInOrderAndAdvancesTheCursor) {
  EventFollower f = Follower();
  for (int64_t s = 1; s <= 3; ++s) {
    FollowOutcome o = f.Offer(Frame(s));
    EXPECT_EQ(Sequences(o), Seqs{s});
    EXPECT_FALSE(o.gap);
    EXPECT_EQ(o.status, "running");
  }
  EXPECT_EQ(f.cursor(), 3);
  EXPECT_EQ(f.LastEventId(), "3");
}

TEST(EventFollowerTest, DropsDuplicates) {
  EventFollower f = Follower();
  f.Offer(Frame(1));
  f.Offer(Frame(2));
  for (int64_t s : {2, 1, 2}) {
    FollowOutcome o = f.Offer(Frame(s));
    EXPECT_TRUE(o.deliver.empty());
    EXPECT_EQ(o.duplicates, 1);
    EXPECT_FALSE(o.status);  // a replayed record says nothing about now
  }
  EXPECT_EQ(f.cursor(), 2);
}

// A repeat of an event already held out of order (behind a hole) is a duplicate too, on the
// stream and in a reconciling GET; it is held once and delivered once.
TEST(EventFollowerTest, ARepeatOfAHeldEventIsADuplicate) {
  EventFollower f = Follower();
  f.Offer(Frame(1));
  EXPECT_EQ(f.Offer(Frame(3)).duplicates, 0);  // held behind the hole at 2
  FollowOutcome again = f.Offer(Frame(3));
  EXPECT_EQ(again.duplicates, 1);
  EXPECT_TRUE(again.deliver.empty());
  EXPECT_EQ(f.held(), 1u);
  EXPECT_EQ(f.Reconcile({Record(3)}).duplicates, 1);
  EXPECT_EQ(Sequences(f.Offer(Frame(2))), (Seqs{2, 3}));
  EXPECT_EQ(f.held(), 0u);
}

TEST(EventFollowerTest, ResumesFromAStoredCursor) {
  EventFollower f = Follower(5);
  EXPECT_EQ(f.Offer(Frame(5)).duplicates, 1);
  EXPECT_EQ(Sequences(f.Offer(Frame(6))), Seqs{6});
}

TEST(EventFollowerTest, HoldsEventsBehindAGapUntilReconciled) {
  EventFollower f = Follower();
  f.Offer(Frame(1));
  FollowOutcome o = f.Offer(Frame(4));
  EXPECT_TRUE(o.deliver.empty());
  EXPECT_EQ(o.gap, (SequenceRange{2, 3}));
  EXPECT_EQ(f.Offer(Frame(5)).gap, (SequenceRange{2, 3}));  // reported while open
  EXPECT_EQ(f.held(), 2u);
  EXPECT_EQ(f.LastEventId(), "1");  // a reconnection asks for the hole again

  std::vector<Value> rest;  // GET .../events?after=1, overlapping what is held
  for (int64_t s : {2, 3, 4, 5, 6}) rest.push_back(Record(s));
  o = f.Reconcile(std::move(rest));
  EXPECT_EQ(Sequences(o), (Seqs{2, 3, 4, 5, 6}));
  EXPECT_EQ(o.duplicates, 2);
  EXPECT_FALSE(o.gap);
  EXPECT_EQ(f.cursor(), 6);
  EXPECT_EQ(f.held(), 0u);
}

TEST(EventFollowerTest, AReorderedFrameFillsItsOwnGap) {
  EventFollower f = Follower();
  Seqs got;
  for (int64_t s : {1, 2, 4, 3, 5}) {
    FollowOutcome o = f.Offer(Frame(s));
    for (int64_t d : Sequences(o)) got.push_back(d);
    if (s == 4) {
      EXPECT_EQ(o.gap, (SequenceRange{3, 3}));
    }
    if (s == 3) {
      EXPECT_FALSE(o.gap);
    }
  }
  EXPECT_EQ(got, (Seqs{1, 2, 3, 4, 5}));
}

TEST(EventFollowerTest, ReorderingAcrossAReconnection) {
  EventFollower f = Follower();
  Seqs got;
  auto offer = [&](const SseEvent& e) {
    for (int64_t d : Sequences(f.Offer(e))) got.push_back(d);
  };
  offer(Frame(1));
  offer(Frame(2));
  offer(Frame(4));  // then the stream drops; 3 was lost
  EXPECT_EQ(f.LastEventId(), "2");
  f.StreamStarted();  // the server replays after 2
  for (int64_t s : {3, 4, 5}) offer(Frame(s));
  EXPECT_EQ(got, (Seqs{1, 2, 3, 4, 5}));
  EXPECT_FALSE(f.gap());
}

TEST(EventFollowerTest, ReadsStatusFramesWithoutIds) {
  EventFollower f = Follower();
  f.Offer(Frame(1));
  FollowOutcome o = f.Offer(StatusFrame("queued", "1"));  // the inherited id is not a sequence
  EXPECT_TRUE(o.deliver.empty());
  EXPECT_EQ(o.duplicates, 0);
  EXPECT_EQ(o.status, "queued");
  EXPECT_FALSE(o.stops());
  EXPECT_EQ(f.cursor(), 1);
}

TEST(EventFollowerTest, FindsStatusWhereverClientsLookForIt) {
  auto status = [](const char* json) { return EventFollower::StatusOf(*ParseJson(json)); };
  EXPECT_EQ(status(R"({"status":"completed"})"), "completed");
  EXPECT_EQ(status(R"({"workflow":{"status":"failed"}})"), "failed");
  EXPECT_EQ(status(R"({"data":{"status":"cancelled"}})"), "cancelled");
  EXPECT_EQ(status(R"({"status":"running","data":{"status":"failed"}})"), "running");  // top level first
  EXPECT_EQ(status(R"({"status":3,"workflow":{"status":"queued"}})"), "queued");
  EXPECT_EQ(status(R"({"workflowId":"wf_1"})"), std::nullopt);
  EXPECT_EQ(status(R"(["completed"])"), std::nullopt);
}

TEST(EventFollowerTest, RecognisesTerminalAndWaitingStatuses) {
  for (const char* s : {"completed", "failed", "cancelled", "canceled", "partial_failure"}) {
    FollowOutcome o = Follower().Offer(StatusFrame(s));
    EXPECT_TRUE(o.terminal()) << s;
    EXPECT_FALSE(o.waiting_for_user()) << s;
    EXPECT_TRUE(o.stops()) << s;
  }
  FollowOutcome waiting = Follower().Offer(StatusFrame("waiting_for_user"));
  EXPECT_TRUE(waiting.waiting_for_user());
  EXPECT_FALSE(waiting.terminal());
  EXPECT_TRUE(waiting.stops());
  for (const char* s : {"queued", "running", "Completed", ""}) EXPECT_FALSE(Follower().Offer(StatusFrame(s)).stops()) << s;
}

TEST(EventFollowerTest, ATerminalRecordNeverOvertakesAHole) {
  EventFollower f = Follower();
  f.Offer(Frame(1));
  FollowOutcome o = f.Offer(Frame(3, "workflow_completed", "completed"));
  EXPECT_FALSE(o.status);
  EXPECT_EQ(o.gap, (SequenceRange{2, 2}));
  o = f.Reconcile({Record(2, "step_completed")});
  EXPECT_EQ(Sequences(o), (Seqs{2, 3}));
  EXPECT_TRUE(o.terminal());
}

TEST(EventFollowerTest, AStatusFrameAfterAHeldRecordIsReportedWithTheGap) {
  EventFollower f = Follower();
  f.Offer(Frame(1));
  f.Offer(Frame(3, "workflow_completed", "completed"));
  FollowOutcome o = f.Offer(StatusFrame("completed", "3"));
  EXPECT_TRUE(o.terminal());
  EXPECT_EQ(o.gap, (SequenceRange{2, 2}));  // so the caller reconciles before it stops
}

TEST(EventFollowerTest, AReplayFromTheStartDoesNotReviveAnOldStatus) {
  EventFollower f = Follower();
  f.Offer(Frame(1, "workflow_started"));
  f.Offer(StatusFrame("running", "1"));
  f.Offer(Frame(2, "workflow_waiting_for_user", "waiting_for_user"));
  EXPECT_TRUE(f.Offer(StatusFrame("waiting_for_user", "2")).waiting_for_user());

  // Resumed; the server ignores Last-Event-ID and replays from sequence 1.
  f.StreamStarted();
  EXPECT_FALSE(f.Offer(Frame(1, "workflow_started")).status);
  EXPECT_EQ(f.Offer(StatusFrame("running", "1")).duplicates, 1);
  f.Offer(Frame(2, "workflow_waiting_for_user", "waiting_for_user"));
  FollowOutcome o = f.Offer(StatusFrame("waiting_for_user", "2"));
  EXPECT_FALSE(o.stops());
  EXPECT_EQ(o.duplicates, 1);
  o = f.Offer(Frame(3, "workflow_progress", "running"));
  EXPECT_EQ(Sequences(o), Seqs{3});
  EXPECT_EQ(f.Offer(StatusFrame("running", "3")).status, "running");
  EXPECT_TRUE(f.Offer(Frame(4, "workflow_completed", "completed")).terminal());
}

TEST(EventFollowerTest, ReconcileOrdersAShuffledBatchAndSkipsWhatItKnows) {
  EventFollower f = Follower();
  f.Offer(Frame(1));
  f.Offer(Frame(2));
  std::vector<Value> rest;  // a server that ignores ?after= and answers in any order
  for (int64_t s : {5, 1, 3, 2, 4, 3}) rest.push_back(Record(s));
  rest.push_back(Value::String("junk"));
  Value no_sequence = Record(9);
  no_sequence.Erase("sequence");
  rest.push_back(no_sequence);
  rest.push_back(Record(6, "workflow_progress", "running", "wf_other"));
  FollowOutcome o = f.Reconcile(std::move(rest));
  EXPECT_EQ(Sequences(o), (Seqs{3, 4, 5}));
  EXPECT_EQ(o.duplicates, 3);
  EXPECT_EQ(o.ignored, 3);
  EXPECT_EQ(f.cursor(), 5);
}

TEST(EventFollowerTest, ReconcileThatLeavesAHoleKeepsReportingIt) {
  EventFollower f = Follower();
  f.Offer(Frame(1));
  f.Offer(Frame(5));
  FollowOutcome o = f.Reconcile({Record(2), Record(4)});
  EXPECT_EQ(Sequences(o), Seqs{2});
  EXPECT_EQ(o.gap, (SequenceRange{3, 3}));
  o = f.SkipGap();  // the server has said 3 does not exist
  EXPECT_EQ(Sequences(o), (Seqs{4, 5}));
  EXPECT_FALSE(o.gap);
  EXPECT_TRUE(f.SkipGap().deliver.empty());
}

TEST(EventFollowerTest, IgnoresFramesItCannotUse) {
  EventFollower f = Follower();
  SseEvent text = Frame(1);
  text.data = "not json";
  SseEvent array = Frame(1);
  array.data = "[1]";
  SseEvent foreign = Frame(1);
  foreign.data = Record(1, "workflow_progress", "running", "wf_2").ToJson();
  SseEvent nothing = StatusFrame("x");
  nothing.data = R"({"workflowId":"wf_1"})";
  for (const SseEvent& e : {text, array, foreign, nothing}) {
    FollowOutcome o = f.Offer(e);
    EXPECT_EQ(o.ignored, 1) << e.data;
    EXPECT_TRUE(o.deliver.empty());
    EXPECT_FALSE(o.status);
  }
  EXPECT_EQ(f.cursor(), 0);
}

TEST(EventFollowerTest, TakesTheSequenceFromItsOwnIdWhenDataHasNone) {
  EventFollower f = Follower();
  SseEvent e;
  e.id = "1";
  e.own_id = true;
  e.data = R"({"type":"custom","status":"running"})";
  EXPECT_EQ(Sequences(f.Offer(e)).size(), 1u);
  EXPECT_EQ(f.cursor(), 1);
  e.data = R"({"type":"custom","sequence":"2"})";  // a numeric string counts too
  e.id = "99";
  EXPECT_EQ(f.Offer(e).deliver[0].sequence, 2);
}

TEST(EventFollowerTest, KeepsTheTextAsReceivedThroughHoldsAndAReusedOutcome) {
  EventFollower f = Follower();
  SseEvent two = Frame(2);
  two.data = " " + two.data + " ";  // spacing a re-serialization would lose
  FollowOutcome o;
  f.Offer(two, &o);  // held behind the hole at 1
  EXPECT_TRUE(o.deliver.empty());
  ASSERT_TRUE(o.gap.has_value());
  f.Offer(Frame(1), &o);  // fills it: both go out, each with its own text
  ASSERT_EQ(o.deliver.size(), 2u);
  EXPECT_EQ(o.deliver[0].json, Frame(1).data);
  EXPECT_EQ(o.deliver[1].json, two.data);
  EXPECT_FALSE(o.gap.has_value());
  f.Offer(Frame(2), &o);  // a duplicate: the reused outcome is cleared first
  EXPECT_TRUE(o.deliver.empty());
  EXPECT_EQ(o.duplicates, 1);
  FollowOutcome r = f.Reconcile({Record(3)});
  ASSERT_EQ(r.deliver.size(), 1u);
  EXPECT_EQ(r.deliver[0].json, Record(3).ToJson());  // parsed by the client: serialized
}

// The members the follower reads without parsing the record (type, own status, the status it
// reports by the rule) are those a parsed record has, in every shape the rule allows.
TEST(EventFollowerTest, ReadsTypeAndStatusesAsAParsedRecordWould) {
  EventFollower f = Follower();
  auto offer = [&](int64_t seq, const std::string& rest) {
    SseEvent e;
    e.data = R"({"workflowId":"wf_1","sequence":)" + std::to_string(seq) + rest + "}";
    FollowOutcome o = f.Offer(e);
    EXPECT_EQ(o.deliver.size(), 1u) << e.data;
    return o.deliver.empty() ? FollowedEvent{} : o.deliver[0];
  };
  FollowedEvent a = offer(1, R"(,"type":"step_started","status":"running","data":{"status":"x"})");
  EXPECT_EQ(a.type, "step_started");
  EXPECT_EQ(a.status, "running");
  EXPECT_EQ(a.reported, "running");  // its own status first
  FollowedEvent b = offer(2, R"(,"type":"workflow_progress","workflow":{"status":"queued"},"data":{"status":"y"})");
  EXPECT_EQ(b.status, "");
  EXPECT_EQ(b.reported, "queued");  // then workflow.status
  FollowedEvent c = offer(3, R"(,"status":7,"data":{"status":"waiting_for_user"},"type":["x"])");
  EXPECT_EQ(c.type, "");  // not a string
  EXPECT_EQ(c.status, "");
  EXPECT_EQ(c.reported, "waiting_for_user");  // a non-string status falls through to data.status
  FollowedEvent d = offer(4, R"(,"typ\u0065":"esc\u0061ped","status":"a","status":"b")");
  EXPECT_EQ(d.type, "escaped");  // escaped key and value
  EXPECT_EQ(d.status, "b");      // the last of a repeated key, as a parser keeps
  FollowedEvent e = offer(5, R"(,"workflow":"not an object","data":[{"status":"z"}])");
  EXPECT_EQ(e.reported, "");
  SseEvent other;
  other.data = R"({"workflowId":"wf_\u0032","sequence":6})";  // wf_2, escaped: another workflow's
  EXPECT_EQ(f.Offer(other).ignored, 1);
  SseEvent as_text, as_double;
  as_text.data = R"({"workflowId":"wf_1","sequence":"6"})";  // a numeric string is a sequence
  EXPECT_EQ(Sequences(f.Offer(as_text)), Seqs{6});
  as_double.data = R"({"workflowId":"wf_1","sequence":7.0})";  // not an integer: no sequence
  EXPECT_EQ(f.Offer(as_double).ignored, 1);
  // The id is compared in place when plain and decoded otherwise: the same rule either way.
  SseEvent escaped_mine, longer, shorter, not_string;
  escaped_mine.data = R"({"workflowId":"wf_\u0031","sequence":7})";  // wf_1, escaped: ours
  EXPECT_EQ(Sequences(f.Offer(escaped_mine)), Seqs{7});
  longer.data = R"({"workflowId":"wf_11","sequence":8})";
  EXPECT_EQ(f.Offer(longer).ignored, 1);
  shorter.data = R"({"workflowId":"wf_","sequence":8})";
  EXPECT_EQ(f.Offer(shorter).ignored, 1);
  not_string.data = R"({"workflowId":1,"sequence":8})";  // not a string: names no workflow
  EXPECT_EQ(Sequences(f.Offer(not_string)), Seqs{8});
}

// An id that reads differently escaped (a backslash, a quote) is never compared as it stands:
// the text wf_\u0031 names the workflow "wf_1", not one whose id is that text.
TEST(EventFollowerTest, AnIdWithABackslashIsComparedDecoded) {
  EventFollower f(EventFollower::Options{R"(wf_\u0031)", 0});
  SseEvent same_text, escaped;
  same_text.data = R"({"workflowId":"wf_\u0031","sequence":1})";  // "wf_1": another workflow
  EXPECT_EQ(f.Offer(same_text).ignored, 1);
  escaped.data = R"({"workflowId":"wf_\\u0031","sequence":1})";  // the text wf_\u0031: ours
  EXPECT_EQ(Sequences(f.Offer(escaped)), Seqs{1});
}

TEST(EventFollowerTest, HoldsAtMostMaxHeldDroppingTheHighest) {
  EventFollower f(EventFollower::Options{"wf_1", 0, 2});
  f.Offer(Frame(1));
  for (int64_t s : {5, 4, 3}) f.Offer(Frame(s));
  EXPECT_EQ(f.held(), 2u);
  EXPECT_EQ(Sequences(f.Reconcile({Record(2)})), (Seqs{2, 3, 4}));
  EXPECT_EQ(Sequences(f.Offer(Frame(5))), Seqs{5});  // dropped, then fetched again
}

// The parser and the follower together over a body the sandbox's faults could produce: a
// duplicate, a reorder, a keepalive, bytes delivered one at a time.
TEST(EventFollowerTest, FollowsAFaultyStreamThroughTheParser) {
  std::string body = ": sogni-flow sandbox stream\n\n";
  auto frame = [](int64_t s, const std::string& type, const std::string& status) {
    return "id: " + std::to_string(s) + "\nevent: " + type + "\ndata: " + Record(s, type, status).ToJson() + "\n\n";
  };
  body += frame(1, "workflow_started", "running") + "event: workflow_status\ndata: {\"workflowId\":\"wf_1\",\"status\":\"running\"}\n\n";
  body += frame(2, "step_started", "running") + frame(2, "step_started", "running");  // sse_duplicate
  body += frame(4, "step_completed", "running") + frame(3, "workflow_progress", "running");  // sse_reorder
  body += ": keepalive\n\n" + frame(5, "workflow_completed", "completed");
  body += "event: workflow_status\ndata: {\"workflowId\":\"wf_1\",\"status\":\"completed\"}\n\n";

  SseParser parser;
  EventFollower f = Follower();
  Seqs got;
  bool terminal = false;
  for (char c : body) {
    ASSERT_TRUE(parser.Feed(std::string_view(&c, 1), [&](const SseEvent& e) {
      FollowOutcome o = f.Offer(e);
      for (int64_t s : Sequences(o)) got.push_back(s);
      terminal = terminal || o.terminal();
    }).ok());
  }
  EXPECT_FALSE(parser.Finish());
  EXPECT_EQ(got, (Seqs{1, 2, 3, 4, 5}));
  EXPECT_TRUE(terminal);
  EXPECT_EQ(parser.comments(), 2);
}

}  // namespace
}  // namespace sflow
