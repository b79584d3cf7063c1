// Validation against the real catalog (the pinned protocol package) for argument rules, and
// against a two-tool fake for the graph logic, to show the engine needs nothing but the seam.
#include "engine/validate.h"

#include <gtest/gtest.h>

#include "plans/plan_loader.h"
#include "schemas/protocol_catalog.h"
#include "tests/support/test_util.h"

namespace sflow {
namespace {

class FakeCatalog : public ToolCatalog {
 public:
  FakeCatalog() {
    ToolInfo img;
    img.name = "make_image";
    img.workflow_step = true;
    img.outputs = {MediaKind::kImage};
    img.counts_variations = true;
    img.arguments = {{"prompt", {"string"}, "", true},
                     {"sourceImageIndex", {"number"}, "", false, /*media_input=*/true, MediaKind::kImage},
                     {"numberOfVariations", {"number"}, "", false}};
    ToolInfo snd;
    snd.name = "make_sound";
    snd.workflow_step = true;
    snd.outputs = {MediaKind::kAudio};
    snd.arguments = {{"prompt", {"string"}, "", true}};
    tools_ = {img, snd};
  }
  const ToolInfo* Find(std::string_view name) const override {
    for (const ToolInfo& t : tools_)
      if (t.name == name) return &t;
    return nullptr;
  }
  std::vector<std::string> Names() const override { return {"make_image", "make_sound"}; }
  std::vector<ArgumentProblem> CheckArguments(const ToolInfo&, const Value& args) const override {
    ++checks;
    if (args.Find("prompt")) return {};
    return {ArgumentProblem{{"prompt"}, "", "", "required", ""}};
  }
  std::string Source() const override { return "fake"; }
  mutable int checks = 0;

