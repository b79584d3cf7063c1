// The model routing of the official SDK's direct tool execution (@sogni-ai/sogni-client 5.54.0
// dist/Chat/modelRouting.js): the selector tables that turn a hosted tool's `model` or
// `videoModel` into a model id, the workflows each video model serves, the preferred model of
// each workflow, and getVideoDefaults. Used by api/tool_projects.cc only. Pure.
#ifndef SFLOW_API_TOOL_PROJECTS_MODELS_H_
#define SFLOW_API_TOOL_PROJECTS_MODELS_H_

#include <string>
#include <string_view>
#include <vector>

namespace sflow::tool_models {

// PREFERRED_MODEL_IDS entries the six tools route to.
inline constexpr const char* kT2v = "ltx23-22b-fp8_t2v_distilled";
inline constexpr const char* kI2v = "ltx23-22b-fp8_i2v_distilled";
inline constexpr const char* kA2v = "ltx23-22b-fp8_a2v_distilled";
inline constexpr const char* kIa2v = "ltx23-22b-fp8_ia2v_distilled";
inline constexpr const char* kS2v = "wan_v2.2-14b-fp8_s2v_lightx2v";
inline constexpr const char* kV2v = "ltx23-22b-fp8_v2v_distilled";
inline constexpr const char* kSeedanceV2v = "seedance-2-0";
inline constexpr const char* kHappyhorseR2v = "happyhorse-1.1-r2v";
inline constexpr const char* kMinimaxH3Flf2v = "minimax-h3-fl2va-fp8_flf2v";
inline constexpr const char* kMinimaxH3FastH3TurboFlfa2v = "minimax-h3-fastvideo-int8_flfa2v_turbo";
inline constexpr const char* kAnimateMove = "wan_v2.2-14b-fp8_animate-move_lightx2v";
inline constexpr const char* kAnimateReplace = "wan_v2.2-14b-fp8_animate-replace_lightx2v";
inline constexpr const char* kMinimaxH3TurboR2v = "minimax-h3-ref2va-fp8_r2v_turbo";

// sogni-flow's defaults where the SDK picks by the network's live worker counts
// (docs/plan-language.md section 11).
inline constexpr const char* kDefaultImageModel = "z_image_turbo_bf16";
inline constexpr const char* kDefaultEditModel = "qwen_image_edit_2511_fp8_lightning";
inline constexpr const char* kDefaultMusicModel = "ace_step_1.5_xl_turbo";  // first preferred audio model

// resolveHostedToolModelSelector: the model id a selector names for the tool ("" when the
// selector is empty). An unknown selector passes through unchanged, as in the SDK;
// video_to_video answers "" for a model that does not serve v2v. `reference_images` picks the
// image-to-video table for generate_video.
std::string ResolveSelector(std::string_view tool, const std::string& selector, bool reference_images);

// getCompatibleVideoWorkflows.
std::vector<std::string> CompatibleVideoWorkflows(std::string_view model);
bool ServesAny(std::string_view model, const std::vector<std::string>& workflows);

struct VideoDefaults {
  int width, height, fps;
};
VideoDefaults VideoDefaultsFor(std::string_view model);  // getVideoDefaults

bool IsEditImageModel(std::string_view model);  // isEditImageModel

// getMinimaxH3FramesForAudioDuration (seconds > 0).
int MinimaxH3FramesForAudioDuration(double seconds);

// The generate_music `model` enum: "turbo", "sft", "music3" -> a model id; "" when unknown.
std::string MusicModelFor(const std::string& selector);

}  // namespace sflow::tool_models

#endif  // SFLOW_API_TOOL_PROJECTS_MODELS_H_
