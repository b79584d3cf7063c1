// The helper api/tool_projects.cc builds each tool's project with: typed reads of the tool's
// arguments (JavaScript's truthiness where the SDK tests it), the media sources of an index
// argument (its literal indexes, then the dependsOn entries that fill it), and the errors that
// name the argument or dependency they are about. Internal to api/tool_projects.*.
#ifndef SFLOW_API_TOOL_PROJECTS_MAPPER_H_
#define SFLOW_API_TOOL_PROJECTS_MAPPER_H_

#include <string>
#include <string_view>
#include <vector>

#include "api/tool_projects.h"

namespace sflow::tool_projects_internal {

// Where one media input comes from.
struct Source {
  int dependency = -1;   // the dependsOn entry, or -1 for an index written in the arguments
  int64_t upload = -1;   // a media entry: the 0-based position among the plan's media of the kind
  bool from_step = false;
};

class Mapper {
 public:
  Mapper(std::string_view tool, const Value& args, const std::vector<Dependency>& deps)
      : tool_(tool), args_(args), deps_(deps), consumed_(deps.size(), false) {}

  const Value* Arg(const char* name) const;  // null when absent or null
  bool Truthy(const char* name) const;       // JavaScript's truthiness of the argument
  std::string Text(const char* name) const;  // a trimmed non-empty string, else ""
  static std::string Lower(std::string s);

  void Set(const std::string& key, Value v) { out_.project.params.Set(key, std::move(v)); }
  void Copy(const char* from, const char* to);  // when the argument is present
  // type, modelId, positivePrompt and numberOfMedia (getHostedVariationCount).
  void Head(const char* type, const std::string& model);
  void ExportOptions();  // a video tool's outputFormat and returnLastFrame

  // The media an index argument names: its literal indexes (negative: -1 is the first media
  // entry of the kind; with zero_based_uploads, 0 is too), then the dependsOn entries that
  // target it. A single-valued argument filled by dependsOn takes the dependency, as on the server.
  std::vector<Source> Sources(const char* arg, MediaKind kind, bool zero_based_uploads);
  void Input(const char* arg, const char* param, MediaKind kind, const Source& s, bool list, bool url = false);
  // A URL argument: written (copied as is) or filled by a *_url dependency from a step.
  void UrlInput(const char* arg, const char* param, MediaKind kind);

  // selectBackboneModel with the network left out: the requested model when it serves one of
  // the workflows, else the preferred one. A named model the SDK would pass over is an error.
  std::string SelectVideoModel(const std::string& requested, const std::vector<std::string>& workflows,
                               const std::string& preferred);

  void Refuse(const char* arg, const std::string& hint);  // present: no project equivalent
  void RefuseIf(const char* arg, const Value& bad, const std::string& hint);
  void Fail(const std::string& arg, const std::string& message, const std::string& hint = "", int dependency = -1);

  bool failed() const { return !out_.errors.empty(); }
  // The mapping; every dependsOn entry no input took is an error.
  ToolProjectResult Finish();

 private:
  std::string_view tool_;
  const Value& args_;
  const std::vector<Dependency>& deps_;
  std::vector<bool> consumed_;
  ToolProjectResult out_;
};

}  // namespace sflow::tool_projects_internal

#endif  // SFLOW_API_TOOL_PROJECTS_MAPPER_H_
