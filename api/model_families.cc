#include "api/model_families.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>

#include "engine/value.h"

namespace sflow {

namespace {

bool OneOf(std::string_view id, std::initializer_list<std::string_view> ids) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}
bool Has(std::string_view id, std::string_view part) { return id.find(part) != std::string_view::npos; }
bool StartsWith(std::string_view id, std::string_view prefix) { return id.substr(0, prefix.size()) == prefix; }

// `prefix` + one of `workflows` + one of `suffixes`, exactly (the SDK's anchored regexes).
bool Composed(std::string_view id, std::string_view prefix, std::initializer_list<std::string_view> workflows,
              std::initializer_list<std::string_view> suffixes) {
  if (!StartsWith(id, prefix)) return false;
  std::string_view rest = id.substr(prefix.size());
  for (std::string_view w : workflows) {
    if (!StartsWith(rest, w)) continue;
    for (std::string_view s : suffixes)
      if (rest.substr(w.size()) == s) return true;
  }
  return false;
}

}  // namespace

bool IsWanModel(std::string_view id) {
  return OneOf(id, {"wan_v2.2-14b-fp8_t2v", "wan_v2.2-14b-fp8_i2v", "wan_v2.2-14b-fp8_t2v_lightx2v",
                    "wan_v2.2-14b-fp8_i2v_lightx2v", "wan_v2.2-14b-fp8_s2v_lightx2v",
                    "wan_v2.2-14b-fp8_animate-move_lightx2v", "wan_v2.2-14b-fp8_animate-replace_lightx2v"});
}
bool IsWanAnimateModel(std::string_view id) {
  return OneOf(id, {"wan_v2.2-14b-fp8_animate-move_lightx2v", "wan_v2.2-14b-fp8_animate-replace_lightx2v"});
}
bool IsLtx2Model(std::string_view id) {
  // LTX_VIDEO_MODEL_IDS: six checkpoints x five workflows, plus one i2v fine-tune.
  if (id == "ltx23-22b-10eros-v1.4-fp8mixed_i2v") return true;
  auto workflows = {"t2v", "i2v", "a2v", "ia2v", "v2v"};
  for (std::string_view w : workflows) {
    if (Composed(id, "ltx2-19b-fp8_", {w}, {"", "_distilled"}) ||
        Composed(id, "ltx23-22b-fp8_", {w}, {"_distilled", "_dev"}) ||
        Composed(id, "ltx25-22b-int8_", {w}, {"_distilled", "_dev"}))
      return true;
  }
  return false;
}
bool IsSeedanceModel(std::string_view id) {
  return OneOf(id, {"seedance-2-0", "seedance-2-0-mini", "seedance-2-0-fast", "seedance-2-5"});
}
bool IsSeedance25Model(std::string_view id) { return id == "seedance-2-5"; }
bool IsHappyhorseModel(std::string_view id) {
  return OneOf(id, {"happyhorse-1.1-t2v", "happyhorse-1.1-i2v", "happyhorse-1.1-r2v"});
}
bool IsWan3Model(std::string_view id) { return OneOf(id, {"wan3.0-video", "wan3.0-spicy-video"}); }
bool IsWan3EnhancedModel(std::string_view id) { return id == "wan3.0-spicy-video"; }
bool IsMinimaxH3Model(std::string_view id) {
  return Composed(id, "minimax-h3-fl2va-fp8_", {"t2v", "i2v", "flf2v"}, {"", "_turbo", "_balanced"}) ||
         Composed(id, "minimax-h3-ref2va-fp8_", {"r2v"}, {"", "_turbo", "_balanced", "_2stage", "_balanced_2stage"}) ||
         Composed(id, "minimax-h3-fastvideo-int8_", {"t2v", "i2v", "flf2v", "ia2v", "flfa2v", "a2v"},
                  {"_turbo", "_turbo_2stage"});
}
bool IsMinimaxH3TurboModel(std::string_view id) {
  return Composed(id, "minimax-h3-fl2va-fp8_", {"t2v", "i2v", "flf2v"}, {"_turbo"}) ||
         Composed(id, "minimax-h3-fastvideo-int8_", {"t2v", "i2v", "flf2v"},
                  {"_turbo", "_turbo_2stage", "_turbo_2stage_720p"}) ||
         Composed(id, "minimax-h3-fastvideo-int8_", {"ia2v", "flfa2v", "a2v"}, {"_turbo", "_turbo_2stage"}) ||
         id == "minimax-h3-ref2va-fp8_r2v_turbo";
}
bool IsMinimaxH3BalancedModel(std::string_view id) {
  return Composed(id, "minimax-h3-fl2va-fp8_", {"t2v", "i2v", "flf2v"}, {"_balanced"}) ||
         OneOf(id, {"minimax-h3-ref2va-fp8_r2v_balanced", "minimax-h3-ref2va-fp8_r2v_balanced_2stage"});
}
bool IsMinimaxH3AudioGuideModel(std::string_view id) {
  return Composed(id, "minimax-h3-fastvideo-int8_", {"ia2v", "flfa2v", "a2v"}, {"_turbo", "_turbo_2stage"});
}
bool IsMinimaxH3ReferenceModel(std::string_view id) {
  return IsMinimaxH3Model(id) && VideoWorkflowType(id) == "r2v";
}
bool IsExternalApiVideoModel(std::string_view id) {
  return IsSeedanceModel(id) || IsHappyhorseModel(id) || IsWan3Model(id);
}
bool IsVideoUpscaleModel(std::string_view id) { return id == "flashvsr_v1.1_tiny_long_bf16"; }
bool IsVideoModel(std::string_view id) {
  return IsWanModel(id) || IsLtx2Model(id) || IsSeedanceModel(id) || IsHappyhorseModel(id) || IsWan3Model(id) ||
         IsMinimaxH3Model(id) || IsVideoUpscaleModel(id);
}
bool IsAudioModel(std::string_view id) { return StartsWith(id, "ace_step") || id == "minimax_music3"; }
bool IsSegmentationModel(std::string_view id) { return id == kSam3ModelId || id == kBirefnetModelId; }
bool IsPixal3dModel(std::string_view id) { return id == kPixal3dModelId || id == kPixal3dMultiViewModelId; }
bool IsPixal3dMultiViewModel(std::string_view id) { return id == kPixal3dMultiViewModelId; }
bool IsComfyModel(std::string_view id) {
  for (std::string_view p : {"z_image_", "dark_beast_z_image_", "krea2_", "dark_beast_krea2_", "qwen_image_", "rtx_vsr_",
                             "flashvsr_", "wan_", "ace_step", "minimax_music3", "qwen3_tts_"})
    if (StartsWith(id, p)) return true;
  return false;
}
bool IsGptImageModel(std::string_view id) {
  return OneOf(id, {"gpt-image-2", "gpt-image-2.5-sunburst", "gpt-image-2.5-flare"});
}

