// The REST client against the project's sandbox, in-process on 127.0.0.1 over plain HTTP: every
// route it wraps, the envelopes, and the Status each kind of failure becomes.
#include "api/api_client.h"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "engine/json.h"
#include "sandbox/sandbox.h"
#include "tests/api/api_test_env.h"

#include "tests/api/loopback_server.h"

namespace sflow {
namespace {

using namespace std::chrono_literals;

class ApiClientTest : public SandboxApiTest {};

TEST_F(ApiClientTest, StartsGetsListsAndReadsEvents) {
  StartSandbox();
  auto client = Client();
  StartWorkflowRequest req;
  req.input = TwoStepInput();
  Result<WorkflowReply> started = client->StartWorkflow(req, "start-1");
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  const std::string id = started->workflow.Find("workflowId")->as_string();
  EXPECT_FALSE(id.empty());

  Value done = WaitForStatus(*client, id, "completed");
  EXPECT_EQ(done.Find("steps")->items().size(), 2u);

  Result<WorkflowPage> page = client->ListWorkflows(10, 0);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->workflows.size(), 1u);
  EXPECT_EQ(page->workflows[0].Find("workflowId")->as_string(), id);

  Result<std::vector<Value>> events = client->ListEvents(id);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_GT(events->size(), 4u);
  int64_t last = 0;
  for (const Value& e : *events) {
    EXPECT_GT(e.Find("sequence")->as_int(), last);
    last = e.Find("sequence")->as_int();
  }
  Result<std::vector<Value>> later = client->ListEvents(id, last - 1);
  ASSERT_TRUE(later.ok());
  ASSERT_EQ(later->size(), 1u);
  EXPECT_EQ(later->front().Find("sequence")->as_int(), last);
}

TEST_F(ApiClientTest, TheSameStartKeyReturnsTheSameWorkflow) {
  StartSandbox();
  auto client = Client();
  StartWorkflowRequest req;
  req.input = TwoStepInput();
  Result<WorkflowReply> a = client->StartWorkflow(req, "same-key");
  Result<WorkflowReply> b = client->StartWorkflow(req, "same-key");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->workflow.Find("workflowId")->as_string(), b->workflow.Find("workflowId")->as_string());
  Value stats = Stats();
  EXPECT_EQ(stats.Find("workflowsCreated")->as_int(), 1);
  EXPECT_EQ(stats.Find("workflowsByIdempotencyKey")->Find("same-key")->as_int(), 1);
}

TEST_F(ApiClientTest, SameKeyOtherBodyIsRefused) {
  StartSandbox();
  auto client = Client();
  StartWorkflowRequest req;
  req.input = TwoStepInput("a lamp");
  ASSERT_TRUE(client->StartWorkflow(req, "k-422").ok());
  req.input = TwoStepInput("a chair");
  Result<WorkflowReply> again = client->StartWorkflow(req, "k-422");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Status::Code::kInvalidPlan);
  EXPECT_EQ(client->last_error().http_status, 422);
}

TEST_F(ApiClientTest, RefusesBadStartsBeforeSending) {
  StartSandbox();
  auto client = Client();
  StartWorkflowRequest neither;
  EXPECT_EQ(client->StartWorkflow(neither, "k").status().code(), Status::Code::kInvalidPlan);
  StartWorkflowRequest both;
  both.input = TwoStepInput();
  both.workflow_id = "tpl";
  EXPECT_EQ(client->StartWorkflow(both, "k").status().message(),
            "POST /v1/creative-agent/workflows: starting a workflow accepts input or workflow_id, not both");
  StartWorkflowRequest inline_media;
  inline_media.input = TwoStepInput();
  inline_media.media_references = ParseJson(R"([{"kind":"image","url":"data:image/png;base64,AAAA"}])").value();
  Result<WorkflowReply> r = client->StartWorkflow(inline_media, "k");
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidPlan);
  EXPECT_NE(r.status().message().find("Offending field(s): mediaReferences[0].url"), std::string::npos);
  StartWorkflowRequest ok;
  ok.input = TwoStepInput();
  EXPECT_EQ(client->StartWorkflow(ok, "").status().code(), Status::Code::kInternal);  // paid work needs a key
  EXPECT_EQ(client->StartWorkflow(ok, "has space").status().code(), Status::Code::kInternal);
  EXPECT_EQ(Stats().Find("requests")->Find("POST /v1/creative-agent/workflows"), nullptr);
}

TEST_F(ApiClientTest, ServerValidationIsAnInvalidPlan) {
  StartSandbox();
  auto client = Client();
  StartWorkflowRequest req;
  req.input = ParseJson(R"({"steps":[{"id":"a","toolName":"generate_hologram","arguments":{}}]})").value();
  Result<WorkflowReply> r = client->StartWorkflow(req, "bad-tool");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidPlan);
  EXPECT_EQ(r.status().message().rfind("POST /v1/creative-agent/workflows: HTTP 400: Unsupported hosted tool", 0), 0u)
      << r.status().message();
  EXPECT_EQ(client->last_error().http_status, 400);
}

