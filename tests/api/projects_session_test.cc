// ProjectsSession against a scripted connection (fake_projects_server.h): routing by jobID,
// frames kept for projects not yet subscribed, the authenticated frame's project lists,
// reconnects with the SDK's backoff on a fake clock, the 4021 close, giving up, 1,000 projects at
// once, Send across a reconnect, and a shutdown that leaves no thread behind.
#include "api/projects_session.h"

#include <gtest/gtest.h>

#include <future>

#include "tests/api/fake_projects_server.h"
#include "tests/api/fake_retry_clock.h"

namespace sflow {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

ProjectsSessionOptions TestOptions() {
  ProjectsSessionOptions o;
  o.receive_slice = milliseconds(50);
  o.send_wait = seconds(20);
  o.seed = 7;
  return o;
}

// Waits (at most 20 s) until `inbox` has given `n` events, and returns them.
std::vector<SessionEvent> Collect(ProjectInbox& inbox, size_t n) {
  std::vector<SessionEvent> got;
  auto until = std::chrono::steady_clock::now() + seconds(20);
  while (got.size() < n && std::chrono::steady_clock::now() < until) {
    for (SessionEvent& e : inbox.Wait(milliseconds(200))) got.push_back(std::move(e));
  }
  EXPECT_EQ(got.size(), n);
  return got;
}

std::string JobIdOf(const SessionEvent& e) {
  const Value* id = e.frame.data.Find("jobID");
  return id && id->is_string() ? id->as_string() : "";
}

class ProjectsSessionTest : public testing::Test {
 protected:
  void Start(ProjectsSessionOptions o = TestOptions()) {
    session_ = std::make_unique<ProjectsSession>(server_.Connector(), &clock_, o);
  }
  // Marks the point where everything delivered before it has been routed: the account inbox
  // sees frames in the order they arrived. Returns the account frames before the marker.
  std::vector<SessionEvent> Sync() {
    std::vector<SessionEvent> seen;
    if (!account_) {
      account_ = std::make_shared<ProjectInbox>();
      session_->SubscribeAccount(account_);
    }
    EXPECT_TRUE(server_.WaitUntil([&] { return server_.connections() > 0; }));
    server_.DeliverFrame("marker", R"({"n":)" + std::to_string(++marks_) + "}");
    auto until = std::chrono::steady_clock::now() + seconds(20);
    while (std::chrono::steady_clock::now() < until) {
      for (SessionEvent& e : account_->Wait(milliseconds(200))) {
        if (e.frame.type == "marker" && e.frame.data.Find("n")->as_int() == marks_) return seen;
        seen.push_back(std::move(e));
      }
    }
    ADD_FAILURE() << "marker " << marks_ << " never arrived";
    return seen;
  }

