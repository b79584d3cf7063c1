#include "engine/params.h"

#include <gtest/gtest.h>

#include "engine/pattern.h"
#include "tests/support/test_util.h"

namespace sflow {
namespace {

ParamSpec Spec(const std::string& name, ParamSpec::Type type) {
  ParamSpec p;
  p.name = name;
  p.type = type;
  p.loc = {1, 3};
  return p;
}

TEST(ParamsTest, ParsesTextByType) {
  std::string err;
  EXPECT_EQ(ParseParamText(Spec("n", ParamSpec::Type::kInteger), "42", &err), Value::Int(42));
  EXPECT_EQ(ParseParamText(Spec("n", ParamSpec::Type::kNumber), "2.5", &err), Value::Double(2.5));
  EXPECT_EQ(ParseParamText(Spec("b", ParamSpec::Type::kBoolean), "yes", &err), Value::Bool(true));
  EXPECT_EQ(ParseParamText(Spec("s", ParamSpec::Type::kString), "5", &err), Value::String("5"));
  EXPECT_TRUE(err.empty());
  ParseParamText(Spec("n", ParamSpec::Type::kInteger), "4.5", &err);
  EXPECT_EQ(err, "'4.5' is not an integer");
  err.clear();
  ParseParamText(Spec("n", ParamSpec::Type::kInteger), "99999999999999999999", &err);
  EXPECT_EQ(err, "'99999999999999999999' is not an integer");
  err.clear();
  ParseParamText(Spec("n", ParamSpec::Type::kNumber), "inf", &err);
  EXPECT_EQ(err, "'inf' is not a number");
  err.clear();
  ParseParamText(Spec("n", ParamSpec::Type::kNumber), "0x10", &err);  // strtod would say 16
  EXPECT_EQ(err, "'0x10' is not a number");
  err.clear();
  EXPECT_EQ(ParseParamText(Spec("n", ParamSpec::Type::kNumber), "-1.5e2", &err), Value::Double(-150));
  EXPECT_TRUE(err.empty());
}

TEST(ParamsTest, EnumMatchesStringsAndNumbers) {
  ParamSpec e = Spec("ratio", ParamSpec::Type::kEnum);
  e.values = {Value::String("16:9"), Value::Int(4)};
  std::string err;
  EXPECT_EQ(ParseParamText(e, "16:9", &err), Value::String("16:9"));
  EXPECT_EQ(ParseParamText(e, "4", &err), Value::Int(4));
  EXPECT_TRUE(err.empty());
  ParseParamText(e, "1:1", &err);
  EXPECT_FALSE(err.empty());
}

TEST(ParamsTest, ChecksBoundsAndPatterns) {
  ParamSpec n = Spec("seconds", ParamSpec::Type::kInteger);
  n.minimum = 2;
  n.maximum = 20;
  EXPECT_EQ(CheckParamValue(n, Value::Int(5)), "");
  EXPECT_EQ(CheckParamValue(n, Value::Int(21)), "21 is above the maximum 20");
  EXPECT_EQ(CheckParamValue(n, Value::Int(1)), "1 is below the minimum 2");
  EXPECT_EQ(CheckParamValue(n, Value::Double(5.0)), "must be an integer, not a number");
  ParamSpec s = Spec("slug", ParamSpec::Type::kString);
  s.pattern = "[a-z]+";
  EXPECT_EQ(CheckParamValue(s, Value::String("abc")), "");
  EXPECT_EQ(CheckParamValue(s, Value::String("abc1")), "'abc1' does not match pattern '[a-z]+'");
}

// Patterns are RE2: linear in the value's length. Under std::regex the first value overflowed
// the stack (SIGSEGV) and the second took longer than any test would wait.
TEST(ParamsTest, PatternsRunInLinearTime) {
  ParamSpec alt = Spec("s", ParamSpec::Type::kString);
  alt.pattern = "(a|b)*";
  std::string ab;
  for (int i = 0; i < 10000; ++i) ab += "ab";
  EXPECT_EQ(CheckParamValue(alt, Value::String(ab)), "");
  ParamSpec nested = Spec("s", ParamSpec::Type::kString);
  nested.pattern = "(a+)+$";
  std::string as(229, 'a');
  EXPECT_EQ(CheckParamValue(nested, Value::String(as + "!")),
            "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' (230 bytes) does not match pattern '(a+)+$'");
  EXPECT_EQ(CheckParamValue(nested, Value::String(as)), "");
}

TEST(ParamsTest, PatternsMatchTheWholeValueInRe2Syntax) {
  ParamSpec s = Spec("s", ParamSpec::Type::kString);
  s.pattern = "a|b";
  EXPECT_EQ(CheckParamValue(s, Value::String("a")), "");
  EXPECT_NE(CheckParamValue(s, Value::String("ab")), "");  // not a search: the whole value
  s.pattern = "\\p{L}+";
  EXPECT_EQ(CheckParamValue(s, Value::String("Zoë")), "");  // UTF-8 aware
  // Backreferences and lookaround are not RE2: an error at the pattern, with the dialect named.
  Plan plan;
  ParamSpec back = Spec("b", ParamSpec::Type::kString);
  back.pattern = "(a)\\1";
  back.pattern_loc = {3, 20};
  ParamSpec look = Spec("l", ParamSpec::Type::kString);
  look.pattern = "(?=a)a";
  look.pattern_loc = {4, 20};
  ParamSpec big = Spec("g", ParamSpec::Type::kString);
  big.pattern = std::string(kMaxPatternBytes + 1, 'a');
  big.pattern_loc = {5, 20};
  plan.params = {back, look, big};
  DiagnosticList diags("plan.yaml");
  ResolveParams(plan, ParamSources(), &diags);
  EXPECT_EQ(FormatAll(diags),
            "3:20: error: param 'b' has an invalid pattern: invalid escape sequence: \\1\n"
            "  hint: patterns are RE2 syntax, matched against the whole value: no backreferences or lookaround\n"
            "4:20: error: param 'l' has an invalid pattern: invalid perl operator: (?=\n"
            "  hint: patterns are RE2 syntax, matched against the whole value: no backreferences or lookaround\n"
            "5:20: error: param 'g' has an invalid pattern: the pattern is 1025 bytes long, over the "
            "1024-byte limit\n"
            "  hint: patterns are RE2 syntax, matched against the whole value: no backreferences or lookaround\n");
}

// Compiled patterns are kept in a small cache: a pattern compiled again, or compiled again after
// the cache was emptied by many others, still matches what it should; a refused one stays refused.
TEST(ParamsTest, PatternsCompiledAgainMatchTheSame) {
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 40; ++i) {
      const std::string n = std::to_string(i);
      Result<Pattern> p = Pattern::Compile("x" + n + "[a-c]*");
      ASSERT_TRUE(p.ok()) << n;
      EXPECT_TRUE(p->FullMatch("x" + n + "abc")) << n;
      EXPECT_FALSE(p->FullMatch("x" + n + "abd")) << n;
      EXPECT_FALSE(p->FullMatch("x" + std::to_string(i + 1) + "a")) << n;
    }
    Result<Pattern> bad = Pattern::Compile("(a)\\1");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.status().message(), "invalid escape sequence: \\1");
  }
  // Patterns that differ only after a NUL byte are different patterns.
  Result<Pattern> a = Pattern::Compile(std::string_view("a\0b", 3));
  Result<Pattern> b = Pattern::Compile(std::string_view("a\0c", 3));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(a->FullMatch(std::string_view("a\0b", 3)));
  EXPECT_FALSE(b->FullMatch(std::string_view("a\0b", 3)));
}

