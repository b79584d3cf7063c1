// Answers the sandbox never gives, from a scripted server on loopback: bodies that are not JSON,
// success envelopes without their key, redirects, and a server that echoes the API key back in
// every form it can. The canary key must appear in no Status and no ApiError.
#include <gtest/gtest.h>

#include "api/api_client.h"
#include "tests/api/api_test_env.h"
#include "tests/api/fake_retry_clock.h"
#include "tests/api/loopback_server.h"

namespace sflow {
namespace {

class ApiClientErrorsTest : public testing::Test {
 protected:
  void Serve(ServedHandler h) {
    server_ = LoopbackServer::Start(std::move(h));
    Result<std::unique_ptr<HttpTransport>> t = NewHttpTransport(HttpTransportOptions());
    ASSERT_TRUE(t.ok());
    transport_ = std::move(t).value();
    ApiClientOptions o;
    o.base_url = server_->Url("");
    o.api_key = kCanaryKey;
    o.retry.max_attempts = 3;
    o.retry.seed = 5;
    client_ = std::make_unique<ApiClient>(transport_.get(), o, &clock_);
  }
  void ExpectClean(const Status& s) {
    ExpectNoCanary(s.ToString());
    ApiError e = client_->last_error();
    ExpectNoCanary(e.message);
    ExpectNoCanary(e.details.ToJson());
  }

  FakeRetryClock clock_;
  std::unique_ptr<LoopbackServer> server_;
  std::unique_ptr<HttpTransport> transport_;
  std::unique_ptr<ApiClient> client_;
};

TEST_F(ApiClientErrorsTest, SendsBothAuthHeadersAndSnakeCaseFields) {
  ServedRequest seen;
  Serve([&](const ServedRequest& rq, ReplyWriter& w) {
    seen = rq;
    w.Send(201, R"({"status":"success","data":{"workflow":{"workflowId":"wf_1","status":"queued"}}})");
  });
  StartWorkflowRequest req;
  req.input = TwoStepInput();
  req.token_type = "spark";
  req.max_estimated_capacity_units = 25;
  req.confirm_cost = true;
  Result<WorkflowReply> r = client_->StartWorkflow(req, "idem-1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*FindHeader(seen.headers, "Authorization"), std::string("Bearer ") + kCanaryKey);
  EXPECT_EQ(*FindHeader(seen.headers, "api-key"), kCanaryKey);
  EXPECT_EQ(*FindHeader(seen.headers, "Idempotency-Key"), "idem-1");
  EXPECT_EQ(*FindHeader(seen.headers, "Content-Type"), "application/json");
  Value body = ParseJson(seen.body).value();
  EXPECT_EQ(body.Find("token_type")->as_string(), "spark");
  EXPECT_EQ(body.Find("max_estimated_capacity_units")->ToJson(), "25");
  EXPECT_TRUE(body.Find("confirm_cost")->as_bool());
  EXPECT_EQ(body.Find("input")->Find("steps")->items()[1].Find("dependsOn")->items()[0].Find("sourceStepId")->as_string(),
            "keyframe");
  EXPECT_EQ(body.Find("idempotency_key"), nullptr);  // the key travels as a header only
  EXPECT_EQ(body.Find("safe_content_filter"), nullptr);  // unset fields are not sent
}

TEST_F(ApiClientErrorsTest, AnEchoedKeyIsRedactedEverywhere) {
  Serve([](const ServedRequest& rq, ReplyWriter& w) {
    const std::string key = FindHeader(rq.headers, "api-key") ? *FindHeader(rq.headers, "api-key") : "";
    const std::string auth = FindHeader(rq.headers, "Authorization") ? *FindHeader(rq.headers, "Authorization") : "";
    if (rq.target.find("/v1/account/me") == 0)
      return w.Send(401, R"({"status":"error","message":"bad key )" + key + R"(","errorCode":401,"details":{"sent":")" +
                             auth + R"("}})");
    if (rq.target.find("/v1/creative-agent/workflows/templates") == 0)
      return w.Send(500, "internal error while checking " + key + "\n\n");
    if (rq.target.find("/v1/creative-agent/workflows/wf_html") == 0)
      return w.Send(502, "<html><body>proxy saw " + auth + "</body></html>", {{"Content-Type", "text/html"}});
    return w.Send(200, R"({"status":"success","data":{"echo":")" + key + R"("}})");
  });
  Result<Value> me = client_->Me();
  EXPECT_EQ(me.status().code(), Status::Code::kPermission);
  EXPECT_NE(me.status().message().find("bad key ***"), std::string::npos) << me.status().message();
  ExpectClean(me.status());
  EXPECT_EQ(client_->last_error().details.Find("sent")->as_string(), "Bearer ***");

