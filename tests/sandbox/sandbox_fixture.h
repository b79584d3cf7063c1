// The fixture for tests that run a Sandbox in-process on 127.0.0.1 with keys "k1" and "k2".
#ifndef SFLOW_TESTS_SANDBOX_SANDBOX_FIXTURE_H_
#define SFLOW_TESTS_SANDBOX_SANDBOX_FIXTURE_H_

#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <Poco/URI.h>
#include <gtest/gtest.h>

#include "sandbox/sandbox.h"
#include "tests/support/http_test_client.h"
#include "tests/support/test_util.h"

namespace sflow {

class SandboxTest : public testing::Test {
 protected:
  void Start(SandboxOptions o = DefaultOptions()) {
    o.host = "127.0.0.1";
    o.port = 0;
    o.api_keys = {"k1", "k2"};
    Result<std::unique_ptr<Sandbox>> s = Sandbox::Start(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    sandbox_ = std::move(s).value();
  }
  static SandboxOptions DefaultOptions() {
    SandboxOptions o;
    o.step_ms = 2;
    o.events_per_step = 2;
    return o;
  }
  HttpTestClient client() const { return HttpTestClient(sandbox_->port(), "k1"); }

  // keyframe (generate_image) -> clip (generate_video, 3 s, its referenceImageIndices from the keyframe).
  static std::string TwoStepPlan(const std::string& prompt = "a lamp", const std::string& extra = "") {
    return R"({"input":{"title":"teaser","steps":[{"id":"keyframe","toolName":"generate_image","arguments":{"prompt":")" +
           prompt + R"("}},{"id":"clip","toolName":"generate_video","arguments":{"prompt":"orbit","duration":3},)"
           R"("dependsOn":[{"sourceStepId":"keyframe","sourceArtifactIndex":0,"targetArgument":"referenceImageIndices",)"
           R"("mediaType":"image","transform":"image_index"}]}]})" + extra + "}";
  }

  std::string StartWorkflow(const std::string& body) {
    HttpResult r = client().Post("/v1/creative-agent/workflows", body);
    EXPECT_EQ(r.status, 201) << r.body;
    const Value* wf = r.json.Find("data") ? r.json.Find("data")->Find("workflow") : nullptr;
    return wf ? wf->Find("workflowId")->as_string() : "";
  }
  std::string StartAndWait(const std::string& body) {
    std::string id = StartWorkflow(body);
    WaitForStatus(id, "completed");
    return id;
  }
  // Polls until the workflow has `status` (or 10 s pass); returns the last record.
  Value WaitForStatus(const std::string& id, const std::string& status) {
    Value wf;
    for (int i = 0; i < 1000; ++i) {
      HttpResult r = client().Get("/v1/creative-agent/workflows/" + id);
      if (r.status == 200) wf = *r.json.Find("data")->Find("workflow");
      if (wf.Find("status") && wf.Find("status")->as_string() == status) return wf;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "workflow " << id << " never reached " << status << ": " << wf.ToJson();
    return wf;
  }
  Value Stats() const { return client().Get("/_sandbox/stats").json; }

  // The ids of the complete frames (those ended by a blank line), in order; a frame cut off by
  // the end of the stream is dropped, as an event-stream client drops it.
  static std::vector<int64_t> FrameIds(const std::string& text) {
    std::vector<int64_t> ids;
    size_t start = 0;
    for (size_t end = text.find("\n\n"); end != std::string::npos; start = end + 2, end = text.find("\n\n", start)) {
      std::istringstream in(text.substr(start, end - start));
      for (std::string line; std::getline(in, line);)
        if (line.rfind("id: ", 0) == 0) ids.push_back(std::stoll(line.substr(4)));
    }
    return ids;
  }

  std::unique_ptr<Sandbox> sandbox_;
};

}  // namespace sflow

#endif  // SFLOW_TESTS_SANDBOX_SANDBOX_FIXTURE_H_
