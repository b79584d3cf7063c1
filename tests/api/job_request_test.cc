// The jobRequest builder: the SDK's figures for each family (the field-by-field equality with the
// SDK itself is tests/conformance/job_request.test.mjs), and hostile params.
#include "api/job_request.h"

#include <gtest/gtest.h>

#include <string>

#include "api/model_families.h"
#include "engine/json.h"

namespace sflow {
namespace {

constexpr const char* kId = "11111111-2222-4333-8444-555555555555";

Value RJson(const std::string& text) {
  Result<Value> v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << text;
  return v.ok() ? *v : Value();
}

Result<Value> Build(const std::string& params, const MediaContentTypes& types = {}) {
  Value p = RJson(params);
  const Value* model = p.Find("modelId");
  return BuildJobRequest(kId, p, TraitsForModel(model && model->is_string() ? model->as_string() : ""), types);
}

const Value& Frame(const Value& request) { return request.Find("keyFrames")->items()[0]; }

std::string Error(const std::string& params) {
  Result<Value> r = Build(params);
  EXPECT_FALSE(r.ok()) << params;
  return r.ok() ? "" : r.status().message();
}

TEST(JobRequestTest, ImageDefaultsAndUndefinedFieldsLeftOut) {
  Result<Value> r = Build(R"({"type":"image","modelId":"flux1-schnell-fp8","positivePrompt":"a kite"})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->Find("jobID")->as_string(), kId);
  EXPECT_EQ(r->Find("outputFormat")->as_string(), "png");
  EXPECT_EQ(r->Find("numberOfImages")->as_int(), 1);
  EXPECT_EQ(r->Find("previews")->as_int(), 0);
  EXPECT_EQ(r->Find("tokenType"), nullptr);
  const Value& f = Frame(*r);
  EXPECT_EQ(f.Find("steps"), nullptr) << "steps: undefined is dropped, not the template's 20";
  EXPECT_EQ(f.Find("guidanceScale"), nullptr);
  EXPECT_EQ(f.Find("seed"), nullptr);
  EXPECT_EQ(f.Find("sizePreset"), nullptr);
  EXPECT_EQ(f.Find("negativePrompt")->as_string(), "");
  EXPECT_TRUE(f.Find("scheduler")->is_null());
  EXPECT_FALSE(f.Find("hasContextImage16")->as_bool());
}

TEST(JobRequestTest, StartingImageStrengthAndCustomSize) {
  Result<Value> r = Build(R"({"type":"image","modelId":"z_image_turbo_bf16","startingImage":"logo",
                              "startingImageStrength":0.65,"width":1024,"height":2560})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Value& f = Frame(*r);
  EXPECT_TRUE(f.Find("hasStartingImage")->as_bool());
  EXPECT_DOUBLE_EQ(f.Find("strength")->as_number(), 1 - 0.65);
  EXPECT_EQ(f.Find("sizePreset")->as_string(), "custom");
  EXPECT_EQ(f.Find("height")->as_number(), 2560) << "z_image models go to 2560";
  EXPECT_TRUE(f.Find("comfySampler")->is_null());
  EXPECT_EQ(Error(R"({"type":"image","modelId":"flux1-schnell-fp8","width":1024,"height":2560})"),
            "Height must be less or equal 2048, got 2560");
}

TEST(JobRequestTest, VideoFramesPerFamily) {
  auto frames = [](const std::string& model, const std::string& extra) {
    Result<Value> r = Build(R"({"type":"video","modelId":")" + model + R"(")" + extra + "}");
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? Frame(*r).Find("frames")->as_number() : -1;
  };
  EXPECT_EQ(frames("wan_v2.2-14b-fp8_t2v_lightx2v", R"(,"duration":5,"fps":32)"), 81) << "WAN: 16 fps + 1";
  EXPECT_EQ(frames("ltx23-22b-fp8_t2v_distilled", R"(,"duration":5,"fps":25)"), 129) << "LTX: snapped to 1 + 8n";
  EXPECT_EQ(frames("minimax-h3-fl2va-fp8_t2v", R"(,"duration":6)"), 141) << "H3: 124 + 17n";
  EXPECT_EQ(Error(R"({"type":"video","modelId":"minimax-h3-fl2va-fp8_t2v","duration":5})"),
            "Video duration must greater or equal 5.166666666666667, got 5");
  EXPECT_EQ(CalculateVideoFrames("minimax-h3-fl2va-fp8_t2v", 15, 24), 362);
  EXPECT_EQ(Error(R"({"type":"video","modelId":"wan_v2.2-14b-fp8_t2v_lightx2v","duration":11})"),
            "Video duration must be less or equal 10, got 11");
}

TEST(JobRequestTest, VideoAssetsFollowTheWorkflowTable) {
  EXPECT_EQ(Error(R"({"type":"video","modelId":"wan_v2.2-14b-fp8_i2v_lightx2v"})"),
            "i2v workflow requires at least one of referenceImage or referenceImageEnd. Please provide this asset.");
  EXPECT_EQ(Error(R"({"type":"video","modelId":"wan_v2.2-14b-fp8_t2v_lightx2v","referenceAudio":"tone"})"),
            "t2v workflow does not support referenceAudio. Please remove this asset.");
  EXPECT_EQ(Error(R"({"type":"video","modelId":"wan_v2.2-14b-fp8_s2v_lightx2v","referenceImage":"a"})"),
            "s2v workflow requires referenceAudio. Please provide this asset.");
  EXPECT_EQ(Error(R"({"type":"video","modelId":"ltx23-22b-fp8_t2v_distilled","contextImages":["a"]})"),
            "contextImages is supported only by the MiniMax H3 r2v workflow (minimax-h3-ref2va-fp8_r2v).");
  // A present media value is anything truthy: false and null are absent.
  EXPECT_TRUE(Build(R"({"type":"video","modelId":"wan_v2.2-14b-fp8_t2v_lightx2v","referenceAudio":false})").ok());
  EXPECT_TRUE(Build(R"({"type":"video","modelId":"wan_v2.2-14b-fp8_t2v_lightx2v","referenceAudio":null})").ok());
}

TEST(JobRequestTest, MinimaxR2vSlotsUploadsAndContentTypes) {
  std::string p = R"({"type":"video","modelId":"minimax-h3-ref2va-fp8_r2v","referenceImage":"a","contextImages":["b","c"],
                      "referenceVideo":"v","referenceAudios":["x","y"],"negativePrompt":"no"})";
  EXPECT_EQ(Error(p), "MiniMax H3 has no negative-prompt input. Put requested exclusions in positivePrompt.");
  p = R"({"type":"video","modelId":"minimax-h3-ref2va-fp8_r2v","referenceImage":"a","contextImages":["b","c"],
          "referenceVideo":"v","referenceAudios":["x","y"]})";
  Result<Value> r = Build(p, {{"referenceAudios[1]", "audio/wav"}, {"referenceVideo", "video/mp4"}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Value& f = Frame(*r);
  EXPECT_TRUE(f.Find("hasContextImage2")->as_bool()) << "contextImages start after referenceImage";
  EXPECT_TRUE(f.Find("hasContextImage3")->as_bool());
  EXPECT_EQ(f.Find("hasContextImage1"), nullptr);
  EXPECT_TRUE(f.Find("hasReferenceAudio2")->as_bool());
  EXPECT_EQ(f.Find("referenceAudio2ContentType")->as_string(), "audio/wav");
  EXPECT_EQ(f.Find("referenceVideo1ContentType")->as_string(), "video/mp4");
  EXPECT_EQ(f.Find("fps")->as_int(), 24);
  std::vector<ProjectUpload> up = UploadsFor(RJson(p));
  std::vector<std::string> got;
  for (const ProjectUpload& u : up) got.push_back(u.route + " " + u.type + " " + u.id + " " + u.key());
  EXPECT_EQ(got, (std::vector<std::string>{
                     "/v1/image/uploadUrl referenceImage  referenceImage",
                     "/v1/image/uploadUrl contextImage2  contextImages[0]",
                     "/v1/image/uploadUrl contextImage3  contextImages[1]",
                     "/v1/media/uploadUrl referenceAudio referenceAudio1 referenceAudios[0]",
                     "/v1/media/uploadUrl referenceAudio referenceAudio2 referenceAudios[1]",
                     "/v1/media/uploadUrl referenceVideo referenceVideo1 referenceVideo"}));
}

TEST(JobRequestTest, AudioAndModelTypeChecks) {
  Result<Value> r = Build(R"({"type":"audio","modelId":"ace_step_1.5_turbo","negativePrompt":"x","duration":30})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Frame(*r).Find("negativePrompt"), nullptr);
  EXPECT_EQ(r->Find("outputFormat")->as_string(), "mp3");
  EXPECT_EQ(Error(R"({"type":"video","modelId":"flux1-schnell-fp8"})"),
            "Invalid model type. Model does not support video generation. Please use a different model.");
  EXPECT_EQ(Error(R"({"type":"3d","modelId":"x"})"), "Invalid project type. Must be \"image\", \"video\", or \"audio\".");
}

TEST(JobRequestTest, SamplerListsAreHonouredWhenKnown) {
  Value models = RJson(R"([{"id":"z","tier":"t"}])");
  Value tiers = RJson(R"({"t":{"type":"image","comfySampler":{"allowed":["Euler","res_multistep"]},
                              "steps":{"min":1,"max":20,"default":8}}})");
  Result<ModelTraits> t = TraitsFromModels("z", models, tiers);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->samplers, (std::vector<std::string>{"euler", "res_multistep"}));
  EXPECT_EQ(t->default_steps, 8);
  Value p = RJson(R"({"type":"image","modelId":"z_image_turbo_bf16","sampler":"heun"})");
  Result<Value> r = BuildJobRequest(kId, p, *t);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "Invalid sampler heun. Must be one of \"euler\", \"res_multistep\".");
  EXPECT_EQ(TraitsFromModels("nope", models, tiers).status().message(), "Model nope not supported");
  EXPECT_FALSE(TraitsFromModels("z", RJson("{}"), RJson("[]")).ok());
  EXPECT_FALSE(TraitsFromModels("z", models, RJson(R"({"t":7})")).ok());
}

