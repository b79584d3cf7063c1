// Implementation details: one hub lock guards the projects, the socket registry and the id
// counters. Each socket has a frame queue (its own small lock) and an eventfd; whoever changes a
// project's state enqueues the frames under the hub lock and pokes the eventfd, and the socket's
// handler thread, which ::poll()s the socket and the eventfd together, is the only writer to the
// socket. The scheduler thread advances every project one round when its step_ms is due, as the
// World's executor does for workflows. Artifacts are registered with the World (its own lock is
// taken inside the hub lock; the World never calls back into the hub).
#include "sandbox/projects.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <Poco/Buffer.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/WebSocket.h>
#include <Poco/String.h>

#include "engine/json.h"
#include "sandbox/routes.h"
#include "sandbox/world.h"

namespace sflow {

namespace {

using Poco::Net::WebSocket;
using Clock = std::chrono::steady_clock;

constexpr int kAuthErrorClose = 4021;         // the SDK's ErrorCode.AUTH_ERROR
constexpr int kSwitchConnectionClose = 4015;  // ErrorCode.SWITCH_CONNECTION
constexpr int kGoingAwayClose = 1001;
constexpr int kFin = WebSocket::FRAME_FLAG_FIN;
constexpr int kMaxFrameBytes = 16 << 20;
constexpr int kMaxMedia = 64;   // numberOfImages above this is refused
constexpr int kMaxSteps = 500;  // steps above this are clamped (progress frames stay bounded)
constexpr int kPollMs = 50;     // how often an idle socket looks at ctx.stopping
constexpr int64_t kUnclaimedHoldMs = 3600 * 1000;  // "held server-side for one hour"

// ---- small helpers ---------------------------------------------------------------------------

Value Obj(std::initializer_list<std::pair<const char*, Value>> members) {
  Value v = Value::Object();
  for (const auto& [k, m] : members) v.Set(k, m);
  return v;
}
Value Str(std::string s) { return Value::String(std::move(s)); }
Value Int(int64_t i) { return Value::Int(i); }

Value Money(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return Value::String(buf);
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string Q(const RouteContext& ctx, const std::string& key) {
  auto it = ctx.query.find(key);
  return it == ctx.query.end() ? "" : it->second;
}

Value ErrorBody(int status, const std::string& message) {
  return Obj({{"status", Str("error")}, {"message", Str(message)}, {"errorCode", Int(status)}});
}

Value Envelope(Value data) { return Obj({{"status", Str("success")}, {"data", std::move(data)}}); }

const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64Encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8 | uint8_t(in[i + 2]);
    out += kB64[n >> 18];
    out += kB64[(n >> 12) & 63];
    out += kB64[(n >> 6) & 63];
    out += kB64[n & 63];
  }
  if (i < in.size()) {
    uint32_t n = uint32_t(uint8_t(in[i])) << 16;
    if (i + 1 < in.size()) n |= uint32_t(uint8_t(in[i + 1])) << 8;
    out += kB64[n >> 18];
    out += kB64[(n >> 12) & 63];
    out += i + 1 < in.size() ? kB64[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// The value of a base64 digit (standard or URL-safe alphabet), or -1.
int B64Digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

// Padding optional, whitespace ignored. False on anything else.
bool Base64Decode(std::string_view in, std::string* out) {
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  bool padded = false;
  for (char c : in) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      padded = true;
      continue;
    }
    int v = B64Digit(c);
    if (v < 0 || padded) return false;  // not base64, or data after the padding
    acc = acc << 6 | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return true;
}

uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
  return h;
}

// The frame every server message travels in.
std::string Frame(const std::string& type, const Value& payload) {
  return Obj({{"type", Str(type)}, {"data", Str(Base64Encode(payload.ToJson()))}}).ToJson();
}

double Num(const Value* v, double fallback) { return v && v->is_number() ? v->as_number() : fallback; }

// ---- the model catalog -------------------------------------------------------------------------

struct ModelInfo {
  const char* id;
  const char* name;
  int sid;
  const char* tier;
  const char* media;  // image | video | audio
  int workers;
};

// Ids as the SDK and its docs use them; 'z-turbo' is the hosted tools' name for Z-Image Turbo.
const ModelInfo kModels[] = {
    {"flux1-schnell-fp8", "Flux.1 [schnell]", 101, "flux1-schnell", "image", 12},
    {"z-turbo", "Z-Image Turbo", 102, "z-turbo", "image", 9},
    {"z_image_turbo_bf16", "Z-Image Turbo (ComfyUI)", 103, "z-image-turbo-comfy", "image", 9},
    {"wan_v2.2-14b-fp8_t2v_lightx2v", "WAN 2.2 14B Text-to-Video LightX2V", 201, "wan-2.2-lightx2v", "video", 4},
    {"wan_v2.2-14b-fp8_i2v_lightx2v", "WAN 2.2 14B Image-to-Video LightX2V", 202, "wan-2.2-lightx2v", "video", 4},
    {"ltx23-22b-fp8_t2v_distilled", "LTX 2.3 22B Text-to-Video Distilled", 203, "ltx23-distilled", "video", 3},
    {"ace_step_1.5_turbo", "ACE-Step 1.5 Turbo", 301, "ace-step-turbo", "audio", 3},
    {"ace_step_1.5_xl_turbo", "ACE-Step 1.5 XL Turbo", 302, "ace-step-turbo", "audio", 2},
};

const ModelInfo* FindModel(const std::string& id) {
  for (const ModelInfo& m : kModels)
    if (id == m.id) return &m;
  return nullptr;
}

// GET /api/v2/models/tiers: shapes of src/Projects/types/ModelTiersRaw.ts. Tiers without `type`
// are Forge image tiers (scheduler/sampler); the others name comfySampler/comfyScheduler.
const char kTiersJson[] = R"json({
  "flux1-schnell": {
    "benchmark": {"sec": 2.1, "secCN": 0.6, "secMaxPreviews": 0.4},
    "guidance": {"min": 0, "max": 10, "decimals": 1, "default": 1},
    "modelFeeUSD": 0,
    "nickname": "Flux Schnell",
    "scheduler": {"allowed": ["Simple", "Normal", "Karras", "SGM Uniform", "Beta"], "default": "Simple"},
    "sampler": {"allowed": ["Euler", "Euler a", "DPM++ 2M", "UniPC", "LCM (Latent Consistency Model)"],
                "default": "Euler"},
    "steps": {"min": 1, "max": 8, "default": 4}
  },
  "z-turbo": {
    "benchmark": {"sec": 1.8, "secCN": 0.5, "secMaxPreviews": 0.3},
    "guidance": {"min": 0, "max": 5, "decimals": 1, "default": 1},
    "modelFeeUSD": 0,
    "nickname": "Z-Image Turbo",
    "scheduler": {"allowed": ["Simple", "Beta", "Normal"], "default": "Simple"},
    "sampler": {"allowed": ["Euler", "Euler a", "DPM++ 2M"], "default": "Euler"},
    "steps": {"min": 1, "max": 20, "default": 8}
  },
  "z-image-turbo-comfy": {
    "type": "image",
    "benchmark": {"sec": 1.8, "secCN": 0.5, "secMaxPreviews": 0.3},
    "comfySampler": {"allowed": ["euler", "res_multistep", "dpmpp_2m"], "default": "euler"},
    "comfyScheduler": {"allowed": ["simple", "beta", "normal"], "default": "simple"},
    "defaultSize": 1024,
    "guidance": {"min": 0, "max": 5, "decimals": 1, "default": 1},
    "steps": {"min": 1, "max": 20, "default": 8}
  },
  "wan-2.2-lightx2v": {
    "type": "video",
    "benchmark": {"sec": 45, "secCN": 0, "secMaxPreviews": 0},
    "comfySampler": {"allowed": ["euler", "uni_pc"], "default": "euler"},
    "comfyScheduler": {"allowed": ["simple", "beta"], "default": "simple"},
    "fps": {"allowed": [16, 32], "default": 16},
    "frames": {"min": 17, "max": 161, "default": 81},
    "guidance": {"min": 1, "max": 2, "decimals": 1, "default": 1},
    "height": {"min": 480, "max": 1280, "step": 16, "default": 480},
    "shift": {"min": 1, "max": 10, "decimals": 1, "default": 5},
    "steps": {"min": 2, "max": 8, "default": 4},
    "width": {"min": 480, "max": 1280, "step": 16, "default": 832}
  },
  "ltx23-distilled": {
    "type": "video",
    "benchmark": {"sec": 30, "secCN": 0, "secMaxPreviews": 0},
    "comfySampler": {"allowed": ["euler", "res_2s"], "default": "euler"},
    "comfyScheduler": {"allowed": ["simple", "linear_quadratic"], "default": "simple"},
    "fps": {"allowed": [24, 25, 30, 48, 50, 60], "default": 24},
    "frames": {"min": 9, "max": 481, "default": 121},
    "guidance": {"min": 1, "max": 4, "decimals": 1, "default": 1},
    "height": {"min": 480, "max": 2160, "step": 32, "default": 720},
    "maxPixels": 3686400,
    "steps": {"min": 4, "max": 12, "default": 8},
    "width": {"min": 480, "max": 3840, "step": 32, "default": 1280}
  },
  "ace-step-turbo": {
    "type": "audio",
    "benchmark": {"sec": 6, "secCN": 0, "secMaxPreviews": 0},
    "bpm": {"min": 30, "max": 300, "default": 120},
    "comfySampler": {"allowed": ["euler", "dpmpp_2m"], "default": "euler"},
    "comfyScheduler": {"allowed": ["simple", "normal"], "default": "simple"},
    "composerMode": {"default": false},
    "duration": {"min": 10, "max": 600, "default": 30},
    "guidance": {"min": 1, "max": 10, "decimals": 1, "default": 1},
    "keyscale": {"allowed": ["C major", "G major", "A minor", "E minor"], "default": "C major"},
    "language": {"allowed": ["en", "es", "fr", "ja", "zh"], "default": "en"},
    "steps": {"min": 1, "max": 20, "default": 8},
    "timesignature": {"allowed": ["2", "3", "4", "6"], "default": "4"}
  }
})json";

