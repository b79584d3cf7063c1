// ${...} interpolation in plan values.
//
//   "Product render of ${params.subject}"  -> the param's value, as text, inside the string
//   "${params.seconds}"                     -> the param's value itself, keeping its type (5, not "5")
//   "${inputs.brief}"                       -> (templates) left for the server as "$inputs.brief"
//   "$${params.x}"                          -> the literal text "${params.x}"
//
// A reference to a param that has no value (no default, none given) is left as written and
// reported in `missing_params`; validation makes it an error for every command.
#ifndef SFLOW_ENGINE_INTERPOLATE_H_
#define SFLOW_ENGINE_INTERPOLATE_H_

#include <map>
#include <set>
#include <string>

#include "engine/diagnostics.h"
#include "engine/params.h"
#include "engine/plan.h"
#include "engine/value.h"

namespace sflow {

struct InterpolationScope {
  const Plan* plan = nullptr;
  const ParamValues* params = nullptr;
  // Params whose value was refused (already reported): a reference to one is unresolved but
  // not reported again in `missing_params`.
  const std::set<std::string>* refused = nullptr;
};

struct Interpolated {
  Value value;
  // Top-level keys of the interpolated object whose values still hold a reference (an unresolved
  // param or a template input); for a scalar, "" when the scalar itself does.
  std::set<std::string> unresolved;
  // The subset of `unresolved` that holds a reference to a param with no value (an error for
  // every command); the rest hold template inputs, which the server fills in.
  std::set<std::string> missing_params;
  // Top-level keys whose value took text from a param whose name says it is secret
  // (NameSaysSecret), each with that param's name ("" for a scalar): messages about these
  // values must not show them.
  std::map<std::string, std::string> secret;
};

// Interpolates every string in v (recursively). Unknown references and references to undeclared
// params or inputs are errors in diags, at the string's position.
Interpolated Interpolate(const Value& v, const InterpolationScope& scope, DiagnosticList* diags);

// True when text contains a ${...} reference (not counting $${ escapes).
bool HasReference(const std::string& text);

}  // namespace sflow

#endif  // SFLOW_ENGINE_INTERPOLATE_H_
