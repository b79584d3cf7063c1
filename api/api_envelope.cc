#include "api/api_envelope.h"

#include <cctype>
#include <cmath>

#include "engine/json.h"

namespace sflow {

namespace {

bool LooksLikeHtml(const HttpResponse& r, std::string_view collapsed) {
  std::string type = r.Header("Content-Type");
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (type.find("text/html") != std::string::npos) return true;
  if (collapsed.empty() || collapsed.front() != '<') return false;
  std::string head(collapsed.substr(0, 15));
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return head.rfind("<!doctype", 0) == 0 || head.rfind("<html", 0) == 0 || head.rfind("<head", 0) == 0 ||
         head.rfind("<body", 0) == 0;
}

// An answer that is not the API's shape (a proxy's HTML page, a cut or garbled body) says
// nothing about the request: kUnavailable (exit 4, resumable), as for a server that did not
// answer. A paid request so answered is settled by asking again under its key or id.
Status Malformed(const HttpResponse& r, const std::string& why) { return MalformedAnswer(r.status, why); }

}  // namespace

Status::Code CodeForHttpStatus(int s) {
  switch (s) {
    case 400: case 413: case 422: return Status::Code::kInvalidPlan;
    case 401: case 402: case 403: return Status::Code::kPermission;
    case 404: case 410: return Status::Code::kNotFound;
    case 409: case 423: return Status::Code::kConflict;
    case 408: case 429: return Status::Code::kUnavailable;
    default: break;
  }
  return s >= 500 && s <= 599 ? Status::Code::kUnavailable : Status::Code::kInternal;
}

std::string CollapseWhitespace(std::string_view text, size_t max) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  if (out.size() > max) {
    size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // not mid-sequence
    out.resize(cut);
  }
  return out;
}

Status MalformedAnswer(int http_status, const std::string& why) {
  return Status::Error(Status::Code::kUnavailable, "malformed answer (HTTP " + std::to_string(http_status) + "): " + why)
      .WithHttp(http_status, "malformed_answer");
}

Result<Value> ParseSuccessEnvelope(const HttpResponse& r, std::string_view key, Value::Kind kind, bool allow_bare) {
  Result<Value> body = ParseJson(r.body);
  if (!body.ok()) return Malformed(r, "the body is not JSON (" + body.status().message() + ")");
  if (!body->is_object()) return Malformed(r, "the body is not a JSON object");
  const Value* status = body->Find("status");
  const Value* data = body->Find("data");
  Value bare;
  if (!status && !data && allow_bare) {
    bare = *body;
    data = &bare;
  } else {
    if (!status || !status->is_string() || status->as_string() != "success")
      return Malformed(r, "the envelope's status is not \"success\"");
    if (!data || !data->is_object()) return Malformed(r, "the envelope has no data object");
  }
  if (!key.empty()) {
    const Value* v = data->Find(key);
    if (!v || v->kind() != kind)
      return Malformed(r, "the response did not include data." + std::string(key) + " (" +
                              Value::KindPhrase(kind) + ")");
  }
  return *data;
}

Result<Value> ParseBareJson(const HttpResponse& r) {
  Result<Value> body = ParseJson(r.body);
  if (!body.ok()) return Malformed(r, "the body is not JSON (" + body.status().message() + ")");
  return body;
}

Result<Value> ParseBareObject(const HttpResponse& r) {
  Result<Value> body = ParseJson(r.body);
  if (!body.ok()) return Malformed(r, "the body is not JSON (" + body.status().message() + ")");
  if (!body->is_object()) return Malformed(r, "the body is not a JSON object");
  return body;
}

ApiError ParseErrorAnswer(const HttpResponse& r) {
  ApiError e;
  e.http_status = r.status;
  Result<Value> body = ParseJson(r.body);
  if (!body.ok() || !body->is_object()) {
    std::string text = CollapseWhitespace(r.body, 500);
    if (text.empty()) e.message = r.reason.empty() ? "HTTP " + std::to_string(r.status) : r.reason;
    else if (LooksLikeHtml(r, text)) e.message = r.reason + ": " + CollapseWhitespace(text, 200);
    else e.message = text;
    return e;
  }
  const Value* status = body->Find("status");
  const Value* data = body->Find("data");
  const Value& src = (status && status->is_string() && status->as_string() == "error") || !data || !data->is_object()
                         ? *body : *data;
  const Value* message = src.Find("message");
  const Value* error = src.Find("error");
  if (message && message->is_string() && !message->as_string().empty()) {
    e.message = CollapseWhitespace(message->as_string(), 500);
  } else if (error && error->is_object() && error->Find("message") && error->Find("message")->is_string()) {
    e.message = CollapseWhitespace(error->Find("message")->as_string(), 500);
  } else if (error && error->is_string()) {
    e.message = CollapseWhitespace(error->as_string(), 500);
  }
  // An empty or blank message (also error.message "") says nothing: the status line does.
  if (e.message.empty()) e.message = r.reason.empty() ? "HTTP " + std::to_string(r.status) : r.reason;
  if (const Value* code = src.Find("errorCode"); code && code->is_int()) e.error_code = code->as_int();
  if (const Value* ra = src.Find("retryAfter"); ra && ra->is_number() && std::isfinite(ra->as_number()) && ra->as_number() >= 0)
    e.retry_after = ra->as_number();
  if (const Value* d = src.Find("details")) e.details = *d;
  return e;
}

}  // namespace sflow