TEST(ParamsTest, ValuesHaveALengthLimit) {
  ParamSpec s = Spec("s", ParamSpec::Type::kString);
  std::string at_limit(kMaxParamValueBytes, 'x');
  EXPECT_EQ(CheckParamValue(s, Value::String(at_limit)), "");
  EXPECT_EQ(CheckParamValue(s, Value::String(at_limit + "x")),
            "is 65537 bytes long, over the 65536-byte limit for a param value");
  std::string err;
  ParseParamText(Spec("n", ParamSpec::Type::kInteger), std::string(kMaxParamValueBytes + 1, '1'), &err);
  EXPECT_EQ(err, "is 65537 bytes long, over the 65536-byte limit for a param value");
}

TEST(ParamsTest, PrecedenceIsDefaultThenEnvThenFilesThenAssignments) {
  Plan plan;
  ParamSpec a = Spec("a", ParamSpec::Type::kInteger);
  a.default_value = Value::Int(1);
  plan.params = {a, Spec("b", ParamSpec::Type::kInteger), Spec("c", ParamSpec::Type::kInteger),
                 Spec("d", ParamSpec::Type::kInteger)};
  ParamSources src;
  src.environment = {{"b", "2"}, {"c", "2"}, {"d", "2"}, {"unrelated", "x"}};
  Value file = Value::Object();
  file.Set("c", Value::Int(3));
  file.Set("d", Value::Int(3));
  src.files = {{"p.yaml", file}};
  src.assignments = {"d=4", "d=5"};
  DiagnosticList diags("plan.yaml");
  ParamValues v = ResolveParams(plan, src, &diags);
  EXPECT_FALSE(diags.has_errors()) << FormatAll(diags);
  EXPECT_EQ(v["a"], Value::Int(1));
  EXPECT_EQ(v["b"], Value::Int(2));
  EXPECT_EQ(v["c"], Value::Int(3));
  EXPECT_EQ(v["d"], Value::Int(5));  // the last -p wins
}

