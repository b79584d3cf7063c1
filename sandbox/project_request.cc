#include "sandbox/project_request.h"

#include <algorithm>

namespace sflow::hub {

namespace {

constexpr int kMaxSide = 8192, kMaxFrames = 10000, kMaxPreviews = 100;

// `v` as an int in [lo, hi] (NaN is lo): never a cast of an out-of-range double.
int ClampInt(double v, int lo, int hi) {
  if (!(v >= lo)) return lo;
  if (v >= hi) return hi;
  return static_cast<int>(v);
}

}  // namespace

void ReadJobRequest(const Value& req, const Value& kf, const std::string& network, ProjectRun* p) {
  const ModelInfo* model = p->model;
  p->kind = model->media;
  auto str = [&](const Value* v, const std::string& fallback) {
    return v && v->is_string() && !v->as_string().empty() ? v->as_string() : fallback;
  };
  p->app_source = str(req.Find("appSource"), "");
  p->network = str(req.Find("network"), network);
  p->token_type = str(req.Find("tokenType"), "spark");
  p->billing_mode = str(req.Find("billingMode"), "");
  p->worker = std::string("sandbox-worker-") + (p->kind == "image" ? "a" : p->kind == "video" ? "v" : "m");
  p->steps = ClampInt(Num(kf.Find("steps"), TierDefault(*model, "steps", 4)), 1, kMaxSteps);
  p->previews = p->kind == "image" ? ClampInt(Num(req.Find("previews"), 0), 0, kMaxPreviews) : 0;
  std::string requested = str(req.Find("outputFormat"), "");
  if (p->kind == "image") {
    p->width = ClampInt(Num(kf.Find("width"), 0), 0, kMaxSide);
    p->height = ClampInt(Num(kf.Find("height"), 0), 0, kMaxSide);
    if (p->width <= 0 || p->height <= 0)
      p->width = p->height = static_cast<int>(TierDefault(*model, "defaultSize", 1024));
    p->size_preset = str(kf.Find("sizePreset"), "");
    if (const SizePreset* preset = FindSizePreset(p->size_preset); preset && !(kf.Find("width") && kf.Find("height"))) {
      p->width = preset->width;
      p->height = preset->height;
    }
    bool jpeg = requested == "jpg" || requested == "jpeg", webp = requested == "webp";
    p->format = jpeg ? "jpg" : webp ? "webp" : "png";
    p->mime = jpeg ? "image/jpeg" : webp ? "image/webp" : "image/png";
    p->extension = p->format;
  } else if (p->kind == "video") {
    p->width = ClampInt(Num(kf.Find("width"), TierDefault(*model, "width", 832)), 16, kMaxSide);
    p->height = ClampInt(Num(kf.Find("height"), TierDefault(*model, "height", 480)), 16, kMaxSide);
    p->fps = ClampInt(Num(kf.Find("fps"), TierDefault(*model, "fps", 16)), 1, 240);
    double frames = Num(kf.Find("frames"), 0);
    if (frames <= 0) {
      double duration = Num(kf.Find("duration"), 0);
      frames = duration > 0 ? duration * p->fps + 1 : TierDefault(*model, "frames", 81);
    }
    p->frames = ClampInt(frames, 1, kMaxFrames);
    p->seconds = static_cast<double>(p->frames) / p->fps;
    p->format = "mp4";
    p->mime = "video/mp4";
    p->extension = "mp4";
  } else {
    p->seconds = Num(kf.Find("duration"), TierDefault(*model, "duration", 30));
    if (!(p->seconds > 0)) p->seconds = 30;
    p->seconds = std::min(p->seconds, 3600.0);
    // mp3 is the SDK's default; flac is not encoded here: WAV instead.
    bool mp3 = requested.empty() || requested == "mp3";
    p->format = mp3 ? "mp3" : "wav";
    p->mime = mp3 ? "audio/mpeg" : "audio/wav";
    p->extension = p->format;
  }

  QuoteInput& q = p->quote_in;
  q.kind = p->kind;
  q.model = model->id;
  q.network = p->network == "relaxed" ? "relaxed" : "fast";
  q.token_type = p->token_type == "sogni" ? "sogni" : "spark";
  q.count = ClampInt(Num(req.Find("numberOfImages"), 1), 1, kMaxMedia);
  q.steps = p->steps;
  q.previews = p->previews;
  q.width = p->width;
  q.height = p->height;
  q.frames = p->frames;
  q.fps = p->fps;
  q.duration = p->seconds;
  if (p->kind == "image") {
    const Value* cn = kf.Find("currentControlNetsJob");
    q.control_net = cn && cn->is_object();
    const Value* starting = kf.Find("hasStartingImage");
    if (starting && starting->is_bool() && starting->as_bool())
      q.denoise = std::clamp(Num(kf.Find("strength"), 0.5), 0.0, 1.0);
    for (int i = 1; i <= 16; ++i) {
      const Value* has = kf.Find("hasContextImage" + std::to_string(i));
      q.context_images += has && has->is_bool() && has->as_bool();
    }
  }
}

}  // namespace sflow::hub
