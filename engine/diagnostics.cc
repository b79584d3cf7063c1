#include "engine/diagnostics.h"

#include <algorithm>

namespace sflow {

void DiagnosticList::Error(SourceLoc loc, std::string code, std::string message, std::string hint) {
  Add(Diagnostic{file_, loc, Severity::kError, std::move(code), std::move(message), std::move(hint)});
}

void DiagnosticList::Warning(SourceLoc loc, std::string code, std::string message, std::string hint) {
  Add(Diagnostic{file_, loc, Severity::kWarning, std::move(code), std::move(message), std::move(hint)});
}

void DiagnosticList::Add(Diagnostic d) {
  if (d.severity == Severity::kError) ++errors_;
  items_.push_back(std::move(d));
}

void DiagnosticList::Append(const DiagnosticList& other) {
  for (const Diagnostic& d : other.items_) Add(d);
}

std::vector<Diagnostic> DiagnosticList::Sorted() const {
  std::vector<Diagnostic> out = items_;
  std::stable_sort(out.begin(), out.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.file != b.file) return a.file < b.file;
    if (a.loc != b.loc) return a.loc < b.loc;
    return a.severity == Severity::kError && b.severity != Severity::kError;
  });
  return out;
}

std::string FormatDiagnostic(const Diagnostic& d) {
  // Every part may hold plan text (or a path's bytes): each is made terminal-safe here, once.
  std::string out = TerminalText(d.file);
  if (d.loc.known()) out += ":" + std::to_string(d.loc.line) + ":" + std::to_string(d.loc.column);
  out += d.severity == Severity::kError ? ": error: " : ": warning: ";
  out += TerminalText(d.message);
  if (!d.hint.empty()) out += "\n  hint: " + TerminalText(d.hint);
  return out;
}

std::string DiagnosticToJson(const Diagnostic& d) {
  Value v = Value::Object();
  v.Set("file", Value::String(d.file));
  v.Set("line", Value::Int(d.loc.line));
  v.Set("column", Value::Int(d.loc.column));
  v.Set("severity", Value::String(d.severity == Severity::kError ? "error" : "warning"));
  v.Set("code", Value::String(d.code));
  v.Set("message", Value::String(d.message));
  if (!d.hint.empty()) v.Set("hint", Value::String(d.hint));
  return v.ToJson();
}

}  // namespace sflow
