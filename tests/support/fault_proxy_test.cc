// The fault proxy itself: its script language, its seeded decisions, and each fault as the bytes
// a client receives through it from an in-process sandbox on 127.0.0.1.
#include "tests/support/fault_proxy.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include <gtest/gtest.h>

#include "engine/json.h"
#include "tests/sandbox/sandbox_fixture.h"
#include "tests/support/fault_proxy_io.h"

namespace sflow {
namespace {

using Clock = std::chrono::steady_clock;

TEST(FaultScriptTest, ParsesRulesAndRejectsBadOnes) {
  EXPECT_TRUE(FaultScript::Parse("stream[1-3] status 503 retry_after=1; workflow hold until=ended\n"
                                 "# a comment\nmedia reset after=10-20 p=0.5\n*[4-] drip bytes=7 ms=1")
                  .ok());
  auto error = [](std::string_view text) { return FaultScript::Parse(text).status().message(); };
  EXPECT_EQ(error("streams pass"), "fault rule \"streams pass\": unknown route streams");
  EXPECT_EQ(error("stream explode"), "fault rule \"stream explode\": unknown action explode");
  EXPECT_EQ(error("stream reset"), "fault rule \"stream reset\": reset needs after=N");
  EXPECT_EQ(error("stream status"), "fault rule \"stream status\": status needs a code");
  EXPECT_EQ(error("stream hold"), "fault rule \"stream hold\": hold needs exactly one of ms=M and until=ended");
  EXPECT_EQ(error("stream[0] pass"), "fault rule \"stream[0] pass\": requests are counted from 1");
  EXPECT_EQ(error("stream[3-1] pass"), "fault rule \"stream[3-1] pass\": bad request range");
  EXPECT_EQ(error("stream pass p=2"), "fault rule \"stream pass p=2\": p must be in [0, 1]");
  EXPECT_EQ(error("stream drip after=3"), "fault rule \"stream drip after=3\": drip takes no after");
  EXPECT_EQ(error("stream hold until=later"), "fault rule \"stream hold until=later\": until takes only ended");
}

TEST(FaultScriptTest, ClassifiesWhatTheRunnerSends) {
  EXPECT_EQ(ClassifyProxyRoute("POST", "/v1/creative-agent/workflows"), ProxyRoute::kStart);
  EXPECT_EQ(ClassifyProxyRoute("POST", "/v1/creative-agent/workflows/wf1/cancel"), ProxyRoute::kPost);
  EXPECT_EQ(ClassifyProxyRoute("GET", "/v1/creative-agent/workflows/wf1/events/stream?after=3"), ProxyRoute::kStream);
  EXPECT_EQ(ClassifyProxyRoute("GET", "/v1/creative-agent/workflows/wf1/events?after=3"), ProxyRoute::kEvents);
  EXPECT_EQ(ClassifyProxyRoute("GET", "/v1/creative-agent/workflows/wf1"), ProxyRoute::kWorkflow);
  EXPECT_EQ(ClassifyProxyRoute("GET", "/v1/creative-agent/workflows/templates"), ProxyRoute::kOther);
  EXPECT_EQ(ClassifyProxyRoute("GET", "/_sandbox/media/m1?X-Amz-Expires=1"), ProxyRoute::kMedia);
  EXPECT_EQ(ClassifyProxyRoute("GET", "/_sandbox/stats"), ProxyRoute::kAdmin);
  EXPECT_EQ(ClassifyProxyRoute("GET", "/v1/account/me"), ProxyRoute::kOther);
}

TEST(FaultScriptTest, DecisionsAreAFunctionOfSeedRouteAndRequestNumber) {
  FaultScript script = FaultScript::Parse("stream reset after=0-5000 p=0.5; media drip bytes=1-9 ms=0-3").value();
  int fired = 0, differs = 0;
  for (int64_t n = 1; n <= 400; ++n) {
    FaultDecision a = script.Decide(7, ProxyRoute::kStream, n), b = script.Decide(7, ProxyRoute::kStream, n);
    EXPECT_EQ(a.kind, b.kind);
    EXPECT_EQ(a.after, b.after);
    if (a.kind == FaultKind::kReset) {
      ++fired;
      EXPECT_GE(a.after, 0);
      EXPECT_LE(a.after, 5000);
    }
    FaultDecision c = script.Decide(8, ProxyRoute::kStream, n);
    differs += c.kind != a.kind || c.after != a.after;
    FaultDecision m = script.Decide(7, ProxyRoute::kMedia, n);
    EXPECT_EQ(m.kind, FaultKind::kDrip);
    EXPECT_GE(m.bytes, 1);
    EXPECT_LE(m.bytes, 9);
    EXPECT_EQ(script.Decide(7, ProxyRoute::kEvents, n).kind, FaultKind::kPass);  // no rule: pass
  }
  EXPECT_GT(fired, 150);  // p=0.5 of 400
  EXPECT_LT(fired, 250);
  EXPECT_GT(differs, 100);  // another seed, other faults
  EXPECT_EQ(script.Decide(7, ProxyRoute::kAdmin, 1).kind, FaultKind::kPass);
}

TEST(FaultScriptTest, TheFirstMatchingRuleDecides) {
  FaultScript script = FaultScript::Parse("stream[2] status 429; stream[1-3] status 503; * pass").value();
  EXPECT_EQ(script.Decide(1, ProxyRoute::kStream, 1).status, 503);
  EXPECT_EQ(script.Decide(1, ProxyRoute::kStream, 2).status, 429);
  EXPECT_EQ(script.Decide(1, ProxyRoute::kStream, 3).status, 503);
  EXPECT_EQ(script.Decide(1, ProxyRoute::kStream, 4).kind, FaultKind::kPass);
}

// What one raw request through the proxy got back.
struct Exchange {
  std::string bytes;
  bool reset = false;  // ended by ECONNRESET rather than an orderly close
  std::string head() const { return bytes.substr(0, bytes.find("\r\n\r\n")); }
  std::string body() const {
    size_t at = bytes.find("\r\n\r\n");
    return at == std::string::npos ? "" : bytes.substr(at + 4);
  }
};

class FaultProxyTest : public SandboxTest {
 protected:
  void StartProxy(const std::string& script, SandboxOptions sandbox = DefaultOptions()) {
    Start(sandbox);
    FaultProxyOptions o;
    o.upstream = sandbox_->url();
    o.script = FaultScript::Parse(script).value();
    Result<std::unique_ptr<FaultProxy>> p = FaultProxy::Start(std::move(o));
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    proxy_ = std::move(p).value();
  }
  void TearDown() override {
    if (proxy_) proxy_->Stop();
  }
  // Sends one request with Connection: close and reads until the proxy ends the connection.
  Exchange Raw(const std::string& method, const std::string& path, const std::string& body = "") {
    int port = std::stoi(proxy_->url().substr(proxy_->url().rfind(':') + 1));
    int fd = proxy_io::Connect("127.0.0.1", port).value();
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\napi-key: k1\r\nConnection: close\r\n";
    if (!body.empty() || method == "POST")
      req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    req += "\r\n" + body;
    EXPECT_TRUE(proxy_io::SendAll(fd, req));
    Exchange ex;
    char buf[4096];
    while (true) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        ex.bytes.append(buf, static_cast<size_t>(n));
        continue;
      }
      ex.reset = n < 0 && errno == ECONNRESET;
      break;
    }
    ::close(fd);
    return ex;
  }
  std::string Started() { return StartWorkflow(TwoStepPlan()); }

