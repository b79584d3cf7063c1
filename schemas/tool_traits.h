// What the protocol schemas do not say about each tool: which media its artifacts are, its cost
// class, and how long its output is when the arguments do not say.
//
// Sources (docs/api-contract.md): cost classes from section 6 (the backbone's
// toolCostMetadata); output kinds from each tool's description in section 5 and the protocol's
// prompt texts. Where neither says, the entry is marked INFERRED in tool_traits.cc. A test checks
// that every workflow-step tool of the pinned package has an entry here.
#ifndef SFLOW_SCHEMAS_TOOL_TRAITS_H_
#define SFLOW_SCHEMAS_TOOL_TRAITS_H_

#include <string_view>
#include <vector>

#include "engine/plan.h"

namespace sflow {

struct ToolTraits {
  std::string_view name;
  std::vector<MediaKind> outputs;
  std::string_view cost_class;  // "" = the sources give none (the cost model counts it as 1 unit)
  double default_seconds;       // for tools whose output has a duration; 0 otherwise
};

// nullptr when the tool has no entry.
const ToolTraits* FindToolTraits(std::string_view name);
const std::vector<ToolTraits>& AllToolTraits();

}  // namespace sflow

#endif  // SFLOW_SCHEMAS_TOOL_TRAITS_H_