  FakeProjectsServer server_;
  FakeRetryClock clock_;
  std::unique_ptr<ProjectsSession> session_;
  std::shared_ptr<ProjectInbox> account_;
  int marks_ = 0;
};

TEST_F(ProjectsSessionTest, RoutesFramesByJobIdAndAccountFramesToAccountInboxes) {
  Start();
  auto a = std::make_shared<ProjectInbox>(), b = std::make_shared<ProjectInbox>();
  session_->Subscribe("aaaa-1", a);  // any case: the decoder upper-cases jobID
  session_->Subscribe("BBBB-2", b);
  ASSERT_TRUE(server_.WaitUntil([&] { return server_.connections() == 1; }));
  Sync();  // subscribes the account inbox
  server_.DeliverFrame("jobState", R"({"jobID":"AAAA-1","type":"queued","queuePosition":3})");
  server_.DeliverFrame("jobProgress", R"({"jobID":"bbbb-2","imgID":"i1","step":1,"stepCount":4})");
  server_.DeliverFrame("balanceUpdate", R"({"spark":{"net":"10"}})");
  server_.DeliverFrame("jobResult", R"({"jobID":"AAAA-1","imgID":"i2","resultUrl":"https://x/y"})");
  std::vector<SessionEvent> ga = Collect(*a, 2), gb = Collect(*b, 1);
  ASSERT_EQ(ga.size(), 2u);
  EXPECT_EQ(ga[0].frame.type, "jobState");
  EXPECT_EQ(ga[1].frame.type, "jobResult");
  EXPECT_EQ(ga[1].frame.data.Find("imgID")->as_string(), "I2");
  ASSERT_EQ(gb.size(), 1u);
  EXPECT_EQ(JobIdOf(gb[0]), "BBBB-2");
  std::vector<SessionEvent> account = Sync();
  ASSERT_EQ(account.size(), 1u) << "the project frames went to the projects only";
  EXPECT_EQ(account[0].frame.type, "balanceUpdate");
  EXPECT_EQ(a->size() + b->size(), 0u) << "nothing else for the projects";
  EXPECT_EQ(session_->dropped_frames(), 0);
}

TEST_F(ProjectsSessionTest, KeepsFramesOfProjectsNotYetSubscribedAndHandsThemOverInOrder) {
  Start();
  ASSERT_TRUE(server_.WaitUntil([&] { return server_.connections() == 1; }));
  for (int i = 0; i < 5; ++i)
    server_.DeliverFrame("jobProgress", R"({"jobID":"late","imgID":"j","step":)" + std::to_string(i) + "}");
  Sync();
  auto late = std::make_shared<ProjectInbox>();
  session_->Subscribe("LATE", late);
  std::vector<SessionEvent> got = late->Wait(milliseconds(0));  // handed over by Subscribe itself
  ASSERT_EQ(got.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(got[i].frame.data.Find("step")->as_int(), i);
  server_.DeliverFrame("jobResult", R"({"jobID":"LATE","imgID":"j"})");
  EXPECT_EQ(Collect(*late, 1)[0].frame.type, "jobResult");
}

TEST_F(ProjectsSessionTest, KeptFramesAreBoundedAndUnsubscribedProjectsAreDropped) {
  ProjectsSessionOptions o = TestOptions();
  o.max_buffered_per_project = 2;
  o.max_buffered_frames = 3;
  Start(o);
  ASSERT_TRUE(server_.WaitUntil([&] { return server_.connections() == 1; }));
  for (int i = 0; i < 3; ++i) server_.DeliverFrame("jobProgress", R"({"jobID":"P1","step":)" + std::to_string(i) + "}");
  server_.DeliverFrame("jobProgress", R"({"jobID":"P2","step":0})");
  server_.DeliverFrame("jobProgress", R"({"jobID":"P3","step":0})");  // over the total
  Sync();
  EXPECT_EQ(session_->dropped_frames(), 2);
  auto p1 = std::make_shared<ProjectInbox>();
  session_->Subscribe("P1", p1);
  std::vector<SessionEvent> got = p1->Wait(milliseconds(0));
  ASSERT_EQ(got.size(), 2u) << "the first two were kept";
  EXPECT_EQ(got[1].frame.data.Find("step")->as_int(), 1);
  session_->Unsubscribe("P1");
  server_.DeliverFrame("jobResult", R"({"jobID":"P1"})");  // a late duplicate
  Sync();
  EXPECT_EQ(session_->dropped_frames(), 3);
  EXPECT_EQ(p1->size(), 0u);
}

// Kept frames are bounded by their bytes too: large frames about projects this process never
// made (1.2 GB of them once) are dropped past max_buffered_bytes, and what a subscription takes
// over frees its share.
TEST_F(ProjectsSessionTest, KeptFramesAreBoundedByTheirBytes) {
  ProjectsSessionOptions o = TestOptions();
  o.max_buffered_bytes = 3000;
  Start(o);
  ASSERT_TRUE(server_.WaitUntil([&] { return server_.connections() == 1; }));
  const std::string pad(1000, 'x');
  for (int i = 0; i < 5; ++i)
    server_.DeliverFrame("jobProgress", R"({"jobID":"BIG","step":)" + std::to_string(i) + R"(,"pad":")" + pad + "\"}");
  Sync();
  EXPECT_GE(session_->dropped_frames(), 3) << "at most two frames of about 1.4 KB fit in 3,000 bytes";
  auto big = std::make_shared<ProjectInbox>();
  session_->Subscribe("BIG", big);
  const size_t kept = big->Wait(milliseconds(0)).size();
  EXPECT_GE(kept, 1u);
  EXPECT_LE(kept, 2u);
  for (int i = 0; i < 2; ++i) server_.DeliverFrame("jobProgress", R"({"jobID":"OTHER","pad":")" + pad + "\"}");
  Sync();
  auto other = std::make_shared<ProjectInbox>();
  session_->Subscribe("OTHER", other);
  EXPECT_EQ(other->Wait(milliseconds(0)).size(), 2u) << "the bytes BIG's frames held were given back";
}

TEST_F(ProjectsSessionTest, AuthenticatedProjectListsReachEachNamedProjectReduced) {
  server_.SetAuthData(*ParseJson(R"({"username":"u","activeProjects":[{"id":"aaa","status":"queued"},{"id":"BBB"}],)"
                                 R"("unclaimedCompletedProjects":[{"id":"CCC","status":"completed"},{"id":"aaa"}]})"));
  auto a = std::make_shared<ProjectInbox>();
  Start();
  session_->Subscribe("AAA", a);
  Sync();
  ListedProjects listed = session_->LastListed();
  EXPECT_TRUE(listed.known);
  EXPECT_EQ(listed.active, (std::vector<std::string>{"AAA", "BBB"}));
  EXPECT_EQ(listed.unclaimed, (std::vector<std::string>{"CCC", "AAA"}));
  // AAA got one frame (listed twice, sent once) with only its own entries: whether it subscribed
  // before the frame arrived or after, it has it now.
  std::vector<SessionEvent> got = Collect(*a, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].frame.type, "authenticated");
  EXPECT_EQ(got[0].frame.data.ToJson(),
            R"({"activeProjects":[{"id":"aaa","status":"queued"}],"unclaimedCompletedProjects":[{"id":"aaa"}]})");
  // CCC, re-attached after a crash, subscribes after the server replayed its result.
  auto c = std::make_shared<ProjectInbox>();
  session_->Subscribe("ccc", c);
  got = c->Wait(milliseconds(0));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].frame.data.Find("unclaimedCompletedProjects")->items().size(), 1u);
  EXPECT_EQ(got[0].frame.data.Find("activeProjects")->items().size(), 0u);
}

