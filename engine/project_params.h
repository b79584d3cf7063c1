// The parameters of a direct project (a `project:` step, local execution only).
//
// Taken from the official SDK's ProjectParams types (@sogni-ai/sogni-client 5.54.0,
// src/Projects/types/index.ts: BaseProjectParams, ImageProjectParams, VideoProjectParams,
// AudioProjectParams). The protocol package has no JSON Schema for projects, so this table is
// the one hand-kept list in sogni-flow; it only names keys and their JSON kinds.
#ifndef SFLOW_ENGINE_PROJECT_PARAMS_H_
#define SFLOW_ENGINE_PROJECT_PARAMS_H_

#include <string>
#include <string_view>
#include <vector>

namespace sflow {

enum class ProjectParamKind {
  kString, kNumber, kBoolean, kArray, kObject, kAny,
  kMedia,      // a file input: the name of a `media:` entry, or filled by dependsOn
  kMediaList,  // a list of such names
};

struct ProjectParam {
  std::string_view name;
  ProjectParamKind kind;
};

// The parameters a project of this type ("image", "video", "audio") accepts, base ones included;
// empty for an unknown type.
std::vector<ProjectParam> ProjectParamsFor(std::string_view type);

}  // namespace sflow

#endif  // SFLOW_ENGINE_PROJECT_PARAMS_H_
