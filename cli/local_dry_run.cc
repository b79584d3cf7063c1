#include "cli/local_dry_run.h"

#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/job_request.h"
#include "api/project_quote.h"
#include "api/tool_projects.h"
#include "engine/media.h"
#include "engine/project_params.h"

namespace sflow {

namespace {

// The content type an upstream project's result has (its outputFormat, else its type's default:
// the formats createJobRequestMessage sends).
std::string MimeOfFormat(const std::string& format) {
  static const std::map<std::string, std::string> kMimes = {
      {"png", "image/png"},   {"jpg", "image/jpeg"},      {"jpeg", "image/jpeg"}, {"webp", "image/webp"},
      {"mp4", "video/mp4"},   {"mov", "video/quicktime"}, {"mp3", "audio/mpeg"},  {"wav", "audio/wav"},
      {"flac", "audio/flac"}, {"m4a", "audio/mp4"},       {"glb", "model/gltf-binary"}};
  auto it = kMimes.find(format);
  return it == kMimes.end() ? "" : it->second;
}

std::string Str(const Value& v, const char* key) {
  const Value* x = v.is_object() ? v.Find(key) : nullptr;
  return x && x->is_string() ? x->as_string() : "";
}

struct StepMedia {
  std::string source;        // "media:NAME" or "step:ID#INDEX"
  std::string content_type;  // "" when not known before the run
};

class DryRun {
 public:
  explicit DryRun(const CheckedPlan& c) : c_(c), output_type_(c.plan.steps.size()) {
    for (const MediaEntry& m : c.plan.media)
      media_mime_[m.name] = m.path.empty() ? "" : CheckLocalMedia(c.plan.directory, m.path).sniff.mime;
    for (size_t i = 0; i < c.plan.steps.size(); ++i) index_.emplace(c.plan.steps[i].id, i);
  }

  // The step's ProjectParams, with each dependsOn target filled; its inputs, by upload key.
  Result<Value> Params(size_t i, std::map<std::string, StepMedia>* inputs) {
    const Step& step = c_.plan.steps[i];
    Value params = c_.analysis.steps[i].arguments;
    if (!step.is_project()) return ToolParams(step, params, inputs);
    std::vector<ProjectParam> known = ProjectParamsFor(Str(params, "type"));
    auto kind_of = [&](const std::string& name) {
      for (const ProjectParam& p : known)
        if (p.name == name) return p.kind;
      return ProjectParamKind::kAny;
    };
    // Media names written in the params.
    for (const Value::Member& m : params.members()) {
      ProjectParamKind k = kind_of(m.key);
      if (k == ProjectParamKind::kMedia && m.value.is_string()) (*inputs)[m.key] = FromMedia(m.value.as_string());
      if (k == ProjectParamKind::kMediaList && m.value.is_array())
        for (size_t j = 0; j < m.value.size(); ++j)
          if (m.value.items()[j].is_string())
            (*inputs)[m.key + "[" + std::to_string(j) + "]"] = FromMedia(m.value.items()[j].as_string());
    }
    // dependsOn: each entry fills its target (a list param gets one more entry per dependency).
    for (const Dependency& d : step.depends_on) {
      StepMedia from = FromDependency(d);
      ProjectParamKind k = kind_of(d.target_argument);
      Value placeholder = Value::String(from.source);
      if (k == ProjectParamKind::kMediaList || k == ProjectParamKind::kArray) {
        Value* list = params.Find(d.target_argument);
        if (!list || !list->is_array()) {
          params.Set(d.target_argument, Value::Array());
          list = params.Find(d.target_argument);
        }
        if (k == ProjectParamKind::kMediaList)
          (*inputs)[d.target_argument + "[" + std::to_string(list->size()) + "]"] = from;
        list->Append(placeholder);
      } else {
        params.Set(d.target_argument, placeholder);
        if (k == ProjectParamKind::kMedia) (*inputs)[d.target_argument] = from;
      }
    }
    return params;
  }

