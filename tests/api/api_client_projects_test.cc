// The direct-project routes of ApiClient against a scripted server on loopback (every answer
// shape, 404, 503 retried, the socket host's bare answers, uploads to signed URLs) and against
// the sandbox (sync, active, estimate). The canary key travels only in the api-key and
// Authorization headers of the API's own hosts: never to a signed URL, never in a message.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "api/api_client.h"
#include "tests/api/api_test_env.h"
#include "tests/api/fake_retry_clock.h"
#include "tests/api/loopback_server.h"

namespace sflow {
namespace {

class ApiClientProjectsTest : public testing::Test {
 protected:
  // Every request is recorded; `h` answers it.
  void Serve(std::function<void(const ServedRequest&, ReplyWriter&)> h) {
    server_ = LoopbackServer::Start([this, h](const ServedRequest& r, ReplyWriter& w) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        seen_.push_back(r);
      }
      h(r, w);
    });
    Result<std::unique_ptr<HttpTransport>> t = NewHttpTransport(HttpTransportOptions());
    ASSERT_TRUE(t.ok());
    transport_ = std::move(t).value();
    ApiClientOptions o;
    o.base_url = server_->Url("/rest");
    o.socket_base_url = server_->Url("/sock");
    o.api_key = kCanaryKey;
    o.retry.max_attempts = 3;
    o.retry.seed = 5;
    client_ = std::make_unique<ApiClient>(transport_.get(), o, &clock_);
  }
  std::vector<ServedRequest> Seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  void ExpectClean(const Status& s) {
    ExpectNoCanary(s.ToString());
    ExpectNoCanary(client_->last_error().message);
  }

  FakeRetryClock clock_;
  std::mutex mu_;
  std::vector<ServedRequest> seen_;
  std::unique_ptr<LoopbackServer> server_;
  std::unique_ptr<HttpTransport> transport_;
  std::unique_ptr<ApiClient> client_;
};

const HttpHeaders kJsonType = {{"Content-Type", "application/json"}};

TEST_F(ApiClientProjectsTest, ProjectLookupsReadDataProjectAndMap404And503) {
  std::atomic<int> v2_calls{0};
  Serve([&](const ServedRequest& r, ReplyWriter& w) {
    if (r.target == "/rest/v2/projects/P%2F1") {
      if (++v2_calls == 1) return w.Send(503, R"({"status":"error","message":"state unknown yet","errorCode":503})", kJsonType);
      return w.Send(200, R"({"status":"success","data":{"project":{"id":"P/1","status":"queued","finished":false}}})", kJsonType);
    }
    if (r.target == "/rest/v1/projects/DONE") return w.Send(200, R"({"status":"success","data":{"project":{"id":"DONE"}}})", kJsonType);
    w.Send(404, std::string(R"({"status":"error","message":"Project not found )") + kCanaryKey + R"(","errorCode":404})", kJsonType);
  });
  Result<Value> p = client_->GetProjectV2("P/1");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->Find("status")->as_string(), "queued");
  EXPECT_EQ(v2_calls.load(), 2) << "503 is retried";
  ASSERT_EQ(clock_.sleeps().size(), 1u);
  Result<Value> done = client_->GetProjectV1("DONE");
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->Find("id")->as_string(), "DONE");
  for (Result<Value> missing : {client_->GetProjectV2("NOPE"), client_->GetProjectV1("NOPE")}) {
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
    EXPECT_EQ(missing.status().http_status(), 404);
    EXPECT_EQ(missing.status().reason(), "not_found");
    ExpectClean(missing.status());
  }
  for (const ServedRequest& r : Seen()) {
    ASSERT_NE(FindHeader(r.headers, "api-key"), nullptr);
    EXPECT_EQ(*FindHeader(r.headers, "api-key"), kCanaryKey);
    ExpectNoCanary(r.target);
  }
}

