// The catalog really comes from the pinned official package: these tests read the package's own
// lists and check the catalog against them, not against copies kept here.
#include "schemas/protocol_catalog.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <cstring>
#include <latch>
#include <thread>

#include "schemas/tool_traits.h"
#include "tests/support/test_util.h"

namespace sflow {
namespace {

const ProtocolCatalog& Catalog() {
  static std::unique_ptr<ProtocolCatalog> c = std::move(ProtocolCatalog::Load()).value();
  return *c;
}

std::vector<std::string> RunSchemaStepTools() {
  Poco::JSON::Parser p;
  auto run = p.parse(ProtocolCatalog::PackageFile("schemas/workflows/durable-workflow-run.schema.json"))
                 .extract<Poco::JSON::Object::Ptr>();
  auto list = run->getObject("properties")->getObject("steps")->getObject("items")->getObject("properties")
                  ->getObject("toolName")->getArray("enum");
  std::vector<std::string> out;
  for (size_t i = 0; i < list->size(); ++i) out.push_back(list->getElement<std::string>(i));
  return out;
}

TEST(ProtocolCatalogTest, NamesThePinnedPackage) {
  EXPECT_EQ(Catalog().Source(), "@sogni-ai/sogni-protocol 1.0.0-alpha.45 (protocol 7.4.0)");
}

TEST(ProtocolCatalogTest, EveryWorkflowStepToolHasASchemaAndTraits) {
  std::vector<std::string> tools = RunSchemaStepTools();
  EXPECT_EQ(tools.size(), 34u);
  for (const std::string& name : tools) {
    const ToolInfo* t = Catalog().Find(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_TRUE(t->workflow_step) << name;
    EXPECT_NE(FindToolTraits(name), nullptr) << name << " has no entry in schemas/tool_traits.cc";
    // Every schema compiles and accepts its own minimal valid input: the required arguments
    // filled with a value of their declared type is not always valid (enums), so only check that
    // checking does not fail as a whole.
    for (const ArgumentProblem& p : Catalog().CheckArguments(*t, Value::Object()))
      EXPECT_NE(p.rule, "catalog") << name;
  }
}

// The media kind of each argument is read from the schemas' names and descriptions into
// tool_traits.cc; this keeps that table complete for the pinned package: every argument that
// looks like a media input is either listed or known not to be one, and every listed one exists.
TEST(ProtocolCatalogTest, EveryMediaLookingArgumentHasAKind) {
  auto looks_like_media = [](const std::string& n) {
    for (const char* end : {"Index", "Indices", "Url", "_url", "url"})
      if (n.size() >= std::strlen(end) && n.compare(n.size() - std::strlen(end), std::string::npos, end) == 0) return true;
    return false;
  };
  const auto& non_media = NonMediaArguments();
  for (const std::string& name : RunSchemaStepTools()) {
    const ToolInfo* t = Catalog().Find(name);
    ASSERT_NE(t, nullptr) << name;
    for (const ArgumentInfo& a : t->arguments) {
      bool known_not = std::find(non_media.begin(), non_media.end(), a.name) != non_media.end();
      if (looks_like_media(a.name)) {
        EXPECT_TRUE(a.media_input || known_not) << name << "." << a.name << " has no media kind in tool_traits.cc";
      }
    }
    for (const MediaInput& in : FindToolTraits(name)->inputs)
      EXPECT_NE(t->FindArgument(in.argument), nullptr) << name << " has no argument " << in.argument;
  }
  const ArgumentInfo* stitch = Catalog().Find("stitch_video")->FindArgument("videoIndices");
  EXPECT_TRUE(stitch->media_input);
  EXPECT_EQ(stitch->media, MediaKind::kVideo);
  EXPECT_FALSE(Catalog().Find("generate_image")->FindArgument("starting_image_strength")->media_input);
}

TEST(ProtocolCatalogTest, CompositionToolsAreKnownButAreNotSteps) {
  const ToolInfo* t = Catalog().Find("compose_script");
  ASSERT_NE(t, nullptr);
  EXPECT_FALSE(t->workflow_step);
  EXPECT_EQ(Catalog().Find("manage_memory"), nullptr);  // chat-local: not ours
  EXPECT_EQ(Catalog().Find("nope"), nullptr);
}

TEST(ProtocolCatalogTest, DescribesArgumentsFromTheSchema) {
  const ToolInfo* v = Catalog().Find("generate_video");
  ASSERT_NE(v, nullptr);
  const ArgumentInfo* refs = v->FindArgument("referenceImageIndices");
  ASSERT_NE(refs, nullptr);
  EXPECT_EQ(refs->types, std::vector<std::string>{"array"});
  EXPECT_EQ(refs->item_type, "number");
  EXPECT_TRUE(v->FindArgument("prompt")->required);
  EXPECT_TRUE(v->counts_variations);
  EXPECT_EQ(v->cost_class, "video.vendor.standard");
  EXPECT_TRUE(v->Produces(MediaKind::kVideo));
}

TEST(ProtocolCatalogTest, ExplainsSchemaViolations) {
  const ToolInfo* img = Catalog().Find("generate_image");
  Value args = Value::Object();
  args.Set("prompt", Value::String("p"));
  args.Set("numberOfVariations", Value::Int(17));
  args.Set("modle", Value::String("z-turbo"));
  args.Set("gptImageQuality", Value::String("ultra"));
  args.Set("seed", Value::String("x"));
  std::vector<ArgumentProblem> problems = Catalog().CheckArguments(*img, args);
  std::map<std::string, ArgumentProblem> by_arg;
  for (const ArgumentProblem& p : problems) by_arg[p.path.empty() ? "" : p.path[0]] = p;
  ASSERT_EQ(problems.size(), 4u);
  EXPECT_EQ(by_arg["numberOfVariations"].message, "must be at most 16");
  EXPECT_EQ(by_arg["numberOfVariations"].got, "17");
  EXPECT_EQ(ArgumentProblemText(by_arg["numberOfVariations"]), "must be at most 16 (got 17)");
  EXPECT_EQ(by_arg["numberOfVariations"].rule, "maximum");
  EXPECT_EQ(by_arg["modle"].rule, "additionalProperties");
  EXPECT_EQ(by_arg["modle"].hint, "did you mean 'model'?");
  EXPECT_EQ(ArgumentProblemText(by_arg["gptImageQuality"]),
            "must be one of 'low', 'medium', 'high', 'xhigh', 'max' (got \"ultra\")");
  EXPECT_EQ(ArgumentProblemText(by_arg["seed"]), "must be an integer (got \"x\")");
  EXPECT_EQ(by_arg["modle"].got, "");  // an unknown argument: its value says nothing
}

TEST(ProtocolCatalogTest, ChecksNestedItems) {
  const ToolInfo* ov = Catalog().Find("overlay_video");
  Value overlay = Value::Object();
  overlay.Set("kind", Value::String("text"));
  overlay.Set("position", Value::String("middle"));
  Value overlays = Value::Array();
  overlays.Append(overlay);
  Value args = Value::Object();
  args.Set("overlays", overlays);
  std::vector<ArgumentProblem> problems = Catalog().CheckArguments(*ov, args);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, (std::vector<std::string>{"overlays", "0", "position"}));
  EXPECT_EQ(problems[0].rule, "enum");
  Value empty = Value::Object();
  empty.Set("overlays", Value::Array());
  problems = Catalog().CheckArguments(*ov, empty);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].message, "must have at least 1 item");
}

