// Implementation details: a hand-written router over path segments (the API has a dozen shapes;
// a table of regexes would say less). JSON bodies are parsed with engine/json.h; a body that is not
// JSON is a 400 in the API's error envelope.
#include "sandbox/routes.h"

#include <cmath>
#include <limits>
#include <sstream>

#include <Poco/StreamCopier.h>

#include "engine/json.h"
#include "sandbox/project_wire.h"
#include "sandbox/projects.h"

namespace sflow {

namespace {

using hub::ErrorBody;  // the API's error envelope (sandbox/project_wire.h)

// The query parameter `key`, or "".
std::string QueryText(const RouteContext& ctx, const std::string& key) {
  auto it = ctx.query.find(key);
  return it == ctx.query.end() ? "" : it->second;
}

void Send(RouteContext& ctx, const Reply& r) {
  if (!r.raw_body.empty()) return SendJsonText(ctx, r.status, r.raw_body, r.headers);
  SendJson(ctx, r.status, r.body, r.headers);
}

// The request body as JSON; an empty body is null. False (with a 400 sent) when malformed.
bool ReadJsonBody(RouteContext& ctx, Value* out) {
  std::string text;
  Poco::StreamCopier::copyToString(ctx.body(), text);
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    *out = Value();
    return true;
  }
  Result<Value> v = ParseJson(text);
  if (!v.ok()) {
    SendJson(ctx, 400, ErrorBody(400, "Request body is not valid JSON: " + v.status().message()));
    return false;
  }
  *out = std::move(v).value();
  return true;
}

int64_t QueryInt(const RouteContext& ctx, const std::string& key, int64_t fallback) {
  auto it = ctx.query.find(key);
  if (it == ctx.query.end() || it->second.empty()) return fallback;
  char* end = nullptr;
  long long v = std::strtoll(it->second.c_str(), &end, 10);
  return *end == '\0' ? v : fallback;
}

std::string Header(const RouteContext& ctx, const std::string& name) {
  return ctx.req.has(name) ? ctx.req.get(name) : "";
}

std::string Idempotency(const RouteContext& ctx) {
  std::string k = Header(ctx, "Idempotency-Key");
  return k.empty() ? Header(ctx, "X-Idempotency-Key") : k;
}

bool RequireAuth(RouteContext& ctx) {
  if (!ctx.caller.owner.empty()) return true;
  SendJson(ctx, 401, ErrorBody(401, "Unauthorized"));
  return false;
}

void Account(RouteContext& ctx) {
  Value me = Value::Object();
  me.Set("currentEmail", Value::String("sandbox@example.invalid"));
  me.Set("discord2FA", Value::Bool(false));
  me.Set("discordLinked", Value::Bool(false));
  me.Set("discordServerMember", Value::Bool(false));
  me.Set("discordUsername", Value::String(""));
  me.Set("emailVerified", Value::Bool(true));
  me.Set("requestedUpdatedEmail", Value::String(""));
  me.Set("username", Value::String("sandbox-" + ctx.caller.owner.substr(5, 8)));
  me.Set("walletAddress", Value::String("0x" + std::string(24, '0') + ctx.caller.owner.substr(5, 16)));
  Value body = Value::Object();
  body.Set("status", Value::String("success"));
  body.Set("data", me);
  SendJson(ctx, 200, body);
}

// Upload and download URL routes (v2 presigned POST, v1 PUT) and their download twins.
void MediaUrl(RouteContext& ctx, const std::vector<std::string>& seg) {
  const std::string version = seg[0], family = seg[1], what = seg[2];
  std::string job = QueryText(ctx, "jobId"), type = QueryText(ctx, "type"), content_type = QueryText(ctx, "contentType");
  std::string sub = family == "image" ? QueryText(ctx, "imageId") : QueryText(ctx, "id");
  if (job.empty() || type.empty()) return SendJson(ctx, 400, ErrorBody(400, "jobId and type are required"));
  std::string key = family + "|" + job + "|" + type + "|" + sub;
  Value data = Value::Object();
  if (what == "uploadUrl") {
    std::string token = ctx.world.NewUploadSlot(ctx.caller.owner, key, content_type);
    std::string url = ctx.world.base_url() + "/_sandbox/upload/" + token;
    if (version == "v2") {
      Value fields = Value::Object();
      fields.Set("key", Value::String("uploads/" + job + "/" + type + (sub.empty() ? "" : "/" + sub)));
      if (!content_type.empty()) fields.Set("Content-Type", Value::String(content_type));
      fields.Set("policy", Value::String("c2FuZGJveC1wb2xpY3k="));
      fields.Set("x-amz-algorithm", Value::String("AWS4-HMAC-SHA256"));
      fields.Set("x-amz-credential", Value::String("SANDBOX/20261123/us-east-1/s3/aws4_request"));
      fields.Set("x-amz-date", Value::String("20261123T000000Z"));
      fields.Set("x-amz-signature", Value::String(token.substr(5)));
      data.Set("url", Value::String(url));
      data.Set("fields", fields);
      data.Set("maxSizeBytes", Value::Int(100000000));
      Value allowed = Value::Array();
      for (const char* t : family == "image" ? std::vector<const char*>{"image/png", "image/jpeg", "image/jpg", "image/webp", "image/gif"}
                                               : std::vector<const char*>{"audio/mpeg", "audio/wav", "audio/mp4", "video/mp4", "video/quicktime"})
        allowed.Append(Value::String(t));
      data.Set("allowedContentTypes", allowed);
    } else {
      data.Set("uploadUrl", Value::String(url));
    }
  } else {
    std::string object = ctx.world.ObjectForKey(ctx.caller.owner, key);
    if (object.empty()) return SendJson(ctx, 404, ErrorBody(404, "No media uploaded for that jobId and type"));
    data.Set("downloadUrl", Value::String(ctx.world.SignedMediaUrl(object)));
  }
  Value body = Value::Object();
  body.Set("status", Value::String("success"));
  body.Set("data", data);
  SendJson(ctx, 200, body);
}

}  // namespace

