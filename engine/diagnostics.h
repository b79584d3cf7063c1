// Diagnostics: every problem found in a plan, with its position, in the form compilers use.
//
//   samples/teaser.yaml:12:7: error: unknown step 'keyfrme' in dependsOn
//     hint: did you mean 'keyframe'?
//
// Validation never stops at the first problem: it collects them all into a DiagnosticList, which
// sorts them by position so that output is stable and golden-testable. Each diagnostic also has a
// short stable code (e.g. "unknown-key") for --json consumers.
#ifndef SFLOW_ENGINE_DIAGNOSTICS_H_
#define SFLOW_ENGINE_DIAGNOSTICS_H_

#include <string>
#include <vector>

#include "engine/value.h"

namespace sflow {

enum class Severity { kError, kWarning };

struct Diagnostic {
  std::string file;
  SourceLoc loc;
  Severity severity = Severity::kError;
  std::string code;     // stable identifier, e.g. "unknown-key", "schema", "cycle"
  std::string message;  // one line, no trailing period
  std::string hint;     // optional second line, e.g. "did you mean 'keyframe'?"
};

class DiagnosticList {
 public:
  explicit DiagnosticList(std::string file = "") : file_(std::move(file)) {}

  void Error(SourceLoc loc, std::string code, std::string message, std::string hint = "");
  void Warning(SourceLoc loc, std::string code, std::string message, std::string hint = "");
  void Add(Diagnostic d);
  void Append(const DiagnosticList& other);

  bool has_errors() const { return errors_ > 0; }
  int error_count() const { return errors_; }
  int warning_count() const { return static_cast<int>(items_.size()) - errors_; }
  bool empty() const { return items_.empty(); }
  const std::string& file() const { return file_; }

  // Sorted by (file, line, column), errors before warnings at one position, then insertion order.
  std::vector<Diagnostic> Sorted() const;

 private:
  std::string file_;
  std::vector<Diagnostic> items_;
  int errors_ = 0;
};

// "file:line:col: error: message" plus "\n  hint: ..." when there is a hint; no trailing newline.
// A diagnostic without a position prints "file: error: message". File, message and hint are
// printed through TerminalText (plan text may hold escape sequences or bytes that are not UTF-8).
std::string FormatDiagnostic(const Diagnostic& d);
// The diagnostic as one JSON object: {"file","line","column","severity","code","message","hint"?},
// with the true text (JSON escapes controls; a byte that is not UTF-8 becomes U+FFFD).
std::string DiagnosticToJson(const Diagnostic& d);

}  // namespace sflow

#endif  // SFLOW_ENGINE_DIAGNOSTICS_H_
