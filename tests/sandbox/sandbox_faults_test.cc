// Every fault of `--faults` fires when configured and is counted in /_sandbox/stats.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/sandbox/sandbox_fixture.h"

namespace sflow {
namespace {

class SandboxFaultsTest : public SandboxTest {
 protected:
  void StartWith(const std::string& faults) {
    SandboxOptions o = DefaultOptions();
    o.faults = faults;
    Start(o);
  }
  int64_t Fired(const std::string& name) {
    Value stats = Stats();  // kept alive: Find returns pointers into it
    const Value* n = stats.Find("faults")->Find(name);
    return n ? n->as_int() : 0;
  }
  std::string StreamOf(const std::string& id, const std::map<std::string, std::string>& headers = {}) {
    return client().Stream("/v1/creative-agent/workflows/" + id + "/events/stream", headers, 5000);
  }
};

TEST_F(SandboxFaultsTest, RejectsAnUnknownOrMalformedSpec) {
  SandboxOptions o;
  o.faults = "http_5xx=2";
  EXPECT_EQ(Sandbox::Start(o).status().message(), "fault 'http_5xx' is a probability between 0 and 1");
  o.faults = "gremlins=1";
  EXPECT_EQ(Sandbox::Start(o).status().message(), "unknown fault 'gremlins'");
}

TEST_F(SandboxFaultsTest, Http5xxAnswers503WithRetryAfter) {
  StartWith("http_5xx=1,retry_after=3");
  HttpResult r = client().Post("/v1/creative-agent/workflows", TwoStepPlan());
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.json.Find("retryAfter")->as_int(), 3);
  EXPECT_EQ(r.headers["Retry-After"], "3");
  EXPECT_EQ(Fired("http_5xx"), 1);
  EXPECT_EQ(Stats().Find("workflowsCreated")->as_int(), 0);  // nothing was created behind the fault
}

TEST_F(SandboxFaultsTest, Http429AnswersTooManyRequests) {
  StartWith("http_429=1");
  HttpResult r = client().Get("/v1/account/me");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.headers["Retry-After"], "1");
  EXPECT_EQ(Fired("http_429"), 1);
}

TEST_F(SandboxFaultsTest, SlowMsDelaysAnswers) {
  StartWith("slow_ms=120");
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(client().Get("/v1/account/me").status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(120));
}

TEST_F(SandboxFaultsTest, SseDropAfterClosesTheStream) {
  StartWith("sse_drop_after=3");
  std::string id = StartAndWait(TwoStepPlan());
  std::vector<int64_t> ids = FrameIds(StreamOf(id));
  EXPECT_EQ(ids, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(Fired("sse_drop_after"), 1);
}

TEST_F(SandboxFaultsTest, SseTruncateCutsAFrame) {
  StartWith("sse_truncate=1");
  std::string id = StartAndWait(TwoStepPlan());
  std::string text = StreamOf(id);
  EXPECT_EQ(text.find("\n\nid: 2"), std::string::npos);
  EXPECT_NE(text.find("id: 1"), std::string::npos);
  EXPECT_NE(text.substr(text.size() - 2), "\n\n");  // the frame never ended
  EXPECT_EQ(Fired("sse_truncate"), 1);
}

TEST_F(SandboxFaultsTest, SseDuplicateSendsFramesTwice) {
  StartWith("sse_duplicate=1");
  std::string id = StartAndWait(TwoStepPlan());
  std::vector<int64_t> ids = FrameIds(StreamOf(id));
  ASSERT_GE(ids.size(), 4u);
  EXPECT_EQ(ids[0], 1);
  EXPECT_EQ(ids[1], 1);
  EXPECT_GT(Fired("sse_duplicate"), 0);
}

TEST_F(SandboxFaultsTest, SseReorderSwapsNeighbours) {
  StartWith("sse_reorder=1");
  std::string id = StartAndWait(TwoStepPlan());
  std::vector<int64_t> ids = FrameIds(StreamOf(id));
  ASSERT_GE(ids.size(), 4u);
  EXPECT_EQ(ids[0], 2);
  EXPECT_EQ(ids[1], 1);
  std::vector<int64_t> sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());  // nothing lost or doubled
  EXPECT_GT(Fired("sse_reorder"), 0);
}

