// The hosted-tool -> direct-project mapping (api/tool_projects.h): each of the six tools with its
// defaults and the SDK's model routing, the media inputs from indexes and dependsOn, and the
// arguments a direct project cannot honour.
#include "api/tool_projects.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "api/tool_projects_models.h"
#include "engine/json.h"

namespace sflow {
namespace {

Value Args(const std::string& text) {
  Result<Value> v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << text;
  return v.ok() ? *v : Value::Object();
}

Dependency Dep(const std::string& source, const std::string& target, const std::string& transform, int64_t index = 0) {
  Dependency d;
  d.source_step_id = source;
  d.target_argument = target;
  d.transform = transform;
  d.source_artifact_index = index;
  return d;
}

// The mapping of a valid call; fails the test on an error.
ToolProject Map(const std::string& tool, const std::string& args, const std::vector<Dependency>& deps = {}) {
  ToolProjectResult r = MapToolProject(tool, Args(args), deps);
  for (const ToolProjectError& e : r.errors) ADD_FAILURE() << tool << " " << args << ": " << e.argument << ": " << e.message;
  return r.project;
}

// The first error of a call the mapping must refuse.
ToolProjectError Refused(const std::string& tool, const std::string& args, const std::vector<Dependency>& deps = {}) {
  ToolProjectResult r = MapToolProject(tool, Args(args), deps);
  EXPECT_FALSE(r.ok()) << tool << " " << args << " was mapped to " << r.project.params.ToJson();
  return r.ok() ? ToolProjectError{} : r.errors[0];
}

std::string Str(const ToolProject& p, const char* key) {
  const Value* v = p.params.Find(key);
  return v && v->is_string() ? v->as_string() : "(" + (v ? v->ToJson() : std::string("absent")) + ")";
}
double Num(const ToolProject& p, const char* key) {
  const Value* v = p.params.Find(key);
  return v && v->is_number() ? v->as_number() : -1;
}

TEST(ToolProjectsTest, TheSixToolsTheSdkDispatches) {
  EXPECT_EQ(DirectProjectToolList(), "generate_image, edit_image, generate_video, sound_to_video, video_to_video, generate_music");
  for (const char* t : {"upscale_image", "generate_speech", "stitch_video", "animate_photo", "analyze_image", ""})
    EXPECT_FALSE(HasDirectProject(t)) << t;
  ToolProjectError e = Refused("upscale_image", R"({"prompt":"x"})");
  EXPECT_NE(e.hint.find("generate_image, edit_image"), std::string::npos);
}

TEST(ToolProjectsTest, GenerateImageDefaultsAndOptions) {
  ToolProject p = Map("generate_image", R"({"prompt":"a kettle"})");
  EXPECT_EQ(p.params.ToJson(), R"({"type":"image","modelId":"z_image_turbo_bf16","positivePrompt":"a kettle","numberOfMedia":1})");
  EXPECT_TRUE(p.inputs.empty());
  p = Map("generate_image", R"({"prompt":"k","model":"ChatGPT Image","numberOfVariations":2.5,"width":768,"height":512,
        "seed":7,"gptImageQuality":"HIGH","gptImageBackground":"Transparent","outputFormat":"jpeg","negativePrompt":"blur",
        "guidance":3.5,"mask_image_url":"https://cdn.example.com/m.png","loras":["a"],"loraStrengths":[0.5]})");
  EXPECT_EQ(Str(p, "modelId"), "gpt-image-2");  // normalizeSelectorKey: "chatgpt-image"
  EXPECT_EQ(Num(p, "numberOfMedia"), 3);        // Math.round(2.5)
  EXPECT_EQ(Num(p, "width"), 768);
  EXPECT_EQ(Num(p, "height"), 512);
  EXPECT_FALSE(p.params.Find("sizePreset"));
  EXPECT_EQ(Num(p, "seed"), 7);
  EXPECT_EQ(Str(p, "gptImageQuality"), "high");
  EXPECT_EQ(Str(p, "gptImageBackground"), "transparent");
  EXPECT_EQ(Str(p, "outputFormat"), "jpg");
  EXPECT_EQ(Str(p, "negativePrompt"), "blur");
  EXPECT_EQ(Num(p, "guidance"), 3.5);
  EXPECT_EQ(Str(p, "gptImageMaskUrl"), "https://cdn.example.com/m.png");
  EXPECT_EQ(p.params.Find("loras")->ToJson(), R"(["a"])");
  EXPECT_EQ(Num(Map("generate_image", R"({"prompt":"k","numberOfVariations":40})"), "numberOfMedia"), 16);
  EXPECT_EQ(Str(Map("generate_image", R"({"prompt":"k","model":"qwen-2512"})"), "modelId"), "qwen_image_2512_fp8");
}

TEST(ToolProjectsTest, GenerateImageStartingImage) {
  ToolProject p = Map("generate_image", R"({"prompt":"k","sourceImageIndex":-2,"starting_image_strength":0.6})");
  ASSERT_EQ(p.inputs.size(), 1u);
  EXPECT_EQ(p.inputs[0].param, "startingImage");
  EXPECT_EQ(p.inputs[0].upload_index, 1);  // -2: the second image in media:
  EXPECT_EQ(p.inputs[0].kind, MediaKind::kImage);
  EXPECT_FALSE(p.inputs[0].url);
  EXPECT_EQ(p.params.Find("startingImage")->ToJson(), "true");
  EXPECT_EQ(Num(p, "startingImageStrength"), 0.6);
  p = Map("generate_image", R"({"prompt":"k","starting_image_strength":0.6})",
          {Dep("still", "sourceImageIndex", "image_index", 1)});
  ASSERT_EQ(p.inputs.size(), 1u);
  EXPECT_EQ(p.inputs[0].dependency, 0);
  EXPECT_EQ(p.inputs[0].upload_index, -1);
  EXPECT_EQ(Refused("generate_image", R"({"prompt":"k","sourceImageIndex":-1})").argument, "sourceImageIndex");
  EXPECT_EQ(Refused("generate_image", R"({"prompt":"k","starting_image_strength":0.5})").argument, "starting_image_strength");
  // A non-negative index names a result of the hosted conversation: a plan has none.
  ToolProjectError e = Refused("generate_image", R"({"prompt":"k","sourceImageIndex":0,"starting_image_strength":0.5})");
  EXPECT_EQ(e.argument, "sourceImageIndex");
  EXPECT_NE(e.hint.find("dependsOn"), std::string::npos);
  EXPECT_EQ(Refused("generate_image", R"({"prompt":"k","width":512})").argument, "width");
  EXPECT_EQ(Refused("generate_image", R"({"prompt":"k","aspectRatio":"16:9"})").argument, "aspectRatio");
  EXPECT_EQ(Refused("generate_image", R"({"prompt":"k","sourceImageIndex":-1.5,"starting_image_strength":0.5})").argument,
            "sourceImageIndex");
}

TEST(ToolProjectsTest, EditImage) {
  ToolProject p = Map("edit_image", R"({"prompt":"blue"})", {Dep("still", "sourceImageIndex", "image_index", 1)});
  EXPECT_EQ(Str(p, "modelId"), "qwen_image_edit_2511_fp8_lightning");
  EXPECT_EQ(p.params.Find("contextImages")->ToJson(), "[true]");
  ASSERT_EQ(p.inputs.size(), 1u);
  EXPECT_EQ(p.inputs[0].param, "contextImages");
  EXPECT_TRUE(p.inputs[0].list);
  EXPECT_EQ(p.inputs[0].position, 0);
  EXPECT_EQ(p.inputs[0].dependency, 0);
  // A dependency replaces a literal index, as on the server.
  p = Map("edit_image", R"({"prompt":"blue","sourceImageIndex":3,"model":"krea-identity-edit"})",
          {Dep("still", "sourceImageIndex", "image_index")});
  EXPECT_EQ(Str(p, "modelId"), "krea2_identity_edit_v1_2");
  EXPECT_EQ(p.inputs.size(), 1u);
  p = Map("edit_image", R"({"prompt":"blue","sourceImageIndex":-1,"model":"gpt-image-2.5"})");
  EXPECT_EQ(Str(p, "modelId"), "gpt-image-2.5-flare");
  EXPECT_EQ(p.inputs[0].upload_index, 0);
  EXPECT_EQ(Refused("edit_image", R"({"prompt":"blue"})").argument, "");
  EXPECT_EQ(Refused("edit_image", R"({"prompt":"b","sourceImageIndex":-1,"model":"z-turbo"})").argument, "model");
  EXPECT_EQ(Refused("edit_image", R"({"prompt":"b","sourceImageIndex":-1,"personaName":"Ann"})").argument, "personaName");
  // Two dependencies cannot fill one single-valued argument.
  ToolProjectError e = Refused("edit_image", R"({"prompt":"b"})",
                               {Dep("a", "sourceImageIndex", "image_index"), Dep("b", "sourceImageIndex", "image_index")});
  EXPECT_EQ(e.dependency, 1);
  // The wrong transform, and a dependency the project does not take, name their entry.
  EXPECT_EQ(Refused("edit_image", R"({"prompt":"b"})", {Dep("a", "sourceImageIndex", "image_url")}).dependency, 0);
  e = Refused("edit_image", R"({"prompt":"b","sourceImageIndex":-1})", {Dep("a", "personaName", "asset_ref")});
  EXPECT_EQ(e.dependency, 0);
  EXPECT_NE(e.message.find("personaName"), std::string::npos);
}

TEST(ToolProjectsTest, GenerateVideoRouting) {
  ToolProject p = Map("generate_video", R"({"prompt":"orbit"})");
  EXPECT_EQ(Str(p, "modelId"), tool_models::kT2v);
  EXPECT_EQ(Num(p, "width"), 1920);  // getVideoDefaults of an LTX 2 model
  EXPECT_EQ(Num(p, "height"), 1088);
  EXPECT_EQ(Num(p, "fps"), 24);
  EXPECT_FALSE(p.params.Find("duration"));
  p = Map("generate_video", R"({"prompt":"o"})", {Dep("still", "referenceImageIndices", "image_index")});
  EXPECT_EQ(Str(p, "modelId"), tool_models::kI2v);
  ASSERT_EQ(p.inputs.size(), 1u);
  EXPECT_EQ(p.inputs[0].param, "referenceImage");
  p = Map("generate_video", R"({"prompt":"o","videoModel":"wan22","duration":5,"width":640,"negativePrompt":"blur"})",
          {Dep("still", "referenceImageIndices", "image_index")});
  EXPECT_EQ(Str(p, "modelId"), "wan_v2.2-14b-fp8_i2v_lightx2v");
  EXPECT_EQ(Num(p, "width"), 640);
  EXPECT_EQ(Num(p, "height"), 480);
  EXPECT_EQ(Num(p, "fps"), 16);
  EXPECT_EQ(Num(p, "duration"), 5);
  EXPECT_EQ(Str(p, "negativePrompt"), "blur");
  // MiniMax H3 takes frames on its 24 fps grid, never a duration.
  p = Map("generate_video", R"({"prompt":"o","videoModel":"minimax-h3-t2v","duration":6})");
  EXPECT_EQ(Str(p, "modelId"), "minimax-h3-fl2va-fp8_t2v");
  EXPECT_FALSE(p.params.Find("duration"));
  EXPECT_GT(Num(p, "frames"), 0);
  EXPECT_EQ(Refused("generate_video", R"({"prompt":"o","videoModel":"minimax-h3-r2v"})").argument, "videoModel");
  EXPECT_EQ(Refused("generate_video", R"({"prompt":"o","videoModel":"minimax-h3-t2v"})",
                    {Dep("s", "referenceImageIndices", "image_index")}).argument, "videoModel");
  EXPECT_EQ(Refused("generate_video", R"({"prompt":"o","videoModel":"minimax-h3-t2v","negativePrompt":"x"})").argument,
            "negativePrompt");
  EXPECT_EQ(Refused("generate_video", R"({"prompt":"o","referenceImageIndices":[-1,-2]})").argument, "referenceImageIndices");
  EXPECT_EQ(Refused("generate_video", R"({"prompt":"o","referenceVideoIndices":[-1]})").argument, "referenceVideoIndices");
  EXPECT_EQ(Refused("generate_video", R"({"prompt":"o","targetResolution":720})").argument, "targetResolution");
  EXPECT_EQ(Refused("generate_video", R"({"prompt":"o","expandPrompt":true})").argument, "expandPrompt");
  EXPECT_EQ(Refused("generate_video", R"({"prompt":"o","voicePersonaName":"x"})").argument, "voicePersonaName");
  Map("generate_video", R"({"prompt":"o","expandPrompt":false,"skipPromptProcessing":true})");
}

TEST(ToolProjectsTest, GenerateVideoExternalModelsTakeStepResultsByUrl) {
  ToolProject p = Map("generate_video", R"({"prompt":"o","videoModel":"seedance2","referenceImageIndices":[-1],
                        "referenceAudioIndices":[-1],"ratio":"16:9","generateAudio":true})",
                      {Dep("a", "referenceImageIndices", "image_index"), Dep("b", "referenceImageIndices", "image_index")});
  EXPECT_EQ(Str(p, "modelId"), "seedance-2-0");
  EXPECT_EQ(p.params.Find("referenceImage")->ToJson(), "true");
  EXPECT_EQ(p.params.Find("referenceImageUrls")->ToJson(), R"(["",""])");
  EXPECT_EQ(p.params.Find("referenceAudio")->ToJson(), "true");
  EXPECT_EQ(Str(p, "ratio"), "16:9");
  EXPECT_EQ(p.params.Find("generateAudio")->ToJson(), "true");
  ASSERT_EQ(p.inputs.size(), 4u);
  EXPECT_TRUE(p.inputs[1].url);
  EXPECT_EQ(p.inputs[2].position, 1);
  EXPECT_EQ(p.inputs[2].dependency, 1);
  EXPECT_EQ(Refused("generate_video", R"({"prompt":"o","videoModel":"seedance2","referenceImageIndices":[-1,-2]})").argument,
            "referenceImageIndices");
  EXPECT_EQ(Refused("generate_video", R"({"prompt":"o","videoModel":"seedance2","negativePrompt":"x"})").argument,
            "negativePrompt");
}