// Every unknown argument is reported, not only the first (valijson names one per object).
TEST(ProtocolCatalogTest, ReportsEveryUnknownArgument) {
  const ToolInfo* img = Catalog().Find("generate_image");
  Value args = Value::Object();
  args.Set("prompt", Value::String("p"));
  args.Set("modle", Value::String("z-turbo"));
  args.Set("sede", Value::Int(1));
  args.Set("colour", Value::String("red"));
  std::vector<ArgumentProblem> problems = Catalog().CheckArguments(*img, args);
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0].path, std::vector<std::string>{"modle"});
  EXPECT_EQ(problems[0].hint, "did you mean 'model'?");
  EXPECT_EQ(problems[1].path, std::vector<std::string>{"sede"});
  EXPECT_EQ(problems[1].hint, "did you mean 'seed'?");
  EXPECT_EQ(problems[2].path, std::vector<std::string>{"colour"});
  for (const ArgumentProblem& p : problems) EXPECT_EQ(p.rule, "additionalProperties");
}

// valijson's messages quote argument names from the plan; they are read without std::regex, whose
// executor recursed once per character and overflowed the stack on a name this long.
TEST(ProtocolCatalogTest, ExplainsProblemsWithHugeNamesAndValues) {
  const ToolInfo* img = Catalog().Find("generate_image");
  std::string name(500000, 'x');
  Value args = Value::Object();
  args.Set("prompt", Value::String("p"));
  args.Set(name, Value::Int(1));
  std::vector<ArgumentProblem> problems = Catalog().CheckArguments(*img, args);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].rule, "additionalProperties");
  EXPECT_EQ(problems[0].path, std::vector<std::string>{name});
}

