// UploadsFor: index.js _processImageAssets / _processVideoAssets / _processAudioAssets and the
// upload helpers they call (uploadGuideImage, uploadCNImage, uploadContextImage,
// uploadReferenceImage, uploadReferenceImageEnd, uploadReferenceAudio, uploadReferenceVideo,
// uploadReferenceMask), and TraitsFromModels: getModelOptions with ModelOptions.js's tier mapping
// and utils/samplers.js, utils/scheduler.js aliases (@sogni-ai/sogni-client 5.54.0).
#include "api/job_request.h"
#include "api/job_request_parts.h"
#include "api/model_families.h"

namespace sflow {

namespace {

constexpr const char* kImageRoute = "/v1/image/uploadUrl";
constexpr const char* kMediaRoute = "/v1/media/uploadUrl";

ProjectUpload Image(const std::string& param, int index, std::string type) {
  return ProjectUpload{param, index, kImageRoute, std::move(type), "", "image"};
}
ProjectUpload Media(const std::string& param, int index, const char* kind, std::string id = "") {
  std::string type = std::string("reference") + (std::string(kind) == "audio" ? "Audio" : "Video");
  return ProjectUpload{param, index, kMediaRoute, type, std::move(id), kind};
}

// The present entries of `single` followed by those of `list`: MiniMax H3 r2v's numbered slots.
std::vector<ProjectUpload> Slots(const Value& params, const char* single, const char* list, const char* kind) {
  std::vector<ProjectUpload> out;
  const char* prefix = std::string(kind) == "audio" ? "referenceAudio" : "referenceVideo";
  if (job_request::Truthy(params.Find(single))) out.push_back(Media(single, 0, kind));
  if (const Value* l = params.Find(list); l && l->is_array())
    for (size_t i = 0; i < l->size(); ++i)
      if (job_request::Truthy(&l->items()[i])) out.push_back(Media(list, int(i), kind));
  for (size_t i = 0; i < out.size(); ++i) out[i].id = prefix + std::to_string(i + 1);
  return out;
}

const char* SamplerAlias(const std::string& v) {
  static const std::pair<const char*, const char*> kMap[] = {
      {"Euler", "euler"}, {"Euler a", "euler_a"}, {"Euler Ancestral", "euler_ancestral"}, {"Heun", "heun"},
      {"DPM++ 2M", "dpmpp_2m"}, {"DPM++ 2M SDE", "dpmpp_2m_sde"}, {"DPM++ SDE", "dpmpp_sde"},
      {"DPM++ 3M SDE", "dpmpp_3m_sde"}, {"UniPC", "uni_pc"}, {"LCM (Latent Consistency Model)", "lcm"}, {"LMS", "lms"},
      {"DPM 2", "dpm_2"}, {"DPM 2 Ancestral", "dpm_2_ancestral"}, {"DPM Fast", "dpm_fast"},
      {"DPM Adaptive", "dpm_adaptive"}, {"DPM++ 2S Ancestral", "dpmpp_2s_ancestral"}, {"DDPM", "ddpm"},
      {"Discrete Flow Sampler (SD3)", "dfs_sd3"}, {"Discrete Flow Scheduler (SD3)", "dfs_sd3"},
      {"DPM Solver Multistep (DPM-Solver++)", "dpm_pp"}, {"PNDM (Pseudo-linear multi-step)", "pndm_plms"}};
  for (const auto& [display, alias] : kMap)
    if (v == display) return alias;
  return nullptr;
}
const char* SchedulerAlias(const std::string& v) {
  static const std::pair<const char*, const char*> kMap[] = {
      {"Simple", "simple"}, {"Normal", "normal"}, {"Karras", "karras"}, {"Exponential", "exponential"},
      {"SGM Uniform", "sgm_uniform"}, {"DDIM Uniform", "ddim_uniform"}, {"Beta", "beta"},
      {"Linear Quadratic", "linear_quadratic"}, {"KL Optimal", "kl_optimal"}, {"DDIM", "ddim"},
      {"Leading", "leading"}, {"Linear", "linear"}};
  for (const auto& [display, alias] : kMap)
    if (v == display) return alias;
  return nullptr;
}

// mapOptions(data, mapper).allowed: the names, each through the alias map when it has one.
std::vector<std::string> Allowed(const Value* options, const char* (*alias)(const std::string&)) {
  std::vector<std::string> out;
  const Value* allowed = options && options->is_object() ? options->Find("allowed") : nullptr;
  if (!allowed || !allowed->is_array()) return out;
  for (const Value& v : allowed->items()) {
    if (!v.is_string()) continue;  // the SDK would keep it; no name of ours can equal it
    const char* a = alias ? alias(v.as_string()) : nullptr;
    out.push_back(a ? a : v.as_string());
  }
  return out;
}

}  // namespace

std::string ProjectUpload::key() const {
  bool list = param == "contextImages" || param == "referenceAudios" || param == "referenceVideos";
  return list ? param + "[" + std::to_string(index) + "]" : param;
}

std::vector<ProjectUpload> UploadsFor(const Value& params) {
  std::vector<ProjectUpload> out;
  if (!params.is_object()) return out;
  const Value* type_v = params.Find("type");
  const Value* model_v = params.Find("modelId");
  std::string type = type_v && type_v->is_string() ? type_v->as_string() : "";
  std::string model = model_v && model_v->is_string() ? model_v->as_string() : "";
  auto present = [&](const char* key) { return job_request::Truthy(params.Find(key)); };
  const Value* ctx = params.Find("contextImages");
  if (type == "image") {
    bool data_uri_mask = false;
    if (const Value* url = params.Find("gptImageMaskUrl"); url && url->is_string() && IsGptImageModel(model))
      data_uri_mask = url->as_string().rfind("data:", 0) == 0;
    if (present("gptImageMask") || data_uri_mask) out.push_back(Image("gptImageMask", 0, "referenceMask"));
    if (present("startingImage")) out.push_back(Image("startingImage", 0, "startingImage"));
    const Value* cn = params.Find("controlNet");
    if (cn && cn->is_object() && job_request::Truthy(cn->Find("image"))) out.push_back(Image("controlNet", 0, "cnImage"));
    if (ctx && ctx->is_array())
      for (size_t i = 0; i < ctx->size(); ++i)
        if (job_request::Truthy(&ctx->items()[i]))
          out.push_back(Image("contextImages", int(i), "contextImage" + std::to_string(i + 1)));
  } else if (type == "video") {
    bool r2v = IsMinimaxH3ReferenceModel(model);
    if (present("referenceImage")) out.push_back(Image("referenceImage", 0, "referenceImage"));
    if (ctx && ctx->is_array()) {
      size_t offset = present("referenceImage") ? 1 : 0;
      for (size_t i = 0; i < ctx->size(); ++i)
        if (job_request::Truthy(&ctx->items()[i]))
          out.push_back(Image("contextImages", int(i), "contextImage" + std::to_string(offset + i + 1)));
    }
    if (present("referenceImageEnd")) out.push_back(Image("referenceImageEnd", 0, "referenceImageEnd"));
    if (!r2v && present("referenceAudio")) out.push_back(Media("referenceAudio", 0, "audio"));
    if (present("referenceAudioIdentity")) out.push_back(Media("referenceAudioIdentity", 0, "audio"));
    if (!r2v && present("referenceVideo")) out.push_back(Media("referenceVideo", 0, "video"));
    if (r2v) {
      for (ProjectUpload& u : Slots(params, "referenceAudio", "referenceAudios", "audio")) out.push_back(u);
      for (ProjectUpload& u : Slots(params, "referenceVideo", "referenceVideos", "video")) out.push_back(u);
    }
    const Value* cn = params.Find("controlNet");
    const Value* name = cn && cn->is_object() ? cn->Find("name") : nullptr;
    if (present("referenceMask") && name && name->is_string() && name->as_string() == "inpaint")
      out.push_back(Image("referenceMask", 0, "referenceMask"));
  } else if (type == "audio") {
    if (present("referenceAudio")) out.push_back(Media("referenceAudio", 0, "audio"));
  }
  return out;
}

Result<ModelTraits> TraitsFromModels(std::string_view model_id, const Value& models, const Value& tiers) {
  const Value* model = nullptr;
  if (models.is_array())
    for (const Value& m : models.items()) {
      const Value* id = m.is_object() ? m.Find("id") : nullptr;
      if (id && id->is_string() && id->as_string() == model_id) model = &m;
      if (model) break;
    }
  if (!model) return job_request::Invalid("Model " + std::string(model_id) + " not supported");
  const Value* tier_name = model->Find("tier");
  std::string name = tier_name && tier_name->is_string() ? tier_name->as_string() : "undefined";
  const Value* tier = tiers.is_object() && tier_name && tier_name->is_string() ? tiers.Find(name) : nullptr;
  if (!tier || !tier->is_object())
    return job_request::Invalid("Unable to find model tier \"" + name + "\" please contact support");
  ModelTraits t;
  t.options_known = true;
  auto default_of = [&](const char* key, std::optional<double>* out) {
    const Value* range = tier->Find(key);
    const Value* d = range && range->is_object() ? range->Find("default") : nullptr;
    if (d && d->is_number()) *out = d->as_number();
  };
  default_of("steps", &t.default_steps);
  default_of("width", &t.default_width);
  default_of("height", &t.default_height);
  default_of("fps", &t.default_fps);
  default_of("frames", &t.default_frames);
  default_of("duration", &t.default_duration);
  const Value* type = tier->Find("type");
  if (!type) {  // isImageTier: a Forge tier names scheduler and sampler
    t.type = "image";
    t.samplers = Allowed(tier->Find("sampler"), SamplerAlias);
    t.schedulers = Allowed(tier->Find("scheduler"), SchedulerAlias);
    return t;
  }
  if (!type->is_string() || (type->as_string() != "image" && type->as_string() != "video" && type->as_string() != "audio"))
    return job_request::Invalid("Unable to find model tier \"" + name + "\" please contact support");
  t.type = type->as_string();
  t.samplers = Allowed(tier->Find("comfySampler"), SamplerAlias);
  t.schedulers = Allowed(tier->Find("comfyScheduler"), SchedulerAlias);
  if (t.type == "image") t.vaes = Allowed(tier->Find("vae"), nullptr);
  return t;
}

}  // namespace sflow