PathMatch::PathMatch(const std::string& path) {
  std::stringstream in(path);
  for (std::string s; std::getline(in, s, '/');)
    if (!s.empty()) seg.push_back(s);
}

bool PathMatch::Is(std::initializer_list<const char*> parts) const {
  if (seg.size() != parts.size()) return false;
  size_t i = 0;
  for (const char* p : parts) {
    if (std::string(p) != "*" && seg[i] != p) return false;
    ++i;
  }
  return true;
}

bool IsPresignedRoute(const std::string& path) {
  return path.rfind("/_sandbox/upload/", 0) == 0 || path.rfind("/_sandbox/media/", 0) == 0;
}

void SendJson(RouteContext& ctx, int status, const Value& body, const std::map<std::string, std::string>& headers) {
  SendJsonText(ctx, status, body.ToJson(), headers);
}

void SendJsonText(RouteContext& ctx, int status, const std::string& text,
                  const std::map<std::string, std::string>& headers) {
  // Read whatever of the request body is left (an early 401, a fault): answering before the
  // client has sent it all makes it see a reset connection instead of the answer.
  ctx.body().ignore(std::numeric_limits<std::streamsize>::max());
  ctx.status = status;
  ctx.resp.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
  ctx.resp.setContentType("application/json");
  for (const auto& [k, v] : headers) ctx.resp.set(k, v);
  ctx.resp.setContentLength(static_cast<std::streamsize>(text.size()));
  ctx.resp.sendBuffer(text.data(), text.size());
}

void SendRateLimited(RouteContext& ctx, int retry_after) {
  Value body = ErrorBody(429, "Too many requests; retry after " + std::to_string(retry_after) + " s");
  body.Set("retryAfter", Value::Int(retry_after));
  SendJson(ctx, 429, body, {{"Retry-After", std::to_string(retry_after)}});
}

