// BuildJobRequest: createJobRequestMessage() and the parts of create() around it
// (dist/Projects/createJobRequestMessage.js, dist/Projects/index.js in @sogni-ai/sogni-client
// 5.54.0). The per-type key frames are in job_request_image.cc, job_request_video.cc and
// job_request_audio.cc.
#include "api/job_request.h"

#include <cmath>

#include "api/job_request_parts.h"
#include "api/model_families.h"
#include "engine/project_params.h"

namespace sflow {

namespace jr = job_request;

namespace job_request {

bool Truthy(const Value* v) {
  if (!v) return false;
  switch (v->kind()) {
    case Value::Kind::kNull: return false;
    case Value::Kind::kBool: return v->as_bool();
    case Value::Kind::kInt: return v->as_int() != 0;
    case Value::Kind::kDouble: return v->as_number() != 0 && !std::isnan(v->as_number());
    case Value::Kind::kString: return !v->as_string().empty();
    default: return true;  // arrays and objects, even empty ones
  }
}

bool Params::Truthy(std::string_view key) const { return job_request::Truthy(Get(key)); }
std::string Params::Str(std::string_view key) const {
  const Value* v = Get(key);
  return v && v->is_string() ? v->as_string() : "";
}
std::optional<double> Params::Num(std::string_view key) const {
  const Value* v = Get(key);
  if (v && v->is_number()) return v->as_number();
  return std::nullopt;
}

void Copy(Value* frame, const std::string& key, const Value* v) {
  if (v) frame->Set(key, *v);
  else frame->Erase(key);
}

Status Invalid(std::string message) { return Status::InvalidPlan(std::move(message)); }

Result<double> ValidateNumber(const Value* v, std::optional<double> min, std::optional<double> max,
                              const std::string& name) {
  // Number(value) of a JSON value: numbers as they are, a numeric string parsed, true 1, null 0.
  double n = NAN;
  if (v && v->is_number()) n = v->as_number();
  else if (v && v->is_bool()) n = v->as_bool() ? 1 : 0;
  else if (v && v->is_null()) n = 0;
  else if (v && v->is_string()) {
    const std::string& s = v->as_string();
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    bool blank = s.find_first_not_of(" \t\n\r") == std::string::npos;
    if (blank) n = 0;
    else if (end && *end == '\0' && std::isfinite(d)) n = d;
  }
  if (std::isnan(n)) return Invalid(name + " must be a number, got " + (v && v->is_string() ? v->as_string() : v ? v->ToJson() : "undefined"));
  if (min && n < *min) return Invalid(name + " must greater or equal " + JsNumberText(*min) + ", got " + JsNumberText(n));
  if (max && n > *max) return Invalid(name + " must be less or equal " + JsNumberText(*max) + ", got " + JsNumberText(n));
  return n;
}

Result<Value> ValidateOption(const Value* v, const std::vector<std::string>& allowed, bool known, const char* what) {
  if (!Truthy(v)) return Value::Null();
  if (!known) return *v;
  if (allowed.empty()) return Value::Null();
  if (v->is_string())
    for (const std::string& a : allowed)
      if (a == v->as_string()) return *v;
  std::string list;
  for (const std::string& a : allowed) list += (list.empty() ? "" : "\", \"") + a;
  return Invalid(std::string("Invalid ") + what + " " + (v->is_string() ? v->as_string() : v->ToJson()) +
                 ". Must be one of \"" + list + "\".");
}

}  // namespace job_request

namespace {

Value S(const char* s) { return Value::String(s); }
Value B(bool b) { return Value::Bool(b); }
Value I(int64_t i) { return Value::Int(i); }
Value Pair(int a, int b) {
  Value v = Value::Array();
  v.Append(I(a));
  v.Append(I(b));
  return v;
}

// getTemplate(): the fields the Mac worker needs even when unused. `seed: undefined` is left out
// (JSON has no undefined).
Value TemplateKeyFrame() {
  Value k = Value::Object();
  k.Set("stepsIsEnabled", B(true));             k.Set("siRotation", I(0));
  k.Set("siDragOffsetIsEnabled", B(true));      k.Set("strength", Value::Double(0.5));
  k.Set("siZoomScaleIsEnabled", B(true));       k.Set("isEnabled", B(true));
  k.Set("processing", S("CPU, GPU"));           k.Set("useLastImageAsGuideImageInAnimation", B(true));
  k.Set("guidanceScaleIsEnabled", B(true));     k.Set("siImageBackgroundColor", S("black"));
  k.Set("cnDragOffset", Pair(0, 0));            k.Set("scheduler", Value::Null());
  k.Set("timeStepSpacing", Value::Null());      k.Set("steps", I(20));
  k.Set("cnRotation", I(0));                    k.Set("guidanceScale", Value::Double(7.5));
  k.Set("siZoomScale", I(1));                   k.Set("modelID", S(""));
  k.Set("cnRotationIsEnabled", B(true));        k.Set("negativePrompt", S(""));
  k.Set("startingImageZoomPanIsOn", B(false));  k.Set("siRotationIsEnabled", B(true));
  k.Set("cnImageBackgroundColor", S("clear"));  k.Set("strengthIsEnabled", B(true));
  k.Set("siDragOffset", Pair(0, 0));            k.Set("useLastImageAsCNImageInAnimation", B(false));
  k.Set("positivePrompt", S(""));               k.Set("controlNetZoomPanIsOn", B(false));
  k.Set("cnZoomScaleIsEnabled", B(true));       k.Set("currentControlNets", Value::Null());
  k.Set("stylePrompt", S(""));                  k.Set("cnDragOffsetIsEnabled", B(true));
  k.Set("frameIndex", I(0));                    k.Set("startingImage", Value::Null());
  k.Set("cnZoomScale", I(1));
  return k;
}

Value TemplateRequest() {
  Value t = Value::Object();
  t.Set("selectedUpscalingModel", S("OFF"));
  t.Set("cnVideoFramesSketch", Value::Array());
  t.Set("cnVideoFramesSegmentedSubject", Value::Array());
  t.Set("cnVideoFramesFace", Value::Array());
  t.Set("doCanvasBlending", B(false));
  t.Set("animationIsOn", B(false));
  t.Set("cnVideoFramesBoth", Value::Array());
  t.Set("cnVideoFramesDepth", Value::Array());
  t.Set("keyFrames", Value::Array());
  t.Set("previews", I(5));
  t.Set("frameRate", I(24));
  t.Set("generatedVideoSeconds", I(10));
  t.Set("canvasIsOn", B(false));
  t.Set("cnVideoFrames", Value::Array());
  t.Set("disableSafety", B(false));
  t.Set("cnVideoFramesSegmentedBackground", Value::Array());
  t.Set("cnVideoFramesSegmented", Value::Array());
  t.Set("numberOfImages", I(1));
  t.Set("cnVideoFramesPose", Value::Array());
  t.Set("jobID", S(""));
  t.Set("siVideoFrames", Value::Array());
  return t;
}

bool KindFits(ProjectParamKind kind, const Value& v) {
  switch (kind) {
    case ProjectParamKind::kString: return v.is_string();
    case ProjectParamKind::kNumber: return v.is_number();
    case ProjectParamKind::kBoolean: return v.is_bool();
    case ProjectParamKind::kArray: return v.is_array();
    case ProjectParamKind::kObject: return v.is_object();
    case ProjectParamKind::kMediaList: return v.is_array();
    case ProjectParamKind::kAny: case ProjectParamKind::kMedia: return true;
  }
  return false;
}

const char* KindWord(ProjectParamKind kind) {
  switch (kind) {
    case ProjectParamKind::kString: return "a string";
    case ProjectParamKind::kNumber: return "a number";
    case ProjectParamKind::kBoolean: return "a boolean";
    case ProjectParamKind::kArray: case ProjectParamKind::kMediaList: return "a list";
    case ProjectParamKind::kObject: return "a mapping";
    default: return "a value";
  }
}

// The shape a plan already guarantees (engine/project_params.h), checked again: the builder is
// also fed by tool mappings and by the store, and reads only what it has checked.
Status CheckShape(const Value& params) {
  if (!params.is_object()) return jr::Invalid("project parameters must be a mapping, got " + params.Brief());
  const Value* type = params.Find("type");
  if (!type || !type->is_string() || ProjectParamsFor(type->as_string()).empty())
    return jr::Invalid("Invalid project type. Must be \"image\", \"video\", or \"audio\".");
  const Value* model = params.Find("modelId");
  if (!model || !model->is_string() || model->as_string().empty())
    return jr::Invalid("project parameter 'modelId' must be a non-empty string");
  std::vector<ProjectParam> known = ProjectParamsFor(type->as_string());
  for (const Value::Member& m : params.members()) {
    const ProjectParam* spec = nullptr;
    for (const ProjectParam& k : known)
      if (k.name == m.key) spec = &k;
    if (!spec) return jr::Invalid("unknown " + type->as_string() + " project parameter '" + TerminalText(m.key) + "'");
    bool media = spec->kind == ProjectParamKind::kMedia;
    if (!media && m.value.is_null())
      return jr::Invalid("project parameter '" + m.key + "' is null; leave it out instead");
    if (!KindFits(spec->kind, m.value))
      return jr::Invalid("project parameter '" + m.key + "' must be " + KindWord(spec->kind) + ", got " + m.value.Brief());
  }
  return Status::OK();
}

void Annotate(Value* frame, const char* field, const MediaContentTypes& types, const std::string& key) {
  auto it = types.find(key);
  if (it != types.end() && !it->second.empty()) frame->Set(field, Value::String(it->second));
}

// index.js _annotateVideoAssetContentTypes / _annotateAudioAssetContentTypes.
void AnnotateContentTypes(const jr::Params& p, const MediaContentTypes& types, Value* frame) {
  std::string type = p.Str("type");
  if (type == "audio") {
    if (p.Truthy("referenceAudio")) Annotate(frame, "referenceAudioContentType", types, "referenceAudio");
    return;
  }
  if (type != "video") return;
  bool r2v = IsMinimaxH3ReferenceModel(p.model());
  if (p.Truthy("referenceImage")) Annotate(frame, "referenceImageContentType", types, "referenceImage");
  if (p.Truthy("referenceImageEnd")) Annotate(frame, "referenceImageEndContentType", types, "referenceImageEnd");
  if (!r2v && p.Truthy("referenceAudio")) Annotate(frame, "referenceAudioContentType", types, "referenceAudio");
  if (p.Truthy("referenceAudioIdentity")) {
    Annotate(frame, "referenceAudioIdentityContentType", types, "referenceAudioIdentity");
    if (!frame->Find("referenceAudioContentType"))
      Annotate(frame, "referenceAudioContentType", types, "referenceAudioIdentity");
  }
  if (!r2v && p.Truthy("referenceVideo")) Annotate(frame, "referenceVideoContentType", types, "referenceVideo");
  if (r2v) {
    for (const ProjectUpload& u : UploadsFor(p.value())) {
      if (u.id.empty()) continue;
      Annotate(frame, (u.id + "ContentType").c_str(), types, u.key());
    }
  }
  const Value* cn = p.Get("controlNet");
  const Value* cn_name = cn && cn->is_object() ? cn->Find("name") : nullptr;
  if (p.Truthy("referenceMask") && cn_name && cn_name->is_string() && cn_name->as_string() == "inpaint")
    Annotate(frame, "referenceMaskContentType", types, "referenceMask");
}

// index.js create(): what it changes before building (segmentation and Pixal3D normalisation,
// the GPT Image mask given as a PNG data URI, which becomes an uploaded mask).
Result<Value> Normalize(const Value& params) {
  Value out = params;
  const std::string type = params.Find("type")->as_string();
  const std::string model = params.Find("modelId")->as_string();
  if (type == "image" && IsSegmentationModel(model)) {
    out.Set("numberOfMedia", Value::Int(1));
    out.Set("numberOfPreviews", Value::Int(0));
    out.Set("outputFormat", Value::String("png"));
  }
  if (type == "image" && model.rfind("pixal3d_", 0) == 0) out.Set("numberOfPreviews", Value::Int(0));
  const Value* url = params.Find("gptImageMaskUrl");
  if (type == "image" && IsGptImageModel(model) && url && url->is_string() && url->as_string().rfind("data:", 0) == 0) {
    if (jr::Truthy(params.Find("gptImageMask"))) return jr::Invalid("Provide one GPT Image mask, not both media and URL");
    const std::string& s = url->as_string();
    const std::string prefix = "data:image/png;base64,";
    std::string b64 = s.rfind(prefix, 0) == 0 ? s.substr(prefix.size()) : "";
    bool ok = !b64.empty() && b64.find_first_not_of(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") == std::string::npos;
    if (!ok || b64.size() >= static_cast<size_t>(std::ceil(50.0 * 1024 * 1024 * 4 / 3)))
      return jr::Invalid("GPT Image mask must be a PNG data URI smaller than 50 MB");
    out.Set("gptImageMask", Value::Bool(true));
    out.Erase("gptImageMaskUrl");
  }
  return out;
}

}  // namespace

bool MediaPresent(const Value* v) { return jr::Truthy(v); }

ModelTraits TraitsForModel(std::string_view model_id) {
  ModelTraits t;
  t.type = IsVideoModel(model_id) ? "video" : IsAudioModel(model_id) ? "audio" : "image";
  return t;
}

Result<Value> BuildJobRequest(const std::string& project_id, const Value& raw, const ModelTraits& model,
                              const MediaContentTypes& content_types) {
  if (Status s = CheckShape(raw); !s.ok()) return s;
  Result<Value> normalized = Normalize(raw);
  if (!normalized.ok()) return normalized.status();
  const Value& params = *normalized;
  jr::Params p(params);
  p.set_model(p.Str("modelId"));
  const std::string type = p.Str("type");
  const std::string& id = p.model();
  bool external_or_h3 = type == "video" && (IsExternalApiVideoModel(id) || IsMinimaxH3Model(id));

  Value frame = TemplateKeyFrame();
  jr::Copy(&frame, "steps", p.Get("steps"));
  jr::Copy(&frame, "guidanceScale", p.Get("guidance"));
  frame.Set("modelID", Value::String(id));
  jr::Copy(&frame, "seed", p.Get("seed"));
  jr::Copy(&frame, "positivePrompt", p.Get("positivePrompt"));
  if ((type == "image" || (type == "video" && !external_or_h3)) && p.Truthy("negativePrompt"))
    frame.Set("negativePrompt", *p.Get("negativePrompt"));
  if (p.Truthy("stylePrompt")) frame.Set("stylePrompt", *p.Get("stylePrompt"));
  if (const Value* l = p.Get("loras"); l && l->size() > 0) frame.Set("loras", *l);
  if (const Value* l = p.Get("loraStrengths"); l && l->size() > 0) frame.Set("loraStrengths", *l);
  if (type == "audio" || external_or_h3) frame.Erase("negativePrompt");

  if (model.type != type)
    return jr::Invalid("Invalid model type. Model does not support " + type +
                       " generation. Please use a different model.");
  Status built = type == "image"   ? jr::ApplyImageParams(p, model, &frame)
                 : type == "video" ? jr::ApplyVideoParams(p, model, &frame)
                                   : jr::ApplyAudioParams(p, model, &frame);
  if (!built.ok()) return built;

  Value request = TemplateRequest();
  Value frames = Value::Array();
  frames.Append(std::move(frame));
  request.Set("keyFrames", std::move(frames));
  bool no_previews = IsSegmentationModel(id) || IsPixal3dModel(id);
  const Value* previews = p.Get("numberOfPreviews");
  request.Set("previews", !no_previews && type == "image" && jr::Truthy(previews) ? *previews : Value::Int(0));
  const Value* count = p.Get("numberOfMedia");
  request.Set("numberOfImages", IsSegmentationModel(id) ? Value::Int(1) : jr::Truthy(count) ? *count : Value::Int(1));
  request.Set("jobID", Value::String(project_id));
  request.Set("disableSafety", Value::Bool(p.Truthy("disableNSFWFilter")));
  jr::Copy(&request, "tokenType", p.Get("tokenType"));
  jr::Copy(&request, "billingMode", p.Get("billingMode"));
  std::string format = IsPixal3dModel(id) ? "glb" : IsSegmentationModel(id) ? "png" : p.Str("outputFormat");
  if (format.empty()) format = type == "audio" ? "mp3" : type == "video" ? "mp4" : "png";
  request.Set("outputFormat", Value::String(format));
  if (p.Truthy("network")) request.Set("network", *p.Get("network"));
  if (p.Truthy("appSource")) request.Set("appSource", *p.Get("appSource"));

  // create(): the context-image ceiling is checked before the uploads, then the content types of
  // the uploaded inputs are written into the key frame.
  if (type == "image") {
    const Value* ctx = p.Get("contextImages");
    if (ctx && ctx->size() > 0 && ctx->size() > static_cast<size_t>(MaxContextImages(id)))
      return jr::Invalid("Up to " + std::to_string(MaxContextImages(id)) +
                         " context images are supported for this model");
  }
  AnnotateContentTypes(p, content_types, &request.Find("keyFrames")->items()[0]);
  return request;
}

}  // namespace sflow