std::string VideoWorkflowType(std::string_view id) {
  if (id.empty()) return "";
  if (IsVideoUpscaleModel(id)) return "upscale";
  bool wan = IsWanModel(id), ltx = IsLtx2Model(id), seedance = IsSeedanceModel(id);
  bool horse = IsHappyhorseModel(id), wan3 = IsWan3Model(id), h3 = IsMinimaxH3Model(id);
  if (!wan && !ltx && !seedance && !horse && !wan3 && !h3) return "";
  if (wan3) return "t2v";
  if (horse) return Has(id, "-r2v") ? "r2v" : Has(id, "-i2v") ? "i2v" : Has(id, "-t2v") ? "t2v" : "";
  if (h3) {
    for (std::string_view w : {"r2v", "flfa2v", "ia2v", "a2v", "flf2v", "i2v", "t2v"})
      if (Has(id, "_" + std::string(w))) return std::string(w);
    return "";
  }
  if (Has(id, "_i2v")) return "i2v";
  if (Has(id, "_t2v")) return "t2v";
  if ((ltx || seedance) && Has(id, "_v2v")) return "v2v";
  if ((ltx || seedance) && Has(id, "_ia2v")) return "ia2v";
  if (ltx && Has(id, "_a2v")) return "a2v";
  if (wan) {
    if (Has(id, "_s2v")) return "s2v";
    if (Has(id, "_animate-move")) return "animate-move";
    if (Has(id, "_animate-replace")) return "animate-replace";
  }
  return "";
}

