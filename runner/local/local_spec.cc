#include "runner/local/local_spec.h"

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include "api/tool_projects.h"
#include "engine/media.h"
#include "engine/project_params.h"
#include "runner/artifact_files.h"
#include "runner/sha256.h"

namespace sflow {

namespace {

ProjectParamKind KindOf(const std::string& type, const std::string& param) {
  for (const ProjectParam& p : ProjectParamsFor(type))
    if (p.name == param) return p.kind;
  return ProjectParamKind::kAny;
}

bool TakesMedia(ProjectParamKind k) { return k == ProjectParamKind::kMedia || k == ProjectParamKind::kMediaList; }

MediaKind TransformKind(const Dependency& d) {
  const std::string& t = d.transform;
  if (t.rfind("image_", 0) == 0) return MediaKind::kImage;
  if (t.rfind("video_", 0) == 0) return MediaKind::kVideo;
  if (t.rfind("audio_", 0) == 0) return MediaKind::kAudio;
  if (d.media_type) return ParseMediaKind(*d.media_type).value_or(MediaKind::kUnknown);
  return MediaKind::kUnknown;
}

Status StepError(const Step& step, const std::string& what) {
  return Status::InvalidPlan("step '" + step.id + "': " + what);
}

// Marks `param` of `params` as filled at position `position` (a list grows with `true`s).
void MarkFilled(Value* params, const std::string& param, bool list, int64_t position) {
  if (!list) {
    params->Set(param, Value::Bool(true));
    return;
  }
  Value* v = params->Find(param);
  if (!v || !v->is_array()) {
    params->Set(param, Value::Array());
    v = params->Find(param);
  }
  while (static_cast<int64_t>(v->items().size()) <= position) v->Append(Value::Bool(true));
}

}  // namespace

const SpecStep* LocalSpec::Find(const std::string& id) const {
  for (const SpecStep& s : steps)
    if (s.id == id) return &s;
  return nullptr;
}

Result<LocalSpec> BuildLocalSpec(const Plan& plan, const PlanAnalysis& analysis) {
  LocalSpec spec;
  std::map<std::string, size_t> index_of;
  for (size_t i = 0; i < plan.steps.size(); ++i) index_of[plan.steps[i].id] = i;
  auto use_media = [&](const Step& step, const std::string& name) -> Status {
    if (spec.media.count(name)) return Status::OK();
    const MediaEntry* m = plan.FindMedia(name);
    if (!m) return StepError(step, "names media '" + name + "', which the plan's media: does not have");
    if (m->path.empty())
      return StepError(step, "media '" + name + "' is a URL; a project input is uploaded from a local file (give path:)");
    LocalMediaCheck c = CheckLocalMedia(plan.directory, m->path);
    if (!c.error.empty()) return Status::IOError("media '" + name + "': " + c.error);
    Result<std::string> bytes = ReadWholeFile(c.resolved);
    if (!bytes.ok()) return bytes.status();
    spec.media[name] = SpecMedia{c.resolved, Sha256Hex(*bytes), m->kind};
    return Status::OK();
  };
  // A tool step: the direct project the SDK runs for it (api/tool_projects.h), its media inputs
  // bound as a project step's are.
  auto tool_step = [&](const Step& step, const Value& arguments) -> Result<SpecStep> {
    ToolProjectResult m = MapToolProject(step.tool_name, arguments, step.depends_on);
    if (!m.ok()) return StepError(step, step.tool_name + " as a direct project: " + m.errors[0].message);
    SpecStep s;
    s.id = step.id;
    s.tool = step.tool_name;
    s.params = std::move(m.project.params);
    const Value* type = s.params.Find("type");
    s.type = type && type->is_string() ? type->as_string() : "";
    for (const ToolMediaInput& in : m.project.inputs) {
      SpecBinding b{in.param, in.position, !in.url, "", "", 0, in.kind};
      if (in.upload_index >= 0) {
        int64_t seen = 0;
        for (const MediaEntry& e : plan.media)
          if (e.kind == in.kind && seen++ == in.upload_index) b.media = e.name;
        if (b.media.empty())
          return StepError(step, in.argument + " names " + MediaKindName(in.kind) + " #" + std::to_string(in.upload_index + 1) +
                                     " of media:, which the plan does not have");
        if (Status u = use_media(step, b.media); !u.ok()) return u;
      } else {
        const Dependency& d = step.depends_on[static_cast<size_t>(in.dependency)];
        auto it = index_of.find(d.source_step_id);
        if (it == index_of.end()) return StepError(step, "depends on unknown step '" + d.source_step_id + "'");
        b.source_step = d.source_step_id;
        b.source_index = d.source_artifact_index.value_or(0);
        s.deps.push_back(it->second);
      }
      s.bindings.push_back(std::move(b));
    }
    if (const Value* n = s.params.Find("numberOfMedia"); n && n->is_number() && n->as_number() >= 1)
      s.artifact_count = static_cast<int64_t>(n->as_number());
    return s;
  };
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const Step& step = plan.steps[i];
    if (!step.is_project()) {
      Result<SpecStep> t = tool_step(step, i < analysis.steps.size() ? analysis.steps[i].arguments : step.arguments);
      if (!t.ok()) return t.status();
      spec.steps.push_back(std::move(t).value());
      continue;
    }
    SpecStep s;
    s.id = step.id;
    const Value& params = i < analysis.steps.size() ? analysis.steps[i].arguments : *step.project;
    const Value* type = params.Find("type");
    if (!type || !type->is_string()) return StepError(step, "a project needs a type");
    s.type = type->as_string();
    s.params = params;
    // Media parameters that name media entries.
    for (const ProjectParam& p : ProjectParamsFor(s.type)) {
      if (!TakesMedia(p.kind)) continue;
      Value* v = s.params.Find(p.name);
      if (!v) continue;
      const bool list = p.kind == ProjectParamKind::kMediaList;
      std::vector<Value> names = list && v->is_array() ? v->items() : std::vector<Value>{*v};
      for (size_t at = 0; at < names.size(); ++at) {
        if (!names[at].is_string()) return StepError(step, std::string(p.name) + " must name a media entry");
        if (Status u = use_media(step, names[at].as_string()); !u.ok()) return u;
        s.bindings.push_back(SpecBinding{std::string(p.name), static_cast<int64_t>(at), true, names[at].as_string(), "",
                                         0, spec.media[names[at].as_string()].kind});
      }
      if (list) s.params.Set(std::string(p.name), Value::Array());
      for (size_t at = 0; at < names.size(); ++at) MarkFilled(&s.params, std::string(p.name), list, static_cast<int64_t>(at));
    }
    // dependsOn entries, in order: a list parameter gets one more entry per dependency.
    for (const Dependency& d : step.depends_on) {
      const ProjectParamKind k = KindOf(s.type, d.target_argument);
      const bool url_transform = d.transform == "image_url" || d.transform == "video_url" ||
                                 d.transform == "audio_url" || d.transform == "artifact_url";
      if (!url_transform)
        return StepError(step, "transform '" + d.transform + "' has no meaning for project parameter '" + d.target_argument +
                                   "' (hint: use image_url, video_url, audio_url or artifact_url)");
      SpecBinding b;
      b.target = d.target_argument;
      b.upload = TakesMedia(k);
      b.kind = TransformKind(d);
      b.source_index = d.source_artifact_index.value_or(0);
      const bool list = k == ProjectParamKind::kMediaList || k == ProjectParamKind::kArray;
      if (list) {
        const Value* cur = s.params.Find(d.target_argument);
        b.position = cur && cur->is_array() ? static_cast<int64_t>(cur->items().size()) : 0;
      }
      if (d.source_step_id == "$input_media") {
        // The N-th media entry of that kind, in plan order.
        int64_t seen = 0;
        for (const MediaEntry& m : plan.media) {
          if (m.kind != b.kind) continue;
          if (seen++ == b.source_index) b.media = m.name;
        }
        if (b.media.empty()) return StepError(step, "takes a media entry the plan does not have");
        if (b.upload) {
          if (Status u = use_media(step, b.media); !u.ok()) return u;
        } else {
          return StepError(step, "parameter '" + d.target_argument + "' takes a URL; a media entry is uploaded only into media parameters");
        }
        b.source_index = 0;
      } else {
        auto it = index_of.find(d.source_step_id);
        if (it == index_of.end()) return StepError(step, "depends on unknown step '" + d.source_step_id + "'");
        b.source_step = d.source_step_id;
        s.deps.push_back(it->second);
      }
      if (b.upload || list) MarkFilled(&s.params, d.target_argument, list, b.position);
      else s.params.Set(d.target_argument, Value::String(""));  // the URL, once known
      s.bindings.push_back(b);
    }
    if (const Value* n = s.params.Find("numberOfMedia"); n && n->is_number() && n->as_number() >= 1)
      s.artifact_count = static_cast<int64_t>(n->as_number());
    spec.steps.push_back(std::move(s));
  }
  return spec;
}

