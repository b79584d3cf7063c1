// The socket host's estimate routes (sandbox/project_pricing.h): the SDK's EstimationResponse
// shape, prices that follow the inputs, size presets, refusals, and a project billed exactly
// what the same inputs were quoted.
#include <cmath>
#include <cstdlib>

#include "tests/sandbox/projects_fixture.h"

namespace sflow {
namespace projects_test {
namespace {

double Amount(const Value& v, const char* field) {
  const Value* f = v.Find(field);
  EXPECT_TRUE(f && f->is_string()) << field << " in " << v.ToJson();
  return f && f->is_string() ? std::strtod(f->as_string().c_str(), nullptr) : -1;
}

class EstimatesTest : public ProjectsTest {
 protected:
  Value Estimate(const std::string& path, int want = 200) {
    HttpResult r = HttpTestClient(sandbox_->port()).Get(path);  // no key needed
    EXPECT_EQ(r.status, want) << path << ": " << r.body;
    return r.json;
  }
  double Project(const std::string& path, const char* field = "costInRenderSec") {
    Value v = Estimate(path);
    const Value* p = v.Find("quote") ? v.Find("quote")->Find("project") : nullptr;
    EXPECT_TRUE(p) << v.ToJson();
    return p ? Amount(*p, field) : -1;
  }
};

TEST_F(EstimatesTest, AnswersInTheSdksEstimationResponseShape) {
  Value v = Estimate("/api/v2/job/estimate/spark/fast/flux1-schnell-fp8/2/4/0/0/0/1024/1024");
  for (const char* f : {"model", "name", "imageCount", "stepCount", "previewCount", "cnEnabled", "denoiseStrength", "time"})
    EXPECT_TRUE(v.Find("request")->Find(f)) << "request." << f;
  for (const char* f : {"costPerBaseHQRenderInUSD", "tokenMarkePriceUSD", "costPerRenderSecUSD", "costPerRenderSecToken",
                        "network", "networkCostMultiplier"})
    EXPECT_TRUE(v.Find("rate")->Find(f) && v.Find("rate")->Find(f)->is_string()) << "rate." << f;
  for (const char* f : {"weight", "secPerStep", "secPerPreview", "secForCN"})
    EXPECT_TRUE(v.Find("quote")->Find("model")->Find(f)->is_string()) << "quote.model." << f;
  for (const char* part : {"job", "project"})
    for (const char* f : {"costInRenderSec", "costInUSD", "costInToken", "costInSpark", "costInSogni"})
      EXPECT_TRUE(v.Find("quote")->Find(part)->Find(f)->is_string()) << part << "." << f;
  EXPECT_TRUE(v.Find("benchmark")->Find("confidence")->is_number());
  EXPECT_TRUE(v.Find("benchmark")->Find("estimatedTotalTimeSec")->is_number());
  // 2 images x 4 steps x 1 megapixel x 0.25 s; $0.0004 a second; spark at $0.005.
  const Value& project = *v.Find("quote")->Find("project");
  EXPECT_EQ(project.Find("costInRenderSec")->as_string(), "2.000000");
  EXPECT_EQ(project.Find("costInUSD")->as_string(), "0.000800");
  EXPECT_EQ(project.Find("costInToken")->as_string(), "0.160000");
  EXPECT_EQ(project.Find("costInSogni")->as_string(), "0.320000");
  EXPECT_EQ(v.Find("quote")->Find("job")->Find("costInRenderSec")->as_string(), "1.000000");
  // The same question, the same answer (but for request.time).
  Value again = Estimate("/api/v2/job/estimate/spark/fast/flux1-schnell-fp8/2/4/0/0/0/1024/1024");
  EXPECT_EQ(again.Find("quote")->ToJson(), v.Find("quote")->ToJson());
}

TEST_F(EstimatesTest, PricesFollowEveryInput) {
  const std::string base = "/api/v2/job/estimate/spark/fast/flux1-schnell-fp8/";
  double one = Project(base + "1/4/0/0/0/1024/1024");
  EXPECT_DOUBLE_EQ(Project(base + "3/4/0/0/0/1024/1024"), 3 * one);            // count
  EXPECT_DOUBLE_EQ(Project(base + "1/8/0/0/0/1024/1024"), 2 * one);            // steps
  EXPECT_DOUBLE_EQ(Project(base + "1/4/0/0/0/2048/1024"), 2 * one);            // pixels
  EXPECT_DOUBLE_EQ(Project(base + "1/4/0/0/0/0/0"), one);                      // 0x0: the model's 1024
  EXPECT_DOUBLE_EQ(Project(base + "1/4/0/0/0.5/1024/1024"), one / 2);          // denoise halves the steps
  EXPECT_DOUBLE_EQ(Project(base + "1/4/2/0/0/1024/1024"), one + 0.1);          // previews
  EXPECT_DOUBLE_EQ(Project(base + "1/4/0/1/0/1024/1024"), one + 0.5);          // ControlNet
  EXPECT_DOUBLE_EQ(Project("/api/v3/job/estimate/spark/fast/flux1-schnell-fp8/1/4/0/0/0/1024/1024/3.5/euler/2"),
                   one + 1.0);                                                  // context images (v3)
  double fast = Project(base + "1/4/0/0/0/1024/1024", "costInUSD");
  EXPECT_DOUBLE_EQ(Project("/api/v2/job/estimate/spark/relaxed/flux1-schnell-fp8/1/4/0/0/0/1024/1024", "costInUSD"),
                   fast / 2);
  EXPECT_EQ(Estimate(base + "1/4/0/0/0/1024/1024").Find("quote")->Find("project")->Find("calculatedStepCount")->as_int(), 4);

  const std::string video = "/api/v1/job-video/estimate/spark/ltx23-22b-fp8_t2v_distilled/1280/720/";
  EXPECT_DOUBLE_EQ(Project(video + "121/24/8/1"), 121 * 8 * 0.02);
  EXPECT_DOUBLE_EQ(Project(video + "121/24"), 121 * 8 * 0.02);   // no steps: the tier's default, 8
  EXPECT_DOUBLE_EQ(Project(video + "121/24/0/2"), 2 * 121 * 8 * 0.02);
  EXPECT_DOUBLE_EQ(Project(video + "61/24/4/1?network=relaxed", "costInUSD"), 61 * 4 * 0.02 * 0.0004 * 0.5);
  const std::string audio = "/api/v1/job-audio/estimate/sogni/ace_step_1.5_turbo/";
  EXPECT_DOUBLE_EQ(Project(audio + "30/8/1"), 30 * 8 * 0.01);
  EXPECT_DOUBLE_EQ(Project(audio + "30/8/2", "costInToken"), 2 * 30 * 8 * 0.01 * 0.0004 / 0.0025);
}

TEST_F(EstimatesTest, ServesSizePresetsAndRefusesWhatItCannotPrice) {
  Value presets = Estimate("/api/v1/size-presets/network/fast/model/flux1-schnell-fp8");
  ASSERT_TRUE(presets.is_array());
  ASSERT_GE(presets.size(), 2u);
  bool square_hd = false;
  for (const Value& p : presets.items()) {
    for (const char* f : {"label", "id", "ratio", "aspect"}) EXPECT_TRUE(p.Find(f)->is_string()) << f;
    for (const char* f : {"width", "height"}) EXPECT_TRUE(p.Find(f)->is_number()) << f;
    square_hd |= p.Find("id")->as_string() == "square_hd" && p.Find("width")->as_int() == 1024;
  }
  EXPECT_TRUE(square_hd);
  Estimate("/api/v1/size-presets/network/fast/model/no-such-model", 404);
  Estimate("/api/v2/job/estimate/spark/fast/no-such-model/1/4/0/0/0/1024/1024", 404);
  Estimate("/api/v2/job/estimate/spark/fast/flux1-schnell-fp8/1/four/0/0/0/1024/1024", 400);
  Estimate("/api/v2/job/estimate/spark/fast/flux1-schnell-fp8/1/4/0/0/0/1e300/1024", 400);
  Estimate("/api/v2/job/estimate/spark/fast/flux1-schnell-fp8/1/4", 400);
  Estimate("/api/v2/job/estimate/dollars/fast/flux1-schnell-fp8/1/4/0/0/0/1024/1024", 400);
  Estimate("/api/v2/job/estimate/spark/fast/ace_step_1.5_turbo/1/4/0/0/0/1024/1024", 400);  // not an image model
  Estimate("/api/v1/job-audio/estimate/spark/ace_step_1.5_turbo/undefined/8/1", 400);
}

TEST_F(EstimatesTest, AProjectIsBilledWhatItsInputsWereQuoted) {
  double quoted = Project("/api/v2/job/estimate/spark/fast/flux1-schnell-fp8/2/3/0/0/0/896/1152", "costInToken");
  auto c = ConnectReady();
  const std::string id = ProjectId(40);
  c->Send("jobRequest", JobRequest(id, "flux1-schnell-fp8", 2, R"(,"steps":3,"sizePreset":"portrait_7_9")", "png"));
  RunToCompletion(*c, id);
  HttpResult v1 = client().Get("/v1/projects/" + id);
  ASSERT_EQ(v1.status, 200);
  const Value& project = *v1.json.Find("data")->Find("project");
  EXPECT_DOUBLE_EQ(Amount(*project.Find("costActual"), "costInToken"), quoted);
  EXPECT_DOUBLE_EQ(Amount(*project.Find("costEstimate")->Find("quote")->Find("project"), "costInToken"), quoted);
  EXPECT_EQ(project.Find("width")->as_int(), 896);  // the preset's size
}

}  // namespace
}  // namespace projects_test
}  // namespace sflow