TEST(ParamsTest, ReportsBadSourcesWithTheirOrigin) {
  Plan plan;
  ParamSpec s = Spec("seconds", ParamSpec::Type::kInteger);
  s.maximum = 20;
  plan.params = {s};
  ParamSources src;
  Value file = Value::Object();
  file.Set("secnds", Value::Int(3), {2, 1});
  file.Set("seconds", Value::String("x", {3, 10}), {3, 1});
  src.files = {{"p.yaml", file}};
  src.assignments = {"seconds=50", "novalue", "other=1"};
  DiagnosticList diags("plan.yaml");
  ResolveParams(plan, src, &diags);
  std::string all;
  for (const Diagnostic& d : diags.Sorted()) all += FormatDiagnostic(d) + "\n";
  EXPECT_EQ(all,
            "p.yaml:2:1: error: the plan has no param 'secnds'\n  hint: did you mean 'seconds'?\n"
            "p.yaml:3:10: error: param 'seconds' must be an integer, not a string\n"
            "plan.yaml: error: -p seconds: param 'seconds' 50 is above the maximum 20\n"
            "plan.yaml: error: -p novalue: expected name=value\n"
            "plan.yaml: error: -p other: the plan has no param 'other'\n");
}

TEST(ParamsTest, ChecksTheSpecsThemselves) {
  Plan plan;
  ParamSpec bad_default = Spec("n", ParamSpec::Type::kInteger);
  bad_default.default_value = Value::String("five");
  bad_default.default_loc = {2, 14};
  ParamSpec bad_pattern = Spec("s", ParamSpec::Type::kString);
  bad_pattern.pattern = "([a-z";
  bad_pattern.pattern_loc = {3, 20};
  ParamSpec inverted = Spec("r", ParamSpec::Type::kNumber);
  inverted.minimum = 5;
  inverted.maximum = 1;
  inverted.maximum_loc = {4, 30};
  plan.params = {bad_default, bad_pattern, inverted};
  DiagnosticList diags("plan.yaml");
  ParamValues v = ResolveParams(plan, ParamSources(), &diags);
  EXPECT_EQ(diags.error_count(), 3);
  EXPECT_EQ(v.count("n"), 0u);  // a bad default is not used
}

TEST(ParamsTest, ReadsOnlyPrefixedEnvironment) {
  char a[] = "SOGNI_FLOW_PARAM_seconds=8", b[] = "PATH=/bin", c[] = "SOGNI_FLOW_PARAM_x";
  char* env[] = {a, b, c, nullptr};
  auto got = ParamsFromEnvironment(env);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].first, "seconds");
  EXPECT_EQ(got[0].second, "8");
}

}  // namespace
}  // namespace sflow