  Result<TemplatePage> list = client_->ListTemplates();
  EXPECT_EQ(list.status().code(), Status::Code::kUnavailable);
  ExpectClean(list.status());

  Result<Value> html = client_->GetWorkflow("wf_html");
  EXPECT_EQ(html.status().code(), Status::Code::kUnavailable);
  ExpectClean(html.status());

  Result<Value> malformed = client_->GetWorkflow("wf_ok");  // 200 without data.workflow
  EXPECT_EQ(malformed.status().code(), Status::Code::kUnavailable);  // says nothing: exit 4, resumable
  ExpectClean(malformed.status());
}

TEST_F(ApiClientErrorsTest, NonJsonBodiesBecomeShortMessages) {
  Serve([](const ServedRequest& rq, ReplyWriter& w) {
    if (rq.target.find("html") != std::string::npos)
      return w.Send(404, "<!DOCTYPE html>\n<html>\n  <head><title>Not Found</title></head>\n<body>" + std::string(500, 'x') +
                             "</body></html>");
    return w.Send(403, "Forbidden:\n\n   your   plan\tdoes not include this " + std::string(700, 'y'));
  });
  Result<Value> html = client_->GetWorkflow("html");
  ASSERT_FALSE(html.ok());
  EXPECT_EQ(html.status().code(), Status::Code::kNotFound);
  std::string m = client_->last_error().message;
  EXPECT_EQ(m.rfind("Not Found: <!DOCTYPE html> <html> <head><title>Not Found</title></head> <body>xxx", 0), 0u) << m;
  EXPECT_EQ(m.size(), std::string("Not Found: ").size() + 200);

  Result<Value> text = client_->GetWorkflow("text");
  EXPECT_EQ(text.status().code(), Status::Code::kPermission);
  m = client_->last_error().message;
  EXPECT_EQ(m.rfind("Forbidden: your plan does not include this yyy", 0), 0u) << m;
  EXPECT_EQ(m.size(), 500u);
}

TEST_F(ApiClientErrorsTest, ASuccessWithoutTheExpectedKeyIsRefused) {
  Serve([](const ServedRequest& rq, ReplyWriter& w) {
    if (rq.target.find("/events") != std::string::npos) return w.Send(200, R"({"status":"success","data":{"events":{}}})");
    w.Send(200, R"({"status":"success","data":{"workflows":[]}})");
  });
  Result<Value> wf = client_->GetWorkflow("wf_1");
  ASSERT_FALSE(wf.ok());
  EXPECT_EQ(wf.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(wf.status().message(),
            "GET /v1/creative-agent/workflows/wf_1: malformed answer (HTTP 200): the response did not include "
            "data.workflow (a mapping)");
  EXPECT_EQ(client_->ListEvents("wf_1").status().code(), Status::Code::kUnavailable);
  EXPECT_TRUE(client_->ListWorkflows().ok());
}

TEST_F(ApiClientErrorsTest, RedirectsAreNotFollowed) {
  auto elsewhere = LoopbackServer::Start([](const ServedRequest&, ReplyWriter& w) { w.Send(200, "{}"); });
  const std::string target = elsewhere->Url("/steal");
  Serve([&](const ServedRequest&, ReplyWriter& w) { w.Send(302, "", {{"Location", target}}); });
  Result<Value> r = client_->GetWorkflow("wf_1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInternal);
  EXPECT_NE(r.status().message().find("redirect not followed"), std::string::npos) << r.status().message();
  EXPECT_EQ(elsewhere->requests(), 0);
}

TEST_F(ApiClientErrorsTest, ARetryAfterHttpDateIsHonoured) {
  int calls = 0;
  Serve([&](const ServedRequest&, ReplyWriter& w) {
    if (++calls == 1)
      return w.Send(503, "busy", {{"Retry-After", "Mon, 23 Nov 2026 00:00:30 GMT"}, {"Date", "Mon, 23 Nov 2026 00:00:00 GMT"}});
    w.Send(200, R"({"status":"success","data":{"workflow":{"workflowId":"wf_1"}}})");
  });
  ASSERT_TRUE(client_->GetWorkflow("wf_1").ok());
  EXPECT_EQ(clock_.sleeps(), std::vector<std::chrono::milliseconds>{std::chrono::milliseconds(30000)});
}

}  // namespace
}  // namespace sflow