TEST(JobRequestTest, HostileParamsAreRefusedNotCrashed) {
  for (const char* bad : {
           R"([])", R"("image")", R"({})", R"({"type":"image"})", R"({"type":"image","modelId":""})",
           R"({"type":"image","modelId":7})", R"({"type":"image","modelId":"m","steps":"20"})",
           R"({"type":"image","modelId":"m","steps":null})", R"({"type":"image","modelId":"m","bogus":1})",
           R"({"type":"image","modelId":"m","contextImages":"a"})",
           R"({"type":"image","modelId":"m","width":1e308,"height":1e308})",
           R"({"type":"image","modelId":"m","controlNet":{"name":"canny","strength":2}})",
           R"({"type":"image","modelId":"m","controlNet":{"name":"canny","mode":"loud"}})",
           R"({"type":"image","modelId":"m","contextImages":["a","b","c","d"]})",
           R"({"type":"image","modelId":"sam3_image_segment_bf16","startingImage":"a","sam3Prompt":{"points":[[[[[]]]]]}})",
           R"({"type":"image","modelId":"sam3_image_segment_bf16","startingImage":"a","sam3Prompt":{"text":"   "}})",
           R"({"type":"video","modelId":"wan_v2.2-14b-fp8_t2v_lightx2v","duration":-1e308})",
           R"({"type":"video","modelId":"wan_v2.2-14b-fp8_t2v_lightx2v","width":100,"height":100})",
           R"({"type":"video","modelId":"minimax-h3-fl2va-fp8_t2v","frames":1e300})",
           R"({"type":"video","modelId":"minimax-h3-fl2va-fp8_t2v","width":1e300,"height":32})",
           R"({"type":"video","modelId":"flashvsr_v1.1_tiny_long_bf16","referenceVideo":"v","upscaleResolution":"x"})",
           R"({"type":"video","modelId":"seedance-2-5","referenceAudio":"a"})",
           R"({"type":"video","modelId":"wan3.0-video","referenceFileUrl":"http://x"})",
           R"({"type":"video","modelId":"minimax-h3-ref2va-fp8_r2v","referenceImage":"a","referenceVideoDurations":[99]})",
       }) {
    Value v = RJson(bad);
    const Value* model = v.is_object() ? v.Find("modelId") : nullptr;
    Result<Value> r = BuildJobRequest(kId, v, TraitsForModel(model && model->is_string() ? model->as_string() : ""));
    EXPECT_FALSE(r.ok()) << bad;
    (void)UploadsFor(v);  // never throws or crashes on what the builder refuses
  }
}

