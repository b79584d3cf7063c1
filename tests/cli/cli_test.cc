// The subcommands in-process: exit codes, --help, --json, usage errors.
#include <gtest/gtest.h>

#include "tests/support/test_util.h"

namespace sflow {
namespace {

const char* kValid = R"(version: 1
name: ok
params:
  seconds: {type: integer, default: 5, minimum: 2, maximum: 20}
budget: {max_units: 40}
steps:
  - {id: key, toolName: generate_image, arguments: {prompt: p}}
  - id: clip
    toolName: generate_video
    arguments: {prompt: p, duration: "${params.seconds}"}
    dependsOn: [{sourceStepId: key, targetArgument: referenceImageIndices, transform: image_index}]
)";

TEST(CliTest, TopLevelHelpVersionAndUnknownCommands) {
  CliResult help = RunCliForTest({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("validate"), std::string::npos);
  EXPECT_EQ(RunCliForTest({"--version"}).exit_code, 0);
  CliResult none = RunCliForTest({});
  EXPECT_EQ(none.exit_code, 2);
  CliResult typo = RunCliForTest({"valdate"});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_EQ(typo.err, "sogni-flow: unknown command 'valdate'; did you mean 'validate'?\nrun 'sogni-flow --help' for the list\n");
}

TEST(CliTest, EveryCommandHasHelp) {
  for (const char* cmd : {"validate", "estimate"}) {
    CliResult r = RunCliForTest({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find("usage: sogni-flow "), std::string::npos) << cmd;
    EXPECT_NE(r.out.find("exit codes:"), std::string::npos) << cmd;
    EXPECT_EQ(RunCliForTest({"help", cmd}).out, r.out);
  }
}

TEST(CliTest, ValidateExitCodesAndSummary) {
  TempDir dir;
  std::string good = dir.Write("good.yaml", kValid);
  std::string bad = dir.Write("bad.yaml", "version: 1\nname: x\nsteps: [{id: a, toolName: nope}]\n");
  CliResult ok = RunCliForTest({"validate", good});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.err, good + ": valid (2 steps, 0 errors, 0 warnings)\n");
  EXPECT_TRUE(ok.out.empty());
  CliResult both = RunCliForTest({"validate", good, bad});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find(bad + ":3:27: error: unknown tool 'nope'"), std::string::npos) << both.err;
}

TEST(CliTest, ValidateJsonIsOneObjectPerPlanThenASummary) {
  TempDir dir;
  std::string bad = dir.Write("bad.yaml", "version: 1\nname: x\nsteps: [{id: a, toolName: generate_imag}]\n");
  CliResult r = RunCliForTest({"validate", "--json", bad});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out,
            "{\"event\":\"plan\",\"plan\":\"" + bad + "\",\"valid\":false,\"name\":\"x\",\"steps\":1,\"errors\":1,"
            "\"warnings\":0,\"diagnostics\":[{\"file\":\"" + bad + "\",\"line\":3,\"column\":27,\"severity\":\"error\","
            "\"code\":\"unknown-tool\",\"message\":\"unknown tool 'generate_imag'\",\"hint\":\"did you mean "
            "'generate_image'?\"}]}\n"
            "{\"event\":\"summary\",\"plans\":1,\"valid\":0,\"invalid\":1,\"warnings\":0}\n");
}

TEST(CliTest, UsageErrorsExitTwo) {
  CliResult r = RunCliForTest({"validate", "--jsn", "x.yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "sogni-flow validate: unknown option '--jsn'; did you mean '--json'?\n");
  EXPECT_EQ(RunCliForTest({"validate"}).exit_code, 2);
  EXPECT_EQ(RunCliForTest({"estimate", "x.yaml", "-p"}).exit_code, 2);
}

TEST(CliTest, EstimatePrintsATableAndGatesTheBudget) {
  TempDir dir;
  std::string plan = dir.Write("p.yaml", kValid);
  CliResult r = RunCliForTest({"estimate", plan});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("clip  generate_video  video.vendor.standard  second    5     30  6 x 5 s x 1 variation"),
            std::string::npos) << r.out;
  EXPECT_NE(r.out.find("total: 31 capacity units"), std::string::npos);
  EXPECT_NE(r.out.find("budget: max_units 40 (within budget)"), std::string::npos);
  CliResult over = RunCliForTest({"estimate", plan, "-p", "seconds=8"});
  EXPECT_EQ(over.exit_code, 5);
  EXPECT_NE(over.out.find("over by 9"), std::string::npos) << over.out;
  EXPECT_EQ(over.err, plan + ": estimate 49 is over budget.max_units 40\n");
  CliResult json = RunCliForTest({"estimate", "--json", plan});
  EXPECT_NE(json.out.find("\"totalUnits\":31"), std::string::npos) << json.out;
  CliResult bad_param = RunCliForTest({"estimate", plan, "-p", "seconds=50"});
  EXPECT_EQ(bad_param.exit_code, 2);
  EXPECT_NE(bad_param.err.find("param 'seconds' 50 is above the maximum 20"), std::string::npos);
}

TEST(CliTest, EstimateSummarisesSeveralPlans) {
  TempDir dir;
  std::string a = dir.Write("a.yaml", kValid);
  std::string b = dir.Write("b.yaml", "version: 1\nname: b\nsteps: [{id: x, toolName: nope}]\n");
  CliResult r = RunCliForTest({"estimate", a, b});
  EXPECT_EQ(r.exit_code, 2);
  size_t at = r.out.find("\nsummary\n");
  ASSERT_NE(at, std::string::npos) << r.out;
  std::string table = r.out.substr(at);
  EXPECT_NE(table.find(a + "  server         2     31       0      40  ok\n"), std::string::npos) << table;
  EXPECT_NE(table.find(b + "  -              -      -       -       -  invalid\n"), std::string::npos) << table;
}

}  // namespace
}  // namespace sflow
