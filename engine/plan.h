// The Plan model: what a plan file means once it is loaded, before any value is interpolated.
//
// plans/ builds a Plan from YAML (checking the shape of the file: keys, types, required fields);
// engine/ then checks what the plan means (graph, tools, arguments, media, params) and estimates
// its cost. Every element keeps the position of its source so that any later check can point back
// into the file. Field names follow the wire where one exists (toolName, dependsOn, ...).
#ifndef SFLOW_ENGINE_PLAN_H_
#define SFLOW_ENGINE_PLAN_H_

#include <optional>
#include <string>
#include <vector>

#include "engine/value.h"

namespace sflow {

enum class PlanKind { kWorkflow, kTemplate };
enum class Execution { kServer, kLocal };
enum class MediaKind { kUnknown, kImage, kVideo, kAudio };

const char* MediaKindName(MediaKind kind);  // "image", "video", "audio" or "unknown"
std::optional<MediaKind> ParseMediaKind(const std::string& name);

// A typed plan parameter (params:) or template input (inputs:).
struct ParamSpec {
  enum class Type { kString, kInteger, kNumber, kBoolean, kEnum };
  std::string name;
  SourceLoc loc;
  Type type = Type::kString;
  std::optional<Value> default_value;
  std::optional<double> minimum, maximum;
  std::optional<std::string> pattern;   // RE2 syntax, whole-value match, strings only (pattern.h)
  std::vector<Value> values;            // allowed values for kEnum
  std::string description;
  SourceLoc default_loc, minimum_loc, maximum_loc, pattern_loc;
};
const char* ParamTypeName(ParamSpec::Type type);

// A typed input of a kind: template plan, as the server's template `inputs[]` has them.
struct TemplateInput {
  std::string name;
  SourceLoc loc;
  std::string type;  // image | audio | video | text | number | select | boolean
  bool required = false;
  std::string description;
  std::optional<Value> default_value;
  std::vector<std::string> options;  // select values
};

// A media entry: a local file (uploaded before the run) or an https URL.
struct MediaEntry {
  std::string name;
  SourceLoc loc;
  std::string path;  // exactly one of path and url is set
  std::string url;
  SourceLoc value_loc;              // position of the path or url value
  MediaKind declared_kind = MediaKind::kUnknown;  // from `kind:`, if given
  SourceLoc kind_loc;
  // Filled by validation: the kind sniffed from the file (local) or declared/derived (URL).
  MediaKind kind = MediaKind::kUnknown;
};

struct Budget {
  std::optional<double> max_units;
  SourceLoc max_units_loc;
  // Local plans: the ceiling of the quoted total, in tokens of each step's token type.
  std::optional<double> max_tokens;
  SourceLoc max_tokens_loc;
  std::string token_type;    // "spark" | "sogni" | "auto"; empty = server default
  std::string billing_mode;  // "auto" | "subscription" | "tokens"; empty = server default
  bool approval_required = false;
  SourceLoc loc;
};

// One entry of a step's dependsOn, with the wire's field names.
struct Dependency {
  SourceLoc loc;
  std::string source_step_id;  // a step id, or "$input_media"
  SourceLoc source_step_loc;
  std::string target_argument;
  SourceLoc target_argument_loc;
  std::string transform;
  SourceLoc transform_loc;
  std::optional<std::string> source_artifact_id;
  std::optional<int64_t> source_artifact_index;
  SourceLoc source_artifact_index_loc;
  std::optional<std::string> media_type;  // "image" | "video" | "audio"
  SourceLoc media_type_loc;
  std::optional<bool> required;
};

struct Step {
  std::string id;
  SourceLoc loc;     // the step's mapping
  SourceLoc id_loc;
  std::string tool_name;  // set for tool steps
  SourceLoc tool_loc;
  Value arguments = Value::Object();  // tool arguments, uninterpolated
  std::optional<Value> project;       // set for project steps (local execution only)
  std::vector<Dependency> depends_on;
  std::string description;

  bool is_project() const { return project.has_value(); }
};

struct Plan {
  std::string path;        // as given on the command line; used in diagnostics
  std::string directory;   // the plan's directory; local media must stay inside it
  PlanKind kind = PlanKind::kWorkflow;
  int version = 1;
  std::string name;
  SourceLoc name_loc;
  std::string title;
  std::string description;
  Execution execution = Execution::kServer;
  SourceLoc execution_loc;
  std::optional<bool> safe_content_filter;
  std::vector<ParamSpec> params;
  std::vector<TemplateInput> inputs;  // kind: template only
  std::vector<MediaEntry> media;
  Budget budget;
  std::vector<Step> steps;
  SourceLoc steps_loc;
  // Template metadata (kind: template), passed through to the template record.
  std::string category, visibility;
  std::vector<std::string> tags;

  const Step* FindStep(const std::string& id) const;
  const ParamSpec* FindParam(const std::string& name) const;
  const MediaEntry* FindMedia(const std::string& name) const;
};

}  // namespace sflow

#endif  // SFLOW_ENGINE_PLAN_H_