TEST(ToolProjectsTest, SoundToVideo) {
  ToolProject p = Map("sound_to_video", R"({"prompt":"dance","audioSourceIndex":0})");
  EXPECT_EQ(Str(p, "modelId"), tool_models::kA2v);
  EXPECT_EQ(Num(p, "duration"), 5);
  EXPECT_EQ(Num(p, "audioDuration"), 5);
  ASSERT_EQ(p.inputs.size(), 1u);
  EXPECT_EQ(p.inputs[0].param, "referenceAudio");
  EXPECT_EQ(p.inputs[0].upload_index, 0);  // 0-based uploads, as the schema says
  p = Map("sound_to_video", R"({"prompt":"d","sourceImageIndex":1,"duration":8,"audioStart":2})",
          {Dep("song", "audioSourceIndex", "audio_index")});
  EXPECT_EQ(Str(p, "modelId"), tool_models::kIa2v);
  EXPECT_EQ(Num(p, "duration"), 8);
  EXPECT_EQ(Num(p, "audioStart"), 2);
  ASSERT_EQ(p.inputs.size(), 2u);
  EXPECT_EQ(p.inputs[0].dependency, 0);
  EXPECT_EQ(p.inputs[1].param, "referenceImage");
  EXPECT_EQ(p.inputs[1].upload_index, 1);
  p = Map("sound_to_video", R"({"prompt":"d","audioSourceIndex":-1,"sourceImageIndex":-1,"endImageIndex":-2,"duration":10})");
  EXPECT_EQ(Str(p, "modelId"), tool_models::kMinimaxH3FastH3TurboFlfa2v);
  EXPECT_EQ(Num(p, "frames"), 243);  // ceil(240 frames) on the 124 + 17n grid
  EXPECT_EQ(Num(p, "fps"), 24);
  EXPECT_FALSE(p.params.Find("duration"));
  EXPECT_EQ(Refused("sound_to_video", R"({"prompt":"d"})").argument, "");
  // A refused index is said once, and nothing reads the input it did not give.
  EXPECT_EQ(MapToolProject("sound_to_video", Args(R"({"prompt":"d","audioSourceIndex":"x"})"), {}).errors.size(), 1u);
  EXPECT_EQ(MapToolProject("edit_image", Args(R"({"prompt":"d","sourceImageIndex":2})"), {}).errors.size(), 1u);
  EXPECT_EQ(Refused("sound_to_video", R"({"prompt":"d","audioSourceIndex":0,"endImageIndex":-1})").argument, "endImageIndex");
  EXPECT_EQ(Refused("sound_to_video", R"({"prompt":"d","audioSourceIndex":0,"videoModel":"minimax-h3-fasth3-ia2v-turbo"})")
                .argument, "videoModel");
  EXPECT_EQ(Refused("sound_to_video", R"({"prompt":"d","audioSourceIndex":0,"sourceImageIndex":0,
                      "videoModel":"minimax-h3-fasth3-ia2v-turbo","generateAudio":false})").argument, "generateAudio");
  // A text-to-video model cannot take the audio: the SDK would run another; a plan says so.
  EXPECT_EQ(Refused("sound_to_video", R"({"prompt":"d","audioSourceIndex":0,"videoModel":"ltx23-ia2v"})").argument,
            "videoModel");
}

