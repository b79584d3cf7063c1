#include "schemas/tool_traits.h"

namespace sflow {

namespace {
constexpr MediaKind kImage = MediaKind::kImage;
constexpr MediaKind kVideo = MediaKind::kVideo;
constexpr MediaKind kAudio = MediaKind::kAudio;
}  // namespace

const std::vector<ToolTraits>& AllToolTraits() {
  // Video tools also list kImage: with returnLastFrame they add the last frame as an image
  // artifact (generate_video's schema, "returnLastFrame"). Validation only accepts an image
  // transform from them when that argument is true.
  static const std::vector<ToolTraits> kTraits = {
      // Generation and edit.
      {"generate_image", {kImage}, "image.standard", 0, {{"sourceImageIndex", kImage}}},
      {"edit_image", {kImage}, "image.standard", 0, {{"sourceImageIndex", kImage}, {"mask_image_url", kImage}}},
      {"apply_style", {kImage}, "image.standard", 0, {{"sourceImageIndex", kImage}}},
      {"restore_photo", {kImage}, "image.standard", 0},
      {"upscale_image", {kImage}, "image.standard", 0, {{"sourceImageIndex", kImage}}},
      {"refine_result", {kImage}, "image.standard", 0, {{"sourceImageIndex", kImage}}},
      {"change_angle", {kImage}, "image.standard", 0, {{"sourceImageIndex", kImage}}},
      {"remove_background", {kImage}, "", 0,  // no class in the sources
       {{"sourceImageIndex", kImage}, {"source_image_url", kImage}}},
      {"segment_image", {kImage}, "", 0,  // no class in the sources
       {{"sourceImageIndex", kImage}, {"source_image_url", kImage}}},
      {"image_to_3d", {}, "", 0,  // a 3D model: no image, video or audio artifact
       {{"sourceImageIndex", kImage}, {"source_image_url", kImage}, {"leftViewImageIndex", kImage},
        {"backViewImageIndex", kImage}, {"rightViewImageIndex", kImage}, {"left_view_image_url", kImage},
        {"back_view_image_url", kImage}, {"right_view_image_url", kImage}}},
      {"generate_video", {kVideo, kImage}, "video.vendor.standard", 5,
       {{"referenceImageIndices", kImage}, {"referenceVideoIndices", kVideo}, {"referenceAudioIndices", kAudio}}},
      {"extend_video", {kVideo, kImage}, "video.vendor.standard", 5, {{"videoIndex", kVideo}}},
      {"replace_video_segment", {kVideo}, "video.vendor.standard", 5,
       {{"videoIndex", kVideo}, {"replacementVideoIndex", kVideo}}},
      {"animate_photo", {kVideo, kImage}, "video.premium", 5,
       {{"sourceImageIndex", kImage}, {"sourceImageIndices", kImage}, {"endImageIndex", kImage},
        {"endImageIndices", kImage}}},
      {"sound_to_video", {kVideo, kImage}, "video.premium", 5,
       {{"audioSourceIndex", kAudio}, {"sourceImageIndex", kImage}, {"endImageIndex", kImage}}},
      {"video_to_video", {kVideo, kImage}, "video.premium", 5,  // default length INFERRED
       {{"videoSourceIndex", kVideo}, {"sourceImageIndex", kImage}, {"maskImageIndex", kImage}}},
      {"orbit_video", {kVideo}, "video.premium", 5, {{"sourceImageIndex", kImage}}},  // length INFERRED
      {"dance_montage", {kVideo}, "video.premium", 30, {{"sourceImageIndex", kImage}}},  // the dance's length, capped at 30
      {"upscale_video", {kVideo}, "", 0, {{"sourceVideoIndex", kVideo}}},  // no class in the sources
      {"generate_music", {kAudio}, "audio.standard", 30},
      {"generate_speech", {kAudio}, "", 0,  // no class in the sources
       {{"voiceSourceIndex", kAudio}, {"voice_source_url", kAudio}}},
      // Composition with ffmpeg.
      {"stitch_video", {kVideo}, "compose.ffmpeg", 0, {{"videoIndices", kVideo}, {"audioIndex", kAudio}}},
      {"overlay_video", {kVideo}, "compose.ffmpeg", 0, {{"sourceVideoIndex", kVideo}}},
      {"add_subtitles", {kVideo}, "compose.ffmpeg", 0, {{"sourceVideoIndex", kVideo}}},
      // Synchronous composition tools (not workflow steps).
      {"enhance_prompt", {}, "compose.standard", 0},
      {"compose_lyrics", {}, "compose.standard", 0},
      {"compose_instrumental", {}, "compose.standard", 0},
      {"compose_script", {}, "compose.standard", 0},
      {"compose_workflow", {}, "compose.standard", 0},
      {"compose_workflow_template", {}, "compose.standard", 0},
      // App tools: analysis and asset bookkeeping, free, no media artifacts.
      {"analyze_image", {}, "free", 0, {{"sourceImageIndex", kImage}, {"compareImageIndex", kImage}}},
      {"analyze_video", {}, "free", 0, {{"sourceVideoIndex", kVideo}}},
      {"extract_metadata", {}, "free", 0,
       {{"sourceImageIndex", kImage}, {"sourceVideoIndex", kVideo}, {"audioSourceIndex", kAudio},
        {"fileIndex", MediaKind::kUnknown}}},
      {"ask_clarifying_question", {}, "free", 0},
      {"finalize_response", {}, "free", 0},
      {"create_asset_manifest", {}, "free", 0},
      {"inspect_asset", {}, "free", 0},
      {"label_asset", {}, "free", 0, {{"url", MediaKind::kUnknown}}},
      {"map_assets_for_model", {}, "free", 0},
      {"validate_asset_references", {}, "free", 0},
  };
  return kTraits;
}

const std::vector<std::string_view>& NonMediaArguments() {
  // Arguments whose names look like media inputs but are not artifacts: generate_video's and
  // sound_to_video's context documents and web pages (their descriptions: "One public HTTPS
  // document URL", "One public HTTPS webpage URL").
  static const std::vector<std::string_view> kNames = {"referenceFileUrl", "referenceLinkUrl"};
  return kNames;
}

const ToolTraits* FindToolTraits(std::string_view name) {
  for (const ToolTraits& t : AllToolTraits())
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace sflow
