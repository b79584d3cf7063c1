// Implementation details: validation runs in passes over the plan (params, media, step ids and
// limits, each step's tool and arguments, dependencies, the graph, usage warnings). Each pass
// reads what the earlier ones settled (resolved arguments, media kinds) and none of them stops
// early, so one run reports every problem. Step lookups go through StepGraph's hash index: a
// 10,000-step plan must validate in well under a second.
#include "engine/validate.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "engine/graph.h"
#include "engine/interpolate.h"
#include "engine/project_params.h"
#include "engine/spell.h"

namespace sflow {

namespace {

// A name quoted for a message. Names come from the plan and may be huge (a 500,000-character key
// is valid YAML): past 80 bytes they are cut, at a character boundary, and marked with "...".
std::string Q(const std::string& s) {
  constexpr size_t kMax = 80;
  if (s.size() <= kMax) return "'" + s + "'";
  size_t cut = kMax - 3;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return "'" + s.substr(0, cut) + "...'";
}

constexpr size_t kMaxStepIdBytes = 128;

std::string Plural(int64_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

// The media kind a transform hands over, or kUnknown for the kind-neutral ones.
MediaKind TransformKind(const std::string& t) {
  if (t == "image_url" || t == "image_index") return MediaKind::kImage;
  if (t == "video_url" || t == "video_index") return MediaKind::kVideo;
  if (t == "audio_url" || t == "audio_index") return MediaKind::kAudio;
  return MediaKind::kUnknown;
}

// "an image", "a video", "audio".
std::string KindPhrase(MediaKind kind) {
  return kind == MediaKind::kImage ? "an image" : kind == MediaKind::kVideo ? "a video" : "audio";
}

// Transforms that hand over an artifact (its URL, index or bytes), as opposed to structured data
// (subtitles, overlay items) or an asset reference.
bool HandsOverMedia(const std::string& t) {
  return TransformKind(t) != MediaKind::kUnknown || t == "artifact_url" || t == "artifact_data_uri";
}

// The JSON type a transform produces for its target argument, or "" for any.
std::string TransformValueType(const std::string& t) {
  if (t.size() > 6 && t.compare(t.size() - 6, 6, "_index") == 0) return "number";
  if (t == "artifact_url" || t == "artifact_data_uri" || t == "image_url" || t == "video_url" ||
      t == "audio_url" || t == "subtitle_srt")
    return "string";
  if (t == "subtitle_cues" || t == "overlay_items") return "array";
  return "";
}

bool TypeAccepts(const std::vector<std::string>& types, const std::string& want) {
  for (const std::string& t : types)
    if (t == want || (want == "number" && t == "integer") || (want == "integer" && t == "number")) return true;
  return false;
}

std::string PathText(const std::vector<std::string>& path) {
  std::string out;
  for (const std::string& p : path) {
    bool index = !p.empty() && std::all_of(p.begin(), p.end(), ::isdigit);
    if (index) out += "[" + p + "]";
    else out += (out.empty() ? "" : ".") + p;
  }
  return out;
}

// Where to point for a problem at path inside args: the value, or for a missing/unknown member
// its key, else the nearest enclosing node that exists.
SourceLoc LocateIn(const Value& args, const std::vector<std::string>& path, SourceLoc fallback,
                   bool at_key = false) {
  SourceLoc loc = args.loc().known() ? args.loc() : fallback;
  const Value* v = &args;
  for (const std::string& part : path) {
    if (v->is_object()) {
      const Value::Member* m = v->FindMember(part);
      if (!m) return loc;
      loc = m->key_loc.known() ? m->key_loc : loc;
      v = &m->value;
    } else if (v->is_array()) {
      size_t i = std::strtoul(part.c_str(), nullptr, 10);
      if (i >= v->items().size()) return loc;
      v = &v->items()[i];
      if (v->loc().known()) loc = v->loc();
    } else {
      return loc;
    }
  }
  if (!at_key && v->loc().known() && !v->is_object() && !v->is_array()) loc = v->loc();
  return loc;
}

// Number of artifacts a step makes per variation count: numberOfVariations (tools) or
// numberOfMedia (projects); 1 when absent; -1 when it is not known yet.
int64_t Variations(const Step& step, const ResolvedStep& r) {
  const char* key = step.is_project() ? "numberOfMedia" : "numberOfVariations";
  if (r.unresolved.count(key)) return -1;
  const Value* v = r.arguments.Find(key);
  if (!v) return 1;
  if (!v->is_number()) return -1;
  return static_cast<int64_t>(std::floor(v->as_number()));
}

class Validator {
 public:
  Validator(Plan* plan, const ToolCatalog& catalog, const ValidateOptions& options, DiagnosticList* diags)
      : plan_(*plan), catalog_(catalog), options_(options), diags_(*diags), graph_(*plan) {}

  PlanAnalysis Run(const ParamSources& sources) {
    analysis_.params = ResolveParams(plan_, sources, &diags_, &refused_params_);
    CheckPlanLevel();
    CheckMedia();
    CheckStepIds();
    analysis_.steps.resize(plan_.steps.size());
    for (size_t i = 0; i < plan_.steps.size(); ++i) CheckStep(i);
    for (size_t i = 0; i < plan_.steps.size(); ++i) CheckDependencies(i);
    CheckGraph();
    CheckParamUsage();
    return std::move(analysis_);
  }

 private:
  bool server() const { return plan_.execution == Execution::kServer || plan_.kind == PlanKind::kTemplate; }

  void CheckPlanLevel() {
    if (plan_.kind == PlanKind::kTemplate && plan_.execution == Execution::kLocal)
      diags_.Error(plan_.execution_loc, "execution", "templates run on the server; 'execution: local' does not apply",
                   "remove 'execution'");
    if (server() && plan_.budget.max_tokens)
      diags_.Error(plan_.budget.max_tokens_loc, "execution",
                   "budget max_tokens gates the quotes of a local plan; a server plan is gated by max_units",
                   "use max_units, or set 'execution: local'");
    if (server() && plan_.steps.size() > kMaxServerSteps)
      diags_.Error(plan_.steps_loc, "limit",
                   "server execution runs at most " + std::to_string(kMaxServerSteps) + " steps; this plan has " +
                       std::to_string(plan_.steps.size()),
                   "use 'execution: local', or split the plan");
    for (const ParamSpec& p : plan_.params)
      if (!analysis_.params.count(p.name) && !refused_params_.count(p.name))
        diags_.Error(p.loc, "param", "param " + Q(p.name) + " has no value",
                     "give it a default, or pass -p " + p.name + "=VALUE");
  }

  void CheckMedia() {
    for (MediaEntry& m : plan_.media) {
      if (!m.path.empty()) {
        LocalMediaCheck c = CheckLocalMedia(*options_.files, plan_.directory, m.path, options_.max_media_bytes);
        if (!c.error.empty()) {
          diags_.Error(m.value_loc, "media", c.error, c.hint);
          m.kind = m.declared_kind;
          continue;
        }
        m.kind = c.sniff.kind;
        if (m.declared_kind != MediaKind::kUnknown && m.declared_kind != m.kind)
          diags_.Error(m.kind_loc, "media",
                       "media " + Q(m.name) + " is declared " + MediaKindName(m.declared_kind) + " but '" + m.path +
                           "' is " + c.sniff.format + " " + MediaKindName(m.kind),
                       "fix 'kind', or point 'path' at the right file");
      } else if (!m.url.empty()) {
        std::string problem = CheckMediaUrl(m.url);
        if (!problem.empty()) diags_.Error(m.value_loc, "url", "media " + Q(m.name) + ": " + problem,
                                           "media URLs must be public https addresses");
        MediaKind from_url = MediaKindFromUrl(m.url);
        m.kind = m.declared_kind != MediaKind::kUnknown ? m.declared_kind : from_url;
        if (m.kind == MediaKind::kUnknown && problem.empty())
          diags_.Error(m.value_loc, "media", "cannot tell what kind of media " + Q(m.name) + " is from its URL",
                       "add 'kind: image', 'kind: video' or 'kind: audio'");
      }
    }
  }

  // Media of a kind the plan brings: its media entries, and in a template its inputs of that type
  // (the caller supplies those when the template runs).
  int MediaCount(MediaKind kind) const {
    int n = 0;
    for (const MediaEntry& m : plan_.media) n += m.kind == kind;
    for (const TemplateInput& in : plan_.inputs) n += ParseMediaKind(in.type) == std::optional<MediaKind>(kind);
    return n;
  }
  // Counting media of a kind only makes sense when every entry's kind is known; an entry whose
  // kind could not be told has its own error already.
  bool MediaKindsKnown() const {
    for (const MediaEntry& m : plan_.media)
      if (m.kind == MediaKind::kUnknown) return false;
    return true;
  }

  void CheckStepIds() {
    std::unordered_map<std::string, SourceLoc> seen;
    for (const Step& s : plan_.steps) {
      if (s.id.empty()) continue;  // reported by the loader
      auto [it, inserted] = seen.emplace(s.id, s.id_loc);
      if (!inserted)
        diags_.Error(s.id_loc, "duplicate-step", "duplicate step id " + Q(s.id) + " (first used at line " +
                                                     std::to_string(it->second.line) + ")");
      // A step's artifacts go to <out>/<id>/: an id must make a folder name on every filesystem
      // (255 bytes at most), and is known to be wrong before anything is paid for.
      if (s.id.size() > kMaxStepIdBytes)
        diags_.Error(s.id_loc, "step-id", "step id " + Q(s.id) + " is " + std::to_string(s.id.size()) + " bytes long",
                     "a step id is at most " + std::to_string(kMaxStepIdBytes) +
                         " bytes: its artifacts go to a folder of that name");
      bool safe = std::all_of(s.id.begin(), s.id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
      });
      if (!safe) {
        std::string fixed;
        for (char c : s.id) {
          char r = (std::isalnum(static_cast<unsigned char>(c)) || c == '-') ? c : '_';
          if (r == '_' && !fixed.empty() && fixed.back() == '_') continue;
          fixed += r;
        }
        diags_.Error(s.id_loc, "step-id", "step id " + Q(s.id) + " has characters the server replaces",
                     "the server would rename it to " + Q(fixed) + "; use letters, digits, '_' and '-'");
      }
    }
  }

  void CheckStep(size_t i) {
    const Step& step = plan_.steps[i];
    ResolvedStep& r = analysis_.steps[i];
    InterpolationScope scope{&plan_, &analysis_.params, &refused_params_};
    Interpolated in = Interpolate(step.is_project() ? *step.project : step.arguments, scope, &diags_);
    r.arguments = std::move(in.value);
    r.unresolved = std::move(in.unresolved);
    r.secret = std::move(in.secret);
    for (const std::string& arg : in.missing_params) {
      diags_.Error(LocateIn(r.arguments, {arg}, step.loc), "param",
                   "step " + Q(step.id) + ": argument " + Q(arg) + " refers to a param with no value");
    }
    if (step.is_project()) {
      CheckProject(step, r);
      return;
    }
    if (step.tool_name.empty()) return;  // the loader reported it
    const ToolInfo* tool = catalog_.Find(step.tool_name);
    if (!tool) {
      std::vector<std::string> names;
      for (const std::string& n : catalog_.Names())
        if (const ToolInfo* t = catalog_.Find(n); t && t->workflow_step) names.push_back(n);
      diags_.Error(step.tool_loc, "unknown-tool", "unknown tool " + Q(step.tool_name),
                   DidYouMean(step.tool_name, names));
      return;
    }
    if (!tool->workflow_step) {
      diags_.Error(step.tool_loc, "not-a-step",
                   Q(step.tool_name) + " is a synchronous composition tool and cannot be a workflow step",
                   "run it through the tools endpoint, and put its result in the plan");
      return;
    }
    r.tool = tool;
    CheckArguments(step, r, *tool);
    CheckNegativeIndexes(step, r);
    WarnIgnored(step, r, *tool);
  }

  void CheckArguments(const Step& step, const ResolvedStep& r, const ToolInfo& tool) {
    // Arguments that still hold a reference, or that a dependency fills in at run time, are not
    // known yet; the schema is checked on what is.
    std::set<std::string> later = r.unresolved;
    for (const Dependency& d : step.depends_on) later.insert(d.target_argument);
    Value known = r.arguments;
    for (const std::string& k : r.unresolved) known.Erase(k);
    for (const ArgumentProblem& p : catalog_.CheckArguments(tool, known)) {
      if (!p.path.empty() && later.count(p.path[0])) continue;
      SourceLoc loc = LocateIn(r.arguments, p.path, step.loc, p.rule == "additionalProperties");
      std::string where = "step " + Q(step.id) + ": ";
      // The value a problem is about, unless it holds a secret param's value.
      auto secret = r.secret.find(p.path.empty() ? std::string() : p.path[0]);
      const std::string text = ArgumentProblemText(p, secret == r.secret.end() ? "" : secret->second);
      if (p.rule == "required" && !p.path.empty())
        diags_.Error(loc, "schema", where + step.tool_name + " needs argument " + Q(PathText(p.path)), p.hint);
      else if (p.rule == "additionalProperties")
        diags_.Error(loc, "schema", where + step.tool_name + " has no argument " + Q(PathText(p.path)), p.hint);
      else if (p.path.empty())
        diags_.Error(loc, "schema", where + "arguments " + text, p.hint);
      else
        diags_.Error(loc, "schema", where + "argument " + Q(PathText(p.path)) + " " + text, p.hint);
    }
  }

  // Negative indexes in arguments name uploads: -1 is the first media of that kind. Index
  // arguments may sit at any depth (overlay items carry their own sourceImageIndex).
  void CheckNegativeIndexes(const Step& step, const ResolvedStep& r) {
    if (MediaKindsKnown()) CheckNegativeIndexesIn(step, r.arguments, "");
  }

  // `path` names v inside the arguments ("overlays[0]"), for messages.
  void CheckNegativeIndexesIn(const Step& step, const Value& v, const std::string& path) {
    for (size_t i = 0; i < v.items().size(); ++i)
      CheckNegativeIndexesIn(step, v.items()[i], path + "[" + std::to_string(i) + "]");
    for (const Value::Member& m : v.members()) {
      const std::string& k = m.key;
      const std::string name = path.empty() ? k : path + "." + k;
      if (m.value.is_object() || (m.value.is_array() && !m.value.items().empty() && m.value.items()[0].is_object()))
        CheckNegativeIndexesIn(step, m.value, name);
      if (k.find("Index") == std::string::npos && k.find("Indices") == std::string::npos) continue;
      auto has = [&](const char* a, const char* b) { return k.find(a) != std::string::npos || k.find(b) != std::string::npos; };
      MediaKind kind = has("Image", "image") ? MediaKind::kImage
                       : has("Video", "video") ? MediaKind::kVideo
                       : has("Audio", "audio") ? MediaKind::kAudio
                                               : MediaKind::kUnknown;
      if (kind == MediaKind::kUnknown) continue;
      std::vector<const Value*> values;
      if (m.value.is_number()) values.push_back(&m.value);
      for (const Value& item : m.value.items()) values.push_back(&item);
      for (const Value* x : values) {
        if (!x->is_int() || x->as_int() >= 0) continue;
        int64_t wanted = -x->as_int();
        int have = MediaCount(kind);
        if (wanted > have)
          diags_.Error(x->loc(), "media-index",
                       "step " + Q(step.id) + ": " + name + " " + std::to_string(x->as_int()) + " refers to uploaded " +
                           MediaKindName(kind) + " #" + std::to_string(wanted) + ", but the plan's media has " +
                           Plural(have, MediaKindName(kind)),
                       "-1 is the first media entry of that kind, -2 the second");
      }
    }
  }

  void WarnIgnored(const Step& step, const ResolvedStep& r, const ToolInfo& tool) {
    const Value* loras = r.arguments.Find("loras");
    const Value* strengths = r.arguments.Find("loraStrengths");
    if (loras && strengths && loras->is_array() && strengths->is_array() && loras->size() != strengths->size())
      diags_.Warning(strengths->loc(), "ignored",
                     "step " + Q(step.id) + ": loras has " + std::to_string(loras->size()) + " entries but loraStrengths has " +
                         std::to_string(strengths->size()) + "; the API drops mismatched LoRA settings silently",
                     "give one strength per LoRA");
    if (tool.name == "generate_image" && r.arguments.Find("sourceImageIndex") &&
        !r.arguments.Find("starting_image_strength") && !r.unresolved.count("sourceImageIndex"))
      diags_.Warning(r.arguments.Find("sourceImageIndex")->loc(), "ignored",
                     "step " + Q(step.id) + ": sourceImageIndex is ignored unless starting_image_strength is set",
                     "add starting_image_strength (0.75 keeps the source close), or use edit_image");
    if (const Value* n = r.arguments.Find("numberOfVariations"); n && n->is_number() && !n->is_int() &&
                                                                  n->as_number() != std::floor(n->as_number()))
      diags_.Warning(n->loc(), "ignored", "step " + Q(step.id) + ": numberOfVariations " + n->ToJson() +
                                              " is not a whole number");
  }

  void CheckProject(const Step& step, const ResolvedStep& r) {
    if (server())
      diags_.Error(step.loc, "execution", "step " + Q(step.id) + " is a project step; projects need 'execution: local'",
                   "set 'execution: local', or use a toolName step");
    const Value& p = r.arguments;
    const Value* type = p.Find("type");
    std::string t = type && type->is_string() ? type->as_string() : "";
    std::vector<ProjectParam> params = ProjectParamsFor(t);
    if (!type) {
      diags_.Error(p.loc(), "missing-key", "project of step " + Q(step.id) + " is missing required key 'type'",
                   "type is image, video or audio");
      return;
    }
    if (params.empty()) {
      diags_.Error(type->loc(), "bad-value", "unknown project type " + type->Brief() + " in step " + Q(step.id),
                   DidYouMean(t, {"image", "video", "audio"}).empty() ? "type is image, video or audio"
                                                                        : DidYouMean(t, {"image", "video", "audio"}));
      return;
    }
    const Value* model = p.Find("modelId");
    if (!model || !model->is_string() || model->as_string().empty())
      diags_.Error(model ? model->loc() : p.loc(), "missing-key", "project of step " + Q(step.id) + " needs a 'modelId'");
    std::vector<std::string> names;
    for (const ProjectParam& pp : params) names.emplace_back(pp.name);
    std::set<std::string> filled;
    for (const Dependency& d : step.depends_on) filled.insert(d.target_argument);
    for (const Value::Member& m : p.members()) {
      auto it = std::find_if(params.begin(), params.end(), [&](const ProjectParam& x) { return x.name == m.key; });
      if (it == params.end()) {
        diags_.Error(m.key_loc, "unknown-key", "unknown " + t + " project parameter " + Q(m.key) + " in step " + Q(step.id),
                     DidYouMean(m.key, names));
        continue;
      }
      if (r.unresolved.count(m.key)) continue;
      CheckProjectValue(step, m, it->kind);
    }
  }

  void CheckProjectValue(const Step& step, const Value::Member& m, ProjectParamKind kind) {
    const Value& v = m.value;
    auto expect = [&](bool ok, const char* what) {
      if (!ok)
        diags_.Error(v.loc(), "type", "step " + Q(step.id) + ": project parameter " + Q(m.key) + " must be " + what +
                                          ", not " + Value::KindPhrase(v.kind()));
    };
    auto check_media = [&](const Value& name) {
      if (!name.is_string()) return expect(false, "the name of a media entry");
      const MediaEntry* e = plan_.FindMedia(name.as_string());
      std::vector<std::string> names;
      for (const MediaEntry& x : plan_.media) names.push_back(x.name);
      if (!e) {
        diags_.Error(name.loc(), "reference", "step " + Q(step.id) + ": " + m.key + " names unknown media " + name.Brief(),
                     names.empty() ? "declare it under 'media:'" : DidYouMean(name.as_string(), names));
        return;
      }
      MediaKind want = m.key.find("Audio") != std::string::npos ? MediaKind::kAudio
                       : m.key.find("Video") != std::string::npos ? MediaKind::kVideo
                                                                  : MediaKind::kImage;
      if (e->kind != MediaKind::kUnknown && e->kind != want)
        diags_.Error(name.loc(), "media", "step " + Q(step.id) + ": " + m.key + " takes " + MediaKindName(want) +
                                              ", but media " + Q(e->name) + " is " + MediaKindName(e->kind));
    };
    switch (kind) {
      case ProjectParamKind::kString: return expect(v.is_string(), "a string");
      case ProjectParamKind::kNumber: return expect(v.is_number(), "a number");
      case ProjectParamKind::kBoolean: return expect(v.is_bool(), "true or false");
      case ProjectParamKind::kArray: return expect(v.is_array(), "a list");
      case ProjectParamKind::kObject: return expect(v.is_object(), "a mapping");
      case ProjectParamKind::kAny: return;
      case ProjectParamKind::kMedia: return check_media(v);
      case ProjectParamKind::kMediaList:
        if (!v.is_array()) return expect(false, "a list of media names");
        for (const Value& item : v.items()) check_media(item);
        return;
    }
  }

  // What a step's artifacts are, for the kind a dependency wants.
  void CheckSource(const Step& target, const Dependency& d, int src_index, MediaKind kind) {
    const Step& src = plan_.steps[src_index];
    const ResolvedStep& sr = analysis_.steps[src_index];
    std::string desc;
    bool produces = true;
    if (src.is_project()) {
      const Value* t = sr.arguments.Find("type");
      std::optional<MediaKind> pk = t && t->is_string() ? ParseMediaKind(t->as_string()) : std::nullopt;
      if (!pk) return;
      desc = "a " + t->as_string() + " project";
      produces = kind == MediaKind::kUnknown || *pk == kind;
      if (!produces) {
        diags_.Error(d.transform_loc, "transform",
                     "step " + Q(src.id) + " (" + desc + ") produces " + MediaKindName(*pk) + ", but " +
                         DependencyNeed(d, kind) + " in step " + Q(target.id));
        return;
      }
    } else {
      if (!sr.tool) return;  // unknown tool: already reported
      const ToolInfo& tool = *sr.tool;
      desc = tool.name;
      // An asset reference from a tool that makes no media (an asset tool) may name an asset of
      // any kind; from a media tool it names what that tool made.
      if (d.transform == "asset_ref" && tool.outputs.empty()) return;
      if (kind != MediaKind::kUnknown && !tool.Produces(kind)) {
        std::string makes = tool.outputs.empty() ? "no image, video or audio" : MediaKindName(tool.outputs[0]);
        diags_.Error(d.transform_loc, "transform",
                     "step " + Q(src.id) + " (" + desc + ") produces " + makes + ", but " + DependencyNeed(d, kind) +
                         " in step " + Q(target.id));
        return;
      }
      // Video tools yield an image only as the last frame, when asked for it.
      if (kind == MediaKind::kImage && !tool.outputs.empty() && tool.outputs[0] == MediaKind::kVideo) {
        const Value* lf = sr.arguments.Find("returnLastFrame");
        if (!(lf && lf->is_bool() && lf->as_bool()) && !sr.unresolved.count("returnLastFrame")) {
          diags_.Error(d.transform_loc, "transform",
                       "step " + Q(src.id) + " (" + desc + ") produces video, but " + DependencyNeed(d, kind) +
                           " in step " + Q(target.id),
                       "set returnLastFrame: true on step " + Q(src.id) + " to get its last frame as an image");
          return;
        }
      }
    }
    if (!d.source_artifact_index) return;
    int64_t count = Variations(src, sr);
    if (count < 0) return;
    if (*d.source_artifact_index >= count) {
      const char* noun = kind == MediaKind::kUnknown ? "artifact" : MediaKindName(kind);
      diags_.Error(d.source_artifact_index_loc, "artifact-index",
                   "sourceArtifactIndex " + std::to_string(*d.source_artifact_index) + " is out of range: step " +
                       Q(src.id) + " produces " + Plural(count, noun),
                   src.is_project() ? "raise numberOfMedia, or use a smaller index"
                                    : "raise numberOfVariations on step " + Q(src.id) + ", or use a smaller index");
    }
  }

  static std::string DependencyNeed(const Dependency& d, MediaKind kind) {
    if (TransformKind(d.transform) != MediaKind::kUnknown) return "transform " + Q(d.transform) + " needs " + KindPhrase(kind);
    if (d.media_type) return "mediaType " + Q(*d.media_type) + " is asked for";
    return "argument " + Q(d.target_argument) + " takes " + KindPhrase(kind);
  }

  // The media a dependency hands over must be what its target argument takes (the argument's
  // kind comes from tool_traits: the schemas say it only in names and descriptions). A
  // kind-neutral transform without mediaType takes its kind from the argument, into *kind, so
  // that the source is checked against it. Returns false when it reported a problem.
  bool CheckTargetMedia(const Step& step, const ResolvedStep& r, const Dependency& d, MediaKind* kind) {
    if (step.is_project()) return true;
    const ToolInfo* tool = r.tool ? r.tool : catalog_.Find(step.tool_name);
    const ArgumentInfo* arg = tool ? tool->FindArgument(d.target_argument) : nullptr;
    if (!arg) return true;  // unknown tool or argument: reported elsewhere
    // Structured data goes only where the schema takes it: SRT text into `srt`, cues into
    // `cues` (add_subtitles), and none of it into an argument that takes media.
    const std::string data_target = d.transform == "subtitle_srt" ? "srt" : d.transform == "subtitle_cues" ? "cues" : "";
    if (!data_target.empty() && d.target_argument != data_target) {
      diags_.Error(d.transform_loc, "transform",
                   "transform " + Q(d.transform) + " hands over subtitles, but argument " + Q(d.target_argument) + " of " +
                       tool->name + (arg->media_input && arg->media != MediaKind::kUnknown
                                         ? " takes " + KindPhrase(arg->media)
                                         : " is not a subtitle argument"),
                   tool->FindArgument(data_target) ? "target " + Q(data_target) : "subtitles go into add_subtitles' " + Q(data_target));
      return false;
    }
    if (d.transform == "overlay_items" && arg->media_input) {
      diags_.Error(d.transform_loc, "transform",
                   "transform 'overlay_items' hands over overlay items, but argument " + Q(d.target_argument) + " of " +
                       tool->name + " takes media");
      return false;
    }
    // An asset reference into an argument that takes one media kind must be that kind: the
    // source is checked against the argument's kind, like artifact_url.
    if (d.transform == "asset_ref") {
      if (arg->media_input && arg->media != MediaKind::kUnknown && *kind == MediaKind::kUnknown) *kind = arg->media;
      if (!(arg->media_input && arg->media != MediaKind::kUnknown && *kind != arg->media)) return true;
    } else if (!HandsOverMedia(d.transform)) {
      return true;
    }
    auto inputs_of = [&](MediaKind k) {
      std::vector<std::string> names;
      for (const ArgumentInfo& a : tool->arguments)
        if (a.media_input && (a.media == k || k == MediaKind::kUnknown)) names.push_back(Q(a.name));
      std::string out;
      for (size_t n = 0; n < names.size(); ++n) out += (n ? (n + 1 == names.size() ? " or " : ", ") : "") + names[n];
      return out;
    };
    if (!arg->media_input) {
      std::string takes = inputs_of(MediaKind::kUnknown);
      diags_.Error(d.target_argument_loc, "target",
                   "argument " + Q(d.target_argument) + " of " + tool->name + " does not take media, but transform " +
                       Q(d.transform) + " hands over an artifact",
                   takes.empty() ? tool->name + " takes no media" : tool->name + " takes media in " + takes);
      return false;
    }
    if (arg->media == MediaKind::kUnknown) return true;
    if (*kind == MediaKind::kUnknown) {
      *kind = arg->media;
      return true;
    }
    if (*kind == arg->media) return true;
    std::string gives = TransformKind(d.transform) != MediaKind::kUnknown
                            ? "transform " + Q(d.transform) + " hands over " + KindPhrase(*kind)
                            : "mediaType " + Q(*d.media_type) + " asks for " + KindPhrase(*kind);
    std::string other = inputs_of(*kind);
    diags_.Error(d.transform_loc, "transform",
                 "argument " + Q(d.target_argument) + " of " + tool->name + " takes " + KindPhrase(arg->media) + ", but " +
                     gives,
                 other.empty() ? tool->name + " takes no " + MediaKindName(*kind)
                               : tool->name + " takes " + MediaKindName(*kind) + " in " + other);
    return false;
  }

  void CheckDependencies(size_t i) {
    const Step& step = plan_.steps[i];
    std::vector<std::string> ids;
    for (const Dependency& d : step.depends_on) {
      MediaKind tkind = TransformKind(d.transform);
      MediaKind mkind = d.media_type ? *ParseMediaKind(*d.media_type) : MediaKind::kUnknown;
      const bool conflict = tkind != MediaKind::kUnknown && mkind != MediaKind::kUnknown && tkind != mkind;
      if (conflict)
        diags_.Error(d.media_type_loc, "transform",
                     "transform " + Q(d.transform) + " does not fit mediaType " + Q(*d.media_type),
                     "use " + Q(std::string(MediaKindName(mkind)) + d.transform.substr(d.transform.find('_'))) +
                         ", or mediaType " + Q(MediaKindName(tkind)));
      MediaKind kind = tkind != MediaKind::kUnknown ? tkind : mkind;
      CheckTarget(step, analysis_.steps[i], d);
      // After a conflict or a wrong target, what the source makes is moot until that is fixed.
      // An upload is picked by kind and index, so $input_media keeps needing an explicit kind;
      // a step's artifact may take its kind from the target argument.
      MediaKind wanted = kind;
      const bool moot = conflict || !CheckTargetMedia(step, analysis_.steps[i], d, &wanted);

      if (d.source_step_id == "$input_media") {
        if (!moot) CheckInputMedia(step, d, kind);
        continue;
      }
      if (d.source_step_id == step.id) {
        diags_.Error(d.source_step_loc, "self-dependency", "step " + Q(step.id) + " depends on itself");
        continue;
      }
      int src = graph_.IndexOf(d.source_step_id);
      if (src < 0) {
        if (ids.empty())
          for (const Step& s : plan_.steps) ids.push_back(s.id);
        std::string hint = DidYouMean(d.source_step_id, ids);
        diags_.Error(d.source_step_loc, "unknown-step", "unknown step " + Q(d.source_step_id) + " in dependsOn of step " + Q(step.id),
                     hint.empty() ? "sourceStepId names an earlier step, or $input_media" : hint);
        continue;
      }
      if (moot) continue;
      kind = wanted;
      if (server() && static_cast<size_t>(src) > i) {
        diags_.Error(d.source_step_loc, "order",
                     "step " + Q(step.id) + " depends on " + Q(d.source_step_id) + " (line " +
                         std::to_string(plan_.steps[src].loc.line) + "), which comes later; server execution runs steps in order",
                     "move " + Q(d.source_step_id) + " before " + Q(step.id) + ", or use 'execution: local'");
        continue;
      }
      CheckSource(step, d, src, kind);
    }
  }

  void CheckInputMedia(const Step& step, const Dependency& d, MediaKind kind) {
    if (kind != MediaKind::kUnknown && !MediaKindsKnown()) return;
    if (kind == MediaKind::kUnknown) {
      diags_.Error(d.loc, "input-media", "a $input_media dependency of step " + Q(step.id) + " needs a media kind",
                   "add mediaType (image, video or audio), or use an image_/video_/audio_ transform");
      return;
    }
    int have = MediaCount(kind);
    int64_t index = d.source_artifact_index.value_or(0);
    if (have == 0) {
      diags_.Error(d.source_step_loc, "input-media",
                   "step " + Q(step.id) + " takes " + MediaKindName(kind) + " from $input_media, but the plan's media has none",
                   "add an entry under 'media:'");
    } else if (index >= have) {
      diags_.Error(d.source_artifact_index_loc.known() ? d.source_artifact_index_loc : d.loc, "input-media",
                   "sourceArtifactIndex " + std::to_string(index) + " is out of range: the plan's media has " +
                       Plural(have, MediaKindName(kind)),
                   "indexes count the media entries of that kind from 0, in the order they are listed");
    }
  }

  void CheckTarget(const Step& step, const ResolvedStep& r, const Dependency& d) {
    if (step.is_project()) {
      const Value* type = r.arguments.Find("type");
      std::vector<ProjectParam> params = ProjectParamsFor(type && type->is_string() ? type->as_string() : "");
      if (params.empty()) return;
      std::vector<std::string> names;
      for (const ProjectParam& p : params) names.emplace_back(p.name);
      if (std::find(names.begin(), names.end(), d.target_argument) == names.end())
        diags_.Error(d.target_argument_loc, "target", "project of step " + Q(step.id) + " has no parameter " + Q(d.target_argument),
                     DidYouMean(d.target_argument, names));
      return;
    }
    const ToolInfo* tool = r.tool ? r.tool : catalog_.Find(step.tool_name);
    if (!tool) return;
    const ArgumentInfo* arg = tool->FindArgument(d.target_argument);
    if (!arg) {
      diags_.Error(d.target_argument_loc, "target", tool->name + " has no argument " + Q(d.target_argument),
                   DidYouMean(d.target_argument, tool->ArgumentNames()));
      return;
    }
    std::string gives = TransformValueType(d.transform);
    if (gives.empty() || arg->types.empty()) return;
    bool fits = TypeAccepts(arg->types, gives) ||
                (TypeAccepts(arg->types, "array") && (arg->item_type.empty() || TypeAccepts({arg->item_type}, gives)));
    if (!fits) {
      std::string takes;
      for (size_t k = 0; k < arg->types.size(); ++k) takes += (k ? " or " : "") + arg->types[k];
      std::string hint;
      MediaKind tk = TransformKind(d.transform);
      if (gives == "string" && TypeAccepts(arg->types, "number") && tk != MediaKind::kUnknown)
        hint = "use " + Q(std::string(MediaKindName(tk)) + "_index");
      else if (gives == "number" && TypeAccepts(arg->types, "string") && tk != MediaKind::kUnknown)
        hint = "use " + Q(std::string(MediaKindName(tk)) + "_url");
      diags_.Error(d.transform_loc, "transform",
                   "transform " + Q(d.transform) + " gives a " + gives + ", but argument " + Q(d.target_argument) + " of " +
                       tool->name + " takes " + takes,
                   hint);
    }
  }

  void CheckGraph() {
    // Server plans already refuse forward references, which is every cycle; local plans may name
    // any step, so cycles are looked for there.
    if (!server()) {
      for (const std::vector<int>& cycle : graph_.Cycles()) {
        std::string path;
        for (size_t k = 0; k < cycle.size(); ++k) {
          const Step& s = plan_.steps[cycle[k]];
          path += (k ? " -> " : "") + s.id + " (line " + std::to_string(s.loc.line) + ")";
        }
        const Step& first = plan_.steps[cycle[0]];
        diags_.Error(first.loc, "cycle", "dependency cycle: " + path, "a step cannot wait for its own result");
      }
    }
    analysis_.order = graph_.TopologicalOrder();
  }

  void CollectRefs(const Value& v, std::set<std::string>* used) {
    if (v.is_string()) {
      const std::string& s = v.as_string();
      for (size_t at = s.find("${params."); at != std::string::npos; at = s.find("${params.", at + 1)) {
        if (at > 0 && s[at - 1] == '$') continue;  // "$${params.x}" is literal text
        size_t end = s.find('}', at);
        if (end != std::string::npos) used->insert(s.substr(at + 9, end - at - 9));
      }
    }
    for (const Value& item : v.items()) CollectRefs(item, used);
    for (const Value::Member& m : v.members()) CollectRefs(m.value, used);
  }

  void CheckParamUsage() {
    std::set<std::string> used;
    for (const Step& s : plan_.steps) CollectRefs(s.is_project() ? *s.project : s.arguments, &used);
    for (const ParamSpec& p : plan_.params)
      if (!used.count(p.name))
        diags_.Warning(p.loc, "unused", "param " + Q(p.name) + " is never used", "refer to it as ${params." + p.name + "}");
  }

  Plan& plan_;
  const ToolCatalog& catalog_;
  const ValidateOptions& options_;
  DiagnosticList& diags_;
  StepGraph graph_;
  PlanAnalysis analysis_;
  std::set<std::string> refused_params_;  // params whose given value was wrong (reported once)
};

}  // namespace

PlanAnalysis ValidatePlan(Plan* plan, const ToolCatalog& catalog, const ParamSources& sources,
                          const ValidateOptions& options, DiagnosticList* diags) {
  return Validator(plan, catalog, options, diags).Run(sources);
}

}  // namespace sflow