TEST(ToolProjectsTest, VideoToVideo) {
  ToolProject p = Map("video_to_video", R"({"prompt":"watercolor","controlMode":"canny"})",
                      {Dep("clip", "videoSourceIndex", "video_index")});
  EXPECT_EQ(Str(p, "modelId"), tool_models::kV2v);
  EXPECT_EQ(p.params.Find("controlNet")->ToJson(), R"({"name":"canny","strength":0.85})");
  EXPECT_EQ(Num(p, "duration"), 5);
  EXPECT_EQ(p.inputs[0].param, "referenceVideo");
  EXPECT_EQ(Map("video_to_video", R"({"prompt":"w","controlMode":"detailer","videoSourceIndex":0})")
                .params.Find("controlNet")->ToJson(), R"({"name":"detailer","strength":1})");
  p = Map("video_to_video", R"({"prompt":"w","videoSourceIndex":-1,"sourceImageIndex":-1,"videoModel":"wan22-animate"})");
  EXPECT_EQ(Str(p, "modelId"), tool_models::kAnimateMove);  // controlMode defaults to animate-move
  EXPECT_FALSE(p.params.Find("controlNet"));
  EXPECT_EQ(Num(p, "width"), 832);
  EXPECT_EQ(Num(p, "fps"), 16);
  p = Map("video_to_video", R"({"prompt":"w","videoSourceIndex":0,"controlMode":"inpaint","maskImageIndex":0})");
  EXPECT_EQ(p.inputs[1].param, "referenceMask");
  p = Map("video_to_video", R"({"prompt":"w","videoSourceIndex":0,"controlMode":"seedance-v2v","videoModel":"seedance2"})");
  EXPECT_EQ(Str(p, "modelId"), "seedance-2-0");
  EXPECT_FALSE(p.params.Find("controlNet"));  // an external-API model
  EXPECT_EQ(Refused("video_to_video", R"({"prompt":"w"})").argument, "");
  EXPECT_EQ(MapToolProject("video_to_video", Args(R"({"prompt":"w","videoSourceIndex":[]})"), {}).errors.size(), 0u + 1u);
  EXPECT_EQ(Refused("video_to_video", R"({"prompt":"w","videoSourceIndex":0})").argument, "");  // animate-move needs an image
  EXPECT_EQ(Refused("video_to_video", R"({"prompt":"w","videoSourceIndex":0,"controlMode":"canny","videoModel":"wan22-animate"})")
                .argument, "videoModel");
  EXPECT_EQ(Refused("video_to_video", R"({"prompt":"w","videoSourceIndex":0,"controlMode":"canny","videoModel":"seedance2-mini"})")
                .argument, "videoModel");
  EXPECT_EQ(Refused("video_to_video", R"({"prompt":"w","videoSourceIndex":0,"controlMode":"canny","maskImageIndex":0})")
                .argument, "maskImageIndex");
  EXPECT_EQ(Refused("video_to_video", R"({"prompt":"w","videoSourceIndex":0,"controlMode":"canny","outpaintAspectRatio":"1:1"})")
                .argument, "outpaintAspectRatio");
}

