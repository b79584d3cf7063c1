#include "engine/wire.h"

#include <gtest/gtest.h>

#include "plans/plan_loader.h"
#include "schemas/protocol_catalog.h"
#include "tests/support/test_util.h"

namespace sflow {
namespace {

struct Checked {
  Plan plan;
  PlanAnalysis analysis;
};

Checked CheckWire(const std::string& yaml, const std::vector<std::string>& assignments = {}) {
  static std::unique_ptr<ProtocolCatalog> catalog = std::move(ProtocolCatalog::Load()).value();
  DiagnosticList d("p.yaml");
  Result<Plan> plan = LoadPlanFromText("p.yaml", yaml, &d);
  EXPECT_TRUE(plan.ok());
  Checked c{std::move(plan).value(), {}};
  ParamSources src;
  src.assignments = assignments;
  ValidateOptions opt;
  c.analysis = ValidatePlan(&c.plan, *catalog, src, opt, &d);
  EXPECT_FALSE(d.has_errors()) << FormatAll(d);
  return c;
}

const char* kTeaser = R"(version: 1
name: launch-teaser
title: Launch teaser
safe_content_filter: false
params:
  seconds: {type: integer, default: 5}
budget: {max_units: 40, token_type: spark}
steps:
  - id: keyframe
    toolName: generate_image
    arguments: {prompt: "render of a lamp", seed: 1234}
  - id: clip
    toolName: generate_video
    arguments: {prompt: orbit, duration: "${params.seconds}"}
    dependsOn:
      - {transform: image_index, mediaType: image, targetArgument: referenceImageIndices, sourceStepId: keyframe,
         sourceArtifactIndex: 0, required: true}
)";

TEST(WireTest, StartBodyIsTheSdksShapeWithInterpolatedArguments) {
  Checked c = CheckWire(kTeaser, {"seconds=8"});
  StartOptions o;
  o.app_source = "sogni-flow";
  o.max_units = 40;
  Value body = StartBody(c.plan, c.analysis, o);
  EXPECT_EQ(body.ToJson(),
            R"({"input":{"title":"Launch teaser","steps":[)"
            R"({"id":"keyframe","toolName":"generate_image","arguments":{"prompt":"render of a lamp","seed":1234}},)"
            R"({"id":"clip","toolName":"generate_video","arguments":{"prompt":"orbit","duration":8},)"
            R"("dependsOn":[{"sourceStepId":"keyframe","sourceArtifactIndex":0,"targetArgument":"referenceImageIndices",)"
            R"("mediaType":"image","transform":"image_index","required":true}]}]},)"
            R"("token_type":"spark","app_source":"sogni-flow","max_estimated_capacity_units":40,"safe_content_filter":false})");
}

TEST(WireTest, KeysAppearOnlyWhenSet) {
  Checked c = CheckWire("version: 1\nname: x\nsteps: [{id: a, toolName: generate_image, arguments: {prompt: p}}]\n");
  EXPECT_EQ(StartBody(c.plan, c.analysis, StartOptions()).ToJson(),
            R"({"input":{"steps":[{"id":"a","toolName":"generate_image","arguments":{"prompt":"p"}}]}})");
  StartOptions o;
  o.confirm_cost = true;
  o.media = {WireMedia{"logo", MediaKind::kImage, "image/png", "https://cdn.example.com/logo.png"}};
  EXPECT_EQ(StartBody(c.plan, c.analysis, o).ToJson(),
            R"({"input":{"steps":[{"id":"a","toolName":"generate_image","arguments":{"prompt":"p"}}]},"confirm_cost":true,)"
            R"("media_references":[{"id":"logo","kind":"image","mime_type":"image/png","url":"https://cdn.example.com/logo.png"}]})");
}

TEST(WireTest, TemplateRecordCarriesTypedInputsAndPlaceholderStages) {
  Checked c = CheckWire(R"(version: 1
kind: template
name: teaser-template
title: Teaser template
description: A product teaser.
category: video-social
visibility: private
tags: [teaser]
inputs:
  brief: {type: text, required: true, description: what to show}
  ratio: {type: select, options: ["16:9", "9:16"], default: "16:9"}
steps:
  - {id: key, toolName: generate_image, arguments: {prompt: "${inputs.brief}", aspectRatio: "${inputs.ratio}"}}
)");
  EXPECT_EQ(TemplateRecord(c.plan, c.analysis).ToJson(),
            R"({"id":"teaser-template","name":"Teaser template","description":"A product teaser.","category":"video-social",)"
            R"("visibility":"private","tags":["teaser"],"inputs":[{"name":"brief","type":"text","required":true,)"
            R"("description":"what to show"},{"name":"ratio","type":"select","required":false,"default":"16:9",)"
            R"("options":[{"value":"16:9","label":"16:9"},{"value":"9:16","label":"9:16"}]}],)"
            R"("stages":[{"id":"key","toolName":"generate_image","arguments":{"prompt":"$inputs.brief","aspectRatio":"$inputs.ratio"}}]})");
}

}  // namespace
}  // namespace sflow