// ---- runtime state -----------------------------------------------------------------------------

struct JobRun {
  std::string img_id;  // uppercase UUID
  int index = 0;
  std::string status = "queued";  // RawJob statuses: queued .. jobCompleted | jobError
  std::string reason;
  int step = 0;
  uint32_t seed = 0;
  bool fails = false;  // step_fail chose this job
  std::string artifact_id;
  int64_t create_ms = 0, start_ms = 0, update_ms = 0, end_ms = 0;
  bool finished() const { return status == "jobCompleted" || status == "jobError"; }
};

struct ProjectRun {
  std::string id;  // uppercase
  int64_t sid = 0;
  std::string owner, app_id, key;  // key: the socket registry's key (account and appId)
  std::string app_source, network, token_type, billing_mode;
  Value request;  // the jobRequest payload as sent
  const ModelInfo* model = nullptr;
  std::string kind;  // image | video | audio
  int steps = 1, previews = 0;
  int width = 0, height = 0, frames = 0, fps = 0;
  double seconds = 0;
  std::string size_preset;
  std::string format, mime, extension;  // what the results are (format as outputFormat names it)
  std::string status = "queued";        // queued | processing | completed | failed | canceled
  std::string reason;
  std::string worker;
  int phase = 0;
  std::vector<JobRun> jobs;
  int64_t create_ms = 0, update_ms = 0, end_ms = 0;
  bool claimed = true;  // false: finished with no socket of its appId open; `authenticated` delivers it once
  Clock::time_point due;
  bool finished() const { return status == "completed" || status == "failed" || status == "canceled"; }
};

struct Conn {
  std::string owner, app_id, key, username, address;
  int wake_fd = -1;
  std::mutex mu;  // guards out and switched (a leaf lock: nothing is taken inside it)
  std::deque<std::string> out;
  bool switched = false;  // a newer socket of the same account and appId took over
  std::string network = "fast";
  Value subscriptions = Value::Object();

  void Push(std::string frame) {
    {
      std::lock_guard<std::mutex> lock(mu);
      out.push_back(std::move(frame));
    }
    Wake();
  }
  void Wake() const {
    uint64_t one = 1;
    ssize_t n = ::write(wake_fd, &one, sizeof one);
    (void)n;  // a full counter already means "wake up"
  }
};

// As GET /v1/account/me spells the account (routes.cc).
std::string Username(const std::string& owner) { return "sandbox-" + owner.substr(5, 8); }
std::string WalletAddress(const std::string& owner) { return "0x" + std::string(24, '0') + owner.substr(5, 16); }

}  // namespace

