// schemas/plan.schema.json, the plan format for editors: it must compile under valijson's draft-7
// parser (the one sogni-flow itself uses), accept every sample plan, keep its toolName enum equal
// to the protocol's workflow-step enum, and reject what the loader rejects.
#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <valijson/adapters/poco_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "engine/project_params.h"
#include "plans/plan_loader.h"
#include "plans/yaml_reader.h"
#include "schemas/protocol_catalog.h"
#include "schemas/poco_json.h"
#include "tests/support/test_util.h"

namespace sflow {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

std::string SchemaPath() { return SourceDir() + "/schemas/plan.schema.json"; }

Poco::Dynamic::Var ParseJsonText(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text);
}

// The compiled schema, built once for the whole test binary.
const valijson::Schema& PlanSchema() {
  static const std::unique_ptr<valijson::Schema> schema = [] {
    auto s = std::make_unique<valijson::Schema>();
    Poco::Dynamic::Var doc = ParseJsonText(ReadFile(SchemaPath()));
    valijson::adapters::PocoJsonAdapter adapter(doc);
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    parser.populateSchema(adapter, *s);
    return s;
  }();
  return *schema;
}

// Every valijson finding as "path: description"; empty when the document is valid.
std::vector<std::string> SchemaErrors(const Value& plan) {
  Poco::Dynamic::Var doc = ToPocoVar(plan);
  valijson::adapters::PocoJsonAdapter adapter(doc);
  valijson::Validator validator;
  valijson::ValidationResults results;
  std::vector<std::string> errors;
  if (validator.validate(PlanSchema(), adapter, &results)) return errors;
  valijson::ValidationResults::Error e;
  while (results.popError(e)) {
    std::string path;
    for (const std::string& c : e.context) path += c;
    errors.push_back(path + ": " + e.description);
  }
  if (errors.empty()) errors.push_back("invalid, with no error reported");
  return errors;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += "  " + l + "\n";
  return out;
}

Value ParseYamlText(const std::string& text) {
  DiagnosticList diags("test.yaml");
  Result<Value> v = ParseYaml(text, YamlLimits(), &diags);
  EXPECT_TRUE(v.ok()) << FormatAll(diags);
  return v.ok() ? *v : Value();
}

// A batch file of samples/ (NAME.batch.yaml), which schemas/batch.schema.json describes.
bool IsBatchSample(const std::string& path) {
  return path.size() > 11 && path.compare(path.size() - 11, 11, ".batch.yaml") == 0;
}

std::vector<std::string> SamplePlans() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(SourceDir() + "/samples"))
    if (e.is_regular_file() && e.path().extension() == ".yaml" && !IsBatchSample(e.path().string()))
      out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

// A plan the schema must refuse; when loader_too, plans/plan_loader.cc must refuse it as well
// (the other cases are rules of `validate` that the schema also states).
void ExpectRejected(const std::string& yaml, bool loader_too) {
  Value plan = ParseYamlText(yaml);
  EXPECT_FALSE(SchemaErrors(plan).empty()) << "the schema accepted:\n" << yaml;
  if (loader_too) {
    DiagnosticList diags("test.yaml");
    Result<Plan> loaded = PlanFromValue("test.yaml", plan, &diags);
    EXPECT_TRUE(diags.has_errors()) << "the loader accepted:\n" << yaml;
  }
}

const char* kMinimal =
    "version: 1\n"
    "name: minimal\n"
    "steps:\n"
    "  - id: still\n"
    "    toolName: generate_image\n"
    "    arguments: {prompt: a lighthouse at dusk}\n";

TEST(PlanSchemaTest, CompilesWithValijsonDraft7) {
  ASSERT_FALSE(ReadFile(SchemaPath()).empty()) << SchemaPath();
  EXPECT_NO_THROW(PlanSchema());
}

TEST(PlanSchemaTest, AcceptsMinimalPlan) {
  std::vector<std::string> errors = SchemaErrors(ParseYamlText(kMinimal));
  EXPECT_TRUE(errors.empty()) << Join(errors);
}

TEST(PlanSchemaTest, AcceptsEverySample) {
  std::vector<std::string> samples = SamplePlans();
  EXPECT_GE(samples.size(), 6u);
  for (const std::string& path : samples) {
    DiagnosticList diags(path);
    Result<Value> plan = LoadYamlFile(path, YamlLimits(), &diags);
    ASSERT_TRUE(plan.ok()) << path << "\n" << FormatAll(diags);
    std::vector<std::string> errors = SchemaErrors(*plan);
    EXPECT_TRUE(errors.empty()) << path << " breaks schemas/plan.schema.json:\n" << Join(errors);
  }
}

