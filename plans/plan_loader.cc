// Implementation details: Fields wraps one YAML mapping. Constructing it reports every key the
// mapping may not have; its getters report type errors at the value and missing keys at the
// mapping. Each Read* function below handles one part of the plan language and never stops at
// the first problem, so one run of `validate` shows them all.
#include "plans/plan_loader.h"

#include <algorithm>
#include <filesystem>

#include "engine/spell.h"

namespace sflow {

namespace {

const std::vector<std::string> kTransforms = {
    "artifact_url", "artifact_data_uri", "image_url",    "video_url",    "audio_url",     "image_index",
    "video_index",  "audio_index",       "subtitle_cues", "subtitle_srt", "overlay_items", "asset_ref"};
const std::vector<std::string> kMediaTypes = {"image", "video", "audio"};

std::string Quote(const std::string& s) { return "'" + s + "'"; }

std::string JoinQuoted(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + Quote(v[i]);
  return out;
}

class Fields {
 public:
  Fields(const Value& obj, std::string what, const std::vector<std::string>& allowed,
         DiagnosticList* diags)
      : obj_(obj), what_(std::move(what)), diags_(diags) {
    for (const Value::Member& m : obj.members()) {
      if (std::find(allowed.begin(), allowed.end(), m.key) != allowed.end()) continue;
      diags_->Error(m.key_loc, "unknown-key", "unknown key " + Quote(m.key) + " in " + what_,
                    DidYouMean(m.key, allowed));
    }
  }

  const Value* Get(const std::string& key) const { return obj_.Find(key); }
  bool Has(const std::string& key) const { return Get(key) != nullptr; }
  SourceLoc KeyLoc(const std::string& key) const {
    const Value::Member* m = obj_.FindMember(key);
    return m ? m->key_loc : obj_.loc();
  }
  SourceLoc ValueLoc(const std::string& key) const {
    const Value* v = Get(key);
    return v ? v->loc() : obj_.loc();
  }

  bool Require(const std::string& key) const {
    if (Has(key)) return true;
    diags_->Error(obj_.loc(), "missing-key", what_ + " is missing required key " + Quote(key));
    return false;
  }

  std::optional<std::string> String(const std::string& key, bool required = false) const {
    if (required && !Require(key)) return std::nullopt;
    const Value* v = Get(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) return TypeError(key, *v, "a string"), std::nullopt;
    return v->as_string();
  }

  std::optional<int64_t> Int(const std::string& key, bool required = false) const {
    if (required && !Require(key)) return std::nullopt;
    const Value* v = Get(key);
    if (!v) return std::nullopt;
    if (!v->is_int()) return TypeError(key, *v, "an integer"), std::nullopt;
    return v->as_int();
  }

  std::optional<double> Number(const std::string& key) const {
    const Value* v = Get(key);
    if (!v) return std::nullopt;
    if (!v->is_number()) return TypeError(key, *v, "a number"), std::nullopt;
    return v->as_number();
  }

  std::optional<bool> Bool(const std::string& key) const {
    const Value* v = Get(key);
    if (!v) return std::nullopt;
    if (!v->is_bool()) return TypeError(key, *v, "true or false"), std::nullopt;
    return v->as_bool();
  }

  std::optional<std::string> Enum(const std::string& key, const std::vector<std::string>& values,
                                  bool required = false) const {
    std::optional<std::string> s = String(key, required);
    if (!s) return std::nullopt;
    if (std::find(values.begin(), values.end(), *s) == values.end()) {
      std::string hint = DidYouMean(*s, values);
      if (hint.empty()) hint = "expected one of " + JoinQuoted(values);
      diags_->Error(ValueLoc(key), "bad-value",
                    "unknown " + key + " " + Quote(*s) + " in " + what_, hint);
      return std::nullopt;
    }
    return s;
  }

  // The value at key must be a mapping (or absent); returns it, or nullptr.
  const Value* Object(const std::string& key, bool required = false) const {
    if (required && !Require(key)) return nullptr;
    const Value* v = Get(key);
    if (!v) return nullptr;
    if (!v->is_object()) return TypeError(key, *v, "a mapping"), nullptr;
    return v;
  }

  const Value* Array(const std::string& key, bool required = false) const {
    if (required && !Require(key)) return nullptr;
    const Value* v = Get(key);
    if (!v) return nullptr;
    if (!v->is_array()) return TypeError(key, *v, "a list"), nullptr;
    return v;
  }

