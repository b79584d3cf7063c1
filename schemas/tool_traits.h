// What the protocol schemas do not say about each tool: which media its artifacts are, its cost
// class, and how long its output is when the arguments do not say.
//
// Sources: cost classes from the backbone's toolCostMetadata (docs/cost-model.md); output kinds
// from each tool's description in the API reference and the protocol's prompt texts; media inputs
// from each argument's name and description in the pinned schemas (schemas/tools/*.schema.json);
// docs/api-contract.md sections 5 and 6. Where neither says, the entry is marked INFERRED in
// tool_traits.cc. A test checks
// that every workflow-step tool of the pinned package has an entry here.
#ifndef SFLOW_SCHEMAS_TOOL_TRAITS_H_
#define SFLOW_SCHEMAS_TOOL_TRAITS_H_

#include <string_view>
#include <vector>

#include "engine/plan.h"

namespace sflow {

// An argument that takes media: an index or URL of an artifact or upload, or a list of indexes.
struct MediaInput {
  std::string_view argument;
  MediaKind kind;  // kUnknown: any kind
};

struct ToolTraits {
  std::string_view name;
  std::vector<MediaKind> outputs;
  std::string_view cost_class;  // "" = the sources give none (the cost model counts it as 1 unit)
  double default_seconds;       // for tools whose output has a duration; 0 otherwise
  std::vector<MediaInput> inputs = {};  // the arguments that take media (see MediaInputs())
};

// The protocol schemas type media arguments as plain numbers, strings or lists; which kind each
// takes is said only in its name and description ("sourceImageIndex": "Which image to use...").
// The `inputs` of each entry are that reading, written down once per tool, and a test checks
// that every argument of a workflow-step tool whose name ends in Index, Indices, Url or _url is
// either listed or among NonMediaArguments().
const std::vector<std::string_view>& NonMediaArguments();

// nullptr when the tool has no entry.
const ToolTraits* FindToolTraits(std::string_view name);
const std::vector<ToolTraits>& AllToolTraits();

}  // namespace sflow

#endif  // SFLOW_SCHEMAS_TOOL_TRAITS_H_
