#include "api/project_quote.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "api/job_request_parts.h"
#include "api/model_families.h"
#include "engine/json.h"

namespace sflow {

namespace {

// An answer of the estimate service that is not what the contract says: as an unreadable answer
// is (kUnavailable, exit 4), not a failed run.
Status Malformed(const std::string& why) { return Status::Error(Status::Code::kUnavailable, "malformed answer: " + why); }

using job_request::Invalid;
using job_request::Truthy;

// encodeURIComponent: everything but A-Z a-z 0-9 - _ . ! ~ * ' ( ) is %XX (UTF-8 bytes).
std::string UriComponent(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || std::string_view("-_.!~*'()").find(char(c)) != std::string_view::npos) {
      out.push_back(char(c));
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// URLSearchParams serialisation (application/x-www-form-urlencoded).
std::string FormComponent(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '*' || c == '-' || c == '.' || c == '_') out.push_back(char(c));
    else if (c == ' ') out.push_back('+');
    else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

struct Query {
  std::string text;
  void Set(const std::string& k, const std::string& v) { text += (text.empty() ? "?" : "&") + FormComponent(k) + "=" + FormComponent(v); }
};

std::string Text(const Value& v) { return v.is_string() ? v.as_string() : JsNumberText(v.as_number()); }
std::string Num(double d) { return JsNumberText(d); }

std::string StrOf(const Value& p, const char* key) {
  const Value* v = p.Find(key);
  return v && v->is_string() ? v->as_string() : "";
}
std::optional<double> NumOf(const Value& p, const char* key) {
  const Value* v = p.Find(key);
  if (v && v->is_number()) return v->as_number();
  return std::nullopt;
}

Result<double> Needed(const Value& p, const char* key, std::optional<double> fallback, const char* what) {
  if (std::optional<double> v = NumOf(p, key)) return *v;
  if (fallback) return *fallback;
  return Invalid(std::string("the ") + what + " estimate needs '" + key +
                 "': give it in the project, or price it with the model's tier defaults");
}

Result<std::string> ImagePath(const Value& p, const std::string& token, const std::string& network, const ModelTraits* m) {
  if (Truthy(p.Find("sizePreset")))
    return Invalid("the project names sizePreset '" + StrOf(p, "sizePreset") + "': apply the size preset before pricing it");
  std::string model = StrOf(p, "modelId");
  Result<double> steps = Needed(p, "steps", m ? m->default_steps : std::nullopt, "image");
  if (!steps.ok()) return steps.status();
  std::vector<std::string> parts = {token, network, model};
  const Value* count = p.Find("numberOfMedia");
  parts.push_back(Truthy(count) && !IsSegmentationModel(model) ? Text(*count) : "1");
  parts.push_back(Num(*steps));
  const Value* previews = p.Find("numberOfPreviews");
  bool no_previews = IsSegmentationModel(model) || IsPixal3dModel(model);
  parts.push_back(!no_previews && Truthy(previews) ? Text(*previews) : "0");
  parts.push_back(Truthy(p.Find("controlNet")) ? "1" : "0");
  // The job's strength is 1 - (startingImageStrength || 0.5); the route takes the same figure.
  double strength = NumOf(p, "startingImageStrength").value_or(0);
  parts.push_back(Truthy(p.Find("startingImage")) ? Num(1 - (strength != 0 ? strength : 0.5)) : "0");
  if (Truthy(p.Find("width")) && Truthy(p.Find("height"))) {
    parts.push_back(Text(*p.Find("width")));
    parts.push_back(Text(*p.Find("height")));
  } else {
    parts.push_back("0");
    parts.push_back("0");
  }
  int version = 2;
  const Value* ctx = p.Find("contextImages");
  if (Truthy(p.Find("sampler")) || ctx) {
    version = 3;
    const Value* guidance = p.Find("guidance");
    parts.push_back(Truthy(guidance) ? Text(*guidance) : "0");
    if (Truthy(p.Find("sampler"))) {
      Result<Value> s = job_request::ValidateOption(p.Find("sampler"), m ? m->samplers : std::vector<std::string>{},
                                                   m && m->options_known, "sampler");
      if (!s.ok()) return s.status();
      // validateSampler gives null when the model offers no choice; join() writes null as "".
      parts.push_back(s->is_null() ? "" : s->as_string());
    } else {
      parts.push_back("_");
    }
    size_t n = ctx && ctx->is_array() ? ctx->size() : 0;
    parts.push_back(std::to_string(n));
  }
  std::string path = "/api/v" + std::to_string(version) + "/job/estimate";
  for (const std::string& part : parts) path += "/" + UriComponent(part);
  Query q;
  if (Truthy(p.Find("gptImageQuality"))) q.Set("gptImageQuality", StrOf(p, "gptImageQuality"));
  if (Truthy(p.Find("outputFormat"))) q.Set("outputFormat", StrOf(p, "outputFormat"));
  if (Truthy(p.Find("billingMode"))) q.Set("billingMode", StrOf(p, "billingMode"));
  return path + q.text;
}

Result<std::string> VideoPath(const Value& p, const std::string& token, const std::string& network, const ModelTraits* m) {
  std::string model = StrOf(p, "modelId");
  Result<double> width = Needed(p, "width", m ? m->default_width : std::nullopt, "video");
  if (!width.ok()) return width.status();
  Result<double> height = Needed(p, "height", m ? m->default_height : std::nullopt, "video");
  if (!height.ok()) return height.status();
  // The fps and frames the jobRequest carries (job_request_video.cc), the tier's otherwise.
  std::optional<double> fixed_fps = IsWan3Model(model) ? std::optional<double>(30)
                                    : IsExternalApiVideoModel(model) || IsMinimaxH3Model(model) ? std::optional<double>(24)
                                                                                                : std::nullopt;
  std::optional<double> fps = NumOf(p, "fps");
  if (!fps) fps = fixed_fps ? fixed_fps : m && m->default_fps ? m->default_fps : std::optional<double>(24);
  std::optional<double> frames = NumOf(p, "frames");
  if (!frames && NumOf(p, "duration"))
    frames = CalculateVideoFrames(model, *NumOf(p, "duration"), NumOf(p, "fps").value_or(IsWan3Model(model) ? 30 : 24));
  if (!frames && m) frames = m->default_frames;
  if (!frames) return Invalid("the video estimate needs 'frames' or 'duration': give one in the project");
  std::vector<std::string> parts = {token, model, Num(*width), Num(*height), Num(*frames), Num(*fps)};
  const Value* count = p.Find("numberOfMedia");
  std::string media = count && count->is_number() ? Text(*count) : "1";
  if (std::optional<double> steps = NumOf(p, "steps")) {
    parts.push_back(Num(*steps));
    parts.push_back(media);
  } else if (media != "1") {
    parts.push_back("0");
    parts.push_back(media);
  }
  std::string path = "/api/v1/job-video/estimate";
  for (const std::string& part : parts) path += "/" + UriComponent(part);
  Query q;
  const Value* video_urls = p.Find("referenceVideoUrls");
  if (Truthy(p.Find("referenceVideo")) || (video_urls && video_urls->is_array() && video_urls->size() > 0))
    q.Set("hasVideoInput", "1");
  if (IsMinimaxH3ReferenceModel(model)) {  // the r2v reference set the SDK documents for pricing
    size_t videos = Truthy(p.Find("referenceVideo"));
    if (const Value* l = p.Find("referenceVideos"); l && l->is_array())
      for (const Value& v : l->items()) videos += Truthy(&v);
    q.Set("referenceVideoCount", std::to_string(videos));
    if (const Value* d = p.Find("referenceVideoDurations"); d && d->is_array()) {
      double sum = 0;
      for (const Value& v : d->items()) sum += v.is_number() ? v.as_number() : 0;
      q.Set("referenceVideoDurationSeconds", Num(sum));
    }
  }
  if (!network.empty()) q.Set("network", network);
  if (Truthy(p.Find("billingMode"))) q.Set("billingMode", StrOf(p, "billingMode"));
  return path + q.text;
}

Result<std::string> AudioPath(const Value& p, const std::string& token, const std::string& network, const ModelTraits* m) {
  Result<double> duration = Needed(p, "duration", m ? m->default_duration : std::nullopt, "audio");
  if (!duration.ok()) return duration.status();
  Result<double> steps = Needed(p, "steps", m ? m->default_steps : std::nullopt, "audio");
  if (!steps.ok()) return steps.status();
  const Value* count = p.Find("numberOfMedia");
  std::vector<std::string> parts = {token, StrOf(p, "modelId"), Num(*duration), Num(*steps),
                                    Truthy(count) ? Text(*count) : "1"};
  std::string path = "/api/v1/job-audio/estimate";
  for (const std::string& part : parts) path += "/" + UriComponent(part);
  Query q;
  if (!network.empty()) q.Set("network", network);
  if (Truthy(p.Find("billingMode"))) q.Set("billingMode", StrOf(p, "billingMode"));
  return path + q.text;
}

Result<double> Figure(const Value* v, const char* name) {
  double d = NAN;
  if (v && v->is_number()) d = v->as_number();
  if (v && v->is_string() && !v->as_string().empty()) {
    // A decimal number as JSON writes one ("12.5", "1e-3"), nothing strtod alone would take
    // besides ("0x10", " 1", "inf").
    const std::string& text = v->as_string();
    const char first = text.front(), last = text.back();
    Result<Value> n = (first == '-' || (first >= '0' && first <= '9')) && last >= '0' && last <= '9'
                          ? ParseJson(text) : Result<Value>(Status::InvalidPlan("not a number"));
    if (n.ok() && n->is_number()) d = n->as_number();
  }
  if (!std::isfinite(d) || d < 0)
    return Malformed(std::string("the estimate answer's quote.project.") + name + " is " +
                            (v ? v->Brief() : std::string("missing")) + ", not a price");
  return d;
}

}  // namespace

Result<std::string> EstimatePathFor(const Value& params, const std::string& token_type, const std::string& network,
                                    const ModelTraits* model) {
  if (!params.is_object()) return Invalid("project parameters must be a mapping, got " + params.Brief());
  std::string type = StrOf(params, "type");
  if (StrOf(params, "modelId").empty()) return Invalid("project parameter 'modelId' must be a non-empty string");
  std::string token = StrOf(params, "tokenType");
  if (token.empty()) token = token_type.empty() ? "spark" : token_type;
  std::string net = StrOf(params, "network");
  if (net.empty()) net = network;
  if (type == "image") return ImagePath(params, token, net.empty() ? "fast" : net, model);
  if (type == "video") return VideoPath(params, token, net, model);
  if (type == "audio") return AudioPath(params, token, net, model);
  return Invalid("Invalid project type. Must be \"image\", \"video\", or \"audio\".");
}

Result<std::string> SizePresetPathFor(const Value& params, const std::string& network) {
  const Value* preset = params.is_object() ? params.Find("sizePreset") : nullptr;
  if (!Truthy(preset)) return Invalid("the project names no sizePreset");
  std::string net = StrOf(params, "network");
  if (net.empty()) net = network.empty() ? "fast" : network;
  return "/api/v1/size-presets/network/" + UriComponent(net) + "/model/" + UriComponent(StrOf(params, "modelId"));
}

Result<Value> ApplySizePreset(const Value& params, const Value& presets) {
  if (!params.is_object()) return Invalid("project parameters must be a mapping, got " + params.Brief());
  if (!presets.is_array()) return Malformed("the size-presets answer is " + presets.Brief() + ", not a list");
  std::string wanted = StrOf(params, "sizePreset");
  for (const Value& p : presets.items()) {
    const Value* id = p.is_object() ? p.Find("id") : nullptr;
    if (!id || !id->is_string() || id->as_string() != wanted) continue;
    const Value* w = p.Find("width");
    const Value* h = p.Find("height");
    if (!w || !h || !w->is_number() || !h->is_number() || w->as_number() <= 0 || h->as_number() <= 0 ||
        w->as_number() > 1e5 || h->as_number() > 1e5)
      return Malformed("size preset '" + wanted + "' has no usable width and height: " + p.Brief());
    Value out = params;
    out.Erase("sizePreset");
    out.Set("width", *w);
    out.Set("height", *h);
    return out;
  }
  return Invalid("Invalid size preset");
}

Result<ProjectQuote> ParseEstimate(const Value& answer, const std::string& token_type) {
  const Value* quote = answer.is_object() ? answer.Find("quote") : nullptr;
  const Value* project = quote && quote->is_object() ? quote->Find("project") : nullptr;
  if (!project || !project->is_object())
    return Malformed("the estimate answer has no quote.project: " + answer.Brief());
  Result<double> tokens = Figure(project->Find("costInToken"), "costInToken");
  if (!tokens.ok()) return tokens.status();
  Result<double> usd = Figure(project->Find("costInUSD"), "costInUSD");
  if (!usd.ok()) return usd.status();
  ProjectQuote q;
  q.tokens = *tokens;
  q.usd = *usd;
  q.token_type = token_type;
  q.raw = answer;
  return q;
}

}  // namespace sflow
