#include "engine/diagnostics.h"

#include <gtest/gtest.h>

#include "engine/json.h"

namespace sflow {
namespace {

TEST(DiagnosticsTest, FormatsLikeACompiler) {
  Diagnostic d{"plan.yaml", {12, 7}, Severity::kError, "unknown-step", "unknown step 'x'", "did you mean 'y'?"};
  EXPECT_EQ(FormatDiagnostic(d), "plan.yaml:12:7: error: unknown step 'x'\n  hint: did you mean 'y'?");
  d.hint.clear();
  d.severity = Severity::kWarning;
  EXPECT_EQ(FormatDiagnostic(d), "plan.yaml:12:7: warning: unknown step 'x'");
  d.loc = {};
  EXPECT_EQ(FormatDiagnostic(d), "plan.yaml: warning: unknown step 'x'");
}

TEST(DiagnosticsTest, SortsByPositionThenErrorsFirstThenInsertionOrder) {
  DiagnosticList list("p.yaml");
  list.Warning({3, 1}, "w", "third-line warning");
  list.Error({1, 5}, "e", "first line, col 5");
  list.Error({3, 1}, "e", "third-line error");
  list.Error({1, 5}, "e", "first line, col 5, second");
  list.Error({}, "e", "no position");
  std::vector<Diagnostic> s = list.Sorted();
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0].message, "no position");
  EXPECT_EQ(s[1].message, "first line, col 5");
  EXPECT_EQ(s[2].message, "first line, col 5, second");
  EXPECT_EQ(s[3].message, "third-line error");
  EXPECT_EQ(s[4].message, "third-line warning");
  EXPECT_EQ(list.error_count(), 4);
  EXPECT_EQ(list.warning_count(), 1);
}

TEST(DiagnosticsTest, JsonCarriesEveryField) {
  Diagnostic d{"a.yaml", {2, 3}, Severity::kError, "cycle", "dependency cycle", "hint text"};
  EXPECT_EQ(DiagnosticToJson(d),
            R"({"file":"a.yaml","line":2,"column":3,"severity":"error","code":"cycle",)"
            R"("message":"dependency cycle","hint":"hint text"})");
}

TEST(DiagnosticsTest, PrintsPlanTextTerminalSafeAndJsonWithTheTrueText) {
  std::string tool("gen\x1b[31m\xc2\x85\x7f\tok \xc3\xa9\xff", 18);
  Diagnostic d{"p\n.yaml", {4, 2}, Severity::kError, "unknown-tool", "unknown tool '" + tool + "'",
               std::string("k\0ey", 4)};
  EXPECT_EQ(FormatDiagnostic(d),
            "p\\x0A.yaml:4:2: error: unknown tool 'gen\\x1B[31m\\u{85}\\x7F\\x09ok \xc3\xa9\\xFF'\n  hint: k\\x00ey");
  EXPECT_EQ(TerminalText("\xe2\x80\xa8 \xc2\xa0 \xed\xa0\x80"), "\xe2\x80\xa8 \xc2\xa0 \\xED\\xA0\\x80");
  // --json keeps the true text: the same string parses back (a byte that is not UTF-8 aside).
  d.message.pop_back();
  d.message.back() = '\'';
  Result<Value> v = ParseJson(DiagnosticToJson(d));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->Find("message")->as_string(), d.message);
  EXPECT_EQ(v->Find("hint")->as_string(), d.hint);
}

}  // namespace
}  // namespace sflow
