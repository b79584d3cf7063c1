#include "api/tool_projects_mapper.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "api/model_families.h"
#include "api/tool_projects_models.h"

namespace sflow::tool_projects_internal {

namespace {

bool EndsWith(const std::string& s, std::string_view tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string IndexHint(MediaKind kind) {
  const std::string k = MediaKindName(kind);
  return "fill it with a dependsOn entry from the step that makes the " + k + " (transform: " + k +
         "_index), or write -1 for the first " + k + " in media:";
}

}  // namespace

const Value* Mapper::Arg(const char* name) const {
  const Value* v = args_.Find(name);
  return v && !v->is_null() ? v : nullptr;
}

bool Mapper::Truthy(const char* name) const {
  const Value* v = Arg(name);
  if (!v) return false;
  if (v->is_bool()) return v->as_bool();
  if (v->is_number()) return v->as_number() != 0 && !std::isnan(v->as_number());
  if (v->is_string()) return !v->as_string().empty();
  return true;
}

std::string Mapper::Text(const char* name) const {
  const Value* v = Arg(name);
  if (!v || !v->is_string()) return "";
  const std::string& s = v->as_string();
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string Mapper::Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void Mapper::Copy(const char* from, const char* to) {
  if (const Value* v = Arg(from)) Set(to, *v);
}

void Mapper::Head(const char* type, const std::string& model) {
  Set("type", Value::String(type));
  Set("modelId", Value::String(model));
  Copy("prompt", "positivePrompt");
  // clampVariationCount: rounded, between 1 and 16; 1 when not a number.
  int64_t n = 1;
  if (const Value* v = Arg("numberOfVariations"); v && v->is_number() && std::isfinite(v->as_number()))
    n = static_cast<int64_t>(std::max(1.0, std::min(16.0, JsRound(v->as_number()))));
  Set("numberOfMedia", Value::Int(n));
}

void Mapper::ExportOptions() {
  Copy("outputFormat", "outputFormat");
  Copy("returnLastFrame", "returnLastFrame");
}

std::vector<Source> Mapper::Sources(const char* arg, MediaKind kind, bool zero_based_uploads) {
  std::vector<Source> out;
  bool filled = false;
  for (const Dependency& d : deps_) filled = filled || d.target_argument == arg;
  const Value* v = Arg(arg);
  const bool list = v ? v->is_array() : EndsWith(arg, "Indices");
  if (v && !(filled && !list)) {
    std::vector<Value> items = v->is_array() ? v->items() : std::vector<Value>{*v};
    for (const Value& x : items) {
      if (!x.is_number() || x.as_number() != std::floor(x.as_number()) || std::fabs(x.as_number()) > 1e9) {
        Fail(arg, std::string(arg) + " must hold whole numbers", IndexHint(kind));
        continue;
      }
      const int64_t i = static_cast<int64_t>(x.as_number());
      if (i < 0 || zero_based_uploads) {
        out.push_back(Source{-1, i < 0 ? -i - 1 : i, false});
      } else {
        Fail(arg, std::string(arg) + " " + std::to_string(i) +
                      " names a result of an earlier turn of the hosted conversation, which a local plan does not have",
             IndexHint(kind));
      }
    }
  }
  for (size_t j = 0; j < deps_.size(); ++j) {
    const Dependency& d = deps_[j];
    if (d.target_argument != arg) continue;
    consumed_[j] = true;
    if (!EndsWith(d.transform, "_index")) {
      Fail("", "transform '" + d.transform + "' cannot fill " + arg + " of a direct project",
           std::string("use ") + MediaKindName(kind) + "_index", static_cast<int>(j));
      continue;
    }
    if (d.source_step_id == "$input_media")
      out.push_back(Source{static_cast<int>(j), d.source_artifact_index.value_or(0), false});
    else
      out.push_back(Source{static_cast<int>(j), -1, true});
    if (!list && out.size() > 1) Fail("", std::string(arg) + " takes one input; more than one dependsOn entry fills it", "", static_cast<int>(j));
  }
  return out;
}

void Mapper::Input(const char* arg, const char* param, MediaKind kind, const Source& s, bool list, bool url) {
  ToolMediaInput in;
  in.argument = arg;
  in.param = param;
  in.list = list;
  in.url = url;
  in.kind = kind;
  in.dependency = s.dependency;
  in.upload_index = s.from_step ? -1 : s.upload;
  Value filler = url ? Value::String("") : Value::Bool(true);
  if (list) {
    Value* cur = out_.project.params.Find(param);
    if (!cur || !cur->is_array()) {
      Set(param, Value::Array());
      cur = out_.project.params.Find(param);
    }
    in.position = static_cast<int64_t>(cur->size());
    cur->Append(filler);
  } else {
    Set(param, filler);
  }
  out_.project.inputs.push_back(in);
}

void Mapper::UrlInput(const char* arg, const char* param, MediaKind kind) {
  bool filled = false;
  for (size_t j = 0; j < deps_.size(); ++j) {
    const Dependency& d = deps_[j];
    if (d.target_argument != arg) continue;
    consumed_[j] = true;
    filled = true;
    if (d.transform != std::string(MediaKindName(kind)) + "_url" && d.transform != "artifact_url")
      Fail("", "transform '" + d.transform + "' cannot fill " + arg + " of a direct project",
           std::string("use ") + MediaKindName(kind) + "_url", static_cast<int>(j));
    else if (d.source_step_id == "$input_media")
      Fail("", std::string(arg) + " takes a URL; in a local plan only a step's result fills it",
           "write the media entry's https URL in the argument", static_cast<int>(j));
    else
      Input(arg, param, kind, Source{static_cast<int>(j), -1, true}, false, true);
  }
  if (!filled) Copy(arg, param);
}

std::string Mapper::SelectVideoModel(const std::string& requested, const std::vector<std::string>& workflows,
                                     const std::string& preferred) {
  if (requested.empty()) return preferred;
  if (tool_models::ServesAny(requested, workflows)) return requested;
  std::string list;
  for (const std::string& w : workflows) list += (list.empty() ? "" : " or ") + w;
  Fail("videoModel", "videoModel names " + requested + ", which does not do " + list + "; the SDK would run " + preferred +
                         " instead", "name a model for this use, or leave videoModel out");
  return preferred;
}

void Mapper::Refuse(const char* arg, const std::string& hint) {
  if (Arg(arg)) Fail(arg, std::string(arg) + " has no direct-project equivalent", hint);
}

void Mapper::RefuseIf(const char* arg, const Value& bad, const std::string& hint) {
  const Value* v = Arg(arg);
  if (v && v->ToJson() == bad.ToJson())
    Fail(arg, std::string(arg) + ": " + bad.ToJson() + " has no direct-project equivalent", hint);
}

void Mapper::Fail(const std::string& arg, const std::string& message, const std::string& hint, int dependency) {
  out_.errors.push_back(ToolProjectError{arg, dependency, message, hint});
}

ToolProjectResult Mapper::Finish() {
  for (size_t j = 0; j < deps_.size(); ++j)
    if (!consumed_[j])
      Fail("", "dependsOn fills '" + deps_[j].target_argument + "', which the direct project of " + std::string(tool_) +
                   " does not take",
           "a local plan feeds only the media arguments of a tool", static_cast<int>(j));
  return std::move(out_);
}

}  // namespace sflow::tool_projects_internal