TEST_F(ApiClientProjectsTest, SocketHostRoutesAreBareJsonOnTheSocketBase) {
  Serve([&](const ServedRequest& r, ReplyWriter& w) {
    if (r.target == "/sock/api/v1/artist/projects/sync?appId=app%201")
      return w.Send(200, R"({"activeProjects":[{"id":"A"}],"unclaimedCompletedProjects":"junk","serverTime":12})", kJsonType);
    if (r.target == "/sock/api/v1/artist/projects/active")
      return w.Send(200, R"({"projects":[{"id":"A"},{"id":7},{"id":"B"}]})", kJsonType);
    if (r.target == "/sock/api/v2/job/estimate/spark/fast/m/1/4/0/0/0/0/0?outputFormat=png")
      return w.Send(200, R"({"quote":{"project":{"costInToken":"1.5","costInUSD":"0.01"}}})", kJsonType);
    if (r.target == "/rest/v4/account/balance")
      return w.Send(200, R"({"status":"success","data":{"spark":{"net":"12.5"},"sogni":{"net":"0"}}})", kJsonType);
    w.Send(404, "{}", kJsonType);
  });
  Result<Value> sync = client_->SyncProjects("app 1");
  ASSERT_TRUE(sync.ok()) << sync.status().ToString();
  EXPECT_EQ(sync->ToJson(), R"({"activeProjects":[{"id":"A"}],"unclaimedCompletedProjects":[],"serverTime":12})");
  Result<std::vector<std::string>> active = client_->ActiveProjects();
  ASSERT_TRUE(active.ok()) << active.status().ToString();
  EXPECT_EQ(*active, (std::vector<std::string>{"A", "B"}));
  Result<Value> est = client_->GetEstimate("/api/v2/job/estimate/spark/fast/m/1/4/0/0/0/0/0?outputFormat=png");
  ASSERT_TRUE(est.ok()) << est.status().ToString();
  EXPECT_EQ(est->Find("quote")->Find("project")->Find("costInToken")->as_string(), "1.5");
  Result<Value> balance = client_->Balance();
  ASSERT_TRUE(balance.ok()) << balance.status().ToString();
  EXPECT_EQ(balance->Find("spark")->Find("net")->as_string(), "12.5");
}

TEST_F(ApiClientProjectsTest, MalformedSocketHostAnswersAndBadEstimatePathsAreRefused) {
  Serve([&](const ServedRequest& r, ReplyWriter& w) {
    if (r.target.rfind("/sock/api/v1/artist/projects/active", 0) == 0) return w.Send(200, R"({"projects":null})", kJsonType);
    w.Send(200, "[1,2]", kJsonType);
  });
  EXPECT_EQ(client_->ActiveProjects().status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(client_->SyncProjects("a").status().code(), Status::Code::kUnavailable) << "not an object";
  EXPECT_EQ(client_->SyncProjects("").status().code(), Status::Code::kInvalidPlan);
  size_t before = Seen().size();
  for (const char* bad : {"/v1/account/me", "/api/../v1/x", "/api//x", "/api/x y", "/api/x#f", "https://evil/api/x",
                          "/api/x\r\nX: 1"}) {
    Result<Value> r = client_->GetEstimate(bad);
    EXPECT_EQ(r.status().code(), Status::Code::kInternal) << bad;
  }
  EXPECT_EQ(Seen().size(), before) << "nothing was sent for a bad path";
}

TEST_F(ApiClientProjectsTest, UploadsPutTheBytesToTheSignedUrlWithoutCredentialsAndRetryWithAFreshUrl) {
  std::atomic<int> url_calls{0}, puts{0};
  Serve([&](const ServedRequest& r, ReplyWriter& w) {
    if (r.target.rfind("/rest/v1/media/uploadUrl?", 0) == 0) {
      int n = ++url_calls;
      return w.Send(200, R"({"status":"success","data":{"uploadUrl":")" + server_->Url("/signed/" + std::to_string(n)) +
                             R"(?X-Amz-Signature=s3cr3t"}})", kJsonType);
    }
    if (r.method == "PUT" && r.target.rfind("/signed/", 0) == 0) {
      if (++puts == 1) return w.Send(503, "<Error><Code>SlowDown</Code></Error>");
      return w.Send(200, "");
    }
    w.Send(404, "{}", kJsonType);
  });
  MediaUrlQuery q;
  q.family = "media";
  q.version = 1;
  q.job_id = "PROJ";
  q.type = "referenceAudio";
  q.id = "a1";
  q.content_type = "audio/mpeg";
  Status s = client_->UploadProjectMedia(q, std::string("ID3\x00\x01", 5));
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(url_calls.load(), 2) << "a fresh signed URL for the second PUT";
  EXPECT_EQ(puts.load(), 2);
  int seen_puts = 0;
  for (const ServedRequest& r : Seen()) {
    if (r.method != "PUT") continue;
    ++seen_puts;
    EXPECT_EQ(FindHeader(r.headers, "api-key"), nullptr) << "no key to storage";
    EXPECT_EQ(FindHeader(r.headers, "Authorization"), nullptr);
    ASSERT_NE(FindHeader(r.headers, "Content-Type"), nullptr);
    EXPECT_EQ(*FindHeader(r.headers, "Content-Type"), "audio/mpeg");
    EXPECT_EQ(r.body, std::string("ID3\x00\x01", 5));
  }
  EXPECT_EQ(seen_puts, 2);
  EXPECT_EQ(Seen()[0].target, "/rest/v1/media/uploadUrl?jobId=PROJ&type=referenceAudio&contentType=audio%2Fmpeg&id=a1");
}