  void TypeError(const std::string& key, const Value& v, const std::string& expected) const {
    diags_->Error(v.loc(), "type",
                  Quote(key) + " in " + what_ + " must be " + expected + ", not " +
                      Value::KindPhrase(v.kind()));
  }

 private:
  const Value& obj_;
  std::string what_;
  DiagnosticList* diags_;
};

// Hand-written character checks, not std::regex: names come from untrusted plans, and
// std::regex's executor recurses once per character of its input.
bool AsciiLetter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool AsciiDigit(char c) { return c >= '0' && c <= '9'; }

// A param or input name: [A-Za-z_][A-Za-z0-9_]*.
bool ValidName(const std::string& s) {
  if (s.empty() || !(AsciiLetter(s[0]) || s[0] == '_')) return false;
  for (char c : s)
    if (!(AsciiLetter(c) || AsciiDigit(c) || c == '_')) return false;
  return true;
}

// A plan name: [A-Za-z0-9][A-Za-z0-9._-]{0,127}.
bool ValidSlug(const std::string& s) {
  if (s.empty() || s.size() > 128 || !(AsciiLetter(s[0]) || AsciiDigit(s[0]))) return false;
  for (char c : s)
    if (!(AsciiLetter(c) || AsciiDigit(c) || c == '.' || c == '_' || c == '-')) return false;
  return true;
}

std::optional<ParamSpec::Type> ParseParamType(const std::string& s) {
  if (s == "string") return ParamSpec::Type::kString;
  if (s == "integer") return ParamSpec::Type::kInteger;
  if (s == "number") return ParamSpec::Type::kNumber;
  if (s == "boolean") return ParamSpec::Type::kBoolean;
  if (s == "enum") return ParamSpec::Type::kEnum;
  return std::nullopt;
}

void ReadParams(const Value& params, Plan* plan, DiagnosticList* diags) {
  static const std::vector<std::string> kKeys = {"type",    "default", "minimum", "maximum",
                                                 "pattern", "values",  "description"};
  static const std::vector<std::string> kTypes = {"string", "integer", "number", "boolean", "enum"};
  for (const Value::Member& m : params.members()) {
    ParamSpec p;
    p.name = m.key;
    p.loc = m.key_loc;
    if (!ValidName(m.key))
      diags->Error(m.key_loc, "bad-name", "param name " + Quote(m.key) + " is not an identifier",
                   "use letters, digits and '_', not starting with a digit");
    if (!m.value.is_object()) {
      diags->Error(m.value.loc(), "type", "param " + Quote(m.key) + " must be a mapping",
                   "for example {type: string, default: hello}");
      continue;
    }
    Fields f(m.value, "param " + Quote(m.key), kKeys, diags);
    std::optional<std::string> type = f.Enum("type", kTypes, /*required=*/true);
    if (type) p.type = *ParseParamType(*type);
    if (const Value* d = f.Get("default")) {
      p.default_value = *d;
      p.default_loc = d->loc();
    }
    p.minimum = f.Number("minimum");
    p.minimum_loc = f.ValueLoc("minimum");
    p.maximum = f.Number("maximum");
    p.maximum_loc = f.ValueLoc("maximum");
    p.pattern = f.String("pattern");
    p.pattern_loc = f.ValueLoc("pattern");
    if (std::optional<std::string> d = f.String("description")) p.description = *d;
    if (const Value* vals = f.Array("values")) {
      for (const Value& v : vals->items()) {
        if (v.is_array() || v.is_object() || v.is_null())
          diags->Error(v.loc(), "type", "enum values must be scalars");
        else
          p.values.push_back(v);
      }
    }
    if (type && p.type == ParamSpec::Type::kEnum && !f.Has("values"))
      diags->Error(m.value.loc(), "missing-key", "enum param " + Quote(m.key) + " needs 'values'");
    if (type && p.type != ParamSpec::Type::kEnum && f.Has("values"))
      diags->Error(f.KeyLoc("values"), "bad-key", "'values' is only for enum params",
                   "use type: enum");
    plan->params.push_back(std::move(p));
  }
}

void ReadInputs(const Value& inputs, Plan* plan, DiagnosticList* diags) {
  static const std::vector<std::string> kKeys = {"type", "required", "description", "default", "options"};
  static const std::vector<std::string> kTypes = {"image", "audio", "video", "text",
                                                  "number", "select", "boolean"};
  for (const Value::Member& m : inputs.members()) {
    TemplateInput in;
    in.name = m.key;
    in.loc = m.key_loc;
    if (!ValidName(m.key))
      diags->Error(m.key_loc, "bad-name", "input name " + Quote(m.key) + " is not an identifier");
    if (!m.value.is_object()) {
      diags->Error(m.value.loc(), "type", "input " + Quote(m.key) + " must be a mapping");
      continue;
    }
    Fields f(m.value, "input " + Quote(m.key), kKeys, diags);
    if (std::optional<std::string> t = f.Enum("type", kTypes, true)) in.type = *t;
    in.required = f.Bool("required").value_or(false);
    if (std::optional<std::string> d = f.String("description")) in.description = *d;
    if (const Value* d = f.Get("default")) in.default_value = *d;
    if (const Value* opts = f.Array("options")) {
      for (const Value& o : opts->items()) {
        if (o.is_string()) in.options.push_back(o.as_string());
        else diags->Error(o.loc(), "type", "select options must be strings");
      }
    }
    if (in.default_value && !in.type.empty()) {
      const Value& d = *in.default_value;
      bool fits = in.type == "number"    ? d.is_number()
                  : in.type == "boolean" ? d.is_bool()
                  : in.type == "select"  ? d.is_string() && (in.options.empty() ||
                                            std::find(in.options.begin(), in.options.end(), d.as_string()) != in.options.end())
                                         : d.is_string();
      if (!fits)
        diags->Error(d.loc(), "bad-value", "default of input " + Quote(m.key) + " does not fit its type '" + in.type + "'",
                     in.type == "select" ? "use one of its options" : "");
    }
    if (in.type == "select" && in.options.empty())
      diags->Error(m.value.loc(), "missing-key", "select input " + Quote(m.key) + " needs 'options'");
    plan->inputs.push_back(std::move(in));
  }
}

void ReadMedia(const Value& media, Plan* plan, DiagnosticList* diags) {
  static const std::vector<std::string> kKeys = {"path", "url", "kind", "description"};
  for (const Value::Member& m : media.members()) {
    MediaEntry e;
    e.name = m.key;
    e.loc = m.key_loc;
    if (!ValidName(m.key))
      diags->Error(m.key_loc, "bad-name", "media name " + Quote(m.key) + " is not an identifier");
    if (!m.value.is_object()) {
      diags->Error(m.value.loc(), "type", "media " + Quote(m.key) + " must be a mapping",
                   "for example {path: media/logo.png} or {url: https://...}");
      continue;
    }
    Fields f(m.value, "media " + Quote(m.key), kKeys, diags);
    for (const char* key : {"path", "url"}) {
      std::optional<std::string> s = f.String(key);
      if (!s) continue;
      (std::string(key) == "path" ? e.path : e.url) = *s;
      e.value_loc = f.ValueLoc(key);
      if (s->empty()) diags->Error(e.value_loc, "bad-value", "media " + Quote(m.key) + " has an empty " + key);
    }
    if (f.Has("path") == f.Has("url"))
      diags->Error(m.value.loc(), "missing-key",
                   "media " + Quote(m.key) + " needs exactly one of 'path' and 'url'");
    if (std::optional<std::string> k = f.Enum("kind", kMediaTypes)) {
      e.declared_kind = *ParseMediaKind(*k);
      e.kind_loc = f.ValueLoc("kind");
    }
    plan->media.push_back(std::move(e));
  }
}

void ReadBudget(const Value& budget, Plan* plan, DiagnosticList* diags) {
  Fields f(budget, "budget", {"max_units", "max_tokens", "token_type", "billing_mode", "approval"}, diags);
  Budget& b = plan->budget;
  b.loc = budget.loc();
  b.max_units = f.Number("max_units");
  b.max_units_loc = f.ValueLoc("max_units");
  if (b.max_units && *b.max_units <= 0)
    diags->Error(b.max_units_loc, "bad-value", "budget max_units must be greater than 0");
  b.max_tokens = f.Number("max_tokens");
  b.max_tokens_loc = f.ValueLoc("max_tokens");
  if (b.max_tokens && !(*b.max_tokens > 0 && *b.max_tokens <= 1e15))
    diags->Error(b.max_tokens_loc, "bad-value", "budget max_tokens must be greater than 0 (and at most 1e15)");
  if (auto t = f.Enum("token_type", {"spark", "sogni", "auto"})) b.token_type = *t;
  if (auto m = f.Enum("billing_mode", {"auto", "subscription", "tokens"})) b.billing_mode = *m;
  if (auto a = f.Enum("approval", {"required", "none"})) b.approval_required = *a == "required";
}

void ReadDependency(const Value& v, const std::string& step_id, Step* step, DiagnosticList* diags) {
  static const std::vector<std::string> kKeys = {"sourceStepId", "targetArgument", "transform",
                                                 "sourceArtifactId", "sourceArtifactIndex",
                                                 "mediaType", "required"};
  if (!v.is_object()) {
    diags->Error(v.loc(), "type", "each dependsOn entry of step " + Quote(step_id) + " must be a mapping",
                 "for example {sourceStepId: keyframe, targetArgument: sourceImageIndex, transform: image_index}");
    return;
  }
  Fields f(v, "dependsOn of step " + Quote(step_id), kKeys, diags);
  Dependency d;
  d.loc = v.loc();
  if (auto s = f.String("sourceStepId", true)) d.source_step_id = *s, d.source_step_loc = f.ValueLoc("sourceStepId");
  if (auto s = f.String("targetArgument", true))
    d.target_argument = *s, d.target_argument_loc = f.ValueLoc("targetArgument");
  for (const char* key : {"sourceStepId", "targetArgument"})
    if (const Value* v = f.Get(key); v && v->is_string() && v->as_string().empty())
      diags->Error(v->loc(), "bad-value", std::string(key) + " in dependsOn of step " + Quote(step_id) + " is empty");
  if (auto s = f.Enum("transform", kTransforms, true)) d.transform = *s;
  d.transform_loc = f.ValueLoc("transform");
  d.source_artifact_id = f.String("sourceArtifactId");
  if (auto i = f.Int("sourceArtifactIndex")) {
    d.source_artifact_index = *i;
    d.source_artifact_index_loc = f.ValueLoc("sourceArtifactIndex");
    if (*i < 0)
      diags->Error(d.source_artifact_index_loc, "bad-value", "sourceArtifactIndex must be 0 or more");
  }
  if (auto s = f.Enum("mediaType", kMediaTypes)) d.media_type = *s, d.media_type_loc = f.ValueLoc("mediaType");
  d.required = f.Bool("required");
  // Only well-formed entries go on: later checks rely on the three required fields.
  if (!d.source_step_id.empty() && !d.target_argument.empty() && !d.transform.empty())
    step->depends_on.push_back(std::move(d));
}

void ReadStep(const Value& v, size_t index, Plan* plan, DiagnosticList* diags) {
  static const std::vector<std::string> kKeys = {"id", "toolName", "arguments", "dependsOn",
                                                 "project", "description"};
  if (!v.is_object()) {
    diags->Error(v.loc(), "type", "step " + std::to_string(index + 1) + " must be a mapping");
    return;
  }
  Step step;
  step.loc = v.loc();
  std::string label = "step " + std::to_string(index + 1);
  if (const Value* id = v.Find("id"); id && id->is_string()) label = "step " + Quote(id->as_string());
  Fields f(v, label, kKeys, diags);
  if (auto id = f.String("id", true)) {
    step.id = *id;
    step.id_loc = f.ValueLoc("id");
    if (id->empty()) diags->Error(step.id_loc, "bad-value", "step id is empty", "name the step, e.g. id: keyframe");
  }
  if (auto t = f.String("toolName")) {
    step.tool_name = *t;
    step.tool_loc = f.ValueLoc("toolName");
  }
  if (const Value* a = f.Object("arguments")) step.arguments = *a;
  if (const Value* p = f.Object("project")) step.project = *p;
  if (auto d = f.String("description")) step.description = *d;
  if (f.Has("toolName") == f.Has("project")) {
    diags->Error(v.loc(), "missing-key", label + " needs exactly one of 'toolName' and 'project'",
                 "toolName runs a hosted tool; project (local execution) runs a direct project");
  }
  if (f.Has("project") && f.Has("arguments"))
    diags->Error(f.KeyLoc("arguments"), "bad-key", "'arguments' belongs to tool steps",
                 "put project parameters inside 'project'");
  if (const Value* deps = f.Array("dependsOn"))
    for (const Value& d : deps->items()) ReadDependency(d, step.id, &step, diags);
  plan->steps.push_back(std::move(step));
}

}  // namespace

Result<Plan> PlanFromValue(const std::string& path, const Value& root, DiagnosticList* diags) {
  const int errors_before = diags->error_count();
  Plan plan;
  plan.path = path;
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  plan.directory = dir.empty() ? "." : dir.string();

  if (!root.is_object()) {
    diags->Error(root.loc().known() ? root.loc() : SourceLoc{1, 1}, "type",
                 "a plan must be a YAML mapping", "start with 'version: 1'");
    return Status::InvalidPlan("not a mapping");
  }
  static const std::vector<std::string> kKeys = {
      "version", "kind",  "name",   "title", "description", "execution",  "safe_content_filter",
      "params",  "inputs", "media", "budget", "steps",      "category",   "visibility", "tags"};
  Fields f(root, "plan", kKeys, diags);

  if (auto v = f.Int("version", true)) {
    plan.version = static_cast<int>(*v);
    if (*v != 1)
      diags->Error(f.ValueLoc("version"), "bad-value", "unsupported plan version " + std::to_string(*v),
                   "this sogni-flow reads version 1");
  }
  if (auto k = f.Enum("kind", {"workflow", "template"}))
    plan.kind = *k == "template" ? PlanKind::kTemplate : PlanKind::kWorkflow;
  if (auto n = f.String("name", true)) {
    plan.name = *n;
    plan.name_loc = f.ValueLoc("name");
    if (!ValidSlug(*n))
      diags->Error(plan.name_loc, "bad-name", "plan name " + Quote(*n) + " is not a slug",
                   "use letters, digits, '.', '_' and '-' (at most 128), e.g. launch-teaser");
  }
  if (auto t = f.String("title")) plan.title = *t;
  if (auto d = f.String("description")) plan.description = *d;
  if (auto e = f.Enum("execution", {"server", "local"})) {
    plan.execution = *e == "local" ? Execution::kLocal : Execution::kServer;
    plan.execution_loc = f.ValueLoc("execution");
  }
  plan.safe_content_filter = f.Bool("safe_content_filter");
  if (const Value* p = f.Object("params")) ReadParams(*p, &plan, diags);
  if (const Value* in = f.Object("inputs")) {
    if (plan.kind != PlanKind::kTemplate)
      diags->Error(f.KeyLoc("inputs"), "bad-key", "'inputs' belongs to templates",
                   "add 'kind: template', or use 'params' for a workflow plan");
    ReadInputs(*in, &plan, diags);
  }
  if (const Value* m = f.Object("media")) ReadMedia(*m, &plan, diags);
  if (const Value* b = f.Object("budget")) ReadBudget(*b, &plan, diags);
  for (const char* key : {"category", "visibility", "tags"}) {
    if (f.Has(key) && plan.kind != PlanKind::kTemplate)
      diags->Error(f.KeyLoc(key), "bad-key", Quote(key) + " belongs to templates", "add 'kind: template'");
  }
  if (auto c = f.Enum("category", {"portrait", "video-social", "makeover", "cinematic", "music",
                                   "analysis", "custom", "other"}))
    plan.category = *c;
  if (auto v = f.Enum("visibility", {"private", "public"})) plan.visibility = *v;
  if (const Value* tags = f.Array("tags"))
    for (const Value& t : tags->items()) {
      if (t.is_string()) plan.tags.push_back(t.as_string());
      else diags->Error(t.loc(), "type", "tags must be strings");
    }
  if (const Value* steps = f.Array("steps", true)) {
    plan.steps_loc = steps->loc();
    if (steps->items().empty())
      diags->Error(steps->loc(), "bad-value", "a plan needs at least one step");
    for (size_t i = 0; i < steps->items().size(); ++i) ReadStep(steps->items()[i], i, &plan, diags);
  }
  // The plan goes on even with shape errors, so that validation can report what else is wrong
  // in the same run; the errors are in diags and the caller decides.
  (void)errors_before;
  return plan;
}

Result<Plan> LoadPlanFromText(const std::string& path, std::string_view text, DiagnosticList* diags,
                              const YamlLimits& limits) {
  Result<Value> root = ParseYaml(text, limits, diags);
  if (!root.ok()) return root.status();
  return PlanFromValue(path, *root, diags);
}

Result<Plan> LoadPlan(const std::string& path, DiagnosticList* diags, const YamlLimits& limits) {
  Result<std::string> text = ReadLimitedFile(path, limits, diags);
  if (!text.ok()) return text.status();
  return LoadPlanFromText(path, *text, diags, limits);
}

Result<Value> LoadParamFile(const std::string& path, DiagnosticList* diags) {
  Result<Value> root = LoadYamlFile(path, YamlLimits(), diags);
  if (!root.ok()) return root.status();
  if (!root->is_object()) {
    diags->Error(root->loc().known() ? root->loc() : SourceLoc{1, 1}, "type",
                 "a param file must be a mapping of param names to values");
    return Status::InvalidPlan("param file is not a mapping");
  }
  return root;
}

}  // namespace sflow