TEST_F(ProjectsSessionTest, ReconnectsAfterADropWithTheSdkBackoffAndSaysSo) {
  Start();
  auto a = std::make_shared<ProjectInbox>();
  session_->Subscribe("A", a);
  ASSERT_TRUE(server_.WaitUntil([&] { return server_.connections() == 1; }));
  server_.DeliverFrame("jobState", R"({"jobID":"A","type":"queued"})");
  server_.CloseWith(1006);
  ASSERT_TRUE(server_.WaitUntil([&] { return server_.connections() == 2; }));
  server_.DeliverFrame("jobResult", R"({"jobID":"A","imgID":"j"})");
  std::vector<SessionEvent> got = Collect(*a, 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].frame.type, "jobState");
  EXPECT_EQ(got[1].kind, SessionEventKind::kReconnected);
  EXPECT_EQ(got[2].frame.type, "jobResult");
  // One backoff of 1 s +-20%, slept on the session's clock (in slices, so Shutdown is prompt).
  milliseconds slept(0);
  for (milliseconds d : clock_.sleeps()) slept += d;
  EXPECT_GE(slept.count(), 800);
  EXPECT_LE(slept.count(), 1200);
  EXPECT_TRUE(session_->failure().ok());
  EXPECT_EQ(session_->connections(), 2);
}