void RouteRequest(RouteContext& ctx) {
  // The projects socket and its REST reads (projects.h) go first: the upgrade may be on any path.
  if (ctx.projects && ctx.projects->Route(ctx)) return;
  const PathMatch path(ctx.path);
  const std::vector<std::string>& seg = path.seg;
  const std::string& m = ctx.method;
  auto is = [&](std::initializer_list<const char*> parts) { return path.Is(parts); };
  Value body;

  // Admin and presigned routes: no API key.
  if (is({"_sandbox", "stats"}) && m == "GET") {
    // Admin answers are bare JSON, for tooling (no API envelope).
    ctx.route = "/_sandbox/stats";
    Value stats = ctx.world.Stats();
    if (ctx.projects) {
      ctx.projects->AddStats(&stats);
      stats.Set("projects", ctx.projects->Stats());
    }
    return SendJson(ctx, 200, stats);
  }
  if (is({"_sandbox", "reset"}) && m == "POST") {
    ctx.route = "/_sandbox/reset";
    ctx.world.Reset();
    Value b = Value::Object();
    b.Set("reset", Value::Bool(true));
    return SendJson(ctx, 200, b);
  }
  if (is({"_sandbox", "forget", "*"}) && m == "POST") {
    ctx.route = "/_sandbox/forget/:id";
    return Send(ctx, ctx.world.Forget(seg[2]));
  }
  if (is({"_sandbox", "events", "*"}) && m == "GET") {
    ctx.route = "/_sandbox/events/:id";
    return Send(ctx, ctx.world.AuthoritativeEvents(seg[2]));
  }
  if (is({"_sandbox", "media", "*"}) && (m == "GET" || m == "HEAD")) {
    ctx.route = "/_sandbox/media/:id";
    return ServeMedia(ctx, seg[2]);
  }
  if (is({"_sandbox", "upload", "*"}) && (m == "POST" || m == "PUT")) {
    ctx.route = "/_sandbox/upload/:token";
    return ReceiveUpload(ctx, seg[2]);
  }
  // The socket host's estimates and size presets answer without a key (project_estimates.cc).
  if (ServeProjectEstimates(ctx)) return;

  if (is({"v1", "account", "me"}) && m == "GET") {
    ctx.route = "/v1/account/me";
    if (!RequireAuth(ctx)) return;
    return Account(ctx);
  }
  if (seg.size() == 3 && (seg[0] == "v1" || seg[0] == "v2") && (seg[1] == "image" || seg[1] == "media") &&
      (seg[2] == "uploadUrl" || seg[2] == "downloadUrl") && m == "GET") {
    ctx.route = "/" + seg[0] + "/" + seg[1] + "/" + seg[2];
    if (!RequireAuth(ctx)) return;
    return MediaUrl(ctx, seg);
  }

  if (seg.size() >= 3 && seg[0] == "v1" && seg[1] == "creative-agent" && seg[2] == "workflows") {
    // Templates first: "templates" would otherwise read as a workflow id.
    if (is({"v1", "creative-agent", "workflows", "templates"})) {
      ctx.route = "/v1/creative-agent/workflows/templates";
      if (!RequireAuth(ctx)) return;
      if (m == "GET") return Send(ctx, ctx.world.ListTemplates(ctx.caller, QueryText(ctx, "visibility"), QueryInt(ctx, "offset", 0), QueryInt(ctx, "limit", 50)));
      if (m == "POST") return ReadJsonBody(ctx, &body) ? Send(ctx, ctx.world.CreateTemplate(ctx.caller, body)) : void();
    }
    if (is({"v1", "creative-agent", "workflows", "templates", "*"})) {
      ctx.route = "/v1/creative-agent/workflows/templates/:id";
      if (!RequireAuth(ctx)) return;
      if (m == "GET") return Send(ctx, ctx.world.GetTemplate(ctx.caller, seg[4]));
      if (m == "PATCH" || m == "PUT") return ReadJsonBody(ctx, &body) ? Send(ctx, ctx.world.UpdateTemplate(ctx.caller, seg[4], body)) : void();
      if (m == "DELETE") return Send(ctx, ctx.world.DeleteTemplate(ctx.caller, seg[4]));
    }
    if (is({"v1", "creative-agent", "workflows", "templates", "*", "fork"}) && m == "POST") {
      ctx.route = "/v1/creative-agent/workflows/templates/:id/fork";
      if (!RequireAuth(ctx)) return;
      return ReadJsonBody(ctx, &body) ? Send(ctx, ctx.world.ForkTemplate(ctx.caller, seg[4], body)) : void();
    }
    if (is({"v1", "creative-agent", "workflows"})) {
      ctx.route = "/v1/creative-agent/workflows";
      if (!RequireAuth(ctx)) return;
      if (m == "GET") return Send(ctx, ctx.world.ListWorkflows(ctx.caller, QueryInt(ctx, "limit", 20), QueryInt(ctx, "offset", 0)));
      if (m == "POST") return ReadJsonBody(ctx, &body) ? Send(ctx, ctx.world.StartWorkflow(ctx.caller, body, Idempotency(ctx))) : void();
    }
    if (is({"v1", "creative-agent", "workflows", "*"}) && m == "GET") {
      ctx.route = "/v1/creative-agent/workflows/:id";
      if (!RequireAuth(ctx)) return;
      return Send(ctx, ctx.world.GetWorkflow(ctx.caller, seg[3]));
    }
    if (is({"v1", "creative-agent", "workflows", "*", "events"}) && m == "GET") {
      ctx.route = "/v1/creative-agent/workflows/:id/events";
      if (!RequireAuth(ctx)) return;
      return Send(ctx, ctx.world.GetEvents(ctx.caller, seg[3], QueryInt(ctx, "after", 0)));
    }
    if (is({"v1", "creative-agent", "workflows", "*", "events", "stream"}) && m == "GET") {
      ctx.route = "/v1/creative-agent/workflows/:id/events/stream";
      if (!RequireAuth(ctx)) return;
      return StreamEvents(ctx, seg[3]);
    }
    if (seg.size() == 5 && m == "POST") {
      const std::string& action = seg[4];
      ctx.route = "/v1/creative-agent/workflows/:id/" + action;
      if (action == "resume" || action == "reseed" || action == "cancel" || action == "confirm-cost") {
        if (!RequireAuth(ctx)) return;
        if (!ReadJsonBody(ctx, &body)) return;
        if (action == "resume") return Send(ctx, ctx.world.ResumeWorkflow(ctx.caller, seg[3], body));
        if (action == "reseed") return Send(ctx, ctx.world.ReseedWorkflow(ctx.caller, seg[3], body, Idempotency(ctx)));
        if (action == "cancel") return Send(ctx, ctx.world.CancelWorkflow(ctx.caller, seg[3]));
        return Send(ctx, ctx.world.ConfirmCost(ctx.caller, seg[3], body, Idempotency(ctx)));
      }
    }
  }
  ctx.route = ctx.route.empty() ? "(unknown)" : ctx.route;
  if (!ctx.route.empty() && ctx.route != "(unknown)")
    return SendJson(ctx, 405, ErrorBody(405, "Method " + m + " is not allowed on " + ctx.path));
  SendJson(ctx, 404, ErrorBody(404, "Not found: " + m + " " + ctx.path));
}

}  // namespace sflow