TEST(PlanSchemaTest, ToolNameEnumIsTheProtocolStepEnum) {
  const char* run = ProtocolCatalog::PackageFile("schemas/workflows/durable-workflow-run.schema.json");
  ASSERT_NE(run, nullptr);
  Array::Ptr want = ParseJsonText(run).extract<Object::Ptr>()->getObject("properties")->getObject("steps")
                        ->getObject("items")->getObject("properties")->getObject("toolName")->getArray("enum");
  Array::Ptr have = ParseJsonText(ReadFile(SchemaPath())).extract<Object::Ptr>()->getObject("definitions")
                        ->getObject("step")->getObject("properties")->getObject("toolName")->getArray("enum");
  ASSERT_TRUE(want && have);
  std::vector<std::string> a, b;
  for (size_t i = 0; i < want->size(); ++i) a.push_back(want->getElement<std::string>(i));
  for (size_t i = 0; i < have->size(); ++i) b.push_back(have->getElement<std::string>(i));
  EXPECT_EQ(a.size(), 34u);
  EXPECT_EQ(a, b);
}

TEST(PlanSchemaTest, ProjectKeysAreTheProjectParams) {
  Object::Ptr project = ParseJsonText(ReadFile(SchemaPath())).extract<Object::Ptr>()->getObject("definitions")
                            ->getObject("project");
  ASSERT_TRUE(project);
  Array::Ptr branches = project->getArray("allOf");
  ASSERT_TRUE(branches);
  int checked = 0;
  for (size_t i = 0; i < branches->size(); ++i) {
    Object::Ptr branch = branches->getObject(i);
    std::string type =
        branch->getObject("if")->getObject("properties")->getObject("type")->getValue<std::string>("const");
    Array::Ptr names = branch->getObject("then")->getObject("propertyNames")->getArray("enum");
    std::vector<std::string> have, want;
    for (size_t k = 0; k < names->size(); ++k) have.push_back(names->getElement<std::string>(k));
    for (const ProjectParam& p : ProjectParamsFor(type)) want.emplace_back(p.name);
    std::sort(have.begin(), have.end());
    std::sort(want.begin(), want.end());
    EXPECT_EQ(have, want) << "project type " << type
                          << ": schemas/plan.schema.json and engine/project_params.cc differ";
    for (const std::string& name : want)
      EXPECT_TRUE(project->getObject("properties")->has(name)) << "no description of project parameter " << name;
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}

TEST(PlanSchemaTest, RejectsUnknownTopLevelKey) {
  ExpectRejected(std::string(kMinimal) + "budgett: {max_units: 5}\n", true);
}

TEST(PlanSchemaTest, RejectsStepWithToolNameAndProject) {
  ExpectRejected(
      "version: 1\nname: both\nexecution: local\nsteps:\n"
      "  - id: still\n"
      "    toolName: generate_image\n"
      "    project: {type: image, modelId: flux1-schnell-fp8, positivePrompt: a lighthouse}\n",
      true);
}

TEST(PlanSchemaTest, RejectsStepWithNeitherToolNameNorProject) {
  ExpectRejected("version: 1\nname: neither\nsteps:\n  - id: still\n    arguments: {prompt: x}\n", true);
}

TEST(PlanSchemaTest, RejectsUnknownTransform) {
  ExpectRejected(
      std::string(kMinimal) +
          "  - id: clip\n"
          "    toolName: generate_video\n"
          "    arguments: {prompt: slow orbit}\n"
          "    dependsOn:\n"
          "      - {sourceStepId: still, targetArgument: referenceImageIndices, transform: image_idx}\n",
      true);
}

TEST(PlanSchemaTest, RejectsDependencyWithoutTargetArgument) {
  ExpectRejected(
      std::string(kMinimal) +
          "  - id: up\n"
          "    toolName: upscale_image\n"
          "    arguments: {scale: 2}\n"
          "    dependsOn: [{sourceStepId: still, transform: image_index}]\n",
      true);
}

TEST(PlanSchemaTest, RejectsMediaWithBothPathAndUrl) {
  ExpectRejected(std::string(kMinimal) +
                     "media:\n  logo: {path: media/logo.png, url: 'https://example.com/logo.png'}\n",
                 true);
}

TEST(PlanSchemaTest, RejectsTemplateKeysInWorkflow) {
  ExpectRejected(std::string(kMinimal) + "inputs:\n  brief: {type: text}\n", true);
  ExpectRejected(std::string(kMinimal) + "tags: [teaser]\n", true);
}

TEST(PlanSchemaTest, RejectsEnumParamWithoutValues) {
  ExpectRejected(std::string(kMinimal) + "params:\n  style: {type: enum, default: noir}\n", true);
}

TEST(PlanSchemaTest, RejectsWrongVersionAndBadName) {
  ExpectRejected("version: 2\nname: v2\nsteps:\n  - {id: a, toolName: generate_image, arguments: {prompt: x}}\n",
                 true);
  ExpectRejected("version: 1\nname: has space\nsteps:\n  - {id: a, toolName: generate_image, arguments: {prompt: x}}\n",
                 true);
}

TEST(PlanSchemaTest, RejectsProjectStepOnServer) {
  ExpectRejected(
      "version: 1\nname: hero\nsteps:\n"
      "  - id: hero\n"
      "    project: {type: image, modelId: flux1-schnell-fp8, positivePrompt: a lighthouse}\n",
      false);
}

TEST(PlanSchemaTest, RejectsUnknownProjectParameter) {
  ExpectRejected(
      "version: 1\nname: hero\nexecution: local\nsteps:\n"
      "  - id: hero\n"
      "    project: {type: audio, modelId: ace_step_1.5_turbo, positivePrompt: a sting, startingImage: logo}\n",
      false);
}

// schemas/batch.schema.json, the batch file format for editors: it compiles, takes every batch
// sample, and refuses what plans/batch_loader.cc refuses of the same shapes.
const valijson::Schema& BatchSchema() {
  static const std::unique_ptr<valijson::Schema> schema = [] {
    auto s = std::make_unique<valijson::Schema>();
    Poco::Dynamic::Var doc = ParseJsonText(ReadFile(SourceDir() + "/schemas/batch.schema.json"));
    valijson::adapters::PocoJsonAdapter adapter(doc);
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    parser.populateSchema(adapter, *s);
    return s;
  }();
  return *schema;
}

bool BatchSchemaAccepts(const Value& batch) {
  Poco::Dynamic::Var doc = ToPocoVar(batch);
  valijson::adapters::PocoJsonAdapter adapter(doc);
  valijson::Validator validator;
  return validator.validate(BatchSchema(), adapter, nullptr);
}

TEST(BatchSchemaTest, AcceptsEveryBatchSampleAndRefusesWhatTheLoaderRefuses) {
  int samples = 0;
  for (const auto& e : std::filesystem::directory_iterator(SourceDir() + "/samples")) {
    if (!IsBatchSample(e.path().string())) continue;
    ++samples;
    DiagnosticList diags(e.path().string());
    Result<Value> batch = LoadYamlFile(e.path().string(), YamlLimits(), &diags);
    ASSERT_TRUE(batch.ok()) << FormatAll(diags);
    EXPECT_TRUE(BatchSchemaAccepts(*batch)) << e.path().string() << " breaks schemas/batch.schema.json";
  }
  EXPECT_GE(samples, 1);
  const std::string head = "version: 1\nkind: batch\nname: n\n";
  EXPECT_TRUE(BatchSchemaAccepts(ParseYamlText(head + "entries: [{plan: p.yaml, matrix: {a: [1, x]}, rows: r.csv}]\n")));
  EXPECT_TRUE(BatchSchemaAccepts(ParseYamlText(
      head + "budget: {batch: {max_units: 0}, day: {max_units: 5000, max_usd: 2.5}, month: {max_usd: 60}}\nentries: [{plan: p.yaml}]\n")));
  for (const std::string& bad : {head + "entries: []\n", head + "entries: [{matrix: {a: [1]}}]\n",
                                 head + "entries: [{plan: p.yaml, matrx: {}}]\n", head + "entries: [{plan: p.yaml, matrix: {a: []}}]\n",
                                 head + "entries: [{plan: p.yaml, matrix: {\"a b\": [1]}}]\n",
                                 std::string("version: 1\nkind: workflow\nname: n\nentries: [{plan: p.yaml}]\n"),
                                 head + "concurrency: 0\nentries: [{plan: p.yaml}]\n",
                                 head + "budget: {week: {max_units: 1}}\nentries: [{plan: p.yaml}]\n",
                                 head + "budget: {day: {}}\nentries: [{plan: p.yaml}]\n",
                                 head + "budget: {day: {max_units: -1}}\nentries: [{plan: p.yaml}]\n",
                                 head + "budget: {day: {max_unit: 1}}\nentries: [{plan: p.yaml}]\n",
                                 head + "budget: {month: {max_usd: \"5\"}}\nentries: [{plan: p.yaml}]\n"}) {
    EXPECT_FALSE(BatchSchemaAccepts(ParseYamlText(bad))) << "the schema accepted:\n" << bad;
  }
}

}  // namespace
}  // namespace sflow