TEST_F(ApiClientProjectsTest, AFailedPutNamesTheUrlWithoutItsSignature) {
  Serve([&](const ServedRequest& r, ReplyWriter& w) {
    if (r.target.rfind("/rest/v1/image/uploadUrl?", 0) == 0)
      return w.Send(200, R"({"status":"success","data":{"uploadUrl":")" + server_->Url("/signed/x") +
                             R"(?X-Amz-Signature=s3cr3t"}})", kJsonType);
    w.Send(403, std::string("<Error>expired ") + kCanaryKey + "</Error>");
  });
  MediaUrlQuery q;
  q.version = 1;
  q.job_id = "PROJ";
  q.type = "startingImage";
  q.id = "img";
  q.content_type = "image/png";
  Status s = client_->UploadProjectMedia(q, "png");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kPermission);
  EXPECT_EQ(s.http_status(), 403);
  EXPECT_NE(s.message().find("/signed/x"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("s3cr3t"), std::string::npos) << s.message();
  ExpectNoCanary(s.ToString());
  q.version = 2;
  EXPECT_EQ(client_->UploadProjectMedia(q, "png").code(), Status::Code::kInternal);
}

class ApiClientProjectsSandboxTest : public SandboxApiTest {};

TEST_F(ApiClientProjectsSandboxTest, SyncActiveAndEstimateAgainstTheSandbox) {
  StartSandbox();
  std::unique_ptr<ApiClient> client = Client();
  Result<Value> sync = client->SyncProjects("app-1");
  ASSERT_TRUE(sync.ok()) << sync.status().ToString();
  EXPECT_TRUE(sync->Find("activeProjects")->is_array());
  Result<std::vector<std::string>> active = client->ActiveProjects();
  ASSERT_TRUE(active.ok()) << active.status().ToString();
  EXPECT_TRUE(active->empty());
  Result<Value> est = client->GetEstimate("/api/v2/job/estimate/spark/fast/flux1-schnell-fp8/1/4/0/0/0/1024/1024");
  ASSERT_TRUE(est.ok()) << est.status().ToString();
  ASSERT_NE(est->Find("quote"), nullptr) << est->ToJson();
  Result<Value> missing = client->GetProjectV2("3F2A0C1E-AAAA-4BBB-8CCC-000000000009");
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound) << missing.status().ToString();
}

}  // namespace
}  // namespace sflow
