#include "api/project_quote.h"

#include <gtest/gtest.h>

#include "engine/json.h"

namespace sflow {
namespace {

Value QJson(const std::string& text) {
  Result<Value> v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << text;
  return v.ok() ? *v : Value();
}

std::string Path(const std::string& params, const std::string& token = "", const std::string& network = "",
                 const ModelTraits* m = nullptr) {
  Result<std::string> r = EstimatePathFor(QJson(params), token, network, m);
  return r.ok() ? *r : "error: " + r.status().message();
}

TEST(ProjectQuoteTest, ImageRoutes) {
  EXPECT_EQ(Path(R"({"type":"image","modelId":"flux1-schnell-fp8","steps":4,"numberOfMedia":2})"),
            "/api/v2/job/estimate/spark/fast/flux1-schnell-fp8/2/4/0/0/0/0/0");
  EXPECT_EQ(Path(R"({"type":"image","modelId":"z_image_turbo_bf16","steps":8,"startingImage":"a","startingImageStrength":0.75,
                    "width":768,"height":512,"sampler":"euler","guidance":3.5,"contextImages":["a","b"],
                    "outputFormat":"jpg","billingMode":"tokens","network":"relaxed"})", "sogni"),
            "/api/v3/job/estimate/sogni/relaxed/z_image_turbo_bf16/1/8/0/0/0.25/768/512/3.5/euler/2"
            "?outputFormat=jpg&billingMode=tokens");
  EXPECT_EQ(Path(R"({"type":"image","modelId":"flux1-schnell-fp8"})"),
            "error: the image estimate needs 'steps': give it in the project, or price it with the model's tier defaults");
  ModelTraits t;
  t.default_steps = 4;
  EXPECT_EQ(Path(R"({"type":"image","modelId":"flux1-schnell-fp8"})", "", "", &t),
            "/api/v2/job/estimate/spark/fast/flux1-schnell-fp8/1/4/0/0/0/0/0");
}

TEST(ProjectQuoteTest, SizePresetsFirst) {
  Value p = QJson(R"({"type":"image","modelId":"flux1-schnell-fp8","steps":4,"sizePreset":"square_hd"})");
  EXPECT_FALSE(EstimatePathFor(p, "", "").ok());
  EXPECT_EQ(*SizePresetPathFor(p, ""), "/api/v1/size-presets/network/fast/model/flux1-schnell-fp8");
  Result<Value> applied = ApplySizePreset(p, QJson(R"([{"id":"square","width":512,"height":512},
                                                      {"id":"square_hd","width":1024,"height":1024}])"));
  ASSERT_TRUE(applied.ok());
  EXPECT_EQ(*EstimatePathFor(*applied, "", ""), "/api/v2/job/estimate/spark/fast/flux1-schnell-fp8/1/4/0/0/0/1024/1024");
  EXPECT_EQ(ApplySizePreset(p, QJson("[]")).status().message(), "Invalid size preset");
  EXPECT_FALSE(ApplySizePreset(p, QJson(R"({"id":"square_hd"})")).ok());
  EXPECT_FALSE(ApplySizePreset(p, QJson(R"([{"id":"square_hd","width":"1024","height":1024}])")).ok());
  EXPECT_FALSE(ApplySizePreset(p, QJson(R"([{"id":"square_hd","width":1e300,"height":1024}])")).ok());
}

TEST(ProjectQuoteTest, VideoAndAudioRoutes) {
  EXPECT_EQ(Path(R"({"type":"video","modelId":"wan_v2.2-14b-fp8_t2v_lightx2v","width":832,"height":480,"duration":5,
                    "fps":16,"steps":4,"numberOfMedia":2,"referenceVideo":"v"})", "", "fast"),
            "/api/v1/job-video/estimate/spark/wan_v2.2-14b-fp8_t2v_lightx2v/832/480/81/16/4/2?hasVideoInput=1&network=fast");
  EXPECT_EQ(Path(R"({"type":"video","modelId":"ltx23-22b-fp8_t2v_distilled","width":1280,"height":720,"frames":97,
                    "numberOfMedia":3})"),
            "/api/v1/job-video/estimate/spark/ltx23-22b-fp8_t2v_distilled/1280/720/97/24/0/3");
  EXPECT_NE(Path(R"({"type":"video","modelId":"ltx23-22b-fp8_t2v_distilled"})").find("error: "), std::string::npos);
  EXPECT_EQ(Path(R"({"type":"audio","modelId":"ace_step_1.5_turbo","duration":30,"steps":8,"billingMode":"auto"})"),
            "/api/v1/job-audio/estimate/spark/ace_step_1.5_turbo/30/8/1?billingMode=auto");
  EXPECT_EQ(Path(R"({"type":"audio","modelId":"a b/c?","duration":30,"steps":8})"),
            "/api/v1/job-audio/estimate/spark/a%20b%2Fc%3F/30/8/1");
}

TEST(ProjectQuoteTest, ParsesEstimationResponse) {
  Result<ProjectQuote> q = ParseEstimate(
      QJson(R"({"quote":{"project":{"costInToken":"12.5","costInUSD":"0.0625","costInSpark":"12.5"}}})"), "spark");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->tokens, 12.5);
  EXPECT_EQ(q->usd, 0.0625);
  EXPECT_EQ(q->token_type, "spark");
  for (const char* bad : {"[]", "{}", R"({"quote":{"project":{}}})", R"({"quote":{"project":{"costInToken":"-1","costInUSD":"0"}}})",
                          R"({"quote":{"project":{"costInToken":"1e999","costInUSD":"0"}}})",
                          R"({"quote":{"project":{"costInToken":"12abc","costInUSD":"0"}}})",
                          R"({"quote":{"project":{"costInToken":[],"costInUSD":"0"}}})",
                          R"({"quote":{"project":{"costInToken":"0x10","costInUSD":"0"}}})",
                          R"({"quote":{"project":{"costInToken":" 1","costInUSD":"0"}}})",
                          R"({"quote":{"project":{"costInToken":"inf","costInUSD":"0"}}})",
                          R"({"quote":{"project":{"costInToken":"1.","costInUSD":"0"}}})"}) {
    Result<ProjectQuote> r = ParseEstimate(QJson(bad), "spark");
    EXPECT_FALSE(r.ok()) << bad;
    // A malformed answer from the service, as an unreadable one is (exit 4), not a failed run (1).
    EXPECT_EQ(r.status().code(), Status::Code::kUnavailable) << bad;
    EXPECT_EQ(r.status().message().rfind("malformed answer: ", 0), 0u) << r.status().message();
  }
  EXPECT_EQ(ApplySizePreset(QJson(R"({"sizePreset":"sq"})"), QJson("{}")).status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(ApplySizePreset(QJson(R"({"sizePreset":"sq"})"), QJson(R"([{"id":"sq","width":0,"height":1}])")).status().code(),
            Status::Code::kUnavailable);
  EXPECT_FALSE(EstimatePathFor(QJson("[]"), "", "").ok());
  EXPECT_FALSE(EstimatePathFor(QJson(R"({"type":"image"})"), "", "").ok());
}

}  // namespace
}  // namespace sflow