Result<LocalSpec> ReseedSpec(const LocalSpec& spec, const std::map<std::string, std::optional<int64_t>>& seeds,
                             uint64_t random) {
  LocalSpec out = spec;
  std::vector<bool> again(out.steps.size(), seeds.empty());
  for (const auto& [id, seed] : seeds) {
    size_t i = 0;
    while (i < out.steps.size() && out.steps[i].id != id) ++i;
    if (i == out.steps.size()) return Status::InvalidPlan("the run has no step '" + id + "'");
    again[i] = true;
  }
  std::mt19937_64 draw(random);
  for (size_t i = 0; i < out.steps.size(); ++i) {
    if (!again[i] || (!seeds.empty() && !seeds.count(out.steps[i].id))) continue;
    auto it = seeds.find(out.steps[i].id);
    const int64_t seed = it != seeds.end() && it->second ? *it->second : static_cast<int64_t>(draw() % 4294967295u);
    out.steps[i].params.Set("seed", Value::Int(seed));
  }
  // Downstream of a reseeded step: its inputs change, so it runs again (even when the new
  // bytes happen to equal the old ones). Steps come in plan order, but a dependency may come
  // later in a local plan: repeat until nothing changes.
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < out.steps.size(); ++i)
      for (size_t d : out.steps[i].deps)
        if (again[d] && !again[i]) again[i] = changed = true;
  }
  for (size_t i = 0; i < out.steps.size(); ++i) out.steps[i].no_cache = again[i];
  return out;
}

