// applyImageParams, getControlNet, normalizeSam3Prompt (dist/Projects/createJobRequestMessage.js)
// and validateGptImageOptions (dist/lib/validation.js), @sogni-ai/sogni-client 5.54.0. The
// Pixal3D orbit views, templateVariant and reduce-only sizes are not ProjectParams a plan can
// hold (engine/project_params.h), so only the Pixal3D checks on startingImage and contextImages
// apply here.
#include <cctype>
#include <cmath>

#include "api/job_request_parts.h"
#include "api/model_families.h"

namespace sflow::job_request {

namespace {

constexpr size_t kMaxSam3Points = 32, kMaxSam3Boxes = 16, kMaxSam3Text = 240, kMaxSam3Instances = 16;

bool IsUnit(const Value* v) { return v && v->is_number() && v->as_number() >= 0 && v->as_number() <= 1; }

Result<Value> ControlNet(const Value& cn) {
  Value out = Value::Object();
  Copy(&out, "name", cn.Find("name"));
  out.Set("cnImageState", Value::String("original"));
  out.Set("hasImage", Value::Bool(Truthy(cn.Find("image"))));
  if (const Value* s = cn.Find("strength")) {
    Result<double> n = ValidateNumber(s, 0, 1, "strength");
    if (!n.ok()) return n.status();
    out.Set("controlStrength", Value::Double(*n));
  }
  if (const Value* mode = cn.Find("mode"); Truthy(mode)) {
    std::string m = mode->is_string() ? mode->as_string() : mode->ToJson();
    int code = m == "balanced" ? 0 : m == "prompt_priority" ? 1 : m == "cn_priority" ? 2 : -1;
    if (code < 0) return Invalid("Invalid control mode " + m);
    out.Set("controlMode", Value::Int(code));
  }
  for (const char* key : {"guidanceStart", "guidanceEnd"}) {
    if (const Value* g = cn.Find(key)) {
      Result<double> n = ValidateNumber(g, 0, 1, key);
      if (!n.ok()) return n.status();
      out.Set(std::string("control") + char(std::toupper(key[0])) + (key + 1), Value::Double(*n));
    }
  }
  Value list = Value::Array();
  list.Append(std::move(out));
  return list;
}

Result<Value> Sam3Prompt(const Value& prompt) {
  if (!prompt.is_object()) return Invalid("sam3Prompt must be an object");
  std::string unknown;
  for (const Value::Member& m : prompt.members()) {
    static const char* kAllowed[] = {"points", "boxes", "text", "threshold", "multimask", "applyMask", "maxInstances"};
    bool ok = false;
    for (const char* a : kAllowed) ok = ok || m.key == a;
    if (!ok) unknown += (unknown.empty() ? "" : ", ") + m.key;
  }
  if (!unknown.empty()) return Invalid("sam3Prompt contains unsupported fields: " + unknown);
  auto list = [&](const char* key, size_t max, Value* out) -> Status {
    const Value* v = prompt.Find(key);
    *out = Truthy(v) ? *v : Value::Array();
    if (!out->is_array() || out->size() > max)
      return Invalid(std::string("sam3Prompt.") + key + " must contain at most " + std::to_string(max) + " entries");
    return Status::OK();
  };
  Value points, boxes;
  if (Status s = list("points", kMaxSam3Points, &points); !s.ok()) return s;
  Value out_points = Value::Array(), out_boxes = Value::Array();
  for (size_t i = 0; i < points.size(); ++i) {
    const Value& pt = points.items()[i];
    std::string at = "sam3Prompt.points[" + std::to_string(i) + "]";
    if (!pt.is_object()) return Invalid(at + " must be an object");
    for (const Value::Member& m : pt.members())
      if (m.key != "x" && m.key != "y" && m.key != "label") return Invalid(at + " contains unsupported fields");
    const Value* label = pt.Find("label");
    if (!label || !label->is_string() || (label->as_string() != "positive" && label->as_string() != "negative"))
      return Invalid(at + ".label must be \"positive\" or \"negative\"");
    Value o = Value::Object();
    for (const char* c : {"x", "y"}) {
      if (!IsUnit(pt.Find(c))) return Invalid(at + "." + c + " must be a finite normalized coordinate from 0 to 1");
      o.Set(c, *pt.Find(c));
    }
    o.Set("label", *label);
    out_points.Append(std::move(o));
  }
  if (Status s = list("boxes", kMaxSam3Boxes, &boxes); !s.ok()) return s;
  for (size_t i = 0; i < boxes.size(); ++i) {
    const Value& box = boxes.items()[i];
    std::string at = "sam3Prompt.boxes[" + std::to_string(i) + "]";
    if (!box.is_object()) return Invalid(at + " must be an object");
    for (const Value::Member& m : box.members())
      if (m.key != "x0" && m.key != "y0" && m.key != "x1" && m.key != "y1" && m.key != "label")
        return Invalid(at + " contains unsupported fields");
    const Value* label = box.Find("label");
    if (label && (!label->is_string() || (label->as_string() != "positive" && label->as_string() != "negative")))
      return Invalid(at + ".label must be \"positive\" or \"negative\"");
    Value o = Value::Object();
    for (const char* c : {"x0", "y0", "x1", "y1"}) {
      if (!IsUnit(box.Find(c))) return Invalid(at + "." + c + " must be a finite normalized coordinate from 0 to 1");
      o.Set(c, *box.Find(c));
    }
    o.Set("label", label ? *label : Value::String("positive"));
    if (o.Find("x0")->as_number() >= o.Find("x1")->as_number() || o.Find("y0")->as_number() >= o.Find("y1")->as_number())
      return Invalid(at + " must have x0 < x1 and y0 < y1");
    out_boxes.Append(std::move(o));
  }
  std::string text;
  if (const Value* t = prompt.Find("text")) {
    if (!t->is_string()) return Invalid("sam3Prompt.text must be a string");
    size_t b = t->as_string().find_first_not_of(" \t\n\r\f\v"), e = t->as_string().find_last_not_of(" \t\n\r\f\v");
    text = b == std::string::npos ? "" : t->as_string().substr(b, e - b + 1);
    if (text.empty() || text.size() > kMaxSam3Text)  // bytes; JavaScript counts UTF-16 units
      return Invalid("sam3Prompt.text must contain 1 to " + std::to_string(kMaxSam3Text) + " characters");
  }
  if (out_points.size() == 0 && out_boxes.size() == 0 && text.empty())
    return Invalid("sam3Prompt requires at least one point, box, or text prompt");
  if (!text.empty() && out_points.size() > 0) return Invalid("sam3Prompt cannot combine text and point prompts");
  if (out_points.size() > 0 && out_boxes.size() > 1)
    return Invalid("sam3Prompt supports at most one box when point prompts are present");
  if (out_points.size() > 0)
    for (const Value& b : out_boxes.items())
      if (b.Find("label")->as_string() == "negative") return Invalid("sam3Prompt negative boxes require a text prompt");
  const Value* threshold = prompt.Find("threshold");
  if (threshold && !IsUnit(threshold)) return Invalid("sam3Prompt.threshold must be a finite number from 0 to 1");
  const Value* multimask = prompt.Find("multimask");
  if (multimask && !multimask->is_bool()) return Invalid("sam3Prompt.multimask must be a boolean");
  if (multimask && multimask->as_bool() && out_points.size() == 0)
    return Invalid("sam3Prompt.multimask requires point prompts");
  const Value* apply = prompt.Find("applyMask");
  if (apply && !apply->is_bool()) return Invalid("sam3Prompt.applyMask must be a boolean");
  const Value* max = prompt.Find("maxInstances");
  if (max && (!max->is_number() || max->as_number() != std::floor(max->as_number()) || max->as_number() < 1 ||
              max->as_number() > double(kMaxSam3Instances)))
    return Invalid("sam3Prompt.maxInstances must be an integer from 1 to " + std::to_string(kMaxSam3Instances));
  Value out = Value::Object();
  out.Set("points", std::move(out_points));
  out.Set("boxes", std::move(out_boxes));
  if (!text.empty()) out.Set("text", Value::String(text));
  out.Set("threshold", threshold ? *threshold : Value::Double(0.5));
  if (out.Find("points")->size() > 0) out.Set("multimask", multimask ? *multimask : Value::Bool(true));
  out.Set("applyMask", Value::Bool(apply && apply->as_bool()));
  if (max) out.Set("maxInstances", *max);
  return out;
}

Status GptImageOptions(const Params& p) {
  const std::string& id = p.model();
  if (!IsGptImageModel(id)) {
    if (p.Truthy("gptImageMask") || p.Truthy("gptImageMaskUrl")) return Invalid("GPT Image masks require a GPT Image model");
    return Status::OK();
  }
  const Value* ctx = p.Get("contextImages");
  bool has_first = ctx && ctx->size() > 0;
  if (p.Truthy("gptImageMask") && p.Truthy("gptImageMaskUrl")) return Invalid("Provide one GPT Image mask");
  if (p.Truthy("gptImageMask") && !has_first) return Invalid("GPT Image mask requires a first reference image");
  if (ctx) {
    bool hole = false;
    for (const Value& v : ctx->items()) hole = hole || !Truthy(&v);
    if (ctx->size() > 16 || hole) return Invalid("GPT Image accepts up to 16 non-empty references in source order");
  }
  if (const Value* url = p.Get("gptImageMaskUrl")) {
    bool blank = !url->is_string() || url->as_string().find_first_not_of(" \t\n\r") == std::string::npos;
    if (blank || !has_first) return Invalid("GPT Image mask requires a mask URL and a first reference image");
  }
  bool v25 = id != "gpt-image-2";
  if (const Value* q = p.Get("gptImageQuality")) {
    std::string quality = q->as_string();
    if (quality == "auto")
      return Invalid("Unsupported quality for " + id + ": auto. Choose low, medium or high" + (v25 ? ", xhigh or max" : "") + ".");
    bool ok = quality == "low" || quality == "medium" || quality == "high" || quality == "standard" || quality == "hd" ||
              (v25 && (quality == "xhigh" || quality == "max"));
    if (!ok) return Invalid("Unsupported quality for " + id + ": " + quality);
  }
  std::string background = p.Str("gptImageBackground");
  if (p.Has("gptImageBackground") && background != "opaque" && background != "auto" && !(v25 && background == "transparent"))
    return Invalid("Unsupported background for " + id + ": " + background);
  std::string format = p.Str("outputFormat");
  if (background == "transparent" && format == "jpg") return Invalid("Transparent GPT Image output requires PNG or WebP");
  if (std::optional<double> c = p.Num("gptImageOutputCompression")) {
    if (*c != std::floor(*c) || *c < 0 || *c > 100)
      return Invalid("GPT Image output compression must be an integer from 0 to 100");
    if (format != "jpg" && format != "webp") return Invalid("GPT Image output compression requires JPEG or WebP");
  }
  return Status::OK();
}

}  // namespace

Status ApplyImageParams(const Params& p, const ModelTraits& model, Value* frame) {
  const std::string& id = p.model();
  const Value* ctx = p.Get("contextImages");
  for (size_t i = 1; i <= 16; ++i) {
    bool has = ctx && ctx->size() >= i && Truthy(&ctx->items()[i - 1]);
    frame->Set("hasContextImage" + std::to_string(i), Value::Bool(has));
  }
  Result<Value> sampler = ValidateOption(p.Get("sampler"), model.samplers, model.options_known, "sampler");
  if (!sampler.ok()) return sampler.status();
  Result<Value> scheduler = ValidateOption(p.Get("scheduler"), model.schedulers, model.options_known, "scheduler");
  if (!scheduler.ok()) return scheduler.status();
  if (IsComfyModel(id)) {
    Result<Value> vae = ValidateOption(p.Get("vae"), model.vaes, model.options_known, "VAE");
    if (!vae.ok()) return vae.status();
    frame->Set("comfySampler", *sampler);
    frame->Set("comfyScheduler", *scheduler);
    frame->Set("vae", *vae);
  } else {
    frame->Set("scheduler", *sampler);
    frame->Set("timeStepSpacing", *scheduler);
  }
  if (p.Truthy("startingImage")) {
    frame->Set("hasStartingImage", Value::Bool(true));
    frame->Set("strengthIsEnabled", Value::Bool(true));
    std::optional<double> s = p.Num("startingImageStrength");
    frame->Set("strength", Value::Double(1 - (s && *s != 0 ? *s : 0.5)));
  }
  if (id == kSam3ModelId) {
    if (!p.Truthy("startingImage")) return Invalid("SAM3 image segmentation requires startingImage");
    if (!p.Truthy("sam3Prompt")) return Invalid("SAM3 image segmentation requires sam3Prompt");
    Result<Value> prompt = Sam3Prompt(*p.Get("sam3Prompt"));
    if (!prompt.ok()) return prompt.status();
    frame->Set("sam3Prompt", *prompt);
  } else if (p.Has("sam3Prompt")) {
    return Invalid(std::string("sam3Prompt is only supported by ") + kSam3ModelId);
  }
  if (id == kBirefnetModelId) {
    if (!p.Truthy("startingImage")) return Invalid("BiRefNet background removal requires startingImage");
    const Value* apply = p.Get("applyMask");
    frame->Set("applyMask", Value::Bool(apply && apply->as_bool()));
  } else if (p.Has("applyMask")) {
    return Invalid(std::string("applyMask is only supported by ") + kBirefnetModelId);
  }
  if (IsPixal3dModel(id) && !p.Truthy("startingImage"))
    return Invalid(IsPixal3dMultiViewModel(id) ? "Pixal3D multi-view reconstruction requires startingImage (the front view)"
                                               : "Pixal3D reconstruction requires startingImage");
  if (IsPixal3dModel(id) && ctx) {
    bool any = false;
    for (const Value& v : ctx->items()) any = any || Truthy(&v);
    if (any)
      return Invalid(IsPixal3dMultiViewModel(id)
                         ? std::string(kPixal3dMultiViewModelId) +
                               " takes its orbit views as leftViewImage, backViewImage and rightViewImage, not contextImages"
                         : std::string(kPixal3dModelId) +
                               " reconstructs from startingImage alone and does not support contextImages; use " +
                               kPixal3dMultiViewModelId + " for more views");
  }
  if (p.Truthy("controlNet")) {
    Result<Value> cn = ControlNet(*p.Get("controlNet"));
    if (!cn.ok()) return cn.status();
    frame->Set("currentControlNetsJob", *cn);
  }
  bool sized = p.Truthy("width") && p.Truthy("height");
  Value preset = p.Get("sizePreset") ? *p.Get("sizePreset") : Value();
  if (sized && !p.Truthy("sizePreset")) preset = Value::String("custom");
  if (p.Get("sizePreset") || preset.is_string()) frame->Set("sizePreset", preset);
  if (preset.is_string() && preset.as_string() == "custom" && sized) {
    SizeBounds b = CustomImageSizeBounds(id);
    Result<double> w = ValidateNumber(p.Get("width"), b.min, b.max, "Width");
    if (!w.ok()) return w.status();
    Result<double> h = ValidateNumber(p.Get("height"), b.min, b.max, "Height");
    if (!h.ok()) return h.status();
    frame->Set("width", Value::Double(*w));
    frame->Set("height", Value::Double(*h));
  }
  if (Status s = GptImageOptions(p); !s.ok()) return s;
  if (p.Truthy("gptImageMask")) {
    frame->Set("hasReferenceMask", Value::Bool(true));
    frame->Set("referenceMaskContentType", Value::String("image/png"));
  }
  for (const char* key : {"gptImageMaskUrl", "gptImageQuality", "gptImageBackground", "gptImageOutputCompression"})
    if (const Value* v = p.Get(key)) frame->Set(key, *v);
  return Status::OK();
}

}  // namespace sflow::job_request
