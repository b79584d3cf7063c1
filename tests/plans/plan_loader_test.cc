#include "plans/plan_loader.h"

#include <gtest/gtest.h>

#include "tests/support/test_util.h"

namespace sflow {
namespace {

std::string Errors(const std::string& yaml) {
  DiagnosticList d("p.yaml");
  (void)LoadPlanFromText("dir/p.yaml", yaml, &d);
  return FormatAll(d);
}

TEST(PlanLoaderTest, LoadsEveryPartOfAPlan) {
  DiagnosticList d("p.yaml");
  Result<Plan> r = LoadPlanFromText("dir/p.yaml", R"(version: 1
name: teaser
title: Teaser
execution: local
safe_content_filter: false
params:
  seconds: {type: integer, default: 5, minimum: 2, maximum: 20, description: length}
  ratio: {type: enum, values: ["16:9", "9:16"], default: "16:9"}
media:
  logo: {path: media/logo.png, kind: image}
  song: {url: "https://cdn.example.com/a.mp3"}
budget: {max_units: 30, token_type: spark, billing_mode: tokens, approval: required}
steps:
  - id: key
    toolName: generate_image
    arguments: {prompt: p}
  - id: hero
    project: {type: image, modelId: m}
    dependsOn:
      - {sourceStepId: key, sourceArtifactIndex: 0, targetArgument: startingImage,
         mediaType: image, transform: image_url, required: true, sourceArtifactId: x}
)",
                                    &d);
  ASSERT_TRUE(r.ok()) << FormatAll(d);
  const Plan& p = r.value();
  EXPECT_EQ(p.directory, "dir");
  EXPECT_EQ(p.name, "teaser");
  EXPECT_EQ(p.execution, Execution::kLocal);
  EXPECT_EQ(p.safe_content_filter, std::optional<bool>(false));
  ASSERT_EQ(p.params.size(), 2u);
  EXPECT_EQ(p.params[0].type, ParamSpec::Type::kInteger);
  EXPECT_EQ(p.params[0].maximum, std::optional<double>(20));
  EXPECT_EQ(p.params[1].values.size(), 2u);
  ASSERT_EQ(p.media.size(), 2u);
  EXPECT_EQ(p.media[0].declared_kind, MediaKind::kImage);
  EXPECT_EQ(p.media[1].url, "https://cdn.example.com/a.mp3");
  EXPECT_EQ(p.budget.max_units, std::optional<double>(30));
  EXPECT_TRUE(p.budget.approval_required);
  ASSERT_EQ(p.steps.size(), 2u);
  EXPECT_EQ(p.steps[0].tool_name, "generate_image");
  EXPECT_TRUE(p.steps[1].is_project());
  ASSERT_EQ(p.steps[1].depends_on.size(), 1u);
  const Dependency& dep = p.steps[1].depends_on[0];
  EXPECT_EQ(dep.transform, "image_url");
  EXPECT_EQ(dep.source_artifact_index, std::optional<int64_t>(0));
  EXPECT_EQ(dep.required, std::optional<bool>(true));
  EXPECT_EQ(dep.source_step_loc, (SourceLoc{20, 24}));
}

TEST(PlanLoaderTest, UnknownKeysGetSuggestions) {
  EXPECT_EQ(Errors("version: 1\nname: x\nstep: []\nsteps:\n  - {id: a, toolname: generate_image}\n"),
            "3:1: error: unknown key 'step' in plan\n  hint: did you mean 'steps'?\n"
            "5:5: error: step 'a' needs exactly one of 'toolName' and 'project'\n"
            "  hint: toolName runs a hosted tool; project (local execution) runs a direct project\n"
            "5:13: error: unknown key 'toolname' in step 'a'\n  hint: did you mean 'toolName'?\n");
}

TEST(PlanLoaderTest, MissingKeysPointAtTheirMapping) {
  EXPECT_EQ(Errors("title: x\n"),
            "1:1: error: plan is missing required key 'version'\n"
            "1:1: error: plan is missing required key 'name'\n"
            "1:1: error: plan is missing required key 'steps'\n");
  EXPECT_EQ(Errors("version: 1\nname: x\nsteps:\n  - toolName: generate_image\n"),
            "4:5: error: step 1 is missing required key 'id'\n");
}

TEST(PlanLoaderTest, TypesAndEnumerations) {
  EXPECT_EQ(Errors("version: \"1\"\nname: x\nexecution: remote\nsteps: {}\n"),
            "1:10: error: 'version' in plan must be an integer, not a string\n"
            "3:12: error: unknown execution 'remote' in plan\n  hint: expected one of 'server', 'local'\n"
            "4:8: error: 'steps' in plan must be a list, not a mapping\n");
  EXPECT_EQ(Errors("version: 2\nname: 'bad name'\nsteps: []\n"),
            "1:10: error: unsupported plan version 2\n  hint: this sogni-flow reads version 1\n"
            "2:7: error: plan name 'bad name' is not a slug\n"
            "  hint: use letters, digits, '.', '_' and '-' (at most 128), e.g. launch-teaser\n"
            "3:8: error: a plan needs at least one step\n");
}

// Names are checked by hand, not by std::regex (whose executor recursed once per character and
// overflowed the stack on a long name). The limits stay those of the documented patterns.
TEST(PlanLoaderTest, NamesOfAnyLengthAreCheckedWithoutRegex) {
  std::string long_name(400000, 'a');
  // An explicit key ("? KEY"): YAML limits implicit keys to 1024 characters.
  EXPECT_EQ(Errors("version: 1\nname: x\nparams:\n  ? " + long_name + "\n  : {type: string, default: v}\n"
                   "steps:\n  - {id: a, toolName: t, arguments: {prompt: '${params." + long_name + "}'}}\n"),
            "");
  EXPECT_EQ(Errors("version: 1\nname: " + std::string(128, 'n') + "\nsteps:\n  - {id: a, toolName: t}\n"), "");
  EXPECT_EQ(Errors("version: 1\nname: " + std::string(129, 'n') + "\nsteps:\n  - {id: a, toolName: t}\n"),
            "2:7: error: plan name '" + std::string(129, 'n') + "' is not a slug\n"
            "  hint: use letters, digits, '.', '_' and '-' (at most 128), e.g. launch-teaser\n");
  EXPECT_EQ(Errors("version: 1\nname: -x\nparams:\n  9a: {type: string}\n  _b9: {type: string}\n"
                   "steps:\n  - {id: a, toolName: t}\n"),
            "2:7: error: plan name '-x' is not a slug\n"
            "  hint: use letters, digits, '.', '_' and '-' (at most 128), e.g. launch-teaser\n"
            "4:3: error: param name '9a' is not an identifier\n"
            "  hint: use letters, digits and '_', not starting with a digit\n");
}

TEST(PlanLoaderTest, DependencyShape) {
  EXPECT_EQ(Errors("version: 1\nname: x\nsteps:\n  - id: a\n    toolName: t\n    dependsOn:\n"
                   "      - {sourceStepId: b, targetArgument: x, transform: image_indx, sourceArtifactIndex: -1}\n"
                   "      - just-a-string\n"),
            "7:57: error: unknown transform 'image_indx' in dependsOn of step 'a'\n  hint: did you mean 'image_index'?\n"
            "7:90: error: sourceArtifactIndex must be 0 or more\n"
            "8:9: error: each dependsOn entry of step 'a' must be a mapping\n"
            "  hint: for example {sourceStepId: keyframe, targetArgument: sourceImageIndex, transform: image_index}\n");
}

TEST(PlanLoaderTest, TemplateOnlyParts) {
  EXPECT_EQ(Errors("version: 1\nname: x\ninputs: {a: {type: text}}\ncategory: music\nsteps: [{id: a, toolName: t}]\n"),
            "3:1: error: 'inputs' belongs to templates\n"
            "  hint: add 'kind: template', or use 'params' for a workflow plan\n"
            "4:1: error: 'category' belongs to templates\n  hint: add 'kind: template'\n");
  DiagnosticList d("t.yaml");
  Result<Plan> t = LoadPlanFromText("t.yaml", R"(version: 1
kind: template
name: tpl
category: video-social
visibility: public
tags: [a, b]
inputs:
  brief: {type: text, required: true, description: what to make}
  ratio: {type: select, options: ["16:9", "9:16"], default: "16:9"}
steps: [{id: a, toolName: generate_image, arguments: {prompt: "${inputs.brief}"}}]
)",
                                    &d);
  ASSERT_TRUE(t.ok()) << FormatAll(d);
  EXPECT_EQ(t->kind, PlanKind::kTemplate);
  ASSERT_EQ(t->inputs.size(), 2u);
  EXPECT_TRUE(t->inputs[0].required);
  EXPECT_EQ(t->inputs[1].options.size(), 2u);
  EXPECT_EQ(t->tags.size(), 2u);
}

TEST(PlanLoaderTest, MediaNeedsExactlyOneSource) {
  EXPECT_EQ(Errors("version: 1\nname: x\nmedia:\n  a: {kind: image}\n  b: {path: x, url: y}\n  c: x.png\n"
                   "steps: [{id: a, toolName: t}]\n"),
            "4:6: error: media 'a' needs exactly one of 'path' and 'url'\n"
            "5:6: error: media 'b' needs exactly one of 'path' and 'url'\n"
            "6:6: error: media 'c' must be a mapping\n"
            "  hint: for example {path: media/logo.png} or {url: https://...}\n");
}

TEST(LoadParamFileTest, ReadsAMappingWithPositions) {
  TempDir dir;
  DiagnosticList d("p");
  Result<Value> v = LoadParamFile(dir.Write("p.yaml", "seconds: 8\nsubject: lamp\n"), &d);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->Find("seconds")->loc(), (SourceLoc{1, 10}));
  EXPECT_FALSE(LoadParamFile(dir.Write("q.yaml", "- 1\n"), &d).ok());
  EXPECT_EQ(FormatAll(d), "1:1: error: a param file must be a mapping of param names to values\n");
}

}  // namespace
}  // namespace sflow
