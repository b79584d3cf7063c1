// The jobRequest the official SDK sends on the projects socket for one ProjectParams object, and
// the uploads it makes before sending it.
//
// A port of @sogni-ai/sogni-client 5.54.0 dist/Projects/createJobRequestMessage.js (the builder,
// its getTemplate and its per-family checks) and of what dist/Projects/index.js create() does
// around it (the segmentation normalisation, the GPT Image data-URI mask, the context-image
// ceiling, the uploads and the content types it writes into the key frame). The SDK's errors keep
// their wording and come back as kInvalidPlan. tests/conformance/job_request.test.mjs proves the
// result equal to what the SDK sends. Pure: no I/O.
#ifndef SFLOW_API_JOB_REQUEST_H_
#define SFLOW_API_JOB_REQUEST_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"
#include "engine/value.h"

namespace sflow {

// What the SDK's getModelOptions() gives the builder: the model's media type and the sampler,
// scheduler and VAE names it allows (aliases, as ModelOptions.js maps them). With options_known,
// an empty list means the model offers no choice: a sampler given anyway is sent as null, as the
// SDK does. Without (the model id alone, offline), a sampler, scheduler or VAE goes out as given:
// what the SDK sends whenever the name is one the model allows.
struct ModelTraits {
  std::string type;  // "image" | "video" | "audio"
  bool options_known = false;
  std::vector<std::string> samplers, schedulers, vaes;
  // The tier's defaults (its steps/width/height/fps/frames/duration `default`), for the estimate
  // routes, which need a figure the params may leave to the server. Unset when unknown.
  std::optional<double> default_steps, default_width, default_height, default_fps, default_frames, default_duration;
};

// The traits from the model id alone (no sampler lists): video and audio by the SDK's own
// predicates (isVideoModel, isAudioModel), image otherwise.
ModelTraits TraitsForModel(std::string_view model_id);
// The traits exactly as getModelOptions() derives them from GET /api/v1/models/list and
// GET /api/v2/models/tiers (their decoded answers). Errors as the SDK's: "Model X not supported",
// "Unable to find model tier ...".
Result<ModelTraits> TraitsFromModels(std::string_view model_id, const Value& models, const Value& tiers);

// One upload the SDK makes before it sends the jobRequest.
struct ProjectUpload {
  std::string param;       // "startingImage", "contextImages", "referenceAudio", ...
  int index = 0;           // the position inside a list param (contextImages[i]); 0 otherwise
  std::string route;       // "/v1/image/uploadUrl" or "/v1/media/uploadUrl"
  std::string type;        // the `type` query value ("startingImage", "contextImage2", "referenceAudio")
  std::string id;          // the `id` query value (MiniMax H3 r2v slots: "referenceAudio2"), else ""
  std::string media_kind;  // "image" | "video" | "audio"
  // "contextImages[1]" for a list param, else the param: the key of MediaContentTypes.
  std::string key() const;
};

// The content type of each media input, by ProjectUpload::key(). The SDK writes the type of each
// uploaded video-project and audio-project input into the key frame (referenceImageContentType,
// ...); an input with no entry here is written as the SDK writes a `true` placeholder: without one.
using MediaContentTypes = std::map<std::string, std::string>;

// `params` is a resolved ProjectParams object (engine/project_params.h keys). A media param is
// present when it holds anything but null or false (a media name, a URL, true); a list param holds
// such entries. `project_id` is the jobID (an uppercase UUID).
Result<Value> BuildJobRequest(const std::string& project_id, const Value& params, const ModelTraits& model,
                              const MediaContentTypes& content_types = {});

// The uploads, in the order the SDK makes them (index.js _processImageAssets,
// _processVideoAssets, _processAudioAssets). Call it for params BuildJobRequest accepted.
std::vector<ProjectUpload> UploadsFor(const Value& params);

// True when v counts as a present media input (the SDK's truthiness, for media values).
bool MediaPresent(const Value* v);

}  // namespace sflow

#endif  // SFLOW_API_JOB_REQUEST_H_
