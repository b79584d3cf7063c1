// Hosted-tool steps in a local plan: the direct project the official SDK runs for a tool call.
//
// A port of @sogni-ai/sogni-client 5.54.0 dist/Chat/ChatTools.js (the six tools it dispatches as
// projects: generate_image, edit_image, generate_video, sound_to_video, video_to_video,
// generate_music) and of the model routing in dist/Chat/modelRouting.js (the selector tables,
// the preferred model of each workflow, getVideoDefaults), applied to a plan's arguments, which
// are the hosted tools' own (schemas/tools/<tool>.schema.json of the protocol package).
//
// Where the SDK needs what a plan cannot give, the choice is fixed and documented in
// docs/plan-language.md section 11: the model the network would pick by its live worker counts
// is the SDK's first preferred model (or a named default); media indexes name a dependsOn entry
// or a media entry instead of a chat's media context. Where the SDK would drop an argument the
// project cannot honour, or run another model than the one named, the mapping refuses instead:
// a local plan never silently runs something other than what it says. Pure: no I/O.
#ifndef SFLOW_API_TOOL_PROJECTS_H_
#define SFLOW_API_TOOL_PROJECTS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/diagnostics.h"
#include "engine/plan.h"
#include "engine/validate.h"
#include "engine/value.h"

namespace sflow {

// One media input of the project: which ProjectParams key it fills, and where it comes from.
struct ToolMediaInput {
  std::string argument;       // the tool argument ("sourceImageIndex"), for messages
  std::string param;          // the ProjectParams key ("startingImage", "contextImages", ...)
  int64_t position = 0;       // inside a list param; 0 for a single one
  bool list = false;          // the param is a list (contextImages, referenceImageUrls, ...)
  bool url = false;           // the param takes the input's URL (referenceImageUrls), not its bytes
  MediaKind kind = MediaKind::kUnknown;
  int dependency = -1;        // the dependsOn entry that fills it, or -1
  int64_t upload_index = -1;  // else: the 0-based position among the plan's media of `kind`
};

struct ToolProject {
  // The ProjectParams. A media param filled by an input holds `true` (a list: one `true` per
  // input), a URL param "" (a list: one "" per input): what BuildJobRequest needs to know.
  Value params = Value::Object();
  std::vector<ToolMediaInput> inputs;
};

// Why a tool step cannot run as a project: the argument (or dependsOn entry) it is about.
struct ToolProjectError {
  std::string argument;  // "" when about the step or a dependency
  int dependency = -1;   // the dependsOn entry it is about, or -1
  std::string message, hint;
};

struct ToolProjectResult {
  ToolProject project;
  std::vector<ToolProjectError> errors;  // empty: `project` is the mapping
  bool ok() const { return errors.empty(); }
};

// The tools the SDK runs as direct projects, in its order.
const std::vector<std::string>& DirectProjectTools();
bool HasDirectProject(std::string_view tool);
std::string DirectProjectToolList();  // "generate_image, edit_image, ..."

// `arguments` are the step's resolved arguments (valid for the tool's schema, with the ones
// dependsOn fills possibly absent); `deps` its dependsOn. Upload indexes are checked
// against the plan's media where they are resolved (runner/local/local_spec.cc).
ToolProjectResult MapToolProject(std::string_view tool, const Value& arguments, const std::vector<Dependency>& deps);

// The checks `validate` makes of a local plan's tool steps: a tool with no direct-project
// equivalent, and every argument MapToolProject refuses, as `execution` errors at the argument.
// Steps whose arguments still hold a reference are checked once they are known (at run time).
void CheckLocalToolSteps(const Plan& plan, const PlanAnalysis& analysis, DiagnosticList* diags);

}  // namespace sflow

#endif  // SFLOW_API_TOOL_PROJECTS_H_
