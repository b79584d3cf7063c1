#include "api/tool_projects.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "api/model_families.h"
#include "api/tool_projects_models.h"
#include "api/tool_projects_mapper.h"

namespace sflow {

namespace tm = tool_models;

const std::vector<std::string>& DirectProjectTools() {
  // ChatTools.js DIRECT_PROJECT_DISPATCH_TOOL_NAMES.
  static const std::vector<std::string> kTools = {"generate_image", "edit_image",     "generate_video",
                                                  "sound_to_video", "video_to_video", "generate_music"};
  return kTools;
}

bool HasDirectProject(std::string_view tool) {
  for (const std::string& t : DirectProjectTools())
    if (t == tool) return true;
  return false;
}

std::string DirectProjectToolList() {
  std::string out;
  for (const std::string& t : DirectProjectTools()) out += (out.empty() ? "" : ", ") + t;
  return out;
}

namespace {

using tool_projects_internal::Mapper;
using tool_projects_internal::Source;

// applyHostedImageOptions, and the image arguments both image tools share.
void ImageOptions(Mapper& m) {
  if (std::string q = m.Text("gptImageQuality"); !q.empty()) m.Set("gptImageQuality", Value::String(m.Lower(q)));
  m.UrlInput("mask_image_url", "gptImageMaskUrl", MediaKind::kImage);
  if (std::string b = m.Text("gptImageBackground"); !b.empty()) m.Set("gptImageBackground", Value::String(m.Lower(b)));
  m.Copy("gptImageOutputCompression", "gptImageOutputCompression");
  if (std::string f = m.Lower(m.Text("outputFormat")); !f.empty()) {
    if (f == "jpeg") f = "jpg";
    if (f == "png" || f == "jpg" || f == "webp") m.Set("outputFormat", Value::String(f));
  }
  // width and height only together. The SDK also sets sizePreset 'custom', which the jobRequest
  // builder sets itself for a width and height without a preset (the same request), and which
  // its estimate routes would take for a preset to look up: it is left out.
  const bool w = m.Truthy("width"), h = m.Truthy("height");
  if (w && h) {
    m.Copy("width", "width");
    m.Copy("height", "height");
  } else if (w || h) {
    m.Fail(w ? "width" : "height", std::string("a custom size needs both width and height"),
           "give both, or neither for the model's default size");
  }
  m.Copy("loras", "loras");
  m.Copy("loraStrengths", "loraStrengths");
  m.Refuse("aspectRatio", "give width and height instead");
}

void GenerateImage(Mapper& m) {
  std::string model = tm::ResolveSelector("generate_image", m.Text("model"), false);
  m.Head("image", model.empty() ? tm::kDefaultImageModel : model);
  if (m.Truthy("negativePrompt")) m.Copy("negativePrompt", "negativePrompt");
  m.Copy("seed", "seed");
  m.Copy("guidance", "guidance");
  ImageOptions(m);
  // img2img, as the hosted tool does it: sourceImageIndex counts only with a strength.
  std::vector<Source> start = m.Sources("sourceImageIndex", MediaKind::kImage, false);
  const bool strength = m.Arg("starting_image_strength") != nullptr;
  if (!start.empty() && strength) {
    m.Input("sourceImageIndex", "startingImage", MediaKind::kImage, start[0], false);
    m.Copy("starting_image_strength", "startingImageStrength");
  } else if (!start.empty()) {
    m.Fail("sourceImageIndex", "sourceImageIndex is used only with starting_image_strength",
           "add starting_image_strength (0.75 keeps the source close), or use edit_image");
  } else if (strength) {
    m.Fail("starting_image_strength", "starting_image_strength needs a source image",
           "fill sourceImageIndex with a dependsOn entry (transform: image_index), or write -1 for the first image in media:");
  }
}

void EditImage(Mapper& m) {
  std::string model = tm::ResolveSelector("edit_image", m.Text("model"), false);
  if (!model.empty() && !tm::IsEditImageModel(model))
    m.Fail("model", "model '" + model + "' is not an image edit model", "use a model edit_image's schema lists");
  if (model.empty()) model = tm::kDefaultEditModel;
  std::vector<Source> images = m.Sources("sourceImageIndex", MediaKind::kImage, false);
  if (images.empty() && !m.failed())  // not when its index was refused
    m.Fail("", "edit_image needs the image to edit",
           "fill sourceImageIndex with a dependsOn entry (transform: image_index), or write -1 for the first image in media:");
  if (static_cast<int>(images.size()) > MaxContextImages(model))
    m.Fail("sourceImageIndex", model + " accepts at most " + std::to_string(MaxContextImages(model)) + " reference images");
  m.Head("image", model);
  for (const Source& s : images) m.Input("sourceImageIndex", "contextImages", MediaKind::kImage, s, true);
  m.Copy("seed", "seed");
  ImageOptions(m);
  m.Refuse("personaName", "personas live in the hosted app; feed the person's image through sourceImageIndex");
}

// negativePrompt of a video tool: MiniMax H3 and the external-API models take none.
void VideoNegativePrompt(Mapper& m, const std::string& model) {
  if (!m.Truthy("negativePrompt")) return;
  if (IsMinimaxH3Model(model) || IsExternalApiVideoModel(model))
    m.Fail("negativePrompt", model + " has no negative-prompt input", "put exclusions in prompt");
  else
    m.Copy("negativePrompt", "negativePrompt");
}

// The video arguments that pass as they are, and the ones no project can honour.
void VideoCommon(Mapper& m) {
  m.Copy("seed", "seed");
  m.Copy("ratio", "ratio");
  m.Copy("watermark", "watermark");
  m.Copy("referenceFileUrl", "referenceFileUrl");
  m.Copy("referenceLinkUrl", "referenceLinkUrl");
  m.Copy("loras", "loras");
  m.Copy("loraStrengths", "loraStrengths");
  if (const Value* g = m.Arg("generateAudio"); g && g->is_bool()) m.Set("generateAudio", *g);
  m.Refuse("targetResolution", "give width and height in a project: step, or run the plan on the server");
  m.RefuseIf("expandPrompt", Value::Bool(true), "prompt expansion is the hosted tool's; write the full prompt");
  m.RefuseIf("skipPromptProcessing", Value::Bool(false), "prompt processing is the hosted tool's; write the full prompt");
}

// Where the images, videos or audio of an external-API model go: step results as URLs, at most
// one media entry as bytes.
void ExternalInputs(Mapper& m, const char* arg, const std::vector<Source>& sources, MediaKind kind, const char* bytes_param,
                    const char* urls_param) {
  int uploads = 0;
  for (const Source& s : sources) {
    if (s.from_step) {
      m.Input(arg, urls_param, kind, s, true, true);
    } else if (uploads++ == 0) {
      m.Input(arg, bytes_param, kind, s, false);
    } else {
      m.Fail(arg, std::string("direct external-API video execution supports at most one uploaded ") + MediaKindName(kind),
             "feed the others from steps (their results go by URL)");
    }
  }
}

void GenerateVideo(Mapper& m) {
  std::vector<Source> images = m.Sources("referenceImageIndices", MediaKind::kImage, false);
  std::vector<Source> videos = m.Sources("referenceVideoIndices", MediaKind::kVideo, false);
  std::vector<Source> audio = m.Sources("referenceAudioIndices", MediaKind::kAudio, false);
  const bool refs = !images.empty();
  const std::string selector = m.Text("videoModel");
  const std::string lower = m.Lower(selector);
  if (refs && (lower == "minimax-h3-t2v" || lower == "minimax-h3-t2v-turbo"))
    m.Fail("videoModel", lower + " does not accept reference images",
           "use the matching MiniMax H3 i2v or flf2v project workflow");
  if (selector == "minimax-h3-r2v")
    return m.Fail("videoModel", "videoModel 'minimax-h3-r2v' is not supported by direct SDK tool execution",
                  "write a project: step (modelId minimax-h3-ref2va-fp8_r2v, referenceImage, contextImages)");
  const std::string requested = tm::ResolveSelector("generate_video", selector, refs);
  const std::string wf = requested.empty() ? "" : VideoWorkflowType(requested);
  std::vector<std::string> workflows = wf == "flf2v" || wf == "r2v" ? std::vector<std::string>{wf}
                                       : refs                       ? std::vector<std::string>{"i2v"}
                                                                    : std::vector<std::string>{"t2v"};
  const char* preferred = wf == "flf2v" ? tm::kMinimaxH3Flf2v : wf == "r2v" ? tm::kHappyhorseR2v : refs ? tm::kI2v : tm::kT2v;
  const std::string model = m.SelectVideoModel(requested, workflows, preferred);
  const tm::VideoDefaults d = tm::VideoDefaultsFor(model);
  const bool external = IsExternalApiVideoModel(model);
  m.ExportOptions();
  m.Head("video", model);
  m.Set("width", m.Truthy("width") ? *m.Arg("width") : Value::Int(d.width));
  m.Set("height", m.Truthy("height") ? *m.Arg("height") : Value::Int(d.height));
  m.Set("fps", Value::Int(d.fps));
  VideoNegativePrompt(m, model);
  if (const Value* dur = m.Arg("duration"); dur && dur->is_number()) {
    if (IsMinimaxH3Model(model))
      m.Set("frames", Value::Double(CalculateVideoFrames(model, dur->as_number(), 24)));
    else
      m.Set("duration", *dur);
  }
  if (external) {
    ExternalInputs(m, "referenceImageIndices", images, MediaKind::kImage, "referenceImage", "referenceImageUrls");
  } else {
    const size_t most = wf == "flf2v" ? 2 : 1;
    if (images.size() > most)
      m.Fail("referenceImageIndices", (wf.empty() ? std::string("video") : wf) + " accepts at most " + std::to_string(most) +
                                          " image input(s)");
    if (!images.empty()) m.Input("referenceImageIndices", "referenceImage", MediaKind::kImage, images[0], false);
    if (images.size() > 1) m.Input("referenceImageIndices", "referenceImageEnd", MediaKind::kImage, images[1], false);
  }
  if ((!videos.empty() || !audio.empty()) && !external)
    m.Fail(videos.empty() ? "referenceAudioIndices" : "referenceVideoIndices",
           "loose referenceVideoIndices/referenceAudioIndices require an external video model",
           "pick a Seedance, HappyHorse or Wan 3 videoModel");
  else if (external) {
    ExternalInputs(m, "referenceVideoIndices", videos, MediaKind::kVideo, "referenceVideo", "referenceVideoUrls");
    ExternalInputs(m, "referenceAudioIndices", audio, MediaKind::kAudio, "referenceAudio", "referenceAudioUrls");
  }
  VideoCommon(m);
  m.Refuse("aspectRatio", "give width and height instead");
  m.Refuse("voicePersonaName", "personas live in the hosted app; feed a voice with referenceAudioIndices");
}

void SoundToVideo(Mapper& m) {
  std::vector<Source> audio = m.Sources("audioSourceIndex", MediaKind::kAudio, true);
  std::vector<Source> start = m.Sources("sourceImageIndex", MediaKind::kImage, true);
  std::vector<Source> end = m.Sources("endImageIndex", MediaKind::kImage, false);
  if (audio.empty())  // said once: not again when its index was refused
    return m.failed() ? void() : m.Fail("", "sound_to_video needs the audio",
                  "fill audioSourceIndex with a dependsOn entry (transform: audio_index), or name an audio media entry (-1 or 0 is the first)");
  if (!end.empty() && start.empty())
    return m.Fail("endImageIndex", "endImageIndex needs sourceImageIndex as the first frame");
  const std::vector<std::string> workflows = !end.empty() ? std::vector<std::string>{"flfa2v"}
                                             : !start.empty() ? std::vector<std::string>{"ia2v", "s2v"}
                                                              : std::vector<std::string>{"a2v"};
  const char* preferred = !end.empty() ? tm::kMinimaxH3FastH3TurboFlfa2v : !start.empty() ? tm::kIa2v : tm::kA2v;
  const std::string requested = tm::ResolveSelector("sound_to_video", m.Text("videoModel"), false);
  if (!requested.empty() && IsMinimaxH3AudioGuideModel(requested)) {
    const std::string wf = VideoWorkflowType(requested);
    if (std::find(workflows.begin(), workflows.end(), wf) == workflows.end()) {
      const std::string needs = wf == "flfa2v" ? "sourceImageIndex and endImageIndex"
                                : wf == "ia2v" ? "sourceImageIndex and no endImageIndex"
                                               : "no images";
      return m.Fail("videoModel", requested + " (MiniMax H3 " + wf + ") needs " + needs);
    }
  }
  const std::string model = m.SelectVideoModel(requested, workflows, preferred);
  const tm::VideoDefaults d = tm::VideoDefaultsFor(model);
  const Value* dur = m.Arg("duration");
  const double duration = dur && dur->is_number() ? dur->as_number() : 5;
  const Value duration_value = dur && dur->is_number() ? *dur : Value::Int(5);
  m.ExportOptions();
  m.Head("video", model);
  m.Input("audioSourceIndex", "referenceAudio", MediaKind::kAudio, audio[0], false);
  if (IsMinimaxH3AudioGuideModel(model)) {
    if (const Value* g = m.Arg("generateAudio"); g && g->is_bool() && !g->as_bool())
      m.Fail("generateAudio", model + " output always carries the uploaded audio; generateAudio: false is not supported");
    m.Set("width", Value::Int(d.width));
    m.Set("height", Value::Int(d.height));
    m.Set("fps", Value::Int(24));
    m.Set("frames", Value::Int(tm::MinimaxH3FramesForAudioDuration(duration)));
  } else {
    m.Set("width", Value::Int(d.width));
    m.Set("height", Value::Int(d.height));
    m.Set("fps", Value::Int(d.fps));
    m.Set("duration", duration_value);
    m.Set("audioDuration", duration_value);
  }
  m.Copy("audioStart", "audioStart");
  if (!start.empty()) m.Input("sourceImageIndex", "referenceImage", MediaKind::kImage, start[0], false);
  if (!end.empty()) m.Input("endImageIndex", "referenceImageEnd", MediaKind::kImage, end[0], false);
  VideoNegativePrompt(m, model);
  VideoCommon(m);
  m.Refuse("aspectRatio", "the video takes the model's default size; write a project: step for another");
}

void VideoToVideo(Mapper& m) {
  std::vector<Source> video = m.Sources("videoSourceIndex", MediaKind::kVideo, true);
  if (video.empty())  // said once: not again when its index was refused
    return m.failed() ? void() : m.Fail("", "video_to_video needs the source video",
                  "fill videoSourceIndex with a dependsOn entry (transform: video_index), or name a video media entry (-1 or 0 is the first)");
  std::string mode = m.Text("controlMode");
  static const char* const kModes[] = {"animate-replace", "seedance-v2v", "canny", "pose", "depth", "detailer", "outpaint", "inpaint"};
  if (std::find(std::begin(kModes), std::end(kModes), mode) == std::end(kModes)) mode = "animate-move";
  const bool animate = mode == "animate-move" || mode == "animate-replace";
  const std::vector<std::string> workflows = {animate ? mode : "v2v"};
  const char* preferred = mode == "animate-move"      ? tm::kAnimateMove
                          : mode == "animate-replace" ? tm::kAnimateReplace
                          : mode == "seedance-v2v"    ? tm::kSeedanceV2v
                                                      : tm::kV2v;
  const std::string selector = m.Text("videoModel");
  std::string requested;
  if (selector == "wan22-animate") {
    // Not a selector of the SDK's table: it runs the WAN Animate model of the controlMode.
    if (!animate) return m.Fail("videoModel", "wan22-animate does controlMode animate-move and animate-replace only");
    requested = preferred;
  } else if (!selector.empty()) {
    requested = tm::ResolveSelector("video_to_video", selector, false);
    if (requested.empty())
      return m.Fail("videoModel", "videoModel '" + selector + "' has no direct project for video_to_video",
                    "the direct project takes ltx25-v2v, ltx23-v2v, seedance2, seedance2-5 or wan22-animate");
  }
  const std::string model = m.SelectVideoModel(requested, workflows, preferred);
  const tm::VideoDefaults d = tm::VideoDefaultsFor(model);
  const bool external = IsExternalApiVideoModel(model);
  std::vector<Source> image = m.Sources("sourceImageIndex", MediaKind::kImage, false);
  if (animate && image.empty())
    return m.Fail("", mode + " needs the reference image",
                  "fill sourceImageIndex with a dependsOn entry (transform: image_index), or write -1 for the first image in media:");
  m.ExportOptions();
  m.Head("video", model);
  m.Input("videoSourceIndex", "referenceVideo", MediaKind::kVideo, video[0], false);
  m.Set("width", Value::Int(d.width));
  m.Set("height", Value::Int(d.height));
  m.Set("fps", Value::Int(d.fps));
  const Value* dur = m.Arg("duration");
  m.Set("duration", dur && dur->is_number() ? *dur : Value::Int(5));
  VideoNegativePrompt(m, model);
  if (!image.empty()) m.Input("sourceImageIndex", "referenceImage", MediaKind::kImage, image[0], false);
  if (!animate && !external) {
    Value cn = Value::Object();
    cn.Set("name", Value::String(mode));
    cn.Set("strength", mode == "detailer" ? Value::Int(1) : Value::Double(0.85));
    m.Set("controlNet", cn);
  }
  std::vector<Source> mask = m.Sources("maskImageIndex", MediaKind::kImage, true);
  if (!mask.empty() && mode != "inpaint") m.Fail("maskImageIndex", "maskImageIndex is for controlMode inpaint only");
  else if (!mask.empty()) m.Input("maskImageIndex", "referenceMask", MediaKind::kImage, mask[0], false);
  if (m.Arg("outpaintPosition") && mode != "outpaint") m.Fail("outpaintPosition", "outpaintPosition is for controlMode outpaint only");
  else m.Copy("outpaintPosition", "outpaintPosition");
  VideoCommon(m);
  m.Refuse("outpaintAspectRatio", "the video takes the model's default size; write a project: step for another");
}

void GenerateMusic(Mapper& m) {
  const std::string selector = m.Text("model");
  const std::string model = tm::MusicModelFor(selector);
  if (model.empty()) return m.Fail("model", "unknown music model '" + selector + "'", "use turbo, sft or music3");
  m.Head("audio", model);
  m.Copy("duration", "duration");
  m.Copy("bpm", "bpm");
  if (m.Truthy("keyscale")) m.Copy("keyscale", "keyscale");
  if (m.Truthy("lyrics")) m.Copy("lyrics", "lyrics");
  // normalizeTimeSignature: a number becomes its rounded text.
  if (const Value* t = m.Arg("timesig"); t && t->is_number())
    m.Set("timesignature", Value::String(JsNumberText(JsRound(t->as_number()))));
  m.Copy("seed", "seed");
}

}  // namespace

ToolProjectResult MapToolProject(std::string_view tool, const Value& arguments, const std::vector<Dependency>& deps) {
  Mapper m(tool, arguments, deps);
  if (tool == "generate_image") GenerateImage(m);
  else if (tool == "edit_image") EditImage(m);
  else if (tool == "generate_video") GenerateVideo(m);
  else if (tool == "sound_to_video") SoundToVideo(m);
  else if (tool == "video_to_video") VideoToVideo(m);
  else if (tool == "generate_music") GenerateMusic(m);
  else m.Fail("", "tool '" + std::string(tool) + "' has no direct-project equivalent",
              "the tools that run as direct projects: " + DirectProjectToolList());
  return m.Finish();
}

}  // namespace sflow
