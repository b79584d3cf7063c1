// The projects hub's model catalog: the models its workers "run" (ids as the SDK and its docs use
// them), the tiers that give each its defaults and ranges (GET /api/v2/models/tiers), and the
// size presets of the image models (GET /api/v1/size-presets/network/{n}/model/{m}).
#ifndef SFLOW_SANDBOX_PROJECT_MODELS_H_
#define SFLOW_SANDBOX_PROJECT_MODELS_H_

#include <span>
#include <string>

#include "engine/value.h"

namespace sflow::hub {

struct ModelInfo {
  const char* id;
  const char* name;
  int sid;
  const char* tier;
  const char* media;  // image | video | audio
  int workers;
};

std::span<const ModelInfo> Models();
const ModelInfo* FindModel(const std::string& id);

// The tiers document (src/Projects/types/ModelTiersRaw.ts's shape), parsed once.
const Value& Tiers();
// `field`.default of the model's tier, or fallback.
double TierDefault(const ModelInfo& m, const char* field, double fallback);

}  // namespace sflow::hub

#endif  // SFLOW_SANDBOX_PROJECT_MODELS_H_