Value SpecToValue(const LocalSpec& spec) {
  Value v = Value::Object();
  Value steps = Value::Array();
  for (const SpecStep& s : spec.steps) {
    Value o = Value::Object();
    o.Set("id", Value::String(s.id));
    o.Set("type", Value::String(s.type));
    if (!s.tool.empty()) o.Set("tool", Value::String(s.tool));
    o.Set("params", s.params);
    o.Set("artifactCount", Value::Int(s.artifact_count));
    if (s.no_cache) o.Set("noCache", Value::Bool(true));
    if (s.quote_tokens >= 0) {
      Value q = Value::Object();
      q.Set("tokens", Value::Double(s.quote_tokens));
      q.Set("usd", Value::Double(s.quote_usd));
      q.Set("tokenType", Value::String(s.token_type));
      o.Set("quote", q);
    }
    Value deps = Value::Array();
    for (size_t d : s.deps) deps.Append(Value::Int(static_cast<int64_t>(d)));
    o.Set("deps", deps);
    Value bs = Value::Array();
    for (const SpecBinding& b : s.bindings) {
      Value bo = Value::Object();
      bo.Set("target", Value::String(b.target));
      bo.Set("position", Value::Int(b.position));
      bo.Set("upload", Value::Bool(b.upload));
      bo.Set("media", Value::String(b.media));
      bo.Set("sourceStep", Value::String(b.source_step));
      bo.Set("sourceIndex", Value::Int(b.source_index));
      bo.Set("kind", Value::String(MediaKindName(b.kind)));
      bs.Append(bo);
    }
    o.Set("bindings", bs);
    steps.Append(o);
  }
  v.Set("steps", steps);
  Value media = Value::Object();
  for (const auto& [name, m] : spec.media) {
    Value o = Value::Object();
    o.Set("path", Value::String(m.path));
    o.Set("sha256", Value::String(m.sha256));
    o.Set("kind", Value::String(MediaKindName(m.kind)));
    media.Set(name, o);
  }
  v.Set("media", media);
  return v;
}

