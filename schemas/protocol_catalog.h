// ProtocolCatalog: the ToolCatalog built from the pinned official @sogni-ai/sogni-protocol
// package (compiled into the binary by cmake/embed_files.cmake).
//
// Tool names and the set allowed as workflow steps come from the durable-workflow run schema's
// toolName enum; argument schemas from schemas/tools/<tool>.schema.json, or for the app tools
// from manifests/app-tools.json; output kinds and cost classes from tool_traits.h. Arguments are
// validated with valijson (JSON Schema), never with hand-written rules: this class only turns
// valijson's findings into readable messages and "did you mean" hints.
//
// Schemas are compiled on first use, once (std::call_once), and cached. Every method is const and
// safe to call from several threads at once.
#ifndef SFLOW_SCHEMAS_PROTOCOL_CATALOG_H_
#define SFLOW_SCHEMAS_PROTOCOL_CATALOG_H_

#include <memory>
#include <string>

#include "engine/status.h"
#include "engine/tool_catalog.h"

namespace sflow {

class ProtocolCatalog : public ToolCatalog {
 public:
  // Builds the catalog from the embedded package. Fails only if the embedded data is damaged.
  static Result<std::unique_ptr<ProtocolCatalog>> Load();
  ~ProtocolCatalog() override;
  ProtocolCatalog(const ProtocolCatalog&) = delete;
  ProtocolCatalog& operator=(const ProtocolCatalog&) = delete;

  const ToolInfo* Find(std::string_view name) const override;
  std::vector<std::string> Names() const override;
  std::vector<ArgumentProblem> CheckArguments(const ToolInfo& tool, const Value& arguments) const override;
  std::string Source() const override;

  // The embedded text of a package file (e.g. "schemas/events/workflow-event.schema.json"), or
  // nullptr. Lets other components (the sandbox, tests) use the same pinned schemas.
  static const char* PackageFile(std::string_view path);

  // Where a JSON Schema (as text) uses a keyword that valijson checks with std::regex ("pattern",
  // "patternProperties", the date/time formats), as a JSON pointer; "" when nowhere. Load refuses
  // a tool schema for which this is not "".
  static std::string RegexKeyword(const std::string& schema_json);

 private:
  struct Impl;
  explicit ProtocolCatalog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sflow

#endif  // SFLOW_SCHEMAS_PROTOCOL_CATALOG_H_
