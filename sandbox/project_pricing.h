// What a direct project costs in the sandbox: one deterministic formula used both by the
// estimate routes (the SDK's estimateCost, estimateVideoCost, estimateAudioCost) and by the bill
// of a project that ran, so a project is charged exactly what the same inputs were quoted.
//
//   job seconds   image: effective steps x 0.25 s x megapixels (w x h / 1024^2)
//                        + previews x 0.05 s + 0.5 s if ControlNet + 0.5 s per context image
//                        (effective steps: ceil(steps x denoise) when denoise > 0, else steps)
//                 video: frames x steps x 0.02 s x (w x h) / (1280 x 720)
//                 audio: duration s x steps x 0.01 s
//   project       job seconds x count
//   USD           project seconds x $0.0004 x network multiplier (fast 1, relaxed 0.5)
//                 x --price-percent / 100
//   tokens        spark = USD / 0.005, sogni = USD / 0.0025
// Guidance, sampler, seed and output format change nothing. See docs/sandbox.md.
#ifndef SFLOW_SANDBOX_PROJECT_PRICING_H_
#define SFLOW_SANDBOX_PROJECT_PRICING_H_

#include <map>
#include <string>
#include <vector>

#include "engine/status.h"
#include "engine/value.h"

namespace sflow::hub {

struct QuoteInput {
  std::string kind;  // image | video | audio
  std::string model;
  std::string network = "fast";
  std::string token_type = "spark";
  int count = 1, steps = 1, previews = 0, context_images = 0;
  bool control_net = false;
  double denoise = 0;  // image: 1 - startingImageStrength; 0 without a starting image
  int width = 0, height = 0;
  int frames = 0, fps = 0;  // video
  double duration = 0;      // audio seconds
};

struct Quote {
  double job_seconds = 0, project_seconds = 0;
  double usd = 0, spark = 0, sogni = 0;
  int calculated_steps = 0;
  // The amount in the project's own token.
  double In(const std::string& token_type) const { return token_type == "sogni" ? sogni : spark; }
};

Quote PriceOf(const QuoteInput& in, int price_percent);

// The SDK's EstimationResponse (dist/Projects/types/EstimationResponse.d.ts) for `in`.
Value EstimationResponse(const QuoteInput& in, const Quote& q);

// An estimate route's path segments (after "api") and query, as the SDK builds them, read into
// a QuoteInput with the model's defaults filled in. kInvalidPlan (a 400) names the first
// problem (a model of another kind, a number that is not one); kNotFound (a 404) an unknown model.
Result<QuoteInput> ParseEstimatePath(const std::vector<std::string>& seg,
                                     const std::map<std::string, std::string>& query);

struct SizePreset {
  const char* label;
  const char* id;
  int width, height;
  const char* ratio;
  const char* aspect;
};
// The image size presets (the same list for every image model); nullptr when `id` is unknown.
const std::vector<SizePreset>& SizePresets();
const SizePreset* FindSizePreset(const std::string& id);

}  // namespace sflow::hub

#endif  // SFLOW_SANDBOX_PROJECT_PRICING_H_