namespace {

// Field readers that remember the first problem.
struct Reader {
  std::string problem;
  const Value* Get(const Value& o, const char* key, Value::Kind kind) {
    const Value* v = o.Find(key);
    bool fits = v && (v->kind() == kind || (kind == Value::Kind::kInt && v->is_int()));
    if (!fits && problem.empty()) problem = std::string("'") + key + "' is missing or not a " + Value::KindName(kind);
    return fits ? v : nullptr;
  }
  std::string Str(const Value& o, const char* key) {
    const Value* v = Get(o, key, Value::Kind::kString);
    return v ? v->as_string() : "";
  }
  int64_t Int(const Value& o, const char* key, int64_t min) {
    const Value* v = Get(o, key, Value::Kind::kInt);
    if (v && v->as_int() < min && problem.empty()) problem = std::string("'") + key + "' is out of range";
    return v ? v->as_int() : 0;
  }
  MediaKind Kind(const Value& o, const char* key) {
    std::optional<MediaKind> k = ParseMediaKind(Str(o, key));
    return k.value_or(MediaKind::kUnknown);
  }
};

// What a spec this sogni-flow wrote always is, and a damaged one may not be: step ids non-empty
// and unique, a project type, every step's inputs among its dependencies, and dependencies
// without a cycle (a cycle would leave its steps waiting forever; a self-dependency on a step
// already sent would not even wait).
Status CheckSpecGraph(const LocalSpec& spec) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < spec.steps.size(); ++i) {
    const SpecStep& s = spec.steps[i];
    if (s.id.empty() || !index.emplace(s.id, i).second)
      return Status::Internal("the local run's spec: a step id is empty or repeated ('" + TerminalText(s.id) + "')");
    if (s.type != "image" && s.type != "video" && s.type != "audio")
      return Status::Internal("the local run's spec: step '" + TerminalText(s.id) + "' has no project type");
  }
  std::vector<size_t> waiting(spec.steps.size(), 0);
  std::vector<std::vector<size_t>> dependants(spec.steps.size());
  for (size_t i = 0; i < spec.steps.size(); ++i) {
    const SpecStep& s = spec.steps[i];
    for (size_t d : s.deps) ++waiting[i], dependants[d].push_back(i);
    for (const SpecBinding& b : s.bindings)
      if (!b.source_step.empty() && std::find(s.deps.begin(), s.deps.end(), index[b.source_step]) == s.deps.end())
        return Status::Internal("the local run's spec: step '" + TerminalText(s.id) + "' takes an input from '" +
                                TerminalText(b.source_step) + "' without depending on it");
  }
  std::vector<size_t> ready;
  for (size_t i = 0; i < waiting.size(); ++i)
    if (waiting[i] == 0) ready.push_back(i);
  size_t ordered = 0;
  while (!ready.empty()) {
    size_t i = ready.back();
    ready.pop_back();
    ++ordered;
    for (size_t d : dependants[i])
      if (--waiting[d] == 0) ready.push_back(d);
  }
  if (ordered != spec.steps.size()) return Status::Internal("the local run's spec: its steps depend on each other in a cycle");
  return Status::OK();
}

}  // namespace