TEST_F(SandboxFaultsTest, IgnoreLastEventIdReplaysFromTheStart) {
  StartWith("ignore_last_event_id=1");
  std::string id = StartAndWait(TwoStepPlan());
  EXPECT_EQ(FrameIds(StreamOf(id, {{"Last-Event-ID", "5"}})).front(), 1);
  EXPECT_EQ(Fired("ignore_last_event_id"), 1);
}

TEST_F(SandboxFaultsTest, StepFailFailsTheWorkflow) {
  StartWith("step_fail=1");
  std::string id = StartWorkflow(TwoStepPlan());
  Value wf = WaitForStatus(id, "failed");
  EXPECT_EQ(wf.Find("error")->Find("classification")->as_string(), "provider");
  EXPECT_EQ(wf.Find("steps")->items()[1].Find("status")->as_string(), "skipped");
  EXPECT_EQ(Stats().Find("unitsBilled")->Find(id)->as_number(), 0);
  EXPECT_GE(Fired("step_fail"), 1);
}

TEST_F(SandboxFaultsTest, PartialFailureEndsPartiallyFailed) {
  StartWith("partial_failure=1");
  // Two independent steps: the first fails, the second still runs.
  std::string id = StartWorkflow(
      R"({"input":{"steps":[{"id":"a","toolName":"generate_image","arguments":{"prompt":"p"}},)"
      R"({"id":"b","toolName":"generate_music","arguments":{"prompt":"q"}}]}})");
  Value wf = WaitForStatus(id, "partial_failure");
  EXPECT_EQ(wf.Find("steps")->items()[0].Find("status")->as_string(), "failed");
  EXPECT_EQ(wf.Find("steps")->items()[1].Find("status")->as_string(), "completed");
  EXPECT_EQ(Fired("partial_failure"), 1);
}

TEST_F(SandboxFaultsTest, MediaShortBodyEndsEarly) {
  StartWith("media_short_body=1");
  std::string id = StartAndWait(TwoStepPlan());
  std::string url = WaitForStatus(id, "completed").Find("artifacts")->items()[0].Find("url")->as_string();
  HttpResult r = client().GetUrl(url);
  ASSERT_TRUE(r.headers.count("Content-Length"));
  EXPECT_LT(r.body.size(), std::stoul(r.headers["Content-Length"]));
  EXPECT_EQ(Fired("media_short_body"), 1);
  EXPECT_EQ(Stats().Find("downloads")->size(), 0u);  // a short body is not a completed download
}

// A client that sent its GET and closed (killed while the object was being made: slow_ms stands
// in for the making) is sent nothing, and no download is counted for it.
TEST_F(SandboxFaultsTest, MediaForAClientThatHasGoneIsNotCounted) {
  StartWith("slow_ms=300");
  std::string id = StartAndWait(TwoStepPlan());
  std::string url = WaitForStatus(id, "completed").Find("artifacts")->items()[0].Find("url")->as_string();
  ASSERT_EQ(url.rfind("http://127.0.0.1:", 0), 0u) << url;
  size_t slash = url.find('/', 7);
  int port = std::stoi(url.substr(17, slash - 17));
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string get = "GET " + url.substr(slash) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  ASSERT_EQ(::send(fd, get.data(), get.size(), 0), static_cast<ssize_t>(get.size()));
  ::close(fd);  // gone before the answer
  // The answer is held back 300 ms; wait (up to 10 s on a loaded machine) until it is accounted.
  Value stats;
  const Value* media = nullptr;
  for (int i = 0; i < 200 && !(media && media->Find("499")); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    stats = Stats();
    media = stats.Find("requests")->Find("GET /_sandbox/media/:id");
  }
  ASSERT_TRUE(media) << stats.ToJson();
  EXPECT_TRUE(media->Find("499")) << media->ToJson();
  EXPECT_EQ(stats.Find("downloads")->size(), 0u) << stats.ToJson();
  EXPECT_EQ(stats.Find("resumedDownloads")->size(), 0u);
  // A client that stays gets it, counted once.
  HttpResult r = client().GetUrl(url);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Stats().Find("downloads")->size(), 1u);
}

}  // namespace
}  // namespace sflow