AssetRules VideoAssetRequirements(std::string_view id) {
  std::string w = VideoWorkflowType(id);
  if (w.empty()) return {};
  // Columns: referenceImage, referenceImageEnd, referenceAudio, referenceAudioIdentity,
  // referenceVideo, referenceMask (utils/index.js VIDEO_WORKFLOW_ASSETS, MINIMAX_H3_*_ASSETS).
  auto rules = [](const char* i, const char* ie, const char* a, const char* ai, const char* v, const char* m) {
    return AssetRules{{"referenceImage", i}, {"referenceImageEnd", ie}, {"referenceAudio", a},
                      {"referenceAudioIdentity", ai}, {"referenceVideo", v}, {"referenceMask", m}};
  };
  const char *R = "required", *O = "optional", *F = "forbidden";
  if (w == "r2v" && IsMinimaxH3Model(id)) return rules(O, F, O, F, O, F);
  if (w == "i2v" && IsMinimaxH3Model(id)) return rules(O, O, F, F, F, F);
  if (w == "upscale") return rules(F, F, F, F, R, F);
  if (w == "t2v") return rules(F, F, F, O, F, F);
  if (w == "i2v") return rules(O, O, F, O, F, F);
  if (w == "flf2v") return rules(R, R, F, F, F, F);
  if (w == "flfa2v") return rules(R, R, R, F, F, F);
  if (w == "s2v" || w == "ia2v") return rules(R, F, R, F, F, F);
  if (w == "a2v") return rules(F, F, R, F, F, F);
  if (w == "animate-move" || w == "animate-replace") return rules(R, F, F, F, R, F);
  if (w == "v2v") return rules(O, F, F, O, R, O);
  return rules(O, F, F, F, F, F);  // r2v (HappyHorse)
}

double JsRound(double x) {
  double r = std::floor(x);
  return x - r >= 0.5 ? r + 1 : r;
}

double CalculateVideoFrames(std::string_view id, double duration, double fps) {
  if (IsVideoUpscaleModel(id)) return JsRound(duration * fps);
  if (IsWanModel(id)) return JsRound(duration * 16) + 1;
  if (IsMinimaxH3Model(id)) {
    double requested = JsRound(duration * kH3Fps);
    double step = JsRound((requested - kH3BaseFrames) / kH3FrameStep);
    double max_step = std::floor(double(kH3MaxFrames - kH3BaseFrames) / kH3FrameStep);
    step = std::min(max_step, std::max(0.0, step));
    return kH3BaseFrames + step * kH3FrameStep;
  }
  double frames = JsRound(duration * fps) + 1;
  if (IsLtx2Model(id)) frames = JsRound((frames - 1) / 8) * 8 + 1;
  return frames;
}

double MaxVideoDuration(std::string_view id) {
  if (IsMinimaxH3Model(id)) return double(kH3MaxFrames) / kH3Fps;
  if (IsSeedance25Model(id) || IsWan3Model(id)) return 30;
  if (IsExternalApiVideoModel(id)) return 15;
  if (IsLtx2Model(id) || IsWanAnimateModel(id)) return 20;
  return 10;
}

SizeBounds CustomImageSizeBounds(std::string_view id) {
  if (id == "rtx_vsr_pro") return {512, 15360};
  if (OneOf(id, {"krea2_identity_edit_v1_2", "dark_beast_krea2_identity_edit_v1_2"})) return {512, 2048};
  if (IsGptImageModel(id)) return {256, 3840};
  if (OneOf(id, {"z_image_bf16", "z_image_turbo_bf16", "krea2_turbo_fp8_scaled", "qwen_image_edit_2511_fp8",
                 "qwen_image_edit_2511_fp8_lightning", "qwen_image_2512_fp8", "qwen_image_2512_fp8_lightning"}))
    return {256, 2560};
  return {256, 2048};
}

int MaxContextImages(std::string_view id) {
  if (IsGptImageModel(id)) return 16;
  if (OneOf(id, {"qwen_image_2512_fp8", "qwen_image_2512_fp8_lightning", "qwen_image_edit_2511_fp8",
                 "qwen_image_edit_2511_fp8_lightning"}))
    return 3;
  if (OneOf(id, {"krea2_identity_edit_v1_2", "dark_beast_krea2_identity_edit_v1_2"})) return 2;
  if (Has(id, "kontext")) return 2;
  return 3;
}

std::string JsNumberText(double n) { return Value::Double(n).ToJson(); }

}  // namespace sflow