  // A tool step's ProjectParams (api/tool_projects.h), each media input shown by its source.
  Result<Value> ToolParams(const Step& step, const Value& arguments, std::map<std::string, StepMedia>* inputs) {
    ToolProjectResult m = MapToolProject(step.tool_name, arguments, step.depends_on);
    if (!m.ok()) return Status::InvalidPlan(step.tool_name + " as a direct project: " + m.errors[0].message);
    Value params = std::move(m.project.params);
    for (const ToolMediaInput& in : m.project.inputs) {
      StepMedia from = in.upload_index >= 0 ? FromUpload(in.kind, in.upload_index)
                                            : FromDependency(step.depends_on[static_cast<size_t>(in.dependency)]);
      Value placeholder = Value::String(from.source);
      Value* list = in.list ? params.Find(in.param) : nullptr;
      if (list && list->is_array() && in.position < static_cast<int64_t>(list->size()))
        list->items()[static_cast<size_t>(in.position)] = placeholder;
      else
        params.Set(in.param, placeholder);
      if (!in.url) (*inputs)[in.list ? in.param + "[" + std::to_string(in.position) + "]" : in.param] = from;
    }
    return params;
  }

  // Only the step's request (what `validate` checks): no uploads, no estimate paths.
  Status RequestProblem(size_t i) {
    std::map<std::string, StepMedia> inputs;
    Result<Value> params = Params(i, &inputs);
    if (!params.ok()) return params.status();
    MediaContentTypes types;
    for (const auto& [key, m] : inputs)
      if (!m.content_type.empty()) types[key] = m.content_type;
    return BuildJobRequest(kDryRunJobId, *params, TraitsForModel(Str(*params, "modelId")), types).status();
  }

  Value Line(size_t i) {
    const Step& step = c_.plan.steps[i];
    Value line = Value::Object();
    line.Set("step", Value::String(step.id));
    std::map<std::string, StepMedia> inputs;
    Result<Value> params = Params(i, &inputs);
    if (!params.ok()) return Error(std::move(line), params.status());
    MediaContentTypes types;
    for (const auto& [key, m] : inputs)
      if (!m.content_type.empty()) types[key] = m.content_type;
    Result<Value> request = BuildJobRequest(kDryRunJobId, *params, TraitsForModel(Str(*params, "modelId")), types);
    if (!request.ok()) return Error(std::move(line), request.status());
    line.Set("jobRequest", *request);
    Value uploads = Value::Array();
    for (const ProjectUpload& u : UploadsFor(*params)) {
      Value o = Value::Object();
      o.Set("param", Value::String(u.param));
      o.Set("index", Value::Int(u.index));
      o.Set("route", Value::String(u.route));
      o.Set("type", Value::String(u.type));
      if (!u.id.empty()) o.Set("id", Value::String(u.id));
      o.Set("mediaKind", Value::String(u.media_kind));
      auto it = inputs.find(u.key());
      if (it != inputs.end() && !it->second.content_type.empty())
        o.Set("contentType", Value::String(it->second.content_type));
      if (it != inputs.end()) o.Set("source", Value::String(it->second.source));
      uploads.Append(std::move(o));
    }
    line.Set("uploads", std::move(uploads));
    std::string token = c_.plan.budget.token_type == "auto" ? "" : c_.plan.budget.token_type;
    if (MediaPresent(params->Find("sizePreset"))) {
      line.Set("estimatePath", Value::Null());
      Result<std::string> sp = SizePresetPathFor(*params, "");
      if (sp.ok()) line.Set("sizePresetPath", Value::String(*sp));
      line.Set("estimateNote", Value::String("priced at the size preset's size, read from sizePresetPath when the step runs"));
    } else if (Result<std::string> path = EstimatePathFor(*params, token, ""); path.ok()) {
      line.Set("estimatePath", Value::String(*path));
    } else {
      line.Set("estimatePath", Value::Null());
      line.Set("estimateNote", Value::String(path.status().message()));
    }
    return line;
  }

  // "step 'x': why" for the first step whose request could not be built, and how many failed.
  const std::string& first_error() const { return first_error_; }
  int failures() const { return failures_; }