 private:
  std::vector<ToolInfo> tools_;
};

const ToolCatalog& Real() {
  static std::unique_ptr<ProtocolCatalog> c = std::move(ProtocolCatalog::Load()).value();
  return *c;
}

std::string Check(const std::string& yaml, const ToolCatalog& catalog = Real(),
                  const std::vector<std::string>& assignments = {}, const std::string& dir = ".") {
  DiagnosticList diags("p.yaml");
  Result<Plan> plan = LoadPlanFromText(dir + "/p.yaml", yaml, &diags);
  if (!plan.ok()) return "load failed:\n" + FormatAll(diags);
  ParamSources src;
  src.assignments = assignments;
  ValidatePlan(&plan.value(), catalog, src, ValidateOptions(), &diags);
  return FormatAll(diags);
}

TEST(ValidateTest, AValidServerPlanHasNoDiagnostics) {
  EXPECT_EQ(Check(R"(version: 1
name: ok
params:
  seconds: {type: integer, default: 5, minimum: 2, maximum: 20}
steps:
  - id: keyframe
    toolName: generate_image
    arguments: {prompt: a lamp, numberOfVariations: 2}
  - id: clip
    toolName: generate_video
    arguments: {prompt: orbit, duration: "${params.seconds}"}
    dependsOn:
      - {sourceStepId: keyframe, sourceArtifactIndex: 1, targetArgument: referenceImageIndices,
         mediaType: image, transform: image_index}
)"),
            "");
}

TEST(ValidateTest, ArgumentsAreCheckedAgainstTheOfficialSchema) {
  EXPECT_EQ(Check(R"(version: 1
name: x
steps:
  - id: a
    toolName: generate_image
    arguments: {prompt: p, numberOfVariations: 17, model: z-trubo}
  - id: b
    toolName: generate_video
    arguments: {duration: 5, outputFormat: avi}
)"),
            "6:48: error: step 'a': argument 'numberOfVariations' must be at most 16 (got 17)\n"
            "  hint: rule 'maximum' of schemas/tools/generate_image.schema.json in @sogni-ai/sogni-protocol "
            "1.0.0-alpha.45 (protocol 7.4.0)\n"
            "6:59: error: step 'a': argument 'model' must be one of 'gpt-image-2', 'gpt-image-2.5-sunburst', "
            "'gpt-image-2.5-flare', 'z-turbo', 'z-image', 'krea-2-turbo', 'dark-beast-krea2', 'dark-beast-z-turbo' "
            "and 19 more (got \"z-trubo\")\n"
            "  hint: did you mean 'z-turbo'?\n"
            "9:16: error: step 'b': generate_video needs argument 'prompt'\n"
            "  hint: rule 'required' of schemas/tools/generate_video.schema.json in @sogni-ai/sogni-protocol "
            "1.0.0-alpha.45 (protocol 7.4.0)\n"
            "9:44: error: step 'b': argument 'outputFormat' must be one of 'mp4', 'mov' (got \"avi\")\n"
            "  hint: rule 'enum' of schemas/tools/generate_video.schema.json in @sogni-ai/sogni-protocol "
            "1.0.0-alpha.45 (protocol 7.4.0)\n");
}

TEST(ValidateTest, ArgumentsFilledByDependenciesOrLaterParamsAreNotRequiredYet) {
  EXPECT_EQ(Check(R"(version: 1
name: x
params:
  text: {type: string}
steps:
  - id: a
    toolName: generate_music
    arguments: {prompt: "${params.text}"}
  - id: b
    toolName: stitch_video
    arguments: {}
    dependsOn:
      - {sourceStepId: a, targetArgument: videoIndices, transform: video_index}
)"),
            "4:3: error: param 'text' has no value\n  hint: give it a default, or pass -p text=VALUE\n"
            "8:25: error: step 'a': argument 'prompt' refers to a param with no value\n"
            "13:68: error: step 'a' (generate_music) produces audio, but transform 'video_index' needs a video in step 'b'\n");
}

// One resolution path for every command: a param with no value is an error in validate too (it
// used to pass validate, print "${params.text}" under run --dry-run and be sent by run).
TEST(ValidateTest, EveryParamNeedsAValue) {
  EXPECT_EQ(Check(R"(version: 1
name: x
params:
  text: {type: string}
steps:
  - id: a
    toolName: generate_image
    arguments: {prompt: "${params.text}"}
)",
                  Real(), {}),
            "4:3: error: param 'text' has no value\n  hint: give it a default, or pass -p text=VALUE\n"
            "8:25: error: step 'a': argument 'prompt' refers to a param with no value\n");
}

TEST(ValidateTest, ServerPlansRunInOrderAndAtMostTwelveSteps) {
  std::string yaml = "version: 1\nname: x\nsteps:\n";
  for (int i = 0; i < 13; ++i)
    yaml += "  - {id: s" + std::to_string(i) + ", toolName: generate_image, arguments: {prompt: p}" +
            (i == 0 ? ", dependsOn: [{sourceStepId: s1, targetArgument: sourceImageIndex, transform: image_index}]" : "") +
            "}\n";
  EXPECT_EQ(Check(yaml, Real()),
            "4:3: error: server execution runs at most 12 steps; this plan has 13\n"
            "  hint: use 'execution: local', or split the plan\n"
            "4:91: error: step 's0' depends on 's1' (line 5), which comes later; server execution runs steps in order\n"
            "  hint: move 's1' before 's0', or use 'execution: local'\n");
}

// The limit itself: twelve server steps are fine, thirteen are not.
TEST(ValidateTest, TwelveServerStepsAreAllowed) {
  auto plan = [](int steps) {
    std::string yaml = "version: 1\nname: x\nsteps:\n";
    for (int i = 0; i < steps; ++i)
      yaml += "  - {id: s" + std::to_string(i) + ", toolName: generate_image, arguments: {prompt: p}}\n";
    return yaml;
  };
  EXPECT_EQ(Check(plan(12), Real()), "");
  EXPECT_EQ(Check(plan(13), Real()),
            "4:3: error: server execution runs at most 12 steps; this plan has 13\n"
            "  hint: use 'execution: local', or split the plan\n");
}

TEST(ValidateTest, LocalCyclesArePrintedAsAPathWithLines) {
  FakeCatalog fake;
  EXPECT_EQ(Check(R"(version: 1
name: x
execution: local
steps:
  - id: a
    toolName: make_image
    arguments: {prompt: p}
    dependsOn: [{sourceStepId: c, targetArgument: sourceImageIndex, transform: image_index}]
  - id: b
    toolName: make_image
    arguments: {prompt: p}
    dependsOn: [{sourceStepId: a, targetArgument: sourceImageIndex, transform: image_index}]
  - id: c
    toolName: make_image
    arguments: {prompt: p}
    dependsOn: [{sourceStepId: b, targetArgument: sourceImageIndex, transform: image_index}]
)",
                  fake),
            "5:5: error: dependency cycle: a (line 5) -> b (line 9) -> c (line 13) -> a (line 5)\n"
            "  hint: a step cannot wait for its own result\n");
  EXPECT_EQ(fake.checks, 3);
}