  std::unique_ptr<FaultProxy> proxy_;
};

TEST_F(FaultProxyTest, PassesAnswersThroughAndRewritesArtifactUrls) {
  StartProxy("");
  std::string id = StartAndWait(TwoStepPlan());
  Exchange ex = Raw("GET", "/v1/creative-agent/workflows/" + id);
  ASSERT_NE(ex.head().find("HTTP/1.1 200"), std::string::npos) << ex.head();
  Value record = ParseJson(ex.body()).value();
  std::string text = record.ToJson();
  EXPECT_NE(text.find(proxy_->url() + "/_sandbox/media/"), std::string::npos) << "artifact URLs point at the proxy";
  EXPECT_EQ(text.find(sandbox_->url()), std::string::npos);
  // The event log routes are relayed byte for byte: their records are compared with the log.
  Exchange events = Raw("GET", "/v1/creative-agent/workflows/" + id + "/events");
  EXPECT_EQ(events.body(), client().Get("/v1/creative-agent/workflows/" + id + "/events").body);
  Value stats = ParseJson(Raw("GET", "/_proxy/stats").body()).value();
  EXPECT_EQ(stats.Find("requests")->Find("workflow")->as_int(), 1);
  EXPECT_EQ(stats.Find("requests")->Find("events")->as_int(), 1);
}

TEST_F(FaultProxyTest, StatusIsAnsweredByTheProxyWithRetryAfter) {
  StartProxy("start status 503 retry_after=2");
  Exchange ex = Raw("POST", "/v1/creative-agent/workflows", TwoStepPlan());
  EXPECT_NE(ex.head().find("HTTP/1.1 503"), std::string::npos);
  EXPECT_NE(ex.head().find("Retry-After: 2"), std::string::npos);
  EXPECT_EQ(ParseJson(ex.body()).value().Find("retryAfter")->as_int(), 2);
  EXPECT_EQ(Stats().Find("workflowsCreated")->as_int(), 0) << "never forwarded";
  EXPECT_EQ(proxy_->Fired("start:status"), 1);
}