TEST_F(ApiClientTest, UnknownWorkflowIsNotFoundWithItsIdEncoded) {
  StartSandbox();
  auto client = Client();
  // Encoded as encodeURIComponent does. (Not "wf / one": the sandbox splits the decoded path.)
  Result<Value> r = client->GetWorkflow("wf one?");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(r.status().message(), "GET /v1/creative-agent/workflows/wf%20one%3F: HTTP 404: Workflow not found");
  ApiError e = client->last_error();
  EXPECT_EQ(e.http_status, 404);
  EXPECT_EQ(e.error_code, 404);
  EXPECT_EQ(e.attempts, 1);
}

TEST_F(ApiClientTest, CostGateThenConfirmCostThenResume) {
  SandboxOptions o = DefaultOptions();
  o.step_ms = 150;
  StartSandbox(o);
  auto client = Client();
  StartWorkflowRequest req;
  req.input = TwoStepInput();
  req.max_estimated_capacity_units = 0.5;  // below the estimate, no confirm_cost: the run pauses
  req.safe_content_filter = false;
  Result<WorkflowReply> started = client->StartWorkflow(req, "gated");
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  const std::string id = started->workflow.Find("workflowId")->as_string();
  EXPECT_EQ(started->workflow.Find("status")->as_string(), "waiting_for_user");
  EXPECT_EQ(started->workflow.Find("waitingReason")->as_string(), "cost_approval_required");
  EXPECT_FALSE(started->workflow.Find("safeContentFilter")->as_bool());

  Result<WorkflowReply> early = client->ResumeWorkflow(id);
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.status().code(), Status::Code::kConflict);

  Value decision = ParseJson(R"({"decision":"confirm"})").value();
  Result<WorkflowReply> confirmed = client->ConfirmCost(id, decision, "confirm-1");
  ASSERT_TRUE(confirmed.ok()) << confirmed.status().ToString();
  EXPECT_NE(confirmed->workflow.Find("status")->as_string(), "waiting_for_user");
  Result<WorkflowReply> replay = client->ConfirmCost(id, decision, "confirm-1");  // same key: a no-op
  ASSERT_TRUE(replay.ok()) << replay.status().ToString();

  Result<WorkflowReply> resumed = client->ResumeWorkflow(id);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_TRUE(resumed->data.Find("resumed")->is_bool());
  WaitForStatus(*client, id, "completed");
}

TEST_F(ApiClientTest, CancelReportsWhetherItTransitioned) {
  SandboxOptions o = DefaultOptions();
  o.step_ms = 500;
  StartSandbox(o);
  auto client = Client();
  StartWorkflowRequest req;
  req.input = TwoStepInput();
  Result<WorkflowReply> started = client->StartWorkflow(req, "to-cancel");
  ASSERT_TRUE(started.ok());
  const std::string id = started->workflow.Find("workflowId")->as_string();
  Result<WorkflowReply> first = client->CancelWorkflow(id);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->Flag("transitioned"));
  EXPECT_EQ(first->workflow.Find("status")->as_string(), "cancelled");
  Result<WorkflowReply> second = client->CancelWorkflow(id);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->Flag("transitioned"));
}

TEST_F(ApiClientTest, ReseedWithAKeyIsIdempotent) {
  StartSandbox();
  auto client = Client();
  StartWorkflowRequest req;
  req.input = TwoStepInput();
  Result<WorkflowReply> started = client->StartWorkflow(req, "orig");
  ASSERT_TRUE(started.ok());
  const std::string id = started->workflow.Find("workflowId")->as_string();
  WaitForStatus(*client, id, "completed");
  ReseedRequest reseed;
  reseed.seed_overrides["keyframe"] = 1234;
  Result<WorkflowReply> a = client->ReseedWorkflow(id, reseed, "reseed-1");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  const std::string clone = a->workflow.Find("workflowId")->as_string();
  EXPECT_NE(clone, id);
  EXPECT_EQ(a->data.Find("reseed")->Find("cloned_from_run_id")->as_string(), id);
  EXPECT_FALSE(a->Flag("idempotent"));
  Result<WorkflowReply> b = client->ReseedWorkflow(id, reseed, "reseed-1");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->workflow.Find("workflowId")->as_string(), clone);
  EXPECT_TRUE(b->Flag("idempotent"));
  EXPECT_EQ(Stats().Find("workflowsCreated")->as_int(), 2);
}

TEST_F(ApiClientTest, TooManyActiveWorkflowsIsAConflictWithDetails) {
  SandboxOptions o = DefaultOptions();
  o.step_ms = 1000;
  o.max_active_workflows = 1;
  StartSandbox(o);
  auto client = Client();
  StartWorkflowRequest req;
  req.input = TwoStepInput();
  ASSERT_TRUE(client->StartWorkflow(req, "first").ok());
  Result<WorkflowReply> second = client->StartWorkflow(req, "second");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kConflict);
  EXPECT_NE(second.status().message().find("HTTP 409"), std::string::npos);
  ApiError e = client->last_error();
  EXPECT_EQ(e.http_status, 409);
  ASSERT_TRUE(e.details.is_object()) << e.details.ToJson();
  EXPECT_EQ(e.details.Find("limit")->as_int(), 1);
}

