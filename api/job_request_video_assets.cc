// validateVideoWorkflowAssets and the per-family reference checks it dispatches to
// (dist/Projects/createJobRequestMessage.js, @sogni-ai/sogni-client 5.54.0): contextImages and the
// reference arrays (MiniMax H3 r2v only), HappyHorse, Wan 3, Seedance, MiniMax H3 r2v, then the
// generic required/forbidden table of the model's workflow.
#include <cmath>

#include "api/job_request_parts.h"
#include "api/model_families.h"

namespace sflow::job_request {

namespace {

constexpr const char* kR2vOnly = " is supported only by the MiniMax H3 r2v workflow (minimax-h3-ref2va-fp8_r2v).";

// asReferenceUrlArray: the non-blank strings of an array.
size_t UrlCount(const Value* v) {
  size_t n = 0;
  if (v && v->is_array())
    for (const Value& u : v->items())
      n += u.is_string() && u.as_string().find_first_not_of(" \t\n\r") != std::string::npos;
  return n;
}

Status UrlArray(const Params& p, const char* field) {
  const Value* v = p.Get(field);
  if (!v) return Status::OK();
  if (!v->is_array()) return Invalid(std::string(field) + " must be an array of URL strings.");
  if (UrlCount(v) != v->size()) return Invalid(std::string(field) + " must contain only non-empty URL strings.");
  return Status::OK();
}

Status UrlArrays(const Params& p) {
  for (const char* f : {"referenceImageUrls", "referenceVideoUrls", "referenceAudioUrls"})
    if (Status s = UrlArray(p, f); !s.ok()) return s;
  return Status::OK();
}

size_t CountPresent(const Params& p, const char* single, const char* list) {
  size_t n = p.Truthy(single);
  if (const Value* l = p.Get(list); l && l->is_array())
    for (const Value& v : l->items()) n += Truthy(&v);
  return n;
}

Status ContextAndArrays(const Params& p) {
  bool r2v = IsMinimaxH3ReferenceModel(p.model());
  if (const Value* ctx = p.Get("contextImages")) {
    if (!r2v) return Invalid(std::string("contextImages") + kR2vOnly);
    for (const Value& v : ctx->items())
      if (!Truthy(&v))
        return Invalid("contextImages must not contain empty entries. Reference ordinals follow array position, so a "
                       "hole would renumber every later reference.");
  }
  for (const char* field : {"referenceVideos", "referenceAudios"}) {
    const Value* v = p.Get(field);
    if (!v) continue;
    if (!r2v) return Invalid(std::string(field) + kR2vOnly);
    for (const Value& m : v->items())
      if (!Truthy(&m)) return Invalid(std::string(field) + " must be an array without empty entries.");
  }
  if (p.Has("referenceVideoDurations") && !r2v) return Invalid(std::string("referenceVideoDurations") + kR2vOnly);
  return Status::OK();
}

Status Happyhorse(const Params& p) {
  if (Status s = UrlArrays(p); !s.ok()) return s;
  if (p.Truthy("referenceVideo") || UrlCount(p.Get("referenceVideoUrls")))
    return Invalid("HappyHorse models do not support reference video assets.");
  if (p.Truthy("referenceAudio") || p.Truthy("referenceAudioIdentity") || UrlCount(p.Get("referenceAudioUrls")))
    return Invalid("HappyHorse models do not support reference audio assets.");
  if (p.Truthy("referenceImageEnd"))
    return Invalid("HappyHorse models do not support a separate end-frame image (referenceImageEnd).");
  std::string w = VideoWorkflowType(p.model());
  size_t images = p.Truthy("referenceImage") + UrlCount(p.Get("referenceImageUrls"));
  if (w == "i2v") return images == 1 ? Status::OK() : Invalid("HappyHorse i2v requires exactly one first-frame reference image.");
  if (w == "r2v")
    return images >= 1 && images <= 9 ? Status::OK() : Invalid("HappyHorse r2v requires between 1 and 9 reference images.");
  return images == 0 ? Status::OK() : Invalid("HappyHorse t2v does not support reference images.");
}

bool IsHttpsUrl(const std::string& s) {
  // new URL(value).protocol === 'https:' for the strings a plan holds: a scheme, then a host.
  if (s.size() < 9) return false;
  std::string scheme;
  for (size_t i = 0; i < 6; ++i) scheme += char(std::tolower(static_cast<unsigned char>(s[i])));
  return scheme == "https:" && s.find_first_not_of("/\\", 6) != std::string::npos;
}

Status Wan3(const Params& p) {
  bool enhanced = IsWan3EnhancedModel(p.model());
  if (Status s = UrlArrays(p); !s.ok()) return s;
  for (const char* field : {"referenceFileUrl", "referenceLinkUrl"}) {
    const Value* v = p.Get(field);
    if (!v) continue;
    if (!v->is_string() || v->as_string().find_first_not_of(" \t\n\r") == std::string::npos)
      return Invalid(std::string(field) + " must be a non-empty public HTTPS URL.");
    if (!IsHttpsUrl(v->as_string())) return Invalid(std::string(field) + " must be a valid public HTTPS URL.");
  }
  if (p.Truthy("referenceFileUrl") && p.Truthy("referenceLinkUrl"))
    return Invalid("Wan 3 accepts either one reference file or one reference link, not both.");
  if (enhanced && (p.Truthy("referenceFileUrl") || p.Truthy("referenceLinkUrl")))
    return Invalid("Wan 3.0 Enhanced does not accept document or webpage references.");
  if (enhanced && p.Has("watermark")) return Invalid("Wan 3.0 Enhanced does not expose a watermark option.");
  if (p.Has("smartDuration"))
    return Invalid("Wan 3 smartDuration has been retired. Send an explicit duration between 2 and 30 seconds instead.");
  if (p.Has("fps") && p.Num("fps") != 30) return Invalid("Wan 3 output is fixed at 30 fps.");
  if (p.Has("ratio")) {
    std::string r = p.Str("ratio");
    if (r != "adaptive" && r != "16:9" && r != "4:3" && r != "1:1" && r != "3:4" && r != "9:16")
      return Invalid("Wan 3 ratio must be adaptive, 16:9, 4:3, 1:1, 3:4, or 9:16.");
  }
  if (p.Truthy("referenceAudioIdentity") || p.Truthy("referenceMask"))
    return Invalid("Wan 3 does not support audio-identity or mask inputs.");
  if (std::optional<double> seed = p.Num("seed"); p.Has("seed") && (!seed || *seed != std::floor(*seed) || *seed < 0 || *seed > 2147483647))
    return Invalid("Wan 3 seed must be an integer from 0 through 2147483647.");
  size_t loose_images = UrlCount(p.Get("referenceImageUrls"));
  size_t videos = p.Truthy("referenceVideo") + UrlCount(p.Get("referenceVideoUrls"));
  size_t audios = p.Truthy("referenceAudio") + UrlCount(p.Get("referenceAudioUrls"));
  bool anchors = p.Truthy("referenceImage") || p.Truthy("referenceImageEnd");
  bool documents = p.Truthy("referenceFileUrl") || p.Truthy("referenceLinkUrl");
  bool loose = loose_images > 0 || videos > 0 || audios > 0 || documents;
  if (!enhanced && p.Truthy("referenceImageEnd") && !p.Truthy("referenceImage"))
    return Invalid("Wan 3 last-frame generation requires a first-frame referenceImage.");
  if (anchors && loose)
    return Invalid("Wan 3 first/last-frame anchors cannot be combined with loose media, file, or link references.");
  if (loose_images > 10) return Invalid("Wan 3 supports at most 10 reference images.");
  if (videos > 5) return Invalid("Wan 3 supports at most 5 reference videos.");
  if (audios > 5) return Invalid("Wan 3 supports at most 5 reference audio clips.");
  std::string prompt = p.Str("positivePrompt");
  if (prompt.find_first_not_of(" \t\n\r") == std::string::npos && !anchors && !loose)
    return Invalid("Wan 3 requires a prompt or at least one media, file, or link input.");
  return Status::OK();
}

Status SeedanceTaskType(const Params& p) {
  bool v25 = IsSeedance25Model(p.model());
  const Value* task = p.Get("seedanceTaskType");
  std::string t = p.Str("seedanceTaskType");
  if (task && t != "reference" && t != "edit" && t != "extend")
    return Invalid("seedanceTaskType must be reference, edit, or extend.");
  if (task && !v25) return Invalid("seedanceTaskType is supported only by Seedance 2.5.");
  if (!v25) return Status::OK();
  bool frames = p.Truthy("referenceImage") || p.Truthy("referenceImageEnd");
  bool video = p.Truthy("referenceVideo") || UrlCount(p.Get("referenceVideoUrls")) > 0;
  bool loose = UrlCount(p.Get("referenceImageUrls")) > 0 || video || p.Truthy("referenceAudio") ||
               UrlCount(p.Get("referenceAudioUrls")) > 0;
  if (!task && loose) return Invalid("Seedance 2.5 loose-reference requests require seedanceTaskType.");
  if (task && frames)
    return Invalid("seedanceTaskType is for Seedance 2.5 loose-reference, edit, or extend requests; omit it for "
                   "first/last-frame generation.");
  if ((t == "edit" || t == "extend") && !video) return Invalid("Seedance 2.5 " + t + " requires at least one reference video.");
  if (t == "reference" && !loose)
    return Invalid("Seedance 2.5 " + t + " requires at least one loose image, video, or audio reference.");
  return Status::OK();
}

Status SeedanceAssets(const Params& p) {
  if (Status s = UrlArrays(p); !s.ok()) return s;
  const std::string& id = p.model();
  bool v25 = IsSeedance25Model(id);
  // SEEDANCE_REFERENCE_LIMITS_BY_MODEL: 2.5 takes far more than the 2.0 generation.
  size_t max_images = v25 ? 30 : 9, max_videos = v25 ? 10 : 3, max_audios = v25 ? 10 : 3, max_assets = v25 ? 50 : 12;
  size_t images = p.Truthy("referenceImage") + p.Truthy("referenceImageEnd") + UrlCount(p.Get("referenceImageUrls"));
  size_t videos = p.Truthy("referenceVideo") + UrlCount(p.Get("referenceVideoUrls"));
  size_t audios = (p.Truthy("referenceAudio") || p.Truthy("referenceAudioIdentity")) + UrlCount(p.Get("referenceAudioUrls"));
  if (images > max_images) return Invalid(id + " supports at most " + std::to_string(max_images) + " image assets.");
  if (videos > max_videos) return Invalid(id + " supports at most " + std::to_string(max_videos) + " video assets.");
  if (audios > max_audios) return Invalid(id + " supports at most " + std::to_string(max_audios) + " audio assets.");
  if (images + videos + audios > max_assets)
    return Invalid(id + " supports at most " + std::to_string(max_assets) + " total asset files.");
  if (!v25 && audios > 0 && images == 0 && videos == 0)
    return Invalid("Seedance audio references require at least one image or video reference.");
  return Status::OK();
}

Status MinimaxH3References(const Params& p) {
  for (const char* field : {"referenceImageUrls", "referenceVideoUrls", "referenceAudioUrls"})
    if (p.Has(field))
      return Invalid(std::string("MiniMax H3 r2v does not accept ") + field +
                     "; pass files through the Sogni asset upload fields instead.");
  const Value* ctx = p.Get("contextImages");
  size_t images = p.Truthy("referenceImage") + (ctx ? ctx->size() : 0);
  size_t videos = CountPresent(p, "referenceVideo", "referenceVideos");
  size_t audios = CountPresent(p, "referenceAudio", "referenceAudios");
  if (const Value* d = p.Get("referenceVideoDurations")) {
    if (!d->is_array() || d->size() != videos)
      return Invalid("MiniMax H3 r2v referenceVideoDurations must contain one entry for each uploaded reference video "
                     "(expected " + std::to_string(videos) + ").");
    for (size_t i = 0; i < d->size(); ++i) {
      const Value& v = d->items()[i];
      if (!v.is_number() || v.as_number() < 2 - 0.05 || v.as_number() > 15 + 0.05)
        return Invalid("MiniMax H3 r2v referenceVideoDurations[" + std::to_string(i) + "] must be between 2 and 15 seconds.");
    }
  }
  struct { size_t count; int ceiling; const char* label; } ceilings[] = {
      {images, kH3MaxReferenceImages, "reference images"},
      {videos, kH3MaxReferenceVideos, "reference videos"},
      {audios, kH3MaxReferenceAudios, "reference audios"}};
  for (const auto& c : ceilings)
    if (c.count > size_t(c.ceiling))
      return Invalid("MiniMax H3 r2v supports at most " + std::to_string(c.ceiling) + " uploaded " + c.label + " (got " +
                     std::to_string(c.count) + ").");
  size_t total = images + videos + audios;
  if (total > size_t(kH3MaxReferenceFiles))
    return Invalid("MiniMax H3 r2v supports at most " + std::to_string(kH3MaxReferenceFiles) +
                   " reference files in total (got " + std::to_string(total) + ": " + std::to_string(images) + " image, " +
                   std::to_string(videos) + " video, " + std::to_string(audios) + " audio).");
  if (images + videos < 1)
    return Invalid("MiniMax H3 r2v needs at least one uploaded visual reference. Attach an image through "
                   "referenceImage/contextImages or a video through referenceVideo/referenceVideos. Audio-only requests "
                   "are not supported; for a prompt-only render use minimax-h3-fl2va-fp8_t2v.");
  return Status::OK();
}

}  // namespace

Status ValidateVideoWorkflowAssets(const Params& p) {
  const std::string& id = p.model();
  std::string format = p.Str("outputFormat");
  const Value* last = p.Get("returnLastFrame");
  if (p.Has("outputFormat") && format != "mp4" && format != "mov") return Invalid("Video outputFormat must be mp4 or mov.");
  if (format == "mov" && !IsSeedance25Model(id)) return Invalid("MOV output is supported only by Seedance 2.5.");
  if (last && !last->is_bool()) return Invalid("returnLastFrame must be a boolean.");
  if (last && last->as_bool() && !IsSeedance25Model(id)) return Invalid("Last-frame export is supported only by Seedance 2.5.");
  if (Status s = ContextAndArrays(p); !s.ok()) return s;
  if (IsHappyhorseModel(id)) return Happyhorse(p);
  if (IsWan3Model(id)) return Wan3(p);
  if (IsSeedanceModel(id)) {
    if (Status s = SeedanceTaskType(p); !s.ok()) return s;
    return SeedanceAssets(p);
  }
  if (IsMinimaxH3ReferenceModel(id)) {
    if (Status s = MinimaxH3References(p); !s.ok()) return s;
  } else if (p.Truthy("referenceImageUrls") || p.Truthy("referenceVideoUrls") || p.Truthy("referenceAudioUrls") ||
             p.Truthy("referenceFileUrl") || p.Truthy("referenceLinkUrl")) {
    return Invalid("External reference URLs are supported only by Seedance, HappyHorse, and Wan 3 models.");
  }
  std::string workflow = VideoWorkflowType(id);
  if (workflow.empty()) return Status::OK();
  AssetRules rules = VideoAssetRequirements(id);
  if (workflow == "i2v" && !p.Truthy("referenceImage") && !p.Truthy("referenceImageEnd"))
    return Invalid("i2v workflow requires at least one of referenceImage or referenceImageEnd. Please provide this asset.");
  if (p.Truthy("sam2Coordinates") && workflow != "animate-replace")
    return Invalid("sam2Coordinates is only supported for animate-replace workflows.");
  // Object.entries order of the SDK's tables.
  for (const char* asset : {"referenceImage", "referenceImageEnd", "referenceAudio", "referenceAudioIdentity",
                            "referenceVideo", "referenceMask"}) {
    const std::string& rule = rules[asset];
    bool has = p.Truthy(asset);
    if (rule == "required" && !has)
      return Invalid(workflow + " workflow requires " + asset + ". Please provide this asset.");
    if (rule == "forbidden" && has)
      return Invalid(workflow + " workflow does not support " + asset + ". Please remove this asset.");
  }
  return Status::OK();
}

}  // namespace sflow::job_request