struct ProjectsHub::Impl {
  World* world;
  Value tiers;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  std::thread scheduler;
  uint64_t counter = 0;       // UUIDs
  uint64_t conn_counter = 0;  // keys of sockets without an appId
  int64_t next_sid = 1000;
  std::map<std::string, std::unique_ptr<ProjectRun>> projects;  // by uppercase id
  std::set<std::string> active;                                 // ids not finished
  std::map<std::string, std::shared_ptr<Conn>> conns;           // by key

  explicit Impl(World* w) : world(w) {
    Result<Value> t = ParseJson(kTiersJson);
    tiers = t.ok() ? std::move(t).value() : Value::Object();
  }

  // ---- ids ----

  std::string NewUuidLocked() {
    uint64_t a = Mix(world->config().seed * 0xD1B54A32D192ED03ull + (++counter));
    uint64_t b = Mix(a ^ 0xA0761D6478BD642Full);
    a = (a & ~0xF000ull) | 0x4000ull;                          // version 4
    b = (b & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;  // RFC 4122 variant
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08llX-%04llX-%04llX-%04llX-%012llX", static_cast<unsigned long long>(a >> 32),
                  static_cast<unsigned long long>((a >> 16) & 0xFFFF), static_cast<unsigned long long>(a & 0xFFFF),
                  static_cast<unsigned long long>(b >> 48), static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFull));
    return buf;
  }

  double TierDefault(const ModelInfo& m, const char* field, double fallback) const {
    const Value* tier = tiers.Find(m.tier);
    const Value* f = tier ? tier->Find(field) : nullptr;
    return Num(f ? f->Find("default") : nullptr, fallback);
  }

  // ---- frames ----

  void EmitLocked(const ProjectRun& p, const std::string& type, const Value& payload) {
    auto it = conns.find(p.key);
    if (it != conns.end()) it->second->Push(Frame(type, payload));
  }

  static void Send(Conn& c, const std::string& type, const Value& payload) { c.Push(Frame(type, payload)); }

  Value AuthenticatedLocked(Conn& c) {
    Value active_list = Value::Array(), unclaimed = Value::Array();
    int64_t now = NowMs();
    if (!c.app_id.empty()) {
      for (auto& [id, p] : projects) {
        if (p->key != c.key) continue;
        if (!p->finished()) {
          active_list.Append(RecordLocked(*p, Flavor::kRecovered));
        } else if (!p->claimed && now - p->end_ms < kUnclaimedHoldMs) {
          unclaimed.Append(RecordLocked(*p, Flavor::kRecovered));
          p->claimed = true;  // delivered once
        }
      }
    }
    Value balance = Obj({{"settled", Str("1000.000000")}, {"credit", Str("0.000000")}, {"debit", Str("0.000000")},
                         {"net", Str("1000.000000")}});
    Value entitlement = Obj({{"active", Value::Bool(false)}, {"trialing", Value::Bool(false)},
                             {"trialCapped", Value::Bool(false)}, {"subscription", Value::Null()}});
    return Obj({{"id", Str(c.owner)},
                {"clientType", Str("artist")},
                {"username", Str(c.username)},
                {"address", Str(c.address)},
                {"SID", Int(1)},
                {"clientSID", Int(1)},
                {"addressSID", Int(1)},
                {"balanceVersion", Int(2)},
                {"tokens", Obj({{"sogni", balance}, {"spark", balance}})},
                {"subscriptionEntitlement", entitlement},
                {"activeProjects", active_list},
                {"unclaimedCompletedProjects", unclaimed},
                {"activeLLMJobIDs", Value::Array()},
                {"isMainnet", Value::Bool(false)},
                {"accountWasMigrated", Value::Bool(false)},
                {"hasUnclaimedAirdrop", Value::Bool(false)},
                {"firstLoginAfterMigration", Value::Bool(false)}});
  }

  static Value SwarmModels() {
    Value v = Value::Object();
    for (const ModelInfo& m : kModels) v.Set(m.id, Int(m.workers));
    return v;
  }

  // ---- records ----

  enum class Flavor { kV1, kV2, kRecovered };

  Value CostLocked(const ProjectRun& p, size_t jobs) const {
    double n = static_cast<double>(jobs), render_sec;
    if (p.kind == "image")
      render_sec = n * p.steps * (double(p.width) * p.height) / (1024.0 * 1024.0) * 0.25;
    else if (p.kind == "video")
      render_sec = n * p.frames * p.steps * (double(p.width) * p.height) / (1280.0 * 720.0) * 0.02;
    else
      render_sec = n * p.seconds * p.steps * 0.01;
    double usd = render_sec * 0.0004;
    return Obj({{"costInRenderSec", Money(render_sec)},
                {"costInUSD", Money(usd)},
                {"costInToken", Money(usd / (p.token_type == "sogni" ? 0.0025 : 0.005))}});
  }

  Value JobRecord(const ProjectRun& p, const JobRun& j) const {
    Value worker = Obj({{"id", Str("worker-sandbox-" + std::to_string(j.index + 1))},
                        {"name", Str(p.worker)},
                        {"username", Str(p.worker)},
                        {"address", Str("0x" + std::string(39, '0') + "1")}});
    Value r = Obj({{"id", Str(j.img_id)},
                   {"SID", Str(std::to_string(p.sid * 100 + j.index))},
                   {"imgID", Str(j.img_id)},
                   {"jobIndex", Int(j.index)},
                   {"worker", worker},
                   {"createTime", Int(j.create_ms)},
                   {"startTime", j.start_ms ? Int(j.start_ms) : Value::Null()},
                   {"updateTime", Int(j.update_ms)},
                   {"endTime", j.end_ms ? Int(j.end_ms) : Value::Null()},
                   {"status", Str(j.status)},
                   {"reason", j.reason.empty() ? Value::Null() : Str(j.reason)},
                   {"performedSteps", Int(j.step)},
                   {"triggeredNSFWFilter", Value::Bool(false)},
                   {"seedUsed", Int(j.seed)},
                   {"costActual", CostLocked(p, j.status == "jobCompleted" ? 1 : 0)},
                   {"network", Str(p.network)},
                   {"txId", Str("")},
                   {"jobType", Str(p.kind)},
                   {"tokenType", Str(p.token_type)},
                   {"isTest", Value::Bool(true)}});
    if (j.status == "jobCompleted") r.Set("outputFormat", Str(p.format));
    if (p.kind != "image") {
      r.Set("modelType", Str(p.kind));
      if (p.kind == "video") {
        r.Set("videoFrames", Int(p.frames));
        r.Set("videoFps", Int(p.fps));
        r.Set("width", Int(p.width));
        r.Set("height", Int(p.height));
      } else {
        r.Set("audioDuration", Value::Double(p.seconds));
      }
    }
    return r;
  }

  // RawProject (src/Projects/types/RawProject.ts) for v1; the v2 lookup's normalized status and
  // `finished`; or a RecoveredProject (authenticated, projects/sync).
  Value RecordLocked(const ProjectRun& p, Flavor flavor) const {
    std::string status;
    if (flavor == Flavor::kV2) {
      status = p.status;
    } else {
      status = p.status == "queued"       ? "queued"
               : p.status == "processing" ? "progress"
               : p.status == "completed"  ? "completed"
               : p.status == "failed"     ? "errored"
                                          : "cancelled";
    }
    Value working = Value::Array(), done = Value::Array();
    size_t completed = 0;
    for (const JobRun& j : p.jobs) {
      if (j.status == "queued") continue;  // not yet on a worker: no worker job exists
      (j.finished() ? done : working).Append(JobRecord(p, j));
      completed += j.status == "jobCompleted";
    }
    Value counts = Value::Object();
    for (const JobRun& j : p.jobs)
      if (j.finished()) {
        Value* n = counts.Find(j.status);
        counts.Set(j.status, Int(n ? n->as_int() + 1 : 1));
      }
    Value model = Obj({{"id", Str(p.model->id)}, {"SID", Int(p.model->sid)}, {"name", Str(p.model->name)},
                       {"type", Str(p.kind)}});
    Value r = Obj({{"id", Str(p.id)},
                   {"SID", Int(p.sid)},
                   {"artist", Obj({{"id", Str(p.owner)}, {"username", Str(Username(p.owner))},
                                   {"address", Str(WalletAddress(p.owner))}})},
                   {"model", model},
                   {"imageCount", Int(static_cast<int64_t>(p.jobs.size()))},
                   {"stepCount", Int(p.steps)},
                   {"previewCount", Int(p.previews)},
                   {"hasGuideImage", Value::Bool(false)},
                   {"denoiseStrength", Str("0.500000")},
                   {"costEstimate", Obj({{"quote", Obj({{"project", CostLocked(p, p.jobs.size())}})}})},
                   {"costActual", CostLocked(p, completed)},
                   {"createTime", Int(p.create_ms)},
                   {"updateTime", Int(p.update_ms)},
                   {"endTime", p.end_ms ? Int(p.end_ms) : Value::Null()},
                   {"status", Str(status)},
                   {"reason", p.reason.empty() ? Value::Null() : Str(p.reason)},
                   {"network", Str(p.network)},
                   {"txId", Str("")},
                   {"tokenType", Str(p.token_type)},
                   {"jobCountCompletedByState", counts},
                   {"isTest", Value::Bool(true)},
                   {"workerJobs", working},
                   {"completedWorkerJobs", done}});
    if (!p.billing_mode.empty()) r.Set("billingMode", Str(p.billing_mode));
    if (p.kind == "image") {
      if (!p.size_preset.empty()) r.Set("sizePreset", Str(p.size_preset));
      r.Set("width", Int(p.width));
      r.Set("height", Int(p.height));
    } else {
      r.Set("modelType", Str(p.kind));
      if (p.kind == "video") {
        r.Set("videoFrames", Int(p.frames));
        r.Set("videoFps", Int(p.fps));
        r.Set("width", Int(p.width));
        r.Set("height", Int(p.height));
      }
    }
    if (flavor == Flavor::kV2) r.Set("finished", Value::Bool(p.finished()));
    if (flavor == Flavor::kRecovered) {
      r.Set("appId", Str(p.app_id));
      if (!p.app_source.empty()) r.Set("appSource", Str(p.app_source));
      r.Set("jobType", Str(p.kind));
      r.Set("clientRequestData", Str(Base64Encode(p.request.ToJson())));
    }
    return r;
  }

  // ---- the socket's messages ----

  void RejectJob(Conn& c, const std::string& id, const std::string& code, const std::string& message) {
    Send(c, "jobError",
          Obj({{"jobID", Str(id)}, {"error", Str(code)}, {"error_message", Str(message)},
               {"isFromWorker", Value::Bool(false)}}));
  }

  void CreateLocked(Conn& c, const Value& req) {
    const Value* idv = req.is_object() ? req.Find("jobID") : nullptr;
    if (!idv || !idv->is_string() || idv->as_string().empty()) return;  // nothing to answer to
    const std::string id = Upper(idv->as_string());
    if (auto it = projects.find(id); it != projects.end()) {
      // A resend of a request that already arrived runs nothing twice.
      if (it->second->owner != c.owner) RejectJob(c, id, "duplicateJobID", "A project with this jobID already exists");
      return;
    }
    const Value* kfs = req.Find("keyFrames");
    const Value* kf = kfs && kfs->is_array() && kfs->size() > 0 ? &kfs->items()[0] : nullptr;
    if (!kf || !kf->is_object()) return RejectJob(c, id, "invalidJobRequest", "jobRequest needs keyFrames[0]");
    const Value* model_id = kf->Find("modelID");
    const ModelInfo* model = model_id && model_id->is_string() ? FindModel(model_id->as_string()) : nullptr;
    if (!model)
      return RejectJob(c, id, "invalidModel",
                       "Model " + (model_id && model_id->is_string() ? model_id->as_string() : std::string("(none)")) +
                           " is not available on this network");
    double count = Num(req.Find("numberOfImages"), 1);
    if (count < 1 || count > kMaxMedia || count != static_cast<int>(count))
      return RejectJob(c, id, "invalidJobRequest",
                       "numberOfImages must be a whole number from 1 to " + std::to_string(kMaxMedia));

    auto p = std::make_unique<ProjectRun>();
    p->id = id;
    p->sid = ++next_sid;
    p->owner = c.owner;
    p->app_id = c.app_id;
    p->key = c.key;
    p->request = req;
    p->model = model;
    p->kind = model->media;
    auto str = [&](const Value* v, const std::string& fallback) {
      return v && v->is_string() && !v->as_string().empty() ? v->as_string() : fallback;
    };
    p->app_source = str(req.Find("appSource"), "");
    p->network = str(req.Find("network"), c.network);
    p->token_type = str(req.Find("tokenType"), "spark");
    p->billing_mode = str(req.Find("billingMode"), "");
    p->worker = std::string("sandbox-worker-") + (p->kind == "image" ? "a" : p->kind == "video" ? "v" : "m");
    double steps = Num(kf->Find("steps"), TierDefault(*model, "steps", 4));
    p->steps = std::clamp(static_cast<int>(steps), 1, kMaxSteps);
    p->previews = p->kind == "image" ? std::max(0, static_cast<int>(Num(req.Find("previews"), 0))) : 0;
    std::string requested = str(req.Find("outputFormat"), "");
    if (p->kind == "image") {
      p->width = static_cast<int>(Num(kf->Find("width"), 0));
      p->height = static_cast<int>(Num(kf->Find("height"), 0));
      if (p->width <= 0 || p->height <= 0)
        p->width = p->height = static_cast<int>(TierDefault(*model, "defaultSize", 1024));
      p->size_preset = str(kf->Find("sizePreset"), "");
      bool jpeg = requested == "jpg" || requested == "jpeg";
      p->format = jpeg ? "jpg" : "png";  // webp is not encoded here: PNG instead
      p->mime = jpeg ? "image/jpeg" : "image/png";
      p->extension = p->format;
    } else if (p->kind == "video") {
      p->width = static_cast<int>(Num(kf->Find("width"), TierDefault(*model, "width", 832)));
      p->height = static_cast<int>(Num(kf->Find("height"), TierDefault(*model, "height", 480)));
      p->fps = std::max(1, static_cast<int>(Num(kf->Find("fps"), TierDefault(*model, "fps", 16))));
      double frames = Num(kf->Find("frames"), 0);
      if (frames <= 0) {
        double duration = Num(kf->Find("duration"), 0);
        frames = duration > 0 ? duration * p->fps + 1 : TierDefault(*model, "frames", 81);
      }
      p->frames = std::max(1, static_cast<int>(frames));
      p->seconds = static_cast<double>(p->frames) / p->fps;
      p->format = "mp4";
      p->mime = "video/mp4";
      p->extension = "mp4";
    } else {
      p->seconds = Num(kf->Find("duration"), TierDefault(*model, "duration", 30));
      if (!(p->seconds > 0)) p->seconds = 30;
      p->format = "wav";  // mp3 and flac are not encoded here: WAV instead
      p->mime = "audio/wav";
      p->extension = "wav";
    }
    const Value* seed = kf->Find("seed");
    bool fixed_seed = seed && seed->is_number() && seed->as_number() >= 0;
    uint64_t base = fixed_seed ? static_cast<uint64_t>(seed->as_number()) : Mix(Fnv1a(id));
    int64_t now = NowMs();
    p->create_ms = p->update_ms = now;
    int n = static_cast<int>(count);
    for (int i = 0; i < n; ++i) {
      JobRun j;
      j.img_id = NewUuidLocked();
      j.index = i;
      j.seed = static_cast<uint32_t>(fixed_seed ? base + i : Mix(base + i));
      j.create_ms = j.update_ms = now;
      p->jobs.push_back(std::move(j));
    }
    if (world->faults().Roll("step_fail")) p->jobs.back().fails = true;

    int position = 1;
    for (const std::string& other : active) position += projects.at(other)->status == "queued";
    ProjectRun& run = *p;
    projects[id] = std::move(p);
    active.insert(id);
    EmitLocked(run, "jobState",
               Obj({{"type", Str("queued")}, {"jobID", Str(id)}, {"queuePosition", Int(position)},
                    {"estimatedStartSeconds", Value::Double(world->config().step_ms / 1000.0)},
                    {"queueStatus", Str("waiting")}}));
    run.due = Clock::now() + std::chrono::milliseconds(world->config().step_ms);
    cv.notify_all();
  }

  void CancelLocked(Conn& c, const Value& msg) {
    const Value* idv = msg.is_object() ? msg.Find("jobID") : nullptr;
    if (!idv || !idv->is_string()) return;
    const std::string id = Upper(idv->as_string());
    auto refuse = [&](const std::string& why) {
      Send(c, "artistCancelConfirmation",
            Obj({{"didCancel", Value::Bool(false)}, {"jobID", Str(id)}, {"error_message", Str(why)}}));
    };
    auto it = projects.find(id);
    if (it == projects.end() || it->second->owner != c.owner) return refuse("Project not found");
    ProjectRun& p = *it->second;
    if (p.status == "canceled") {
      return Send(c, "artistCancelConfirmation", Obj({{"didCancel", Value::Bool(true)}, {"jobID", Str(id)}}));
    }
    if (p.finished()) return refuse("Project already finished");
    int64_t now = NowMs();
    for (JobRun& j : p.jobs) {
      if (j.finished()) continue;
      if (j.status != "queued") j.end_ms = now;  // a queued job never reached a worker
      j.status = "jobError";
      j.reason = "artistCanceled";
      j.update_ms = now;
    }
    p.status = "canceled";
    p.reason = "artistCanceled";
    p.update_ms = p.end_ms = now;
    active.erase(id);
    Send(c, "artistCancelConfirmation", Obj({{"didCancel", Value::Bool(true)}, {"jobID", Str(id)}}));
  }

  // One text frame from the client. Malformed frames are ignored, as the socket server does.
  void HandleClientFrame(Conn& c, const std::string& text) {
    Result<Value> frame = ParseJson(text);
    if (!frame.ok() || !frame->is_object()) return;
    const Value* type = frame->Find("type");
    const Value* data = frame->Find("data");
    if (!type || !type->is_string()) return;
    Value payload;
    if (data && data->is_string()) {
      std::string json;
      if (!Base64Decode(data->as_string(), &json)) return;
      Result<Value> p = ParseJson(json);
      if (!p.ok()) return;
      payload = std::move(p).value();
    }
    const std::string& t = type->as_string();
    std::lock_guard<std::mutex> lock(mu);
    if (t == "jobRequest") {
      CreateLocked(c, payload);
    } else if (t == "jobError") {
      const Value* err = payload.is_object() ? payload.Find("error") : nullptr;
      if (err && err->is_string() && err->as_string() == "artistCanceled") CancelLocked(c, payload);
    } else if (t == "changeNetwork") {
      if (payload.is_string() && (payload.as_string() == "fast" || payload.as_string() == "relaxed"))
        c.network = payload.as_string();
      Send(c, "changeNetwork", Obj({{"network", Str(c.network)}}));
    } else if (t == "setSocketEventSubscriptions") {
      if (payload.is_object())
        for (const auto& m : payload.members())
          if (m.value.is_bool()) c.subscriptions.Set(m.key, m.value);
      Send(c, "socketEventSubscriptionsUpdated", Obj({{"socketEventSubscriptions", c.subscriptions}}));
    } else if (t == "llmJobRequest") {
      const Value* id = payload.is_object() ? payload.Find("jobID") : nullptr;
      Send(c, "llmJobError",
            Obj({{"jobID", id && id->is_string() ? *id : Str("")},
                 {"error", Str("llmUnavailable")},
                 {"error_message", Str("The sandbox runs no LLM workers")}}));
    }
  }

  // ---- the scheduler ----

  void AdvanceLocked(ProjectRun& p) {
    const int64_t now = NowMs();
    const int s = p.steps;
    const int phase = ++p.phase;
    p.update_ms = now;
    auto job_frame = [&](const JobRun& j, std::initializer_list<std::pair<const char*, Value>> extra) {
      Value v = Obj({{"jobID", Str(p.id)}, {"imgID", Str(j.img_id)}});
      for (const auto& [k, m] : extra) v.Set(k, m);
      return v;
    };
    if (phase == 1) {
      p.status = "processing";
      EmitLocked(p, "jobState", Obj({{"type", Str("assigned")}, {"jobID", Str(p.id)}, {"workerName", Str(p.worker)}}));
      for (JobRun& j : p.jobs) {
        j.status = "initiatingModel";
        j.start_ms = j.update_ms = now;
        EmitLocked(p, "jobState",
                   job_frame(j, {{"type", Str("initiatingModel")}, {"workerName", Str(p.worker)},
                                 {"jobIndex", Int(j.index)}}));
      }
    } else if (phase == 2) {
      for (JobRun& j : p.jobs) {
        j.status = "jobStarted";
        j.update_ms = now;
        EmitLocked(p, "jobState",
                   job_frame(j, {{"type", Str("jobStarted")}, {"workerName", Str(p.worker)},
                                 {"jobIndex", Int(j.index)}}));
      }
    } else if (phase <= 2 + s) {
      const int step = phase - 2;
      for (JobRun& j : p.jobs) {
        if (j.finished()) continue;
        j.status = "jobProgress";
        j.step = step;
        j.update_ms = now;
        EmitLocked(p, "jobProgress", job_frame(j, {{"step", Int(step)}, {"stepCount", Int(s)}}));
        if (j.fails && step == std::max(1, s / 2)) {
          j.status = "jobError";
          j.reason = "genfailure";
          j.end_ms = now;
          EmitLocked(p, "jobError",
                     job_frame(j, {{"error", Str("genfailure")},
                                   {"error_message", Str("The worker failed to generate (sandbox fault step_fail)")},
                                   {"isFromWorker", Value::Bool(true)}}));
        }
      }
    } else if (phase == 3 + s) {
      for (JobRun& j : p.jobs) {
        if (j.finished()) continue;
        ArtifactSpec spec;
        spec.kind = p.kind;
        spec.mime = p.mime;
        spec.extension = p.extension;
        spec.tool = p.model->id;
        spec.step_id = p.id;
        spec.width = p.width;
        spec.height = p.height;
        spec.seconds = p.seconds;
        spec.seed = j.seed;
        j.artifact_id = world->AddArtifact(spec);
        j.status = "jobCompleted";
        j.reason = "jobCompleted";
        j.step = s;
        j.end_ms = j.update_ms = now;
        EmitLocked(p, "jobResult",
                   job_frame(j, {{"performedStepCount", Int(s)},
                                 {"lastSeed", Str(std::to_string(j.seed))},
                                 {"resultUrl", Str(world->SignedMediaUrl(j.artifact_id))},
                                 {"triggeredNSFWFilter", Value::Bool(false)},
                                 {"userCanceled", Value::Bool(false)},
                                 {"outputFormat", Str(p.format)}}));
      }
    } else {
      bool any = std::any_of(p.jobs.begin(), p.jobs.end(), [](const JobRun& j) { return j.status == "jobCompleted"; });
      p.end_ms = now;
      if (any) {
        p.status = "completed";
        p.reason = "allJobsCompleted";
        EmitLocked(p, "jobState", Obj({{"type", Str("jobCompleted")}, {"jobID", Str(p.id)}}));
      } else {
        p.status = "failed";
        p.reason = "genfailure";
        EmitLocked(p, "jobError",
                   Obj({{"jobID", Str(p.id)}, {"error", Str("genfailure")},
                        {"error_message", Str("Every job of the project failed")},
                        {"isFromWorker", Value::Bool(true)}}));
      }
      if (!conns.count(p.key)) p.claimed = false;
      active.erase(p.id);
    }
  }

  void RunScheduler() {
    std::unique_lock<std::mutex> lock(mu);
    while (!stop) {
      const auto step = std::chrono::milliseconds(world->config().step_ms);
      auto now = Clock::now();
      auto next = now + std::chrono::hours(1);
      std::vector<std::string> due;
      for (const std::string& id : active)
        if (projects.at(id)->due <= now) due.push_back(id);
      for (const std::string& id : due) {
        ProjectRun& p = *projects.at(id);
        AdvanceLocked(p);
        p.due = now + step;
      }
      for (const std::string& id : active) next = std::min(next, projects.at(id)->due);
      if (next > Clock::now()) {
        cv.wait_until(lock, next);
      } else {  // step_ms 0: let the sockets in between rounds
        lock.unlock();
        std::this_thread::yield();
        lock.lock();
      }
    }
  }

  // ---- the socket ----

  static void CloseWith(WebSocket& ws, int code, const std::string& reason) {
    try {
      ws.shutdown(static_cast<Poco::UInt16>(code), reason);
      // Give the peer a moment to answer the close, so it sees a clean close with our code.
      Poco::Buffer<char> buf(0);
      auto until = Clock::now() + std::chrono::milliseconds(500);
      while (Clock::now() < until && ws.poll(Poco::Timespan(0, 100 * 1000), Poco::Net::Socket::SELECT_READ)) {
        buf.resize(0);
        int flags = 0;
        int n = ws.receiveFrame(buf, flags);
        if ((n == 0 && flags == 0) || (flags & WebSocket::FRAME_OP_BITMASK) == WebSocket::FRAME_OP_CLOSE) break;
      }
    } catch (const Poco::Exception&) {
    }
  }

  // Runs one socket until it ends. Only this thread writes to it.
  void Run(RouteContext& ctx, WebSocket& ws, Conn& c) {
    Faults& faults = world->faults();
    const int64_t drop_after = static_cast<int64_t>(faults.Value("socket_drop_after", 0));
    int64_t sent = 0;
    const int fd = ws.impl()->sockfd();
    Poco::Buffer<char> buf(0);
    for (;;) {
      if (ctx.stopping) return CloseWith(ws, kGoingAwayClose, "Server shutting down");
      std::deque<std::string> batch;
      bool switched;
      {
        std::lock_guard<std::mutex> lock(c.mu);
        batch.swap(c.out);
        switched = c.switched;
      }
      for (const std::string& frame : batch) {
        ws.sendFrame(frame.data(), static_cast<int>(frame.size()), WebSocket::FRAME_TEXT);
        if (drop_after > 0 && ++sent >= drop_after) {
          faults.Count("socket_drop_after");
          ::shutdown(fd, SHUT_RDWR);  // no close frame: the peer sees an abnormal close (1006)
          return;
        }
      }
      if (switched) return CloseWith(ws, kSwitchConnectionClose, "Another connection with this appId took over");

      bool readable = ws.available() > 0;
      if (!readable) {
        pollfd fds[2] = {{fd, POLLIN, 0}, {c.wake_fd, POLLIN, 0}};
        int n = ::poll(fds, 2, kPollMs);
        if (n < 0 && errno != EINTR) return;
        if (n > 0 && (fds[1].revents & POLLIN)) {
          uint64_t v;
          ssize_t r = ::read(c.wake_fd, &v, sizeof v);
          (void)r;
        }
        readable = n > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR));
      }
      if (!readable) continue;
      buf.resize(0);
      int flags = 0;
      int n = ws.receiveFrame(buf, flags);
      if (n == 0 && flags == 0) return;  // the peer went away
      switch (flags & WebSocket::FRAME_OP_BITMASK) {
        case WebSocket::FRAME_OP_CLOSE:
          ws.sendFrame(buf.begin(), n, kFin | WebSocket::FRAME_OP_CLOSE);  // echo the close
          return;
        case WebSocket::FRAME_OP_PING:
          ws.sendFrame(buf.begin(), n, kFin | WebSocket::FRAME_OP_PONG);
          break;
        case WebSocket::FRAME_OP_TEXT:
        case WebSocket::FRAME_OP_BINARY:
          HandleClientFrame(c, std::string(buf.begin(), static_cast<size_t>(n)));
          break;
        default:  // pongs and continuation frames (the SDK sends whole frames)
          break;
      }
    }
  }

  void ServeSocket(RouteContext& ctx) {
    ctx.route = "/ (websocket)";
    std::unique_ptr<WebSocket> ws;
    try {
      ws = std::make_unique<WebSocket>(ctx.req, ctx.resp);
    } catch (const Poco::Net::WebSocketException& e) {
      return SendJson(ctx, 400, ErrorBody(400, "Bad WebSocket upgrade: " + e.message()));
    }
    ctx.status = 101;
    ws->setMaxPayloadSize(kMaxFrameBytes);
    ws->setReceiveTimeout(Poco::Timespan(10, 0));  // a frame half sent is given up after this
    ws->setSendTimeout(Poco::Timespan(10, 0));
    if (ctx.caller.owner.empty()) {
      ctx.status = 401;  // counted as refused; the peer sees close code 4021
      return CloseWith(*ws, kAuthErrorClose, "Authentication error: missing or invalid api-key");
    }
    auto c = std::make_shared<Conn>();
    c->owner = ctx.caller.owner;
    c->app_id = Q(ctx, "appId");
    c->username = Username(c->owner);
    c->address = WalletAddress(c->owner);
    c->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (c->wake_fd < 0) return CloseWith(*ws, 1011, "Server error");
    if (std::string f = Q(ctx, "forceWorkerId"); f == "fast" || f == "relaxed") c->network = f;
    {
      std::lock_guard<std::mutex> lock(mu);
      // Sockets without an appId are on their own; one with the appId of an open socket takes over.
      c->key = c->owner + "\n" + (c->app_id.empty() ? "#" + std::to_string(++conn_counter) : c->app_id);
      if (auto it = conns.find(c->key); it != conns.end()) {
        {
          std::lock_guard<std::mutex> old_lock(it->second->mu);
          it->second->switched = true;
        }
        it->second->Wake();
      }
      conns[c->key] = c;
      Send(*c, "authenticated", AuthenticatedLocked(*c));
      Send(*c, "swarmModels", SwarmModels());
    }
    try {
      Run(ctx, *ws, *c);
    } catch (const Poco::Exception&) {
      // The peer went away mid-frame or a send timed out.
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      if (auto it = conns.find(c->key); it != conns.end() && it->second == c) conns.erase(it);
    }
    ::close(c->wake_fd);
  }

  // ---- REST ----

  bool RequireAuth(RouteContext& ctx) {
    if (!ctx.caller.owner.empty()) return true;
    SendJson(ctx, 401, ErrorBody(401, "Unauthorized"));
    return false;
  }

  void GetProject(RouteContext& ctx, const std::string& raw_id, bool v2) {
    ctx.route = v2 ? "/v2/projects/:id" : "/v1/projects/:id";
    if (!RequireAuth(ctx)) return;
    Value record;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = projects.find(Upper(raw_id));
      // v1 stores a project only once it finished; v2 is the owner's live lookup.
      if (it != projects.end() && it->second->owner == ctx.caller.owner && (v2 || it->second->finished()))
        record = RecordLocked(*it->second, v2 ? Flavor::kV2 : Flavor::kV1);
    }
    if (record.is_null()) return SendJson(ctx, 404, ErrorBody(404, "Project not found"));
    SendJson(ctx, 200, Envelope(Obj({{"project", record}})));
  }

  // The download-URL routes when jobId names a project; false leaves them to the upload routes.
  bool DownloadUrl(RouteContext& ctx, const std::vector<std::string>& seg) {
    const std::string type = Q(ctx, "type");
    if (type != "complete" && type != "preview") return false;
    const std::string project_id = Upper(Q(ctx, "jobId"));
    std::string artifact, error;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = projects.find(project_id);
      if (it == projects.end()) return false;
      if (it->second->owner != ctx.caller.owner) {
        error = "Project not found";
      } else {
        std::string sub = Upper(Q(ctx, seg[1] == "image" ? "imageId" : "id"));
        if (sub.empty()) sub = Upper(Q(ctx, seg[1] == "image" ? "id" : "imageId"));
        for (const JobRun& j : it->second->jobs)
          if (j.img_id == sub) artifact = j.artifact_id;
        if (type == "preview") error = "No preview for that job (the sandbox renders none)";
        else if (!Q(ctx, "artifact").empty()) error = "No " + Q(ctx, "artifact") + " for that job";
        else if (artifact.empty()) error = "No result for that jobId and id";
      }
    }
    ctx.route = "/" + seg[0] + "/" + seg[1] + "/downloadUrl";
    if (!RequireAuth(ctx)) return true;
    if (!error.empty()) {
      SendJson(ctx, 404, ErrorBody(404, error));
      return true;
    }
    SendJson(ctx, 200, Envelope(Obj({{"downloadUrl", Str(world->SignedMediaUrl(artifact))}})));
    return true;
  }

  void Sync(RouteContext& ctx) {
    ctx.route = "/api/v1/artist/projects/sync";
    if (!RequireAuth(ctx)) return;
    const std::string app_id = Q(ctx, "appId");
    Value active_list = Value::Array(), unclaimed = Value::Array();
    {
      std::lock_guard<std::mutex> lock(mu);
      int64_t now = NowMs();
      for (const auto& [id, p] : projects) {
        if (p->owner != ctx.caller.owner || (!app_id.empty() && p->app_id != app_id)) continue;
        if (!p->finished())
          active_list.Append(RecordLocked(*p, Flavor::kRecovered));
        else if (!p->claimed && now - p->end_ms < kUnclaimedHoldMs)
          unclaimed.Append(RecordLocked(*p, Flavor::kRecovered));  // read-only: not consumed
      }
    }
    SendJson(ctx, 200,
             Obj({{"activeProjects", active_list}, {"unclaimedCompletedProjects", unclaimed},
                  {"serverTime", Int(NowMs())}}));
  }

  void Active(RouteContext& ctx) {
    ctx.route = "/api/v1/artist/projects/active";
    if (!RequireAuth(ctx)) return;
    Value list = Value::Array();
    {
      std::lock_guard<std::mutex> lock(mu);
      for (const std::string& id : active) {
        const ProjectRun& p = *projects.at(id);
        if (p.owner == ctx.caller.owner)
          list.Append(Obj({{"id", Str(p.id)}, {"status", Str(p.status == "queued" ? "queued" : "progress")},
                           {"appId", Str(p.app_id)}}));
      }
    }
    SendJson(ctx, 200, Obj({{"projects", list}}));
  }

  void ModelsList(RouteContext& ctx) {
    ctx.route = "/api/v1/models/list";
    Value list = Value::Array();
    for (const ModelInfo& m : kModels)
      list.Append(Obj({{"id", Str(m.id)}, {"name", Str(m.name)}, {"SID", Int(m.sid)}, {"tier", Str(m.tier)},
                       {"media", Str(m.media)}}));
    SendJson(ctx, 200, list);
  }

  void Reset() {
    std::lock_guard<std::mutex> lock(mu);
    projects.clear();
    active.clear();
  }
};

