// The fixture of the client tests: the project's sandbox in-process on 127.0.0.1 (key "k1"), a
// real transport, and helpers to read the sandbox's own stats (the oracle for "sent once").
#ifndef SFLOW_TESTS_API_API_TEST_ENV_H_
#define SFLOW_TESTS_API_API_TEST_ENV_H_

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "api/api_client.h"
#include "api/http_transport.h"
#include "engine/json.h"
#include "sandbox/sandbox.h"

namespace sflow {

// A key that must never show up in any text the client produces.
inline constexpr char kCanaryKey[] = "sk-canary-7d1f3e9a0b2c4d6e";

inline void ExpectNoCanary(const std::string& text) {
  EXPECT_EQ(text.find(kCanaryKey), std::string::npos) << text;
  EXPECT_EQ(text.find("7d1f3e9a"), std::string::npos) << text;
}

// keyframe (generate_image) -> clip (generate_video, referenceImageIndices from the keyframe).
inline Value TwoStepInput(const std::string& prompt = "a lamp") {
  Result<Value> v = ParseJson(
      R"({"title":"teaser","steps":[{"id":"keyframe","toolName":"generate_image","arguments":{"prompt":")" + prompt +
      R"("}},{"id":"clip","toolName":"generate_video","arguments":{"prompt":"orbit","duration":3},)"
      R"("dependsOn":[{"sourceStepId":"keyframe","sourceArtifactIndex":0,"targetArgument":"referenceImageIndices",)"
      R"("mediaType":"image","transform":"image_index"}]}]})");
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? std::move(v).value() : Value();
}

class SandboxApiTest : public testing::Test {
 protected:
  static SandboxOptions DefaultOptions() {
    SandboxOptions o;
    o.step_ms = 2;
    o.events_per_step = 2;
    return o;
  }

  void StartSandbox(SandboxOptions o = DefaultOptions()) {
    o.host = "127.0.0.1";
    o.port = 0;
    o.api_keys = {"k1"};
    Result<std::unique_ptr<Sandbox>> s = Sandbox::Start(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    sandbox_ = std::move(s).value();
    Result<std::unique_ptr<HttpTransport>> t = NewHttpTransport(HttpTransportOptions());
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    transport_ = std::move(t).value();
  }

  std::unique_ptr<ApiClient> Client(const std::string& key = "k1", RetryOptions retry = RetryOptions(),
                                    RetryClock* clock = nullptr) {
    ApiClientOptions o;
    o.base_url = sandbox_->url() + "/";
    o.api_key = key;
    o.app_source = "sogni-flow-tests";
    o.retry = retry;
    return std::make_unique<ApiClient>(transport_.get(), o, clock);
  }

  // GET /_sandbox/stats (admin routes are never faulted).
  Value Stats() {
    HttpRequest r;
    r.url = sandbox_->url() + "/_sandbox/stats";
    Result<HttpResponse> a = transport_->Send(r);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    if (!a.ok()) return Value();
    Result<Value> v = ParseJson(a->body);
    return v.ok() ? std::move(v).value() : Value();
  }
  // Requests the sandbox saw on `route` ("POST /v1/creative-agent/workflows"), any status.
  int64_t Requests(const std::string& route) {
    Value stats = Stats();
    const Value* by_status = stats.Find("requests") ? stats.Find("requests")->Find(route) : nullptr;
    int64_t n = 0;
    if (by_status)
      for (const auto& m : by_status->members()) n += m.value.as_int();
    return n;
  }

  Value WaitForStatus(ApiClient& client, const std::string& id, const std::string& status) {
    Value wf;
    for (int i = 0; i < 1000; ++i) {
      Result<Value> r = client.GetWorkflow(id);
      if (r.ok()) wf = *r;
      if (wf.Find("status") && wf.Find("status")->as_string() == status) return wf;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "workflow " << id << " never reached " << status << ": " << wf.ToJson();
    return wf;
  }

  std::unique_ptr<Sandbox> sandbox_;
  std::unique_ptr<HttpTransport> transport_;
};

}  // namespace sflow

#endif  // SFLOW_TESTS_API_API_TEST_ENV_H_
