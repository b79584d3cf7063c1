// The model-id predicates and per-family numbers the official SDK's request builder branches on.
//
// Taken from @sogni-ai/sogni-client 5.54.0: dist/Projects/utils/index.js (isVideoModel,
// isWanModel, isLtx2Model, isSeedanceModel, isHappyhorseModel, isWan3Model, isMinimaxH3Model and
// its Turbo/Balanced/AudioGuide/Reference variants, isExternalApiVideoModel, isSegmentationModel,
// isPixal3dModel, calculateVideoFrames, getVideoWorkflowType, getVideoAssetRequirements) and
// dist/lib/validation.js (isComfyModel, isGptImageModel, the custom image size bounds,
// getMaxContextImages). The SDK decides by exact id lists and prefixes, so these do too: a model
// the SDK does not name falls into the SDK's default branch here as well. Pure.
#ifndef SFLOW_API_MODEL_FAMILIES_H_
#define SFLOW_API_MODEL_FAMILIES_H_

#include <map>
#include <string>
#include <string_view>

namespace sflow {

bool IsWanModel(std::string_view id);          // WAN 2.2 (generates at 16 fps)
bool IsWanAnimateModel(std::string_view id);
bool IsLtx2Model(std::string_view id);         // frames snap to 1 + 8n
bool IsSeedanceModel(std::string_view id);
bool IsSeedance25Model(std::string_view id);
bool IsHappyhorseModel(std::string_view id);
bool IsWan3Model(std::string_view id);
bool IsWan3EnhancedModel(std::string_view id);
bool IsMinimaxH3Model(std::string_view id);
bool IsMinimaxH3TurboModel(std::string_view id);
bool IsMinimaxH3BalancedModel(std::string_view id);
bool IsMinimaxH3AudioGuideModel(std::string_view id);
bool IsMinimaxH3ReferenceModel(std::string_view id);  // H3 r2v
bool IsExternalApiVideoModel(std::string_view id);    // Seedance, HappyHorse, Wan 3
bool IsVideoUpscaleModel(std::string_view id);        // FlashVSR
bool IsVideoModel(std::string_view id);
bool IsAudioModel(std::string_view id);
bool IsSegmentationModel(std::string_view id);        // SAM 3, BiRefNet
bool IsPixal3dModel(std::string_view id);
bool IsPixal3dMultiViewModel(std::string_view id);
bool IsComfyModel(std::string_view id);               // comfySampler/comfyScheduler/vae keys
bool IsGptImageModel(std::string_view id);

inline constexpr const char* kSam3ModelId = "sam3_image_segment_bf16";
inline constexpr const char* kBirefnetModelId = "birefnet_image_background_removal_fp16";
inline constexpr const char* kPixal3dModelId = "pixal3d_int8_i23d";
inline constexpr const char* kPixal3dMultiViewModelId = "pixal3d_multiview_int8_i23d";

// MiniMax H3's fixed grid (utils/index.js MINIMAX_H3_*).
inline constexpr int kH3Fps = 24, kH3FrameStep = 17, kH3BaseFrames = 124, kH3MinFrames = 124,
                     kH3MaxFrames = 362, kH3DimensionStep = 32, kH3MaxDimension = 1344;
inline constexpr long kH3MaxPixels = 1032192;
inline constexpr int kH3MaxReferenceImages = 9, kH3MaxReferenceVideos = 3, kH3MaxReferenceAudios = 3,
                     kH3MaxReferenceFiles = 12;

// "t2v", "i2v", "flf2v", "flfa2v", "ia2v", "a2v", "s2v", "v2v", "r2v", "animate-move",
// "animate-replace", "upscale", or "" for a model with no known workflow.
std::string VideoWorkflowType(std::string_view id);

// The asset rules of a video model: "required" | "optional" | "forbidden" for referenceImage,
// referenceImageEnd, referenceAudio, referenceAudioIdentity, referenceVideo, referenceMask
// (in that order); empty when the model has no known workflow.
using AssetRules = std::map<std::string, std::string>;
AssetRules VideoAssetRequirements(std::string_view id);

// calculateVideoFrames(modelId, duration, fps) without the optional bounds.
double CalculateVideoFrames(std::string_view id, double duration, double fps);
// getMaxVideoDuration (createJobRequestMessage.js).
double MaxVideoDuration(std::string_view id);

struct SizeBounds { double min, max; };
SizeBounds CustomImageSizeBounds(std::string_view id);  // validation.js getCustomImageSizeBounds
int MaxContextImages(std::string_view id);                // validation.js getMaxContextImages

// JavaScript's Math.round (halves go up, toward +infinity).
double JsRound(double x);

// Number -> text as JavaScript's String(n) writes it (for messages and paths): "4", "0.35", "1e+21".
std::string JsNumberText(double n);

}  // namespace sflow

#endif  // SFLOW_API_MODEL_FAMILIES_H_