TEST(ValidateTest, TransformsMustFitWhatTheSourceMakesAndTheTargetTakes) {
  FakeCatalog fake;
  EXPECT_EQ(Check(R"(version: 1
name: x
steps:
  - {id: img, toolName: make_image, arguments: {prompt: p, numberOfVariations: 2}}
  - {id: snd, toolName: make_sound, arguments: {prompt: p}}
  - id: use
    toolName: make_image
    arguments: {prompt: p}
    dependsOn:
      - {sourceStepId: snd, targetArgument: sourceImageIndex, transform: image_index}
      - {sourceStepId: img, targetArgument: sourceImageIndex, transform: image_url}
      - {sourceStepId: img, targetArgument: sourceImageIndex, transform: image_index, sourceArtifactIndex: 2}
      - {sourceStepId: img, targetArgument: sourceImageIndx, transform: image_index}
      - {sourceStepId: img, targetArgument: sourceImageIndex, transform: audio_index, mediaType: image}
      - {sourceStepId: use, targetArgument: sourceImageIndex, transform: image_index}
)",
                  fake),
            "10:74: error: step 'snd' (make_sound) produces audio, but transform 'image_index' needs an image in step 'use'\n"
            "11:74: error: transform 'image_url' gives a string, but argument 'sourceImageIndex' of make_image takes number\n"
            "  hint: use 'image_index'\n"
            "12:108: error: sourceArtifactIndex 2 is out of range: step 'img' produces 2 images\n"
            "  hint: raise numberOfVariations on step 'img', or use a smaller index\n"
            "13:45: error: make_image has no argument 'sourceImageIndx'\n"
            "  hint: did you mean 'sourceImageIndex'?\n"
            "14:98: error: transform 'audio_index' does not fit mediaType 'image'\n"
            "  hint: use 'image_index', or mediaType 'audio'\n"
            "15:24: error: step 'use' depends on itself\n");
}

// The media a dependency hands over must be what its target argument takes, for every tool (the
// kinds come from tool_traits). Audio from generate_music used to pass into image and video
// arguments, and a run started with it.
TEST(ValidateTest, TargetArgumentsTakeOneKindOfMedia) {
  EXPECT_EQ(Check(R"(version: 1
name: x
steps:
  - {id: song, toolName: generate_music, arguments: {prompt: p, duration: 10}}
  - {id: img, toolName: generate_image, arguments: {prompt: p}}
  - id: edit
    toolName: edit_image
    arguments: {prompt: p}
    dependsOn:
      - {sourceStepId: song, targetArgument: sourceImageIndex, transform: audio_index}
      - {sourceStepId: song, targetArgument: sourceImageIndex, transform: artifact_url, mediaType: audio}
      - {sourceStepId: img, targetArgument: numberOfVariations, transform: image_index}
      - {sourceStepId: song, targetArgument: mask_image_url, transform: artifact_url}
  - id: cut
    toolName: stitch_video
    dependsOn:
      - {sourceStepId: song, targetArgument: videoIndices, transform: audio_index}
      - {sourceStepId: song, targetArgument: audioIndex, transform: audio_index}
      - {sourceStepId: img, targetArgument: audioIndex, transform: artifact_url}
)"),
            "10:75: error: argument 'sourceImageIndex' of edit_image takes an image, but transform 'audio_index' hands "
            "over audio\n"
            "  hint: edit_image takes no audio\n"
            "11:75: error: transform 'artifact_url' gives a string, but argument 'sourceImageIndex' of edit_image takes "
            "number\n"
            "11:75: error: argument 'sourceImageIndex' of edit_image takes an image, but mediaType 'audio' asks for audio\n"
            "  hint: edit_image takes no audio\n"
            "12:45: error: argument 'numberOfVariations' of edit_image does not take media, but transform 'image_index' "
            "hands over an artifact\n"
            "  hint: edit_image takes media in 'mask_image_url' or 'sourceImageIndex'\n"
            "13:73: error: step 'song' (generate_music) produces audio, but argument 'mask_image_url' takes an image in "
            "step 'edit'\n"
            "17:71: error: argument 'videoIndices' of stitch_video takes a video, but transform 'audio_index' hands over "
            "audio\n"
            "  hint: stitch_video takes audio in 'audioIndex'\n"
            "19:68: error: transform 'artifact_url' gives a string, but argument 'audioIndex' of stitch_video takes "
            "number\n"
            "19:68: error: step 'img' (generate_image) produces image, but argument 'audioIndex' takes audio in step "
            "'cut'\n");
}