TEST(ToolProjectsTest, GenerateMusic) {
  ToolProject p = Map("generate_music", R"({"prompt":"marimba"})");
  EXPECT_EQ(p.params.ToJson(), R"({"type":"audio","modelId":"ace_step_1.5_xl_turbo","positivePrompt":"marimba","numberOfMedia":1})");
  p = Map("generate_music", R"({"prompt":"m","model":"music3","duration":30,"bpm":90,"keyscale":"A minor","lyrics":"la",
        "timesig":3,"numberOfVariations":2})");
  EXPECT_EQ(Str(p, "modelId"), "minimax_music3");
  EXPECT_EQ(Num(p, "duration"), 30);
  EXPECT_EQ(Num(p, "bpm"), 90);
  EXPECT_EQ(Str(p, "keyscale"), "A minor");
  EXPECT_EQ(Str(p, "lyrics"), "la");
  EXPECT_EQ(Str(p, "timesignature"), "3");
  EXPECT_EQ(Num(p, "numberOfMedia"), 2);
  EXPECT_EQ(Str(Map("generate_music", R"({"prompt":"m","model":"sft"})"), "modelId"), "ace_step_1.5_xl_sft");
  EXPECT_EQ(Refused("generate_music", R"({"prompt":"m","model":"loud"})").argument, "model");
  EXPECT_EQ(Refused("generate_music", R"({"prompt":"m"})", {Dep("a", "lyrics", "artifact_url")}).dependency, 0);
}

