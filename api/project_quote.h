// The price of a project before it is paid for: which estimate route the official SDK asks for
// a ProjectParams object, and what its answer means.
//
// The SDK's estimateCost (image), estimateVideoCost and estimateAudioCost (dist/Projects/index.js,
// @sogni-ai/sogni-client 5.54.0) take their own argument objects, not ProjectParams; this maps
// ProjectParams onto those arguments the way the jobRequest builder reads the same params (the
// same frame count, strength and sizes), then writes the path exactly as the SDK does. A
// `sizePreset` is priced at the preset's size, which the SDK first reads from the size-presets
// route: SizePresetPathFor, then ApplySizePreset on its answer, then EstimatePathFor. Pure.
#ifndef SFLOW_API_PROJECT_QUOTE_H_
#define SFLOW_API_PROJECT_QUOTE_H_

#include <string>

#include "api/job_request.h"
#include "engine/status.h"
#include "engine/value.h"

namespace sflow {

// The estimate route and query for `params` (a ProjectParams object BuildJobRequest accepts).
// token_type: used when params has no tokenType ("spark" when both are empty). network: used
// when params has no network (images: "fast" when both are empty; video and audio leave it out,
// as the SDK does when it knows no network). `model` supplies the tier's defaults for figures the
// params leave out (steps, video size, frames); without one, such params are an error naming them.
// A params object that still names a sizePreset is an error: apply the preset first.
Result<std::string> EstimatePathFor(const Value& params, const std::string& token_type, const std::string& network,
                                    const ModelTraits* model = nullptr);

// "/api/v1/size-presets/network/NETWORK/model/MODEL" (network "fast" when empty), or an error
// when params has no sizePreset.
Result<std::string> SizePresetPathFor(const Value& params, const std::string& network);
// params with the preset's width and height and without sizePreset: what EstimatePathFor prices.
// `presets` is the size-presets answer (a list of {id, width, height, ...}). Errors: "Invalid size
// preset" (the SDK's words) when the list has no such id, and a malformed answer.
Result<Value> ApplySizePreset(const Value& params, const Value& presets);

// An EstimationResponse (dist/Projects/types/EstimationResponse.d.ts): quote.project.costInToken
// and costInUSD, decimal strings (numbers accepted too). Errors (kInternal): an answer without
// them, or with a figure that is not a finite number >= 0.
struct ProjectQuote {
  double tokens = 0;
  double usd = 0;
  std::string token_type;
  Value raw;
};
Result<ProjectQuote> ParseEstimate(const Value& answer, const std::string& token_type);

}  // namespace sflow

#endif  // SFLOW_API_PROJECT_QUOTE_H_