// valijson 1.0 checks these keywords with std::regex; the catalog refuses a schema that has one.
TEST(ProtocolCatalogTest, FindsKeywordsThatWouldRunStdRegex) {
  EXPECT_EQ(ProtocolCatalog::RegexKeyword(R"({"type":"object","properties":{"pattern":{"type":"string"}}})"), "");
  EXPECT_EQ(ProtocolCatalog::RegexKeyword(R"({"properties":{"a":{"type":"string","pattern":"^x+$"}}})"),
            "/properties/a/pattern");
  EXPECT_EQ(ProtocolCatalog::RegexKeyword(R"({"items":[{"patternProperties":{}}]})"), "/items/0/patternProperties");
  EXPECT_EQ(ProtocolCatalog::RegexKeyword(R"({"$defs":{"t":{"format":"date-time"}}})"), "/$defs/t/format");
  EXPECT_EQ(ProtocolCatalog::RegexKeyword(R"({"enum":[{"pattern":"x"}],"format":"uri"})"), "");
  // ... and the pinned package's tool schemas have none: Load succeeds.
  EXPECT_TRUE(ProtocolCatalog::Load().ok());
}

// CheckArguments is const and compiles each schema on first use: several threads checking at once
// through one fresh catalog (run under ThreadSanitizer too) must each get the same answers.
TEST(ProtocolCatalogTest, ChecksFromSeveralThreadsAtOnce) {
  std::vector<std::string> tools = RunSchemaStepTools();
  Value args = Value::Object();
  args.Set("prmpt", Value::String("p"));
  std::vector<size_t> expected;
  for (const std::string& name : tools) expected.push_back(Catalog().CheckArguments(*Catalog().Find(name), args).size());
  for (int round = 0; round < 10; ++round) {
    std::unique_ptr<ProtocolCatalog> fresh = std::move(ProtocolCatalog::Load()).value();
    std::vector<std::vector<size_t>> counts(8);
    std::latch start(static_cast<std::ptrdiff_t>(counts.size()));  // every thread asks for the same uncompiled schema at once
    std::vector<std::thread> threads;
    for (size_t t = 0; t < counts.size(); ++t)
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        for (const std::string& name : tools)
          counts[t].push_back(fresh->CheckArguments(*fresh->Find(name), args).size());
      });
    for (std::thread& th : threads) th.join();
    for (const std::vector<size_t>& c : counts) EXPECT_EQ(c, expected) << "round " << round;
  }
}

TEST(ProtocolCatalogTest, EmbedsTheRecordSchemasForOtherComponents) {
  EXPECT_NE(ProtocolCatalog::PackageFile("schemas/events/workflow-event.schema.json"), nullptr);
  EXPECT_NE(ProtocolCatalog::PackageFile("schemas/errors/error.schema.json"), nullptr);
  EXPECT_EQ(ProtocolCatalog::PackageFile("nope.json"), nullptr);
}

}  // namespace
}  // namespace sflow
