// applyVideoParams, validateMinimaxH3Params, validateVideoUpscaleTiming, getVideoControlNet and
// applyAudioParams (dist/Projects/createJobRequestMessage.js, @sogni-ai/sogni-client 5.54.0).
#include <cmath>

#include "api/job_request_parts.h"
#include "api/model_families.h"

namespace sflow::job_request {

namespace {

bool IsInteger(double d) { return std::isfinite(d) && d == std::floor(d); }

Status MinimaxH3Params(const Params& p) {
  const std::string& id = p.model();
  if (!IsMinimaxH3Model(id)) return Status::OK();
  if (p.Has("fps") && p.Num("fps") != 24) return Invalid("MiniMax H3 fps is fixed at 24. Omit fps or set it to 24.");
  bool turbo = IsMinimaxH3TurboModel(id), balanced = IsMinimaxH3BalancedModel(id);
  int expected = turbo ? 4 : balanced ? 8 : 20;
  if (p.Has("steps") && p.Num("steps") != double(expected))
    return Invalid(std::string("MiniMax H3") + (turbo ? " Turbo" : balanced ? " Balanced" : "") + " steps are fixed at " +
                   std::to_string(expected) + ".");
  if (p.Has("guidance") && p.Num("guidance") != 1.0) return Invalid("MiniMax H3 guidance is fixed at 1.");
  if (p.Str("negativePrompt").find_first_not_of(" \t\n\r") != std::string::npos)
    return Invalid("MiniMax H3 has no negative-prompt input. Put requested exclusions in positivePrompt.");
  if (std::optional<double> f = p.Num("frames")) {
    if (!IsInteger(*f) || *f < kH3MinFrames || *f > kH3MaxFrames ||
        std::fmod(*f - kH3BaseFrames, double(kH3FrameStep)) != 0)
      return Invalid("MiniMax H3 frames must be 124 + n*17 in the inclusive range 124-362.");
  }
  if (p.Has("width") != p.Has("height")) return Invalid("MiniMax H3 width and height must be provided together.");
  if (std::optional<double> w = p.Num("width"), h = p.Num("height"); w && h) {
    if (!IsInteger(*w) || !IsInteger(*h) || *w < kH3DimensionStep || *h < kH3DimensionStep || *w > kH3MaxDimension ||
        *h > kH3MaxDimension || std::fmod(*w, double(kH3DimensionStep)) != 0 ||
        std::fmod(*h, double(kH3DimensionStep)) != 0 || *w * *h > double(kH3MaxPixels))
      return Invalid("MiniMax H3 dimensions must use a 32px grid, stay at or below 1344px per axis, and fit within "
                     "1,032,192 pixels.");
  }
  if (p.Has("audioDuration"))
    return Invalid("MiniMax H3 has no audioDuration input. Set frames or duration; the uploaded audio is trimmed to the "
                   "video length.");
  if (IsMinimaxH3AudioGuideModel(id)) {
    std::string w = VideoWorkflowType(id);
    const Value* gen = p.Get("generateAudio");
    if (gen && gen->is_bool() && !gen->as_bool())
      return Invalid("MiniMax H3 " + w + " output always carries the uploaded audio. Omit generateAudio or set it to true.");
    if (std::optional<double> s = p.Num("audioStart"); p.Has("audioStart") && (!s || *s < 0))
      return Invalid("MiniMax H3 " + w + " audioStart must be a number of seconds, 0 or greater.");
    auto entries = [&](const char* k) { const Value* v = p.Get(k); return v && !(v->is_array() && v->size() == 0); };
    if (entries("loras") || entries("loraStrengths"))
      return Invalid("MiniMax H3 " + w + " does not support LoRAs. Remove loras and loraStrengths.");
  } else if (p.Has("audioStart")) {
    return Invalid("audioStart is supported only by the MiniMax H3 FastH3 audio-guide workflows "
                   "(minimax-h3-fastvideo-int8_ia2v_turbo, minimax-h3-fastvideo-int8_flfa2v_turbo, "
                   "minimax-h3-fastvideo-int8_a2v_turbo and their _2stage ids).");
  }
  return Status::OK();
}

constexpr const char* kUpscaleTiming =
    "Omit the source timing, or supply the source video’s exact frame count and frame rate.";

Status VideoUpscale(const Params& p) {
  std::string detail = p.Str("detailPreference"), speed = p.Str("processingSpeed");
  if (p.Has("detailPreference") && detail != "stable" && detail != "sharper")
    return Invalid("FlashVSR detailPreference must be stable or sharper.");
  if (p.Has("processingSpeed") && speed != "stable" && speed != "faster")
    return Invalid("FlashVSR processingSpeed must be stable or faster.");
  double seed = p.Num("seed").value_or(0);
  if (!IsInteger(seed) || seed < -1 || seed > 4294967295.0)
    return Invalid("FlashVSR seed must be -1 (random) or an integer from 0 through 4294967295.");
  const Value* res = p.Get("upscaleResolution");
  double resolution = res ? (res->is_number() ? res->as_number() : NAN)
                          : std::min(p.Num("width").value_or(NAN), p.Num("height").value_or(NAN));
  if (resolution != 1080 && resolution != 1440) return Invalid("Choose 1080p or 1440p for video upscaling.");
  if (!p.Truthy("referenceVideo")) return Invalid("FlashVSR requires an uploaded referenceVideo.");
  std::optional<double> fps = p.Num("fps");
  if (fps && (*fps < 1 || *fps > 60)) return Invalid(kUpscaleTiming);
  std::optional<double> frames = p.Num("frames");
  if (!frames && p.Has("duration")) {
    if (!fps) return Invalid(kUpscaleTiming);
    frames = JsRound(*p.Num("duration") * *fps);
  }
  if (frames && (!IsInteger(*frames) || *frames < 1)) return Invalid(kUpscaleTiming);
  auto blank = [&](const char* k) { return p.Str(k).find_first_not_of(" \t\n\r") == std::string::npos; };
  if (!blank("positivePrompt") || !blank("negativePrompt")) return Invalid("FlashVSR is promptless.");
  auto listed = [&](const char* k) { const Value* v = p.Get(k); return v && v->size() > 0; };
  const Value* gen = p.Get("generateAudio");
  if (p.Has("teacacheThreshold") || p.Truthy("trimEndFrame") || p.Truthy("controlNet") || p.Has("videoStart") ||
      listed("referenceVideoUrls") || listed("referenceImageUrls") || listed("referenceAudioUrls") ||
      p.Truthy("referenceFileUrl") || p.Truthy("referenceLinkUrl") || (gen && gen->is_bool() && !gen->as_bool()))
    return Invalid("Video upscaling preserves the complete source video and its audio; generation controls are unsupported.");
  if (p.Num("numberOfMedia") != 1.0) return Invalid("Upscale one source video per project.");
  return Status::OK();
}

// getVideoContextImageSlots / getMinimaxH3Reference{Video,Audio}Slots: 1-based slot numbers.
void SetSlots(Value* frame, const char* prefix, size_t count, size_t first = 1) {
  for (size_t i = 0; i < count; ++i) frame->Set(prefix + std::to_string(first + i), Value::Bool(true));
}

size_t Present(const Params& p, const char* single, const char* list) {
  size_t n = p.Truthy(single);
  if (const Value* l = p.Get(list); l && l->is_array())
    for (const Value& v : l->items()) n += Truthy(&v);
  return n;
}

}  // namespace

Status ApplyVideoParams(const Params& p, const ModelTraits& model, Value* frame) {
  const std::string& id = p.model();
  if (!IsVideoModel(id)) return Invalid("Video generation is only supported for video models.");
  if (Status s = ValidateVideoWorkflowAssets(p); !s.ok()) return s;
  if (IsVideoUpscaleModel(id))
    if (Status s = VideoUpscale(p); !s.ok()) return s;
  if (Status s = MinimaxH3Params(p); !s.ok()) return s;
  bool r2v = IsMinimaxH3ReferenceModel(id);
  if (p.Truthy("referenceImage")) frame->Set("hasReferenceImage", Value::Bool(true));
  if (const Value* ctx = p.Get("contextImages"); ctx && ctx->size() > 0)
    SetSlots(frame, "hasContextImage", ctx->size(), p.Truthy("referenceImage") ? 2 : 1);
  auto urls = [&](const char* from, const char* to) {
    const Value* v = p.Get(from);
    if (!v || !v->is_array()) return;
    Value list = Value::Array();
    for (const Value& u : v->items())
      if (u.is_string() && u.as_string().find_first_not_of(" \t\n\r") != std::string::npos) list.Append(u);
    if (list.size() > 0) frame->Set(to, std::move(list));
  };
  urls("referenceImageUrls", "referenceImageURLs");
  if (p.Truthy("referenceImageEnd")) frame->Set("hasReferenceImageEnd", Value::Bool(true));
  if (r2v) SetSlots(frame, "hasReferenceAudio", Present(p, "referenceAudio", "referenceAudios"));
  else if (p.Truthy("referenceAudio")) frame->Set("hasReferenceAudio", Value::Bool(true));
  urls("referenceAudioUrls", "referenceAudioURLs");
  if (r2v) {
    size_t videos = Present(p, "referenceVideo", "referenceVideos");
    const Value* durations = p.Get("referenceVideoDurations");
    for (size_t slot = 1; slot <= videos; ++slot) {
      frame->Set("hasReferenceVideo" + std::to_string(slot), Value::Bool(true));
      if (durations && durations->size() >= slot)
        frame->Set("referenceVideo" + std::to_string(slot) + "DurationSeconds", durations->items()[slot - 1]);
    }
  } else if (p.Truthy("referenceVideo")) {
    frame->Set("hasReferenceVideo", Value::Bool(true));
  }
  const Value* cn = p.Get("controlNet");
  const Value* cn_name = cn ? cn->Find("name") : nullptr;
  if (p.Truthy("referenceMask") && cn_name && cn_name->is_string() && cn_name->as_string() == "inpaint")
    frame->Set("hasReferenceMask", Value::Bool(true));
  urls("referenceVideoUrls", "referenceVideoURLs");
  if (p.Truthy("referenceAudioIdentity")) frame->Set("hasReferenceAudioIdentity", Value::Bool(true));
  for (auto [from, to] : {std::pair{"generateAudio", "generateAudio"}, {"referenceFileUrl", "referenceFileURL"},
                          {"referenceLinkUrl", "referenceLinkURL"}, {"promptExtend", "promptExtend"},
                          {"watermark", "watermark"}, {"ratio", "ratio"}, {"returnLastFrame", "returnLastFrame"},
                          {"seedanceTaskType", "seedanceTaskType"}, {"audioIdentityStrength", "identityGuidanceScale"}})
    if (const Value* v = p.Get(from)) frame->Set(to, *v);
  // fps before duration: LTX 2.x frame counts follow the fps.
  if (const Value* fps = p.Get("fps")) frame->Set("fps", *fps);
  else if (IsWan3Model(id)) frame->Set("fps", Value::Int(30));
  else if (IsExternalApiVideoModel(id) || IsMinimaxH3Model(id)) frame->Set("fps", Value::Int(24));
  if (const Value* f = p.Get("frames")) frame->Set("frames", *f);
  if (p.Has("duration") && !(IsVideoUpscaleModel(id) && p.Has("frames"))) {
    double fps_or_24 = p.Num("fps").value_or(24);
    double min = IsVideoUpscaleModel(id) ? 1 / fps_or_24
                 : IsMinimaxH3Model(id)  ? double(kH3MinFrames) / kH3Fps
                 : IsWan3Model(id)       ? 2
                 : IsHappyhorseModel(id) ? 3
                 : IsSeedanceModel(id)   ? 4
                                         : 1;
    std::optional<double> max;
    if (!IsVideoUpscaleModel(id)) max = MaxVideoDuration(id);
    Result<double> d = ValidateNumber(p.Get("duration"), min, max, "Video duration");
    if (!d.ok()) return d.status();
    double fps = p.Num("fps").value_or(IsWan3Model(id) ? 30 : 24);
    frame->Set("frames", Value::Double(CalculateVideoFrames(id, *d, fps)));
  }
  if (const Value* v = p.Get("shift")) frame->Set("shift", *v);
  if (const Value* t = p.Get("teacacheThreshold")) {
    double n = t->as_number();
    if (n < 0 || n > 1) return Invalid("teacacheThreshold must be between 0.0 and 1.0 (got " + JsNumberText(n) + ")");
    frame->Set("teacacheThreshold", Value::Double(n));
  }
  for (const char* key : {"audioStart", "audioDuration", "videoStart"})
    if (const Value* v = p.Get(key)) frame->Set(key, *v);
  if (const Value* s = p.Get("sam2Coordinates")) frame->Set("sam2Coordinates", Value::String(s->ToJson()));
  if (p.Truthy("trimEndFrame")) frame->Set("trimEndFrame", Value::Bool(true));
  for (const char* key : {"firstFrameStrength", "lastFrameStrength"})
    if (const Value* v = p.Get(key)) frame->Set(key, *v);
  if (p.Truthy("controlNet")) {
    Value entry = Value::Object();
    Copy(&entry, "name", cn_name);
    if (const Value* s = cn->Find("strength")) {
      Result<double> n = ValidateNumber(s, 0, 1, "strength");
      if (!n.ok()) return n.status();
      entry.Set("controlStrength", Value::Double(*n));
    }
    Value list = Value::Array();
    list.Append(std::move(entry));
    frame->Set("currentControlNetsJob", std::move(list));
  }
  if (const Value* v = p.Get("detailerStrength")) frame->Set("detailerStrength", *v);
  if (p.Truthy("width") && p.Truthy("height")) {
    if (IsMinimaxH3Model(id)) {
      frame->Set("width", *p.Get("width"));
      frame->Set("height", *p.Get("height"));
    } else {
      Result<double> w = ValidateNumber(p.Get("width"), 480, std::nullopt, "Video width");
      if (!w.ok()) return w.status();
      Result<double> h = ValidateNumber(p.Get("height"), 480, std::nullopt, "Video height");
      if (!h.ok()) return h.status();
      frame->Set("width", Value::Double(*w));
      frame->Set("height", Value::Double(*h));
    }
  }
  if (const Value* v = p.Get("outpaintPosition")) frame->Set("outpaintPosition", *v);
  Result<Value> sampler = ValidateOption(p.Get("sampler"), model.samplers, model.options_known, "sampler");
  if (!sampler.ok()) return sampler.status();
  Result<Value> scheduler = ValidateOption(p.Get("scheduler"), model.schedulers, model.options_known, "scheduler");
  if (!scheduler.ok()) return scheduler.status();
  frame->Set("comfySampler", *sampler);
  frame->Set("comfyScheduler", *scheduler);
  if (IsVideoUpscaleModel(id)) {
    const Value* res = p.Get("upscaleResolution");
    frame->Set("upscaleResolution", res ? *res : Value::Double(std::min(*p.Num("width"), *p.Num("height"))));
    frame->Set("steps", Value::Int(1));
    frame->Set("seed", p.Get("seed") ? *p.Get("seed") : Value::Int(0));
    frame->Set("detailPreference", p.Get("detailPreference") ? *p.Get("detailPreference") : Value::String("stable"));
    frame->Set("processingSpeed", p.Get("processingSpeed") ? *p.Get("processingSpeed") : Value::String("stable"));
    frame->Set("generateAudio", Value::Bool(true));
    frame->Set("interpolation", Value::String("none"));
  }
  return Status::OK();
}

Status ApplyAudioParams(const Params& p, const ModelTraits& model, Value* frame) {
  for (const char* key : {"duration", "bpm", "timesignature", "language", "lyrics", "keyscale", "composerMode",
                          "promptStrength", "creativity", "shift", "speaker", "instruct", "referenceText"})
    if (const Value* v = p.Get(key)) frame->Set(key, *v);
  if (p.Truthy("referenceAudio")) frame->Set("hasReferenceAudio", Value::Bool(true));
  Result<Value> sampler = ValidateOption(p.Get("sampler"), model.samplers, model.options_known, "sampler");
  if (!sampler.ok()) return sampler.status();
  Result<Value> scheduler = ValidateOption(p.Get("scheduler"), model.schedulers, model.options_known, "scheduler");
  if (!scheduler.ok()) return scheduler.status();
  frame->Set("comfySampler", *sampler);
  frame->Set("comfyScheduler", *scheduler);
  return Status::OK();
}

}  // namespace sflow::job_request
