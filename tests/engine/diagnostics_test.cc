#include "engine/diagnostics.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace sflow