TEST_F(FaultProxyTest, DropResetsTheConnectionAfterTheUpstreamActed) {
  StartProxy("start drop");
  Exchange ex = Raw("POST", "/v1/creative-agent/workflows", TwoStepPlan());
  EXPECT_TRUE(ex.reset);
  EXPECT_EQ(ex.bytes, "");
  EXPECT_EQ(Stats().Find("workflowsCreated")->as_int(), 1) << "the start took effect; its answer was lost";
}

TEST_F(FaultProxyTest, ResetCutsABodyAfterExactlyNBytes) {
  StartProxy("workflow reset after=37");
  std::string id = StartAndWait(TwoStepPlan());
  Exchange ex = Raw("GET", "/v1/creative-agent/workflows/" + id);
  EXPECT_TRUE(ex.reset);
  EXPECT_NE(ex.head().find("HTTP/1.1 200"), std::string::npos);
  EXPECT_EQ(ex.body().size(), 37u);
  EXPECT_EQ(proxy_->Fired("workflow:reset"), 1);
}

TEST_F(FaultProxyTest, TruncateEndsAChunkedStreamWithoutItsLastChunk) {
  StartProxy("stream truncate after=100");
  std::string id = StartAndWait(TwoStepPlan());
  Exchange ex = Raw("GET", "/v1/creative-agent/workflows/" + id + "/events/stream");
  EXPECT_FALSE(ex.reset) << "an orderly close";
  EXPECT_NE(ex.head().find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_EQ(ex.body().find("0\r\n\r\n"), std::string::npos);
  EXPECT_EQ(proxy_->Fired("stream:truncate"), 1);
  // Untouched, the same stream ends with the last chunk.
  Exchange whole = Raw("GET", "/v1/creative-agent/workflows/" + id + "/events");
  EXPECT_NE(whole.head().find("HTTP/1.1 200"), std::string::npos);
}

TEST_F(FaultProxyTest, ACutBeyondTheBodyIsCountedAsMissed) {
  StartProxy("workflow reset after=100000000");
  std::string id = StartAndWait(TwoStepPlan());
  Exchange ex = Raw("GET", "/v1/creative-agent/workflows/" + id);
  EXPECT_FALSE(ex.reset);
  EXPECT_TRUE(ParseJson(ex.body()).ok());
  EXPECT_EQ(proxy_->Fired("workflow:reset"), 0);
  EXPECT_NE(proxy_->StatsJson().find("\"missed\":{\"workflow:reset\":1}"), std::string::npos) << proxy_->StatsJson();
}

TEST_F(FaultProxyTest, DripAndStallDeliverTheWholeBodyLate) {
  StartProxy("workflow[1] drip bytes=50 ms=1; workflow[2] stall ms=300 after=10");
  std::string id = StartAndWait(TwoStepPlan());
  std::string direct = client().Get("/v1/creative-agent/workflows/" + id).body;
  Exchange dripped = Raw("GET", "/v1/creative-agent/workflows/" + id);
  EXPECT_EQ(ParseJson(dripped.body()).value().ToJson().size(), ParseJson(direct).value().ToJson().size() +
                                                                    (proxy_->url().size() - sandbox_->url().size()) * 2);
  auto t0 = Clock::now();
  Exchange stalled = Raw("GET", "/v1/creative-agent/workflows/" + id);
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(300));
  EXPECT_EQ(stalled.body(), dripped.body());
  EXPECT_EQ(proxy_->Fired("workflow:drip"), 1);
  EXPECT_EQ(proxy_->Fired("workflow:stall"), 1);
}

TEST_F(FaultProxyTest, HoldUntilEndedAnswersOnlyOnceTheWorkflowHasEnded) {
  SandboxOptions o = DefaultOptions();
  o.step_ms = 30;
  StartProxy("workflow hold until=ended", o);
  std::string id = Started();
  Exchange ex = Raw("GET", "/v1/creative-agent/workflows/" + id);
  Value record = ParseJson(ex.body()).value();
  EXPECT_EQ(record.Find("data")->Find("workflow")->Find("status")->as_string(), "completed");
  EXPECT_EQ(proxy_->Fired("workflow:hold"), 1);
}

TEST_F(FaultProxyTest, LateDeliversAnAnswerTakenBeforeTheWorkflowEnded) {
  SandboxOptions o = DefaultOptions();
  o.step_ms = 30;
  StartProxy("events[1] late until=ended", o);
  std::string id = Started();
  Exchange ex = Raw("GET", "/v1/creative-agent/workflows/" + id + "/events");
  Value got = ParseJson(ex.body()).value();
  // Forwarded at once, delivered after the end: it misses the log's tail.
  size_t seen = got.Find("data")->Find("events")->items().size();
  size_t all = client().Get("/_sandbox/events/" + id).json.Find("events")->items().size();
  EXPECT_LT(seen, all);
  EXPECT_EQ(proxy_->Fired("events:late"), 1);
}

}  // namespace
}  // namespace sflow
