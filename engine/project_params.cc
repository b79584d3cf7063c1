#include "engine/project_params.h"

namespace sflow {

namespace {
using K = ProjectParamKind;

const std::vector<ProjectParam> kBase = {
    {"type", K::kString},           {"modelId", K::kString},        {"numberOfMedia", K::kNumber},
    {"positivePrompt", K::kString}, {"negativePrompt", K::kString}, {"stylePrompt", K::kString},
    {"steps", K::kNumber},          {"guidance", K::kNumber},       {"network", K::kString},
    {"disableNSFWFilter", K::kBoolean}, {"seed", K::kNumber},       {"tokenType", K::kString},
    {"billingMode", K::kString},    {"appSource", K::kString},      {"loras", K::kArray},
    {"loraStrengths", K::kArray},
};

const std::vector<ProjectParam> kImage = {
    {"numberOfPreviews", K::kNumber}, {"startingImage", K::kMedia}, {"sam3Prompt", K::kObject},
    {"applyMask", K::kBoolean}, {"startingImageStrength", K::kNumber}, {"contextImages", K::kMediaList},
    {"sampler", K::kString}, {"scheduler", K::kString}, {"vae", K::kString}, {"sizePreset", K::kString},
    {"width", K::kNumber}, {"height", K::kNumber}, {"controlNet", K::kObject}, {"outputFormat", K::kString},
    {"gptImageQuality", K::kString}, {"gptImageBackground", K::kString},
    {"gptImageOutputCompression", K::kNumber}, {"gptImageMaskUrl", K::kString}, {"gptImageMask", K::kMedia},
};

const std::vector<ProjectParam> kVideo = {
    {"upscaleResolution", K::kAny}, {"detailPreference", K::kString}, {"processingSpeed", K::kString},
    {"frames", K::kNumber}, {"duration", K::kNumber}, {"smartDuration", K::kBoolean}, {"fps", K::kNumber},
    {"seedanceTaskType", K::kString}, {"wan3TaskType", K::kString}, {"ratio", K::kString},
    {"shift", K::kNumber}, {"teacacheThreshold", K::kNumber}, {"referenceImage", K::kMedia},
    {"referenceImageUrls", K::kArray}, {"contextImages", K::kMediaList}, {"referenceImageEnd", K::kMedia},
    {"referenceAudio", K::kMedia}, {"referenceAudios", K::kMediaList}, {"referenceAudioUrls", K::kArray},
    {"referenceFileUrl", K::kString}, {"referenceLinkUrl", K::kString}, {"promptExtend", K::kBoolean},
    {"watermark", K::kBoolean}, {"generateAudio", K::kBoolean}, {"referenceAudioIdentity", K::kMedia},
    {"audioIdentityStrength", K::kNumber}, {"audioStart", K::kNumber}, {"audioDuration", K::kNumber},
    {"referenceVideo", K::kMedia}, {"referenceVideos", K::kMediaList}, {"referenceVideoDurations", K::kArray},
    {"referenceMask", K::kMedia}, {"referenceVideoUrls", K::kArray}, {"controlNet", K::kObject},
    {"detailerStrength", K::kNumber}, {"videoStart", K::kNumber}, {"trimEndFrame", K::kBoolean},
    {"width", K::kNumber}, {"height", K::kNumber}, {"sampler", K::kString}, {"scheduler", K::kString},
    {"firstFrameStrength", K::kNumber}, {"lastFrameStrength", K::kNumber}, {"outputFormat", K::kString},
    {"returnLastFrame", K::kBoolean}, {"sam2Coordinates", K::kAny}, {"outpaintPosition", K::kString},
};

const std::vector<ProjectParam> kAudio = {
    {"duration", K::kNumber}, {"bpm", K::kNumber}, {"timesignature", K::kAny}, {"language", K::kString},
    {"lyrics", K::kString}, {"keyscale", K::kString}, {"composerMode", K::kAny},
    {"promptStrength", K::kNumber}, {"creativity", K::kNumber}, {"shift", K::kNumber},
    {"sampler", K::kString}, {"scheduler", K::kString}, {"outputFormat", K::kString},
    {"speaker", K::kString}, {"instruct", K::kString}, {"referenceText", K::kString},
    {"referenceAudio", K::kMedia},
};

}  // namespace

std::vector<ProjectParam> ProjectParamsFor(std::string_view type) {
  const std::vector<ProjectParam>* extra = type == "image"   ? &kImage
                                           : type == "video" ? &kVideo
                                           : type == "audio" ? &kAudio
                                                             : nullptr;
  if (!extra) return {};
  std::vector<ProjectParam> out = kBase;
  out.insert(out.end(), extra->begin(), extra->end());
  return out;
}

}  // namespace sflow
