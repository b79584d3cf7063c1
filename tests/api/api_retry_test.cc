// Retries end to end: the client against the sandbox with injected 5xx/429 faults, time from a
// fake clock (no test sleeps for a Retry-After), and the sandbox's stats as the oracle of how many
// requests and workflows there really were.
#include <gtest/gtest.h>

#include "api/api_client.h"
#include "tests/api/api_test_env.h"
#include "tests/api/fake_retry_clock.h"
#include "tests/api/loopback_server.h"

namespace sflow {
namespace {

using std::chrono::milliseconds;

class ApiRetryTest : public SandboxApiTest {
 protected:
  void StartFaulty(const std::string& faults) {
    SandboxOptions o = DefaultOptions();
    o.faults = faults;
    o.seed = 11;
    StartSandbox(o);
  }
  static RetryOptions Retry(int attempts) {
    RetryOptions r;
    r.max_attempts = attempts;
    r.base_delay = milliseconds(200);
    r.max_delay = milliseconds(5000);
    r.seed = 99;
    return r;
  }
  // Sends of `method` on `route`: the sandbox counts an answer it faulted under "METHOD (fault)",
  // so this holds while the test sends nothing else with that method.
  int64_t Sent(const std::string& method, const std::string& route) {
    return Requests(method + " " + route) + Requests(method + " (fault)");
  }
  FakeRetryClock clock_;
};

TEST_F(ApiRetryTest, AKeyedStartIsRetriedThroughFaultsAndCreatesOneWorkflow) {
  StartFaulty("http_5xx=0.5,http_429=0.3");
  auto client = Client("k1", Retry(60), &clock_);
  StartWorkflowRequest req;
  req.input = TwoStepInput();
  Result<WorkflowReply> started = client->StartWorkflow(req, "retried-start");
  ASSERT_TRUE(started.ok()) << started.status().ToString();

  Value stats = Stats();
  EXPECT_EQ(stats.Find("workflowsCreated")->as_int(), 1);
  EXPECT_EQ(stats.Find("workflowsByIdempotencyKey")->Find("retried-start")->as_int(), 1);
  const Value* faults = stats.Find("faults");
  int64_t fired = 0;
  for (const auto& m : faults->members()) fired += m.value.as_int();
  ASSERT_GT(fired, 0) << "the seed should make some faults fire";
  // One send per fault plus the one that got through; one wait before each retry.
  EXPECT_EQ(Requests("POST (fault)"), fired);
  EXPECT_EQ(Sent("POST", "/v1/creative-agent/workflows"), fired + 1);
  std::vector<milliseconds> sleeps = clock_.sleeps();
  EXPECT_EQ(static_cast<int64_t>(sleeps.size()), fired);
  for (milliseconds d : sleeps) EXPECT_EQ(d, milliseconds(1000)) << "the sandbox asks for retryAfter 1 s";
}

TEST_F(ApiRetryTest, ReadsAreRetriedToo) {
  StartFaulty("http_5xx=0.5");
  auto client = Client("k1", Retry(60), &clock_);
  for (int i = 0; i < 5; ++i) {
    Result<WorkflowPage> page = client->ListWorkflows();
    ASSERT_TRUE(page.ok()) << page.status().ToString();
  }
  EXPECT_GT(clock_.sleeps().size(), 0u);
  EXPECT_EQ(Sent("GET", "/v1/creative-agent/workflows"), 5 + static_cast<int64_t>(clock_.sleeps().size()));
}

TEST_F(ApiRetryTest, AnUnkeyedPostIsSentOnce) {
  StartFaulty("http_5xx=1");
  auto client = Client("k1", Retry(10), &clock_);
  Result<WorkflowReply> cancel = client->CancelWorkflow("wf_any");
  ASSERT_FALSE(cancel.ok());
  EXPECT_EQ(cancel.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(Requests("POST (fault)"), 1);
  Result<Value> created = client->CreateTemplate(ParseJson(R"({"name":"x"})").value());
  EXPECT_EQ(created.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(Requests("POST (fault)"), 2);
  Result<WorkflowReply> resumed = client->ResumeWorkflow("wf_any");
  EXPECT_EQ(resumed.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(Requests("POST (fault)"), 3);
  EXPECT_TRUE(clock_.sleeps().empty());
  EXPECT_EQ(client->last_error().attempts, 1);
}

TEST_F(ApiRetryTest, GivingUpIsUnavailableAndSaysHowOften) {
  StartFaulty("http_5xx=1");
  auto client = Client("k1", Retry(4), &clock_);
  Result<Value> r = client->GetWorkflow("wf_1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(r.status().message().find("GET /v1/creative-agent/workflows/wf_1: HTTP 503: "), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("(after 4 attempts)"), std::string::npos) << r.status().message();
  EXPECT_EQ(Sent("GET", "/v1/creative-agent/workflows/:id"), 4);
  EXPECT_EQ(clock_.sleeps().size(), 3u);
  ApiError e = client->last_error();
  EXPECT_EQ(e.http_status, 503);
  EXPECT_EQ(e.attempts, 4);
  EXPECT_EQ(e.retry_after, 1.0);
}

TEST_F(ApiRetryTest, A429WithAZeroHintStillWaits) {
  StartFaulty("http_429=1,retry_after=0");
  auto client = Client("k1", Retry(3), &clock_);
  EXPECT_EQ(client->Me().status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(Sent("GET", "/v1/account/me"), 3);
  ASSERT_EQ(clock_.sleeps().size(), 2u);
  for (milliseconds d : clock_.sleeps()) EXPECT_GE(d, milliseconds(200));
}

TEST_F(ApiRetryTest, NoWaitGoesPastTheTimeBudget) {
  StartFaulty("http_5xx=1,retry_after=100");
  RetryOptions r = Retry(10);
  r.time_budget = milliseconds(150000);  // room for one 100 s wait, not two
  auto client = Client("k1", r, &clock_);
  EXPECT_EQ(client->GetWorkflow("wf_1").status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(Sent("GET", "/v1/creative-agent/workflows/:id"), 2);
  EXPECT_EQ(clock_.sleeps(), std::vector<milliseconds>{milliseconds(100000)});
}

TEST_F(ApiRetryTest, AnInterruptedWaitCancels) {
  StartFaulty("http_5xx=1");
  clock_.set_interrupt(true);
  auto client = Client("k1", Retry(10), &clock_);
  EXPECT_EQ(client->GetWorkflow("wf_1").status().code(), Status::Code::kCancelled);
  EXPECT_EQ(Sent("GET", "/v1/creative-agent/workflows/:id"), 1);
}

TEST_F(ApiRetryTest, NetworkFailuresAreRetriedForReadsOnly) {
  StartSandbox();  // for the transport
  std::string url;
  {
    auto gone = LoopbackServer::Start([](const ServedRequest&, ReplyWriter& w) { w.Send(200, ""); });
    url = gone->Url("");
  }  // nothing listens there any more
  ApiClientOptions o;
  o.base_url = url;
  o.api_key = kCanaryKey;
  o.retry = Retry(5);
  ApiClient client(transport_.get(), o, &clock_);
  Result<Value> read = client.GetWorkflow("wf_1");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(read.status().message().find("connection refused by 127.0.0.1:"), std::string::npos) << read.status().message();
  EXPECT_NE(read.status().message().find("(after 5 attempts)"), std::string::npos);
  ASSERT_EQ(clock_.sleeps().size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_LE(clock_.sleeps()[i], milliseconds(200LL << i));  // full-jitter bounds
  EXPECT_EQ(client.last_error().http_status, 0);
  ExpectNoCanary(read.status().ToString());

  Result<WorkflowReply> cancel = client.CancelWorkflow("wf_1");
  EXPECT_EQ(cancel.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(client.last_error().attempts, 1);
  EXPECT_EQ(clock_.sleeps().size(), 4u);
}

}  // namespace
}  // namespace sflow