TEST(JobRequestTest, DeeplyNestedJunkInAPassThroughParam) {
  std::string deep = "1";
  for (int i = 0; i < 40; ++i) deep = "[" + deep + "]";
  Result<Value> r = Build(R"({"type":"video","modelId":"wan_v2.2-14b-fp8_animate-replace_lightx2v","referenceImage":"a",
                              "referenceVideo":"v","sam2Coordinates":)" + deep + "}");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Frame(*r).Find("sam2Coordinates")->as_string(), deep) << "JSON.stringify of the value, as the SDK sends it";
}

TEST(ModelFamiliesTest, PredicatesFollowTheSdkLists) {
  EXPECT_TRUE(IsLtx2Model("ltx2-19b-fp8_ia2v"));
  EXPECT_FALSE(IsLtx2Model("ltx2-19b-fp8_ia2v_dev"));
  EXPECT_TRUE(IsMinimaxH3TurboModel("minimax-h3-fastvideo-int8_t2v_turbo_2stage_720p"));
  EXPECT_FALSE(IsMinimaxH3Model("minimax-h3-fastvideo-int8_t2v_turbo_2stage_720p"));
  EXPECT_EQ(VideoWorkflowType("minimax-h3-fastvideo-int8_flfa2v_turbo"), "flfa2v");
  EXPECT_EQ(VideoWorkflowType("minimax-h3-ref2va-fp8_r2v_balanced_2stage"), "r2v");
  EXPECT_EQ(VideoWorkflowType("ltx23-22b-fp8_ia2v_distilled"), "ia2v");
  EXPECT_EQ(VideoWorkflowType("flux1-schnell-fp8"), "");
  EXPECT_EQ(JsRound(-2.5), -2);
  EXPECT_EQ(JsRound(2.5), 3);
}

}  // namespace
}  // namespace sflow