TEST(ToolProjectsTest, ValidateNamesToolsWithNoDirectProject) {
  Plan plan;
  plan.execution = Execution::kLocal;
  Step up;
  up.id = "big";
  up.tool_name = "upscale_image";
  up.tool_loc = SourceLoc{7, 15};
  Step img;
  img.id = "still";
  img.tool_name = "generate_image";
  img.tool_loc = SourceLoc{3, 15};
  plan.steps = {img, up};
  ToolInfo upscale, generate;
  upscale.name = "upscale_image";
  generate.name = "generate_image";
  upscale.workflow_step = generate.workflow_step = true;
  PlanAnalysis analysis;
  analysis.steps.resize(2);
  analysis.steps[0].tool = &generate;
  analysis.steps[0].arguments = Args(R"({"prompt":"k","aspectRatio":"1:1"})");
  analysis.steps[1].tool = &upscale;
  DiagnosticList diags("plan.yaml");
  CheckLocalToolSteps(plan, analysis, &diags);
  std::vector<Diagnostic> d = diags.Sorted();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].code, "execution");
  EXPECT_NE(d[0].message.find("aspectRatio"), std::string::npos);
  EXPECT_EQ(d[1].loc.line, 7);
  EXPECT_EQ(d[1].loc.column, 15);
  EXPECT_NE(d[1].message.find("'upscale_image' has no direct-project equivalent"), std::string::npos);
  EXPECT_NE(d[1].hint.find(DirectProjectToolList()), std::string::npos);
  // A server plan runs hosted tools as they are.
  plan.execution = Execution::kServer;
  DiagnosticList server("plan.yaml");
  CheckLocalToolSteps(plan, analysis, &server);
  EXPECT_TRUE(server.empty());
}

}  // namespace
}  // namespace sflow
