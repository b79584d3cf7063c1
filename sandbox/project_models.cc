#include "sandbox/project_models.h"

#include "engine/json.h"
#include "sandbox/project_wire.h"

namespace sflow::hub {

namespace {

// Ids as the SDK and its docs use them; 'z-turbo' is the hosted tools' name for Z-Image Turbo.
const ModelInfo kModels[] = {
    {"flux1-schnell-fp8", "Flux.1 [schnell]", 101, "flux1-schnell", "image", 12},
    {"z-turbo", "Z-Image Turbo", 102, "z-turbo", "image", 9},
    {"z_image_turbo_bf16", "Z-Image Turbo (ComfyUI)", 103, "z-image-turbo-comfy", "image", 9},
    {"qwen_image_edit_2511_fp8_lightning", "Qwen Image Edit 2511 Lightning", 104, "qwen-image-edit-lightning", "image", 4},
    {"wan_v2.2-14b-fp8_t2v_lightx2v", "WAN 2.2 14B Text-to-Video LightX2V", 201, "wan-2.2-lightx2v", "video", 4},
    {"wan_v2.2-14b-fp8_i2v_lightx2v", "WAN 2.2 14B Image-to-Video LightX2V", 202, "wan-2.2-lightx2v", "video", 4},
    {"ltx23-22b-fp8_t2v_distilled", "LTX 2.3 22B Text-to-Video Distilled", 203, "ltx23-distilled", "video", 3},
    {"ltx23-22b-fp8_a2v_distilled", "LTX 2.3 22B Audio-to-Video Distilled", 204, "ltx23-distilled", "video", 2},
    {"ltx23-22b-fp8_v2v_distilled", "LTX 2.3 22B Video-to-Video Distilled", 205, "ltx23-distilled", "video", 2},
    {"ace_step_1.5_turbo", "ACE-Step 1.5 Turbo", 301, "ace-step-turbo", "audio", 3},
    {"ace_step_1.5_xl_turbo", "ACE-Step 1.5 XL Turbo", 302, "ace-step-turbo", "audio", 2},
};


// GET /api/v2/models/tiers: shapes of src/Projects/types/ModelTiersRaw.ts. Tiers without `type`
// are Forge image tiers (scheduler/sampler); the others name comfySampler/comfyScheduler.
const char kTiersJson[] = R"json({
  "flux1-schnell": {
    "benchmark": {"sec": 2.1, "secCN": 0.6, "secMaxPreviews": 0.4},
    "guidance": {"min": 0, "max": 10, "decimals": 1, "default": 1},
    "modelFeeUSD": 0,
    "nickname": "Flux Schnell",
    "scheduler": {"allowed": ["Simple", "Normal", "Karras", "SGM Uniform", "Beta"], "default": "Simple"},
    "sampler": {"allowed": ["Euler", "Euler a", "DPM++ 2M", "UniPC", "LCM (Latent Consistency Model)"],
                "default": "Euler"},
    "steps": {"min": 1, "max": 8, "default": 4}
  },
  "z-turbo": {
    "benchmark": {"sec": 1.8, "secCN": 0.5, "secMaxPreviews": 0.3},
    "guidance": {"min": 0, "max": 5, "decimals": 1, "default": 1},
    "modelFeeUSD": 0,
    "nickname": "Z-Image Turbo",
    "scheduler": {"allowed": ["Simple", "Beta", "Normal"], "default": "Simple"},
    "sampler": {"allowed": ["Euler", "Euler a", "DPM++ 2M"], "default": "Euler"},
    "steps": {"min": 1, "max": 20, "default": 8}
  },
  "z-image-turbo-comfy": {
    "type": "image",
    "benchmark": {"sec": 1.8, "secCN": 0.5, "secMaxPreviews": 0.3},
    "comfySampler": {"allowed": ["euler", "res_multistep", "dpmpp_2m"], "default": "euler"},
    "comfyScheduler": {"allowed": ["simple", "beta", "normal"], "default": "simple"},
    "defaultSize": 1024,
    "guidance": {"min": 0, "max": 5, "decimals": 1, "default": 1},
    "steps": {"min": 1, "max": 20, "default": 8}
  },
  "qwen-image-edit-lightning": {
    "type": "image",
    "benchmark": {"sec": 3.5, "secCN": 0, "secMaxPreviews": 0},
    "comfySampler": {"allowed": ["euler", "res_multistep"], "default": "euler"},
    "comfyScheduler": {"allowed": ["simple", "beta"], "default": "simple"},
    "defaultSize": 1024,
    "guidance": {"min": 0, "max": 5, "decimals": 1, "default": 1},
    "steps": {"min": 1, "max": 8, "default": 4}
  },
  "wan-2.2-lightx2v": {
    "type": "video",
    "benchmark": {"sec": 45, "secCN": 0, "secMaxPreviews": 0},
    "comfySampler": {"allowed": ["euler", "uni_pc"], "default": "euler"},
    "comfyScheduler": {"allowed": ["simple", "beta"], "default": "simple"},
    "fps": {"allowed": [16, 32], "default": 16},
    "frames": {"min": 17, "max": 161, "default": 81},
    "guidance": {"min": 1, "max": 2, "decimals": 1, "default": 1},
    "height": {"min": 480, "max": 1280, "step": 16, "default": 480},
    "shift": {"min": 1, "max": 10, "decimals": 1, "default": 5},
    "steps": {"min": 2, "max": 8, "default": 4},
    "width": {"min": 480, "max": 1280, "step": 16, "default": 832}
  },
  "ltx23-distilled": {
    "type": "video",
    "benchmark": {"sec": 30, "secCN": 0, "secMaxPreviews": 0},
    "comfySampler": {"allowed": ["euler", "res_2s"], "default": "euler"},
    "comfyScheduler": {"allowed": ["simple", "linear_quadratic"], "default": "simple"},
    "fps": {"allowed": [24, 25, 30, 48, 50, 60], "default": 24},
    "frames": {"min": 9, "max": 481, "default": 121},
    "guidance": {"min": 1, "max": 4, "decimals": 1, "default": 1},
    "height": {"min": 480, "max": 2160, "step": 32, "default": 720},
    "maxPixels": 3686400,
    "steps": {"min": 4, "max": 12, "default": 8},
    "width": {"min": 480, "max": 3840, "step": 32, "default": 1280}
  },
  "ace-step-turbo": {
    "type": "audio",
    "benchmark": {"sec": 6, "secCN": 0, "secMaxPreviews": 0},
    "bpm": {"min": 30, "max": 300, "default": 120},
    "comfySampler": {"allowed": ["euler", "dpmpp_2m"], "default": "euler"},
    "comfyScheduler": {"allowed": ["simple", "normal"], "default": "simple"},
    "composerMode": {"default": false},
    "duration": {"min": 10, "max": 600, "default": 30},
    "guidance": {"min": 1, "max": 10, "decimals": 1, "default": 1},
    "keyscale": {"allowed": ["C major", "G major", "A minor", "E minor"], "default": "C major"},
    "language": {"allowed": ["en", "es", "fr", "ja", "zh"], "default": "en"},
    "steps": {"min": 1, "max": 20, "default": 8},
    "timesignature": {"allowed": ["2", "3", "4", "6"], "default": "4"}
  }
})json";

}  // namespace

std::span<const ModelInfo> Models() { return kModels; }

const ModelInfo* FindModel(const std::string& id) {
  for (const ModelInfo& m : kModels)
    if (id == m.id) return &m;
  return nullptr;
}

const Value& Tiers() {
  static const Value tiers = [] {
    Result<Value> t = ParseJson(kTiersJson);
    return t.ok() ? std::move(t).value() : Value::Object();
  }();
  return tiers;
}

double TierDefault(const ModelInfo& m, const char* field, double fallback) {
  const Value* tier = Tiers().Find(m.tier);
  const Value* f = tier ? tier->Find(field) : nullptr;
  return Num(f ? f->Find("default") : nullptr, fallback);
}

}  // namespace sflow::hub
