#include "engine/interpolate.h"

#include <gtest/gtest.h>

#include "tests/support/test_util.h"

namespace sflow {
namespace {

class InterpolateTest : public testing::Test {
 protected:
  InterpolateTest() {
    ParamSpec subject;
    subject.name = "subject";
    ParamSpec seconds;
    seconds.name = "seconds";
    seconds.type = ParamSpec::Type::kInteger;
    ParamSpec later;
    later.name = "later";
    plan_.params = {subject, seconds, later};
    values_["subject"] = Value::String("headphones");
    values_["seconds"] = Value::Int(5);
  }
  Interpolated Run(const Value& v) { return Interpolate(v, {&plan_, &values_}, &diags_); }
  Plan plan_;
  ParamValues values_;
  DiagnosticList diags_{"p.yaml"};
};

TEST_F(InterpolateTest, WholeReferenceKeepsTheParamsType) {
  Interpolated r = Run(Value::String("${params.seconds}", {3, 4}));
  EXPECT_EQ(r.value, Value::Int(5));
  EXPECT_EQ(r.value.loc(), (SourceLoc{3, 4}));
  EXPECT_TRUE(r.unresolved.empty());
}

TEST_F(InterpolateTest, EmbeddedReferencesBecomeText) {
  EXPECT_EQ(Run(Value::String("render of ${params.subject}, ${params.seconds}s")).value,
            Value::String("render of headphones, 5s"));
}

TEST_F(InterpolateTest, DoubleDollarEscapes) {
  EXPECT_EQ(Run(Value::String("cost $${params.subject}")).value, Value::String("cost ${params.subject}"));
  EXPECT_FALSE(HasReference("$${params.x}"));
  EXPECT_TRUE(HasReference("a ${params.x}"));
}

TEST_F(InterpolateTest, ParamWithoutValueStaysUnresolved) {
  Value args = Value::Object();
  args.Set("prompt", Value::String("x ${params.later}"));
  args.Set("seed", Value::Int(1));
  Interpolated r = Run(args);
  EXPECT_EQ(r.unresolved, std::set<std::string>{"prompt"});
  EXPECT_EQ(r.value.Find("prompt")->as_string(), "x ${params.later}");
  EXPECT_FALSE(diags_.has_errors());
}

TEST_F(InterpolateTest, UnknownParamIsAnErrorWithASuggestion) {
  Run(Value::String("${params.subjct}", {7, 9}));
  EXPECT_EQ(FormatAll(diags_),
            "7:9: error: unknown param 'subjct' in ${params.subjct}\n  hint: did you mean 'subject'?\n");
}

TEST_F(InterpolateTest, MalformedAndUnterminatedReferences) {
  Run(Value::String("a ${oops} b", {1, 1}));
  Run(Value::String("a ${params.subject", {2, 1}));
  EXPECT_EQ(FormatAll(diags_),
            "1:1: error: malformed reference ${oops}\n  hint: write ${params.NAME}\n"
            "2:1: error: unterminated '${' in string\n  hint: close it with '}', or write '$${' for a literal\n");
}

TEST_F(InterpolateTest, InputsOnlyInTemplates) {
  Run(Value::String("${inputs.brief}", {4, 2}));
  EXPECT_EQ(FormatAll(diags_),
            "4:2: error: ${inputs.brief} refers to a template input, but this plan is not a template\n"
            "  hint: use ${params.brief}\n");
  DiagnosticList d2("t.yaml");
  plan_.kind = PlanKind::kTemplate;
  TemplateInput in;
  in.name = "brief";
  plan_.inputs.push_back(in);
  Interpolated r = Interpolate(Value::String("${inputs.brief}"), {&plan_, &values_}, &d2);
  EXPECT_EQ(r.value, Value::String("$inputs.brief"));
  EXPECT_EQ(r.unresolved.size(), 1u);
  EXPECT_FALSE(d2.has_errors());
}

TEST_F(InterpolateTest, RecursesIntoArraysAndObjects) {
  Value overlays = Value::Array();
  Value item = Value::Object();
  item.Set("text", Value::String("${params.subject}"));
  overlays.Append(item);
  Value args = Value::Object();
  args.Set("overlays", overlays);
  EXPECT_EQ(Run(args).value.ToJson(), R"({"overlays":[{"text":"headphones"}]})");
}

}  // namespace
}  // namespace sflow