Result<LocalSpec> SpecFromValue(const Value& v) {
  LocalSpec spec;
  Reader r;
  const Value* steps = v.is_object() ? r.Get(v, "steps", Value::Kind::kArray) : nullptr;
  const Value* media = v.is_object() ? r.Get(v, "media", Value::Kind::kObject) : nullptr;
  if (!steps || !media) return Status::Internal("the local run's spec " + (r.problem.empty() ? "is not an object" : r.problem));
  for (const Value& o : steps->items()) {
    if (!o.is_object()) return Status::Internal("the local run's spec has a step that is not an object");
    SpecStep s;
    s.id = r.Str(o, "id");
    s.type = r.Str(o, "type");
    if (const Value* t = o.Find("tool"); t && t->is_string()) s.tool = t->as_string();
    if (const Value* p = r.Get(o, "params", Value::Kind::kObject)) s.params = *p;
    s.artifact_count = r.Int(o, "artifactCount", 0);
    if (const Value* nc = o.Find("noCache"); nc && nc->is_bool()) s.no_cache = nc->as_bool();
    if (const Value* q = o.Find("quote"); q && q->is_object()) {
      const Value* t = q->Find("tokens");
      const Value* u = q->Find("usd");
      if (t && t->is_number() && t->as_number() >= 0) s.quote_tokens = t->as_number();
      if (u && u->is_number() && u->as_number() >= 0) s.quote_usd = u->as_number();
      if (const Value* tt = q->Find("tokenType"); tt && tt->is_string()) s.token_type = tt->as_string();
    }
    if (const Value* deps = r.Get(o, "deps", Value::Kind::kArray))
      for (const Value& d : deps->items()) {
        if (!d.is_int() || d.as_int() < 0 || d.as_int() >= static_cast<int64_t>(steps->items().size()))
          return Status::Internal("the local run's spec: step '" + TerminalText(s.id) + "' has a bad dependency");
        s.deps.push_back(static_cast<size_t>(d.as_int()));
      }
    if (const Value* bs = r.Get(o, "bindings", Value::Kind::kArray))
      for (const Value& bo : bs->items()) {
        if (!bo.is_object()) return Status::Internal("the local run's spec has a binding that is not an object");
        SpecBinding b;
        b.target = r.Str(bo, "target");
        b.position = r.Int(bo, "position", 0);
        const Value* up = r.Get(bo, "upload", Value::Kind::kBool);
        b.upload = up && up->as_bool();
        b.media = r.Str(bo, "media");
        b.source_step = r.Str(bo, "sourceStep");
        b.source_index = r.Int(bo, "sourceIndex", 0);
        b.kind = r.Kind(bo, "kind");
        s.bindings.push_back(b);
      }
    if (!r.problem.empty()) return Status::Internal("the local run's spec: step '" + TerminalText(s.id) + "': " + r.problem);
    spec.steps.push_back(std::move(s));
  }
  for (const auto& m : media->members()) {
    if (!m.value.is_object()) return Status::Internal("the local run's spec: media '" + TerminalText(m.key) + "' is not an object");
    SpecMedia sm{r.Str(m.value, "path"), r.Str(m.value, "sha256"), r.Kind(m.value, "kind")};
    if (!r.problem.empty()) return Status::Internal("the local run's spec: media '" + TerminalText(m.key) + "': " + r.problem);
    spec.media[m.key] = sm;
  }
  for (const SpecStep& s : spec.steps)
    for (const SpecBinding& b : s.bindings)
      if ((b.media.empty() == b.source_step.empty()) || (!b.media.empty() && !spec.media.count(b.media)) ||
          (!b.source_step.empty() && !spec.Find(b.source_step)))
        return Status::Internal("the local run's spec: step '" + TerminalText(s.id) + "' has a binding with no source");
  if (Status g = CheckSpecGraph(spec); !g.ok()) return g;
  return spec;
}

}  // namespace sflow
