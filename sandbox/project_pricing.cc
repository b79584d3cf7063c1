#include "sandbox/project_pricing.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "sandbox/project_models.h"
#include "sandbox/project_wire.h"
#include "sandbox/world.h"

namespace sflow::hub {

namespace {

constexpr double kUsdPerRenderSec = 0.0004;
constexpr double kSparkUsd = 0.005, kSogniUsd = 0.0025;
constexpr double kImageSecPerStep = 0.25, kSecPerPreview = 0.05, kSecForCN = 0.5;
constexpr double kVideoSecPerFrameStep = 0.02, kAudioSecPerSecondStep = 0.01;

Status BadInput(std::string m) { return Status::Error(Status::Code::kInvalidPlan, std::move(m)); }

double NetworkMultiplier(const std::string& network) { return network == "relaxed" ? 0.5 : 1.0; }

// A path number: digits, a sign, a point. Nothing else (no "1e9", no "Infinity").
bool ParseNumber(const std::string& text, double* out) {
  if (text.empty() || text.size() > 24) return false;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (*end != '\0' || !std::isfinite(v) || text.find_first_of("eExXnN") != std::string::npos) return false;
  *out = v;
  return true;
}

}  // namespace

Quote PriceOf(const QuoteInput& in, int price_percent) {
  Quote q;
  const double count = std::max(1, in.count);
  if (in.kind == "image") {
    q.calculated_steps = in.denoise > 0 && in.denoise < 1
                             ? std::max(1, static_cast<int>(std::ceil(in.steps * in.denoise - 1e-9)))
                             : in.steps;
    double megapixels = double(in.width) * in.height / (1024.0 * 1024.0);
    q.job_seconds = q.calculated_steps * kImageSecPerStep * megapixels + in.previews * kSecPerPreview +
                    (in.control_net ? kSecForCN : 0) + in.context_images * kSecForCN;
  } else if (in.kind == "video") {
    q.calculated_steps = in.steps;
    q.job_seconds = double(in.frames) * in.steps * kVideoSecPerFrameStep * (double(in.width) * in.height) / (1280.0 * 720.0);
  } else {
    q.calculated_steps = in.steps;
    q.job_seconds = in.duration * in.steps * kAudioSecPerSecondStep;
  }
  q.project_seconds = q.job_seconds * count;
  q.usd = q.project_seconds * kUsdPerRenderSec * NetworkMultiplier(in.network) * price_percent / 100.0;
  q.spark = q.usd / kSparkUsd;
  q.sogni = q.usd / kSogniUsd;
  return q;
}

Value EstimationResponse(const QuoteInput& in, const Quote& q) {
  const double count = std::max(1, in.count);
  auto job = [&](double seconds, double usd) {
    Value j = Obj({{"costInRenderSec", Money(seconds)},
                   {"costInUSD", Money(usd)},
                   {"costInToken", Money(in.token_type == "sogni" ? usd / kSogniUsd : usd / kSparkUsd)},
                   {"costInSpark", Money(usd / kSparkUsd)},
                   {"costInSogni", Money(usd / kSogniUsd)}});
    j.Set("calculatedStepCount", Int(q.calculated_steps));
    return j;
  };
  const ModelInfo* model = FindModel(in.model);
  double multiplier = NetworkMultiplier(in.network);
  double per_sec_usd = q.project_seconds > 0 ? q.usd / q.project_seconds : kUsdPerRenderSec * multiplier;
  Value request = Obj({{"model", Str(in.model)},
                       {"name", Str(model ? model->name : in.model)},
                       {"imageCount", Int(static_cast<int64_t>(count))},
                       {"stepCount", Int(in.steps)},
                       {"previewCount", Int(in.previews)},
                       {"cnEnabled", Value::Bool(in.control_net)},
                       {"denoiseStrength", Money(in.denoise)},
                       {"time", Str(IsoNow())}});
  Value rate = Obj({{"costPerBaseHQRenderInUSD", Money(kImageSecPerStep * 20 * kUsdPerRenderSec)},
                    {"tokenMarkePriceUSD", Money(in.token_type == "sogni" ? kSogniUsd : kSparkUsd)},
                    {"costPerRenderSecUSD", Money(per_sec_usd)},
                    {"costPerRenderSecToken", Money(per_sec_usd / (in.token_type == "sogni" ? kSogniUsd : kSparkUsd))},
                    {"network", Str(in.network)},
                    {"networkCostMultiplier", Money(multiplier)}});
  Value quote_model = Obj({{"weight", Money(1)},
                           {"secPerStep", Money(in.kind == "image" ? kImageSecPerStep : in.kind == "video"
                                                                                           ? kVideoSecPerFrameStep
                                                                                           : kAudioSecPerSecondStep)},
                           {"secPerPreview", Money(kSecPerPreview)},
                           {"secForCN", Money(kSecForCN)}});
  Value quote = Obj({{"model", quote_model}, {"job", job(q.job_seconds, q.usd / count)}, {"project", job(q.project_seconds, q.usd)}});
  Value benchmark = Obj({{"estimatedRenderTimeSec", Value::Double(q.job_seconds)},
                         {"medianRenderTimeSec", Value::Double(q.job_seconds)},
                         {"sampleCount", Int(100)},
                         {"confidence", Value::Double(0.9)},
                         {"estimatedWaitTimeSec", Value::Double(0)},
                         {"estimatedTotalTimeSec", Value::Double(q.job_seconds)}});
  return Obj({{"request", request}, {"rate", rate}, {"quote", quote}, {"benchmark", benchmark}});
}

Result<QuoteInput> ParseEstimatePath(const std::vector<std::string>& seg,
                                     const std::map<std::string, std::string>& query) {
  // seg: api, v1|v2|v3, job|job-video|job-audio, estimate, ...
  QuoteInput in;
  in.kind = seg[2] == "job" ? "image" : seg[2] == "job-video" ? "video" : "audio";
  size_t at = 4;
  auto next = [&](const char* what) -> Result<std::string> {
    if (at >= seg.size()) return BadInput(std::string("the estimate path has no ") + what);
    return seg[at++];
  };
  auto number = [&](const char* what, double* out) -> Status {
    Result<std::string> text = next(what);
    if (!text.ok()) return text.status();
    if (!ParseNumber(*text, out)) return BadInput(std::string(what) + " '" + *text + "' is not a number");
    return Status::OK();
  };
  auto whole = [&](const char* what, int lo, int hi, int* out) -> Status {
    double v = 0;
    if (Status s = number(what, &v); !s.ok()) return s;
    if (v != std::floor(v) || v < lo || v > hi)
      return BadInput(std::string(what) + " must be a whole number from " + std::to_string(lo) +
                                     " to " + std::to_string(hi));
    *out = static_cast<int>(v);
    return Status::OK();
  };
  Result<std::string> token = next("tokenType");
  if (!token.ok()) return token.status();
  if (*token != "spark" && *token != "sogni") return BadInput("tokenType must be spark or sogni");
  in.token_type = *token;
  if (in.kind == "image") {
    Result<std::string> network = next("network");
    if (!network.ok()) return network.status();
    in.network = *network;
  } else if (auto it = query.find("network"); it != query.end() && !it->second.empty()) {
    in.network = it->second;
  }
  if (in.network != "fast" && in.network != "relaxed") return BadInput("network must be fast or relaxed");
  Result<std::string> model_id = next("model");
  if (!model_id.ok()) return model_id.status();
  in.model = *model_id;
  const ModelInfo* model = FindModel(in.model);
  if (!model) return Status::NotFound("Model " + in.model + " is not available");
  if (in.kind != model->media)
    return BadInput("Model " + in.model + " makes " + model->media + ", not " + in.kind);
  Status s;
  if (in.kind == "image") {
    double cn = 0, w = 0, h = 0;
    if (!(s = whole("imageCount", 1, 512, &in.count)).ok() || !(s = whole("stepCount", 1, 500, &in.steps)).ok() ||
        !(s = whole("previewCount", 0, 100, &in.previews)).ok() || !(s = number("cnEnabled", &cn)).ok() ||
        !(s = number("denoiseStrength", &in.denoise)).ok() || !(s = number("width", &w)).ok() ||
        !(s = number("height", &h)).ok())
      return s;
    in.control_net = cn != 0;
    if (in.denoise < 0 || in.denoise > 1) return BadInput("denoiseStrength must be from 0 to 1");
    if (w < 0 || h < 0 || w > 8192 || h > 8192) return BadInput("width and height must be from 0 to 8192");
    in.width = static_cast<int>(w);
    in.height = static_cast<int>(h);
    if (in.width == 0 || in.height == 0) in.width = in.height = static_cast<int>(TierDefault(*model, "defaultSize", 1024));
    if (seg[1] == "v3") {
      double guidance = 0;
      if (!(s = number("guidance", &guidance)).ok()) return s;
      if (!next("sampler").ok()) return BadInput("the estimate path has no sampler");
      if (!(s = whole("contextImages", 0, 16, &in.context_images)).ok()) return s;
    }
  } else if (in.kind == "video") {
    if (!(s = whole("width", 16, 8192, &in.width)).ok() || !(s = whole("height", 16, 8192, &in.height)).ok() ||
        !(s = whole("frames", 1, 10000, &in.frames)).ok() || !(s = whole("fps", 1, 240, &in.fps)).ok())
      return s;
    in.steps = static_cast<int>(TierDefault(*model, "steps", 4));
    if (at < seg.size()) {
      int steps = 0;
      if (!(s = whole("steps", 0, 500, &steps)).ok() || !(s = whole("numberOfMedia", 1, 512, &in.count)).ok()) return s;
      if (steps > 0) in.steps = steps;  // 0: "the model's default", as the SDK sends it with numberOfMedia only
    }
  } else {
    double duration = 0;
    if (!(s = number("duration", &duration)).ok()) return s;
    if (duration <= 0 || duration > 3600) return BadInput("duration must be from 0 to 3600 seconds");
    in.duration = duration;
    if (!(s = whole("steps", 1, 500, &in.steps)).ok() || !(s = whole("numberOfMedia", 1, 512, &in.count)).ok()) return s;
  }
  if (at != seg.size()) return BadInput("the estimate path has " + std::to_string(seg.size() - at) + " segments too many");
  return in;
}

const std::vector<SizePreset>& SizePresets() {
  // The list the SDK's README shows for `sogni.projects.getSizePresets('fast', 'flux1-schnell-fp8')`.
  static const std::vector<SizePreset> presets = {
      {"Square", "square", 512, 512, "1:1", "1"},
      {"Square HD", "square_hd", 1024, 1024, "1:1", "1"},
      {"Portrait: Standard", "portrait_7_9", 896, 1152, "7:9", "0.78"},
      {"Portrait: 35mm", "portrait_13_19", 832, 1216, "13:19", "0.68"},
      {"Portrait: Mobile", "portrait_4_7", 768, 1344, "4:7", "0.57"},
      {"Portrait: Extended", "portrait_5_12", 640, 1536, "5:12", "0.42"},
      {"Landscape: Standard", "landscape_9_7", 1152, 896, "9:7", "1.28"},
      {"Landscape: 35mm", "landscape_19_13", 1216, 832, "19:13", "1.46"},
      {"Landscape: Widescreen", "landscape_7_4", 1344, 768, "7:4", "1.75"},
      {"Landscape: Ultrawide", "landscape_12_5", 1536, 640, "12:5", "2.4"},
  };
  return presets;
}

const SizePreset* FindSizePreset(const std::string& id) {
  for (const SizePreset& p : SizePresets())
    if (id == p.id) return &p;
  return nullptr;
}

}  // namespace sflow::hub
