// Plan parameters: where their values come from, and checking them against their specs.
//
// Precedence, lowest first (each later source overrides the earlier ones):
//   1. the param's `default` in the plan;
//   2. the environment, SOGNI_FLOW_PARAM_<name> (the name as written in the plan);
//   3. each --param-file, in the order given;
//   4. each -p name=value, in the order given (so the last -p for a name wins).
// Text values (environment, -p) are converted to the param's type; values from a param file keep
// their YAML type and must already have the right one.
#ifndef SFLOW_ENGINE_PARAMS_H_
#define SFLOW_ENGINE_PARAMS_H_

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/diagnostics.h"
#include "engine/plan.h"
#include "engine/value.h"

namespace sflow {

struct ParamFile {
  std::string path;
  Value values;  // a mapping name -> value, positions into path
};

struct ParamSources {
  std::vector<std::pair<std::string, std::string>> environment;  // name -> text
  std::vector<ParamFile> files;
  std::vector<std::string> assignments;  // "name=value", from -p
};

// Values by param name. A name is absent when the param has no default and no source gave it.
using ParamValues = std::map<std::string, Value>;

// Collects SOGNI_FLOW_PARAM_* from an environ-style array (nullptr-terminated).
std::vector<std::pair<std::string, std::string>> ParamsFromEnvironment(char** environ);

// Whether a name (a param's, a command-line option's) says its value is secret: it contains
// "key", "token", "secret", "password" or "passwd" in any case. The one rule for both: no
// message (text or --json) shows such a param's value ("(value not shown: the name says it is
// secret)"; the value itself is still used and sent), and no option of such a name is echoed.
bool NameSaysSecret(std::string_view name);

// Checks the specs themselves (defaults fit their type, bounds, patterns that compile), then
// resolves values by the precedence above, checking each. Problems go to diags (-p and
// environment problems have no position; param-file problems point into that file).
// *refused (when given) receives the names of params for which a default or a source gave a value
// that was reported as wrong: they have no value, and that is already said.
ParamValues ResolveParams(const Plan& plan, const ParamSources& sources, DiagnosticList* diags,
                          std::set<std::string>* refused = nullptr);

// Converts text to the param's type; on failure returns null and sets *error.
Value ParseParamText(const ParamSpec& spec, const std::string& text, std::string* error);

// Checks a typed value against the spec (type, bounds, pattern, enum); "" when it fits.
std::string CheckParamValue(const ParamSpec& spec, const Value& value);

}  // namespace sflow

#endif  // SFLOW_ENGINE_PARAMS_H_