ProjectsHub::ProjectsHub(World* world) : impl_(std::make_unique<Impl>(world)) {
  Impl* raw = impl_.get();
  impl_->scheduler = std::thread([raw] { raw->RunScheduler(); });
}

ProjectsHub::~ProjectsHub() { Stop(); }

void ProjectsHub::Stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  if (impl_->scheduler.joinable()) impl_->scheduler.join();
}

bool ProjectsHub::Route(RouteContext& ctx) {
  if (Poco::icompare(ctx.req.get("Upgrade", ""), "websocket") == 0) {
    impl_->ServeSocket(ctx);
    return true;
  }
  const PathMatch path(ctx.path);
  const std::vector<std::string>& seg = path.seg;
  const std::string& m = ctx.method;
  auto is = [&](std::initializer_list<const char*> parts) { return path.Is(parts); };
  if (is({"_sandbox", "reset"}) && m == "POST") {
    impl_->Reset();
    return false;  // routes.cc answers it
  }
  if (m != "GET") return false;
  if (is({"v1", "projects", "*"}) || is({"v2", "projects", "*"})) {
    impl_->GetProject(ctx, seg[2], seg[0] == "v2");
    return true;
  }
  if (seg.size() == 3 && (seg[0] == "v1" || seg[0] == "v2") && (seg[1] == "image" || seg[1] == "media") &&
      seg[2] == "downloadUrl")
    return impl_->DownloadUrl(ctx, seg);
  if (is({"api", "v1", "models", "list"})) {
    impl_->ModelsList(ctx);
    return true;
  }
  if (is({"api", "v2", "models", "tiers"})) {
    ctx.route = "/api/v2/models/tiers";
    SendJson(ctx, 200, impl_->tiers);
    return true;
  }
  if (is({"api", "v1", "status", "network", "*", "models"})) {
    ctx.route = "/api/v1/status/network/:network/models";
    Value v = Value::Object();
    for (const ModelInfo& model : kModels) v.Set(std::to_string(model.sid), Int(model.workers));
    SendJson(ctx, 200, v);
    return true;
  }
  if (is({"v1", "subscriptions", "status"})) {
    ctx.route = "/v1/subscriptions/status";
    if (!impl_->RequireAuth(ctx)) return true;
    SendJson(ctx, 200,
             Envelope(Obj({{"subscription", Obj({{"active", Value::Bool(false)}, {"status", Str("none")}})}})));
    return true;
  }
  if (is({"api", "v1", "artist", "projects", "sync"})) {
    impl_->Sync(ctx);
    return true;
  }
  if (is({"api", "v1", "artist", "projects", "active"})) {
    impl_->Active(ctx);
    return true;
  }
  return false;
}

}  // namespace sflow
