// LocalSpec: what a local run executes, fixed when the run is created and stored with it (the
// run's `spec` column), so that `resume` never re-reads a plan file that may have changed since.
//
// Each step is a direct project: its ProjectParams with every reference resolved (for a tool step,
// the ones the official SDK builds for that tool: api/tool_projects.h), and its bindings: the
// inputs that exist only at run time. A binding fills one project parameter from
//   * a media entry of the plan (`startingImage: logo`): a local file, uploaded with the project;
//   * an artifact of another step (a dependsOn entry): uploaded as a copy of the downloaded file
//     when the parameter takes media (startingImage, referenceImage, contextImages...), or its
//     result URL when the parameter takes a URL or text (referenceImageUrls, ...).
// In `params`, a parameter filled by a binding holds `true` (or a list of `true`s): the jobRequest
// builder needs only to know that the input is there, as the SDK's flags do.
#ifndef SFLOW_RUNNER_LOCAL_LOCAL_SPEC_H_
#define SFLOW_RUNNER_LOCAL_LOCAL_SPEC_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/plan.h"
#include "engine/status.h"
#include "engine/validate.h"
#include "engine/value.h"

namespace sflow {

struct SpecBinding {
  std::string target;        // the project parameter
  int64_t position = 0;      // place inside a list parameter (contextImages[1]); 0 for one value
  bool upload = true;        // true: the bytes are uploaded; false: the URL is put in the value
  std::string media;         // a media entry's name, or "" when from a step
  std::string source_step;   // the producing step's id, or ""
  int64_t source_index = 0;  // which artifact of that step
  MediaKind kind = MediaKind::kUnknown;
};

struct SpecStep {
  std::string id;
  std::string type;          // "image" | "video" | "audio"
  std::string tool;          // the hosted tool a tool step maps (api/tool_projects.h); "" for a project
  Value params = Value::Object();
  std::vector<SpecBinding> bindings;
  std::vector<size_t> deps;  // indexes of the steps whose artifacts it consumes
  int64_t artifact_count = 1;
  // The quote `run` got for this step before paying anything (negative: none asked).
  double quote_tokens = -1, quote_usd = -1;
  std::string token_type;
  bool no_cache = false;     // always runs: a reseed's named steps and their dependants, or run --no-cache
};

struct SpecMedia {
  std::string path;          // canonical path, checked at creation
  std::string sha256;        // of the bytes at creation: a changed file is refused at upload
  MediaKind kind = MediaKind::kUnknown;
};

struct LocalSpec {
  std::vector<SpecStep> steps;  // plan order
  std::map<std::string, SpecMedia> media;
  const SpecStep* Find(const std::string& id) const;
};

// The spec of a valid local plan. kInvalidPlan for what the plan language allows but local
// execution cannot do (a tool step with no direct-project equivalent, a transform with no
// meaning for a project parameter, a URL media entry where bytes are needed), naming the step.
// kIOError when a media file cannot be read.
Result<LocalSpec> BuildLocalSpec(const Plan& plan, const PlanAnalysis& analysis);

// The spec of a reseed of `spec`: each step in `seeds` gets that seed (a value drawn from
// `random` when it has none), and it and every step downstream of it run again (no_cache);
// `seeds` empty reseeds every step. kInvalidPlan naming an unknown step.
Result<LocalSpec> ReseedSpec(const LocalSpec& spec, const std::map<std::string, std::optional<int64_t>>& seeds,
                             uint64_t random);

Value SpecToValue(const LocalSpec& spec);
// kIOError "the state database is damaged ..." style errors are the caller's: this returns
// kInternal with what is wrong when `v` is not a spec this sogni-flow wrote.
Result<LocalSpec> SpecFromValue(const Value& v);

}  // namespace sflow

#endif  // SFLOW_RUNNER_LOCAL_LOCAL_SPEC_H_