TEST_F(ProjectsSessionTest, AnAuthCloseEndsTheSessionAtOnce) {
  server_.SetAutoAuthenticate(false);
  Start();
  auto a = std::make_shared<ProjectInbox>();
  session_->Subscribe("A", a);
  ASSERT_TRUE(server_.WaitUntil([&] { return server_.connections() == 1; }));
  server_.CloseWith(4021);
  std::vector<SessionEvent> got = Collect(*a, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, SessionEventKind::kSessionFailed);
  EXPECT_EQ(got[0].status.code(), Status::Code::kPermission);
  EXPECT_NE(got[0].status.message().find("4021"), std::string::npos) << got[0].status.message();
  EXPECT_EQ(CloseCodeOf(got[0].status), 4021);
  Status s = session_->Send(EncodeProjectFrame("jobRequest", Value::Object()));
  EXPECT_EQ(s.code(), Status::Code::kPermission);
  EXPECT_EQ(server_.connect_calls(), 1) << "no reconnect after 4021";
  EXPECT_TRUE(clock_.sleeps().empty());
  auto later = std::make_shared<ProjectInbox>();
  session_->Subscribe("B", later);
  got = later->Wait(milliseconds(0));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, SessionEventKind::kSessionFailed);
}

TEST_F(ProjectsSessionTest, GivesUpAfterTheConnectAttemptsWithGrowingWaits) {
  server_.Refuse({Status::Error(Status::Code::kUnavailable, "connection refused by 127.0.0.1:9")}, true);
  ProjectsSessionOptions o = TestOptions();
  o.max_failed_connects = 5;
  Start(o);
  auto a = std::make_shared<ProjectInbox>();
  session_->Subscribe("A", a);
  std::vector<SessionEvent> got = Collect(*a, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, SessionEventKind::kSessionFailed);
  EXPECT_EQ(got[0].status.code(), Status::Code::kUnavailable);
  EXPECT_NE(got[0].status.message().find("gave up after 5 attempts to connect"), std::string::npos)
      << got[0].status.message();
  EXPECT_EQ(server_.connect_calls(), 5);
  milliseconds slept(0);
  for (milliseconds d : clock_.sleeps()) slept += d;
  // 2 + 4 + 8 + 15 s (+-20%): the SDK's doubling from 1 s, capped at 15 s.
  EXPECT_GE(slept.count(), 29 * 800);
  EXPECT_LE(slept.count(), 29 * 1200);
}

TEST_F(ProjectsSessionTest, ASecurityFailureIsNotRetried) {
  server_.Refuse({Status::Security("TLS: cannot verify 127.0.0.1:1: unable to get local issuer certificate")});
  Start();
  auto a = std::make_shared<ProjectInbox>();
  session_->Subscribe("A", a);
  std::vector<SessionEvent> got = Collect(*a, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status.code(), Status::Code::kSecurity);
  EXPECT_EQ(server_.connect_calls(), 1);
}

TEST_F(ProjectsSessionTest, AThousandProjectsAtOnceEachGetOnlyTheirFrames) {
  Start();
  constexpr int kProjects = 1000;
  std::vector<std::shared_ptr<ProjectInbox>> inboxes;
  for (int i = 0; i < kProjects; ++i) {
    inboxes.push_back(std::make_shared<ProjectInbox>());
    if (i % 2 == 0) session_->Subscribe("P" + std::to_string(i), inboxes.back());  // the others later
  }
  ASSERT_TRUE(server_.WaitUntil([&] { return server_.connections() == 1; }));
  for (int round = 0; round < 3; ++round)
    for (int i = 0; i < kProjects; ++i)
      server_.DeliverFrame("jobProgress", R"({"jobID":"p)" + std::to_string(i) + R"(","step":)" + std::to_string(round) + "}");
  Sync();
  for (int i = 1; i < kProjects; i += 2) session_->Subscribe("P" + std::to_string(i), inboxes[i]);
  for (int i = 0; i < kProjects; ++i) {
    std::vector<SessionEvent> got = Collect(*inboxes[i], 3);
    ASSERT_EQ(got.size(), 3u) << i;
    for (int round = 0; round < 3; ++round) {
      EXPECT_EQ(JobIdOf(got[round]), "P" + std::to_string(i));
      EXPECT_EQ(got[round].frame.data.Find("step")->as_int(), round);
    }
  }
  EXPECT_EQ(session_->dropped_frames(), 0);
}

