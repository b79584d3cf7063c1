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
      {"generate_image", {kImage}, "image.standard", 0},
      {"edit_image", {kImage}, "image.standard", 0},
      {"apply_style", {kImage}, "image.standard", 0},
      {"restore_photo", {kImage}, "image.standard", 0},
      {"upscale_image", {kImage}, "image.standard", 0},
      {"refine_result", {kImage}, "image.standard", 0},
      {"change_angle", {kImage}, "image.standard", 0},
      {"remove_background", {kImage}, "", 0},  // no class in the sources
      {"segment_image", {kImage}, "", 0},      // no class in the sources
      {"image_to_3d", {}, "", 0},              // a 3D model: no image, video or audio artifact
      {"generate_video", {kVideo, kImage}, "video.vendor.standard", 5},
      {"extend_video", {kVideo, kImage}, "video.vendor.standard", 5},
      {"replace_video_segment", {kVideo}, "video.vendor.standard", 5},
      {"animate_photo", {kVideo, kImage}, "video.premium", 5},
      {"sound_to_video", {kVideo, kImage}, "video.premium", 5},
      {"video_to_video", {kVideo, kImage}, "video.premium", 5},  // default length INFERRED
      {"orbit_video", {kVideo}, "video.premium", 5},             // length INFERRED
      {"dance_montage", {kVideo}, "video.premium", 30},          // the dance's length, capped at 30
      {"upscale_video", {kVideo}, "", 0},                        // no class in the sources
      {"generate_music", {kAudio}, "audio.standard", 30},
      {"generate_speech", {kAudio}, "", 0},  // no class in the sources
      // Composition with ffmpeg.
      {"stitch_video", {kVideo}, "compose.ffmpeg", 0},
      {"overlay_video", {kVideo}, "compose.ffmpeg", 0},
      {"add_subtitles", {kVideo}, "compose.ffmpeg", 0},
      // Synchronous composition tools (not workflow steps).
      {"enhance_prompt", {}, "compose.standard", 0},
      {"compose_lyrics", {}, "compose.standard", 0},
      {"compose_instrumental", {}, "compose.standard", 0},
      {"compose_script", {}, "compose.standard", 0},
      {"compose_workflow", {}, "compose.standard", 0},
      {"compose_workflow_template", {}, "compose.standard", 0},
      // App tools: analysis and asset bookkeeping, free, no media artifacts.
      {"analyze_image", {}, "free", 0},
      {"analyze_video", {}, "free", 0},
      {"extract_metadata", {}, "free", 0},
      {"ask_clarifying_question", {}, "free", 0},
      {"finalize_response", {}, "free", 0},
      {"create_asset_manifest", {}, "free", 0},
      {"inspect_asset", {}, "free", 0},
      {"label_asset", {}, "free", 0},
      {"map_assets_for_model", {}, "free", 0},
      {"validate_asset_references", {}, "free", 0},
  };
  return kTraits;
}

const ToolTraits* FindToolTraits(std::string_view name) {
  for (const ToolTraits& t : AllToolTraits())
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace sflow