TEST(ValidateTest, InputMediaIndexesCountTheMediaOfThatKind) {
  TempDir dir;
  dir.Write("a.png", std::string("\x89PNG\r\n\x1a\n", 8));
  dir.Write("b.wav", std::string("RIFF\0\0\0\0WAVEfmt ", 16));
  EXPECT_EQ(Check(R"(version: 1
name: x
media:
  logo: {path: a.png}
  voice: {path: b.wav}
steps:
  - id: a
    toolName: edit_image
    arguments: {prompt: p, sourceImageIndex: -2}
    dependsOn:
      - {sourceStepId: $input_media, targetArgument: sourceImageIndex, transform: image_index, sourceArtifactIndex: 1}
      - {sourceStepId: $input_media, targetArgument: sourceImageIndex, transform: video_index}
      - {sourceStepId: $input_media, targetArgument: sourceImageIndex, transform: artifact_url}
)",
                  Real(), {}, dir.path()),
            "9:46: error: step 'a': sourceImageIndex -2 refers to uploaded image #2, but the plan's media has 1 image\n"
            "  hint: -1 is the first media entry of that kind, -2 the second\n"
            "11:117: error: sourceArtifactIndex 1 is out of range: the plan's media has 1 image\n"
            "  hint: indexes count the media entries of that kind from 0, in the order they are listed\n"
            "12:83: error: argument 'sourceImageIndex' of edit_image takes an image, but transform 'video_index' hands "
            "over a video\n"
            "  hint: edit_image takes no video\n"
            "13:9: error: a $input_media dependency of step 'a' needs a media kind\n"
            "  hint: add mediaType (image, video or audio), or use an image_/video_/audio_ transform\n"
            "13:83: error: transform 'artifact_url' gives a string, but argument 'sourceImageIndex' of edit_image takes number\n");
}

TEST(ValidateTest, WarnsAboutWhatTheApiSilentlyIgnores) {
  EXPECT_EQ(Check(R"(version: 1
name: x
params:
  unused: {type: string, default: x}
steps:
  - id: a
    toolName: generate_image
    arguments: {prompt: p, loras: [a, b], loraStrengths: [0.5], sourceImageIndex: 0}
)"),
            "4:3: warning: param 'unused' is never used\n  hint: refer to it as ${params.unused}\n"
            "8:58: warning: step 'a': loras has 2 entries but loraStrengths has 1; the API drops mismatched LoRA "
            "settings silently\n  hint: give one strength per LoRA\n"
            "8:83: warning: step 'a': sourceImageIndex is ignored unless starting_image_strength is set\n"
            "  hint: add starting_image_strength (0.75 keeps the source close), or use edit_image\n");
}

TEST(ValidateTest, ProjectStepsOnlyInLocalExecution) {
  EXPECT_EQ(Check(R"(version: 1
name: x
steps:
  - id: hero
    project: {type: image, modelId: flux1-schnell-fp8, positivePrompt: p, stepz: 4, startingImage: logo}
)"),
            "4:5: error: step 'hero' is a project step; projects need 'execution: local'\n"
            "  hint: set 'execution: local', or use a toolName step\n"
            "5:75: error: unknown image project parameter 'stepz' in step 'hero'\n"
            "  hint: did you mean 'steps'?\n"
            "5:100: error: step 'hero': startingImage names unknown media \"logo\"\n"
            "  hint: declare it under 'media:'\n");
}

}  // namespace
}  // namespace sflow