TEST_F(ProjectsSessionTest, SendWaitsThroughAReconnectAndGoesOutOnTheNewConnection) {
  Start();
  ASSERT_TRUE(server_.WaitUntil([&] { return server_.connections() == 1; }));
  ASSERT_TRUE(session_->Send(EncodeProjectFrame("jobRequest", *ParseJson(R"({"jobID":"ONE"})"))).ok());
  server_.SetGate(false);
  server_.CloseWith(1001);
  // The reader has seen the close once it calls connect again (held at the gate).
  ASSERT_TRUE(server_.WaitUntil([&] { return server_.connect_calls() == 2; }));
  auto sent = std::async(std::launch::async, [&] {
    return session_->Send(EncodeProjectFrame("jobRequest", *ParseJson(R"({"jobID":"TWO"})")));
  });
  server_.SetGate(true);
  Status s = sent.get();
  EXPECT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(server_.connections(), 2);
  EXPECT_EQ(server_.Sent(0).size(), 1u);
  ASSERT_EQ(server_.Sent(1).size(), 1u);
  EXPECT_NE(server_.Sent(1)[0].find(Base64Encode(R"({"jobID":"TWO"})")), std::string::npos);
}

TEST_F(ProjectsSessionTest, MalformedFramesAreSkippedAndCounted) {
  Start();
  auto a = std::make_shared<ProjectInbox>();
  session_->Subscribe("A", a);
  ASSERT_TRUE(server_.WaitUntil([&] { return server_.connections() == 1; }));
  server_.Deliver("not json");
  server_.Deliver(R"({"type":"jobResult","data":"%%%"})");
  server_.DeliverFrame("jobResult", R"({"jobID":"A"})");
  EXPECT_EQ(Collect(*a, 1)[0].frame.type, "jobResult");
  EXPECT_EQ(session_->malformed_frames(), 2);
  EXPECT_TRUE(session_->failure().ok());
}

TEST_F(ProjectsSessionTest, PingsOnTheSessionClock) {
  Start();
  ASSERT_TRUE(server_.WaitUntil([&] { return server_.connections() == 1; }));
  Sync();
  EXPECT_EQ(server_.Pings(), 0);
  clock_.SleepFor(seconds(16));  // time passes for the session
  EXPECT_TRUE(server_.WaitUntil([&] { return server_.Pings() >= 1; }));
}

TEST_F(ProjectsSessionTest, ShutdownClosesTheConnectionAndJoinsTheReader) {
  Start();
  ASSERT_TRUE(server_.WaitUntil([&] { return server_.connections() == 1; }));
  session_->Shutdown();
  EXPECT_EQ(server_.ClientCloses(), 1);
  EXPECT_EQ(server_.live_connections(), 0) << "the connection was released";
  EXPECT_EQ(session_->Send("x").code(), Status::Code::kCancelled);
  session_.reset();  // a second shutdown is a no-op
}

TEST_F(ProjectsSessionTest, ShutdownDuringABackoffOnTheRealClockIsPrompt) {
  server_.Refuse({Status::Error(Status::Code::kUnavailable, "refused")}, true);
  ProjectsSessionOptions o = TestOptions();
  o.reconnect_base = seconds(3600);  // an hour: the test would time out if Shutdown waited for it
  o.reconnect_max = seconds(3600);
  session_ = std::make_unique<ProjectsSession>(server_.Connector(), RetryClock::Real(), o);
  ASSERT_TRUE(server_.WaitUntil([&] { return server_.connect_calls() == 1; }));
  session_.reset();
  EXPECT_EQ(server_.connect_calls(), 1);
}

}  // namespace
}  // namespace sflow
