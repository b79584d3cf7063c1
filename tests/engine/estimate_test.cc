#include "engine/estimate.h"

#include <gtest/gtest.h>

#include "plans/plan_loader.h"
#include "schemas/protocol_catalog.h"
#include "tests/support/test_util.h"

namespace sflow {
namespace {

PlanEstimate Estimate(const std::string& yaml, const std::vector<std::string>& assignments = {}) {
  static std::unique_ptr<ProtocolCatalog> catalog = std::move(ProtocolCatalog::Load()).value();
  DiagnosticList d("p.yaml");
  Result<Plan> plan = LoadPlanFromText("p.yaml", yaml, &d);
  EXPECT_TRUE(plan.ok()) << FormatAll(d);
  ParamSources src;
  src.assignments = assignments;
  ValidateOptions opt;
  PlanAnalysis a = ValidatePlan(&plan.value(), *catalog, src, opt, &d);
  EXPECT_FALSE(d.has_errors()) << FormatAll(d);
  return EstimatePlan(*plan, a);
}

TEST(EstimateTest, WeightsFollowTheCostClasses) {
  EXPECT_EQ(CostClassWeight("free"), 0);
  EXPECT_EQ(CostClassWeight("image.standard"), 1);
  EXPECT_EQ(CostClassWeight("video.vendor.standard"), 6);
  EXPECT_EQ(CostClassWeight("video.premium"), 8);
  EXPECT_EQ(CostClassWeight("audio.standard"), 3);
  EXPECT_EQ(CostClassWeight("something.new"), 1);
}

TEST(EstimateTest, ImagesByVariationsVideoBySecondsTimesVariations) {
  PlanEstimate e = Estimate(R"(version: 1
name: x
params:
  seconds: {type: integer, default: 5}
budget: {max_units: 40}
steps:
  - {id: a, toolName: generate_image, arguments: {prompt: p, numberOfVariations: 3}}
  - {id: b, toolName: generate_video, arguments: {prompt: p, duration: "${params.seconds}", numberOfVariations: 2}}
  - {id: c, toolName: animate_photo, arguments: {prompt: p}}
  - {id: d, toolName: generate_music, arguments: {prompt: p}}
  - {id: e, toolName: replace_video_segment, arguments: {startSeconds: 2, endSeconds: 4.5}}
  - {id: f, toolName: stitch_video, arguments: {videoIndices: [0, 1]}}
  - {id: g, toolName: analyze_image, arguments: {query: q}}
  - {id: h, toolName: generate_speech, arguments: {prompt: p}}
)");
  ASSERT_EQ(e.steps.size(), 8u);
  EXPECT_EQ(e.steps[0].units, 3);   // 1 x 3 images
  EXPECT_EQ(e.steps[1].units, 60);  // 6 x 5 s x 2
  EXPECT_EQ(e.steps[1].basis, "6 x 5 s x 2 variations");
  EXPECT_EQ(e.steps[2].units, 40);  // 8 x default 5 s
  EXPECT_EQ(e.steps[3].units, 3);   // 3 x 1 track
  EXPECT_EQ(e.steps[4].units, 15);  // 6 x 2.5 s
  EXPECT_EQ(e.steps[5].units, 1);
  EXPECT_EQ(e.steps[6].units, 0);
  EXPECT_EQ(e.steps[7].cost_class, "unclassified");
  EXPECT_EQ(e.steps[7].units, 1);
  EXPECT_EQ(e.total_units, 123);
  EXPECT_TRUE(e.over_budget());
}

TEST(EstimateTest, ParamsChangeTheEstimate) {
  const char* yaml = R"(version: 1
name: x
params:
  seconds: {type: integer, default: 5, minimum: 2, maximum: 20}
steps:
  - {id: b, toolName: generate_video, arguments: {prompt: p, duration: "${params.seconds}"}}
)";
  EXPECT_EQ(Estimate(yaml).total_units, 30);
  EXPECT_EQ(Estimate(yaml, {"seconds=10"}).total_units, 60);
  EXPECT_FALSE(Estimate(yaml).over_budget());  // no budget: never over
}

TEST(EstimateTest, ProjectStepsNeedAQuote) {
  PlanEstimate e = Estimate(R"(version: 1
name: x
execution: local
steps:
  - {id: a, project: {type: image, modelId: m, positivePrompt: p}}
  - {id: b, toolName: generate_image, arguments: {prompt: p}}
)");
  EXPECT_TRUE(e.steps[0].needs_quote);
  EXPECT_EQ(e.steps[0].tool, "project:image");
  EXPECT_EQ(e.quotes_needed, 1);
  EXPECT_EQ(e.total_units, 1);
}

TEST(EstimateTest, TemplateInputsCountAtTheirDefaults) {
  PlanEstimate e = Estimate(R"(version: 1
kind: template
name: t
inputs:
  seconds: {type: number, default: 6}
  brief: {type: text}
steps:
  - {id: v, toolName: generate_video, arguments: {prompt: "${inputs.brief}", duration: "${inputs.seconds}"}}
)");
  EXPECT_EQ(e.steps[0].units, 36);  // 6 x 6 s
}

}  // namespace
}  // namespace sflow
