// What the catalog makes of valijson: its findings turned into ArgumentProblems, the walks over a
// tool's schema those need, and the check that keeps std::regex away from plan text. Internal to
// schemas/ (protocol_catalog.cc is the only user); split out to keep that file about the catalog.
#ifndef SFLOW_SCHEMAS_SCHEMA_FINDINGS_H_
#define SFLOW_SCHEMAS_SCHEMA_FINDINGS_H_

#include <string>
#include <vector>

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Object.h>

#include "engine/tool_catalog.h"
#include "engine/value.h"

namespace sflow {

// The object inside v, or null.
Poco::JSON::Object::Ptr AsObject(const Poco::Dynamic::Var& v);
// A schema's "type", as a list ("number", or ["string", "null"]); empty when it has none.
std::vector<std::string> SchemaTypes(const Poco::JSON::Object::Ptr& schema);

// valijson (Debian's 1.0) checks "pattern", "patternProperties" and the date/time formats with
// std::regex, whose executor recurses once per character of the checked string and backtracks
// exponentially: an argument string from a plan must never reach it. No tool schema of the
// pinned package uses these keywords (a test loads it); a package that does is refused at
// Load, so that the change is seen in tests and handled (with RE2) before it ships.
// Returns where the first such keyword is, as a JSON pointer ("" when there is none). `names`:
// node's keys are names (under "properties", "$defs"), not keywords.
std::string FindRegexKeyword(const Poco::Dynamic::Var& node, const std::string& where, bool names);

// One valijson finding (its description, at `path` in the arguments) as a readable problem.
ArgumentProblem Explain(const Poco::JSON::Object::Ptr& schema, const Value& args, std::vector<std::string> path,
                        const std::string& description);

// valijson names only the first member that additionalProperties refuses; this lists every member
// of the object at `path` that its schema's properties do not, each with its "did you mean".
std::vector<ArgumentProblem> UnknownMembers(const Poco::JSON::Object::Ptr& schema, const Value& args,
                                            const std::vector<std::string>& path);

// valijson repeats a problem as "failed to validate property X" for each enclosing level.
bool IsEnclosingReport(const std::string& description);

// valijson's context ("<root>", "[\"overlays\"]", "[0]") as a path of keys and indexes.
std::vector<std::string> ContextToPath(const std::vector<std::string>& context);

}  // namespace sflow

#endif  // SFLOW_SCHEMAS_SCHEMA_FINDINGS_H_
