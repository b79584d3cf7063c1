// ToolCatalog: what engine/ needs to know about the hosted tools, behind a small interface.
//
// The real implementation (schemas/protocol_catalog.h) is built from the pinned official
// @sogni-ai/sogni-protocol package and validates arguments with a JSON Schema library; tests can
// substitute a fake. engine/ itself never parses a schema.
#ifndef SFLOW_ENGINE_TOOL_CATALOG_H_
#define SFLOW_ENGINE_TOOL_CATALOG_H_

#include <string>
#include <string_view>
#include <vector>

#include "engine/plan.h"
#include "engine/value.h"

namespace sflow {

// The JSON type(s) an argument accepts, as its schema says ("number", "array", ...), and for
// arrays the type of the items. Used to check that a dependsOn transform fits its targetArgument.
struct ArgumentInfo {
  std::string name;
  std::vector<std::string> types;  // empty: any
  std::string item_type;           // for arrays; empty: any
  bool required = false;
  // Whether the argument takes media (an index or URL of an artifact or upload, or a list of
  // them), and which kind; kUnknown with media_input means any kind.
  bool media_input = false;
  MediaKind media = MediaKind::kUnknown;
};

struct ToolInfo {
  std::string name;
  bool workflow_step = false;  // may appear as a step of a durable workflow (the run schema's enum)
  std::vector<ArgumentInfo> arguments;
  std::vector<MediaKind> outputs;  // media kinds among the tool's artifacts; empty: none
  bool counts_variations = false;  // has numberOfVariations: one artifact per variation
  std::string cost_class;          // e.g. "image.standard"; "" when the sources give none
  double default_seconds = 0;      // output length assumed when the arguments give none

  const ArgumentInfo* FindArgument(std::string_view arg) const {
    for (const ArgumentInfo& a : arguments)
      if (a.name == arg) return &a;
    return nullptr;
  }
  std::vector<std::string> ArgumentNames() const {
    std::vector<std::string> out;
    for (const ArgumentInfo& a : arguments) out.push_back(a.name);
    return out;
  }
  bool Produces(MediaKind kind) const {
    for (MediaKind k : outputs)
      if (k == kind) return true;
    return false;
  }
};

// One way in which arguments break a tool's schema.
struct ArgumentProblem {
  std::vector<std::string> path;  // e.g. {"overlays", "0", "position"}; empty: the whole object
  std::string message;            // e.g. "must be at most 16"
  std::string hint;               // e.g. "did you mean 'z-turbo'?"
  std::string rule;               // the schema keyword that failed, e.g. "maximum"
  // The value the problem is about as messages show it ("\"abc\"", 17), or "" when the message
  // needs none; not part of `message`, so that a caller can leave out a secret one. Text for
  // people: ArgumentProblemText.
  std::string got;
};

// "must be at most 16 (got 20)": the message with the value. With `secret_param` (the argument
// holds that secret param's value), the value is named hidden instead of shown.
inline std::string ArgumentProblemText(const ArgumentProblem& p, const std::string& secret_param = "") {
  if (p.got.empty()) return p.message;
  if (!secret_param.empty()) return p.message + " (value not shown: it holds secret param '" + secret_param + "')";
  return p.message + " (got " + p.got + ")";
}

class ToolCatalog {
 public:
  virtual ~ToolCatalog() = default;
  // nullptr when no tool has this name.
  virtual const ToolInfo* Find(std::string_view name) const = 0;
  // Every tool name the catalog knows, for "did you mean".
  virtual std::vector<std::string> Names() const = 0;
  // Checks arguments against the tool's official schema; empty when they conform.
  virtual std::vector<ArgumentProblem> CheckArguments(const ToolInfo& tool,
                                                      const Value& arguments) const = 0;
  // e.g. "@sogni-ai/sogni-protocol 1.0.0-alpha.45 (protocol 7.4.0)".
  virtual std::string Source() const = 0;
};

}  // namespace sflow

#endif  // SFLOW_ENGINE_TOOL_CATALOG_H_