 private:
  Value Error(Value line, const Status& s) {
    if (failures_++ == 0) first_error_ = "step '" + TerminalText(line.Find("step")->as_string()) + "': " + s.message();
    line.Set("error", Value::String(s.message()));
    return line;
  }

  StepMedia FromMedia(const std::string& name) {
    auto it = media_mime_.find(name);
    return StepMedia{"media:" + name, it == media_mime_.end() ? "" : it->second};
  }

  // The 0-based n-th media entry of a kind.
  StepMedia FromUpload(MediaKind kind, int64_t n) {
    int64_t seen = 0;
    for (const MediaEntry& m : c_.plan.media)
      if (m.kind == kind && seen++ == n) return FromMedia(m.name);
    return StepMedia{std::string("media:") + MediaKindName(kind) + "#" + std::to_string(n), ""};
  }

  // The n-th media entry of a kind ($input_media), or an upstream step's artifact.
  StepMedia FromDependency(const Dependency& d) {
    int64_t index = d.source_artifact_index.value_or(0);
    if (d.source_step_id == "$input_media") {
      std::string kind = d.media_type.value_or("");
      for (const char* k : {"image", "video", "audio"})
        if (d.transform.rfind(std::string(k) + "_", 0) == 0) kind = k;
      int64_t seen = 0;
      for (const MediaEntry& m : c_.plan.media)
        if (kind == MediaKindName(m.kind) && seen++ == index) return FromMedia(m.name);
      return StepMedia{"$input_media#" + std::to_string(index), ""};
    }
    StepMedia out{"step:" + d.source_step_id + "#" + std::to_string(index), ""};
    // Found by id through an index, its type worked out once: a plan of thousands of steps is
    // checked in linear time (`validate` builds every step's request).
    auto src = index_.find(d.source_step_id);
    if (src != index_.end() && src->second < c_.analysis.steps.size()) {
      std::optional<std::string>& type = output_type_[src->second];
      if (!type) {
        // The source's ProjectParams: its own, or those of the project its tool maps to.
        const Step& step = c_.plan.steps[src->second];
        const Value& own = c_.analysis.steps[src->second].arguments;
        const Value p = step.is_project() ? Value() : MapToolProject(step.tool_name, own, step.depends_on).project.params;
        const Value& params = step.is_project() ? own : p;
        std::string format = Str(params, "outputFormat"), kind = Str(params, "type");
        if (format.empty()) format = kind == "audio" ? "mp3" : kind == "video" ? "mp4" : "png";
        type = MimeOfFormat(format);
      }
      out.content_type = *type;
    }
    return out;
  }

  const CheckedPlan& c_;
  std::map<std::string, std::string> media_mime_;
  std::unordered_map<std::string, size_t> index_;           // step id -> its index
  std::vector<std::optional<std::string>> output_type_;   // by step: its output's content type
  std::string first_error_;
  int failures_ = 0;
};

}  // namespace

Status PrintLocalDryRun(const CheckedPlan& checked, std::ostream& out) {
  if (checked.plan.execution != Execution::kLocal) return Status::InvalidPlan(checked.plan.path + " is not a local plan");
  if (checked.analysis.order.size() != checked.plan.steps.size())
    return Status::InvalidPlan(checked.plan.path + ": its steps have no running order (a dependency cycle)");
  DryRun dry(checked);
  for (int i : checked.analysis.order) out << dry.Line(size_t(i)).ToJson() << "\n";
  if (dry.failures() > 0)
    return Status::InvalidPlan(checked.plan.path + ": " + dry.first_error() +
                               (dry.failures() > 1 ? " (and " + std::to_string(dry.failures() - 1) + " more steps)" : ""));
  return Status::OK();
}

std::vector<std::pair<size_t, std::string>> LocalRequestProblems(const CheckedPlan& checked) {
  std::vector<std::pair<size_t, std::string>> out;
  if (checked.plan.execution != Execution::kLocal || checked.analysis.order.size() != checked.plan.steps.size())
    return out;
  DryRun dry(checked);
  for (int i : checked.analysis.order)
    if (Status s = dry.RequestProblem(size_t(i)); !s.ok()) out.emplace_back(size_t(i), s.message());
  return out;
}

}  // namespace sflow
