// The subcommands in-process: exit codes, --help, --json, usage errors.
#include <gtest/gtest.h>

#include <sstream>

#include "cli/command_line.h"
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

// Every line of every command's help that belongs to an option's text starts at the text's
// column: a text of several lines once ran its later lines from column 0.
TEST(CliTest, OptionTextsKeepToTheirColumn) {
  for (const char* cmd : {"run", "resume", "estimate", "validate", "status", "artifacts", "sandbox", "reseed"}) {
    CliResult r = RunCliForTest({cmd, "--help"});
    ASSERT_EQ(r.exit_code, 0) << cmd;
    const size_t from = r.out.find("\noptions:\n"), to = r.out.find("\n\n", from + 1);
    ASSERT_NE(from, std::string::npos) << cmd;
    std::istringstream options(r.out.substr(from + 10, to == std::string::npos ? std::string::npos : to - from - 10));
    for (std::string line; std::getline(options, line);) {
      if (line.empty()) continue;
      EXPECT_TRUE(line.rfind("  -", 0) == 0 || line.rfind("      --", 0) == 0 || line.rfind(std::string(30, ' '), 0) == 0)
          << cmd << ": '" << line << "'";
    }
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

// The parser's rules (cli/command_line.h), one by one.
struct ParsedLine {
  Status status = Status::OK();
  bool json = false;
  std::string out, key_file;
  std::vector<std::string> params, positional;
};

ParsedLine ParseLine(const std::vector<std::string>& args) {
  ParsedLine p;
  CommandLine cl("test ARGS", "a test");
  cl.Flag("json", "", "", &p.json);
  cl.Value("out", "o", "DIR", "", &p.out);
  cl.Value("api-key-file", "", "FILE", "", &p.key_file);
  cl.Repeated("param", "p", "NAME=VALUE", "", &p.params);
  p.status = cl.Parse(args, &p.positional);
  return p;
}

TEST(CommandLineTest, NamesAreExactValuesAttachedOrNext) {
  ParsedLine p = ParseLine({"a", "--out", "d", "-pk=1", "-p", "j=2", "--json", "--", "--json", "-"});
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  EXPECT_EQ(p.out, "d");
  EXPECT_EQ(p.params, (std::vector<std::string>{"k=1", "j=2"}));
  EXPECT_TRUE(p.json);
  EXPECT_EQ(p.positional, (std::vector<std::string>{"a", "--json", "-"}));
  EXPECT_EQ(ParseLine({"--out=x=y"}).out, "x=y");
  EXPECT_EQ(ParseLine({"-ox"}).out, "x");
  // No abbreviation of any option, and a repeated flag is harmless.
  EXPECT_EQ(ParseLine({"--ou", "d"}).status.message(), "unknown option '--ou'; did you mean '--out'?");
  EXPECT_EQ(ParseLine({"--js"}).status.code(), Status::Code::kInvalidPlan);
  EXPECT_TRUE(ParseLine({"--json", "--json"}).status.ok());
}

TEST(CommandLineTest, BadValuesAreUsageErrorsThatNeverShowTheValue) {
  EXPECT_EQ(ParseLine({"--out="}).status.message(), "option '--out' needs a value, not an empty one");
  EXPECT_EQ(ParseLine({"--out", ""}).status.message(), "option '--out' needs a value, not an empty one");
  EXPECT_EQ(ParseLine({"--out"}).status.message(), "option '--out' needs a value");
  EXPECT_EQ(ParseLine({"--out", "a", "-o", "b"}).status.message(), "option '-o' is given more than once; give it once");
  EXPECT_EQ(ParseLine({"--json=yes"}).status.message(), "option '--json' takes no value");
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--api-key", "sk-value-1"}, {"--api-key=sk-value-1"}, {"--api-key-fil=sk-value-1"}, {"--token", "sk-value-1"}}) {
    ParsedLine p = ParseLine(args);
    EXPECT_EQ(p.status.code(), Status::Code::kInvalidPlan);
    EXPECT_EQ(p.status.message().find("sk-value-1"), std::string::npos) << p.status.message();
    EXPECT_NE(p.status.message().find("never from a flag value"), std::string::npos) << p.status.message();
  }
}

TEST(CommandLineTest, ShownArgumentsAreShortAndPrintable) {
  EXPECT_EQ(CommandLine::Shown("--plain"), "--plain");
  EXPECT_EQ(CommandLine::Shown("--caf\xC3\xA9"), "--caf\xC3\xA9");  // UTF-8 stays
  EXPECT_EQ(CommandLine::Shown("--a\xFF\x1B[31m"), "--a\\xFF\\x1B[31m");
  EXPECT_EQ(CommandLine::Shown("--\xC0\xAF\xED\xA0\x80"), "--\\xC0\\xAF\\xED\\xA0\\x80");  // overlong, surrogate
  EXPECT_EQ(CommandLine::Shown(std::string(100, 'a')), std::string(64, 'a') + "... (100 bytes)");
  EXPECT_TRUE(CommandLine::IsSecretName("api-key-file"));
  EXPECT_TRUE(CommandLine::IsSecretName("AUTH-TOKEN"));
  EXPECT_FALSE(CommandLine::IsSecretName("keepalive-ms"));
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