TEST_F(ApiClientTest, TemplatesRoundTrip) {
  StartSandbox();
  auto client = Client();
  Value tpl = ParseJson(R"({"name":"Teaser flow","description":"d","stages":[]})").value();
  Result<Value> created = client->CreateTemplate(tpl);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const std::string id = created->Find("id")->as_string();
  EXPECT_EQ(created->Find("version")->as_string(), "0.0.1");

  Result<Value> got = client->GetTemplate(id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->Find("name")->as_string(), "Teaser flow");

  Result<TemplatePage> own = client->ListTemplates("own", 500, 0);  // limit clamped to 200
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  ASSERT_EQ(own->templates.size(), 1u);

  Result<Value> updated = client->UpdateTemplate(id, ParseJson(R"({"description":"better"})").value());
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ(updated->Find("version")->as_string(), "0.0.2");

  Result<Value> fork = client->ForkTemplate(id, "My copy");
  ASSERT_TRUE(fork.ok()) << fork.status().ToString();
  EXPECT_EQ(fork->Find("name")->as_string(), "My copy");
  EXPECT_NE(fork->Find("id")->as_string(), id);

  Result<Value> deleted = client->DeleteTemplate(id);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_TRUE(deleted->Find("deleted")->as_bool());
  EXPECT_EQ(client->GetTemplate(id).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(client->DeleteTemplate(id).status().code(), Status::Code::kNotFound);
}

TEST_F(ApiClientTest, AccountAndMediaUrls) {
  StartSandbox();
  auto client = Client();
  Result<Value> me = client->Me();
  ASSERT_TRUE(me.ok()) << me.status().ToString();
  EXPECT_TRUE(me->Find("walletAddress")->is_string());

  MediaUrlQuery v2;
  v2.job_id = "sogni-flow-job-1";
  v2.type = "referenceImage";
  v2.content_type = "image/png";
  v2.id = "media_ref_1";
  Result<Value> post = client->GetUploadUrl(v2);
  ASSERT_TRUE(post.ok()) << post.status().ToString();
  EXPECT_TRUE(post->Find("fields")->is_object());

  MediaUrlQuery v1 = v2;
  v1.version = 1;
  Result<Value> put = client->GetUploadUrl(v1);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  HttpRequest upload;
  upload.method = "PUT";
  upload.url = put->Find("uploadUrl")->as_string();
  upload.headers.emplace_back("Content-Type", "image/png");
  upload.body = std::string("\x89PNG\r\n\x1a\n", 8) + std::string(64, '\0');
  Result<HttpResponse> uploaded = transport_->Send(upload);  // presigned: no API key
  ASSERT_TRUE(uploaded.ok()) << uploaded.status().ToString();
  EXPECT_EQ(uploaded->status, 200) << uploaded->body;

  Result<std::string> url = client->GetDownloadUrl(v1);
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->rfind(sandbox_->url(), 0), 0u) << *url;

  MediaUrlQuery missing = v1;
  missing.job_id = "nothing-here";
  EXPECT_EQ(client->GetDownloadUrl(missing).status().code(), Status::Code::kNotFound);
  MediaUrlQuery bad = v1;
  bad.family = "video";
  EXPECT_EQ(client->GetUploadUrl(bad).status().code(), Status::Code::kInvalidPlan);
}

TEST_F(ApiClientTest, TheEventStreamRequestCarriesAuthAndTheCursor) {
  StartSandbox();
  auto client = Client();
  StartWorkflowRequest req;
  req.input = TwoStepInput();
  Result<WorkflowReply> started = client->StartWorkflow(req, "streamed");
  ASSERT_TRUE(started.ok());
  const std::string id = started->workflow.Find("workflowId")->as_string();
  WaitForStatus(*client, id, "completed");
  HttpRequest r = client->EventStreamRequest(id, 3, "3");
  EXPECT_EQ(*FindHeader(r.headers, "Accept"), "text/event-stream");
  EXPECT_EQ(*FindHeader(r.headers, "Last-Event-ID"), "3");
  std::string text;
  Result<HttpResponse> head = transport_->Stream(r, Chunks([&](std::string_view b) {
    text.append(b);
    return true;
  }), nullptr);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(text.find("id: 3\n"), std::string::npos);
  EXPECT_NE(text.find("id: 4\n"), std::string::npos) << text;
}

TEST_F(ApiClientTest, AWrongKeyIsAPermissionErrorThatNeverQuotesTheKey) {
  StartSandbox();
  auto client = Client(kCanaryKey);
  Result<Value> me = client->Me();
  ASSERT_FALSE(me.ok());
  EXPECT_EQ(me.status().code(), Status::Code::kPermission);
  EXPECT_EQ(me.status().message(), "GET /v1/account/me: HTTP 401: Unauthorized");
  StartWorkflowRequest req;
  req.input = TwoStepInput();
  Result<WorkflowReply> start = client->StartWorkflow(req, "k");
  EXPECT_EQ(start.status().code(), Status::Code::kPermission);
  ExpectNoCanary(start.status().ToString());
  ExpectNoCanary(client->last_error().message);
}

}  // namespace
}  // namespace sflow
