// The direct-project routes of ApiClient (api_client.h): project lookups, the recovery snapshot,
// estimates, balance, and media uploads to signed URLs, as the SDK's Projects and Account call
// them (dist/Projects/index.js, dist/Account/index.js).
#include <string_view>

#include "api/api_client.h"
#include "api/api_client_call.h"
#include "api/api_envelope.h"
#include "api/http_url.h"

namespace sflow {

using api_internal::AddQuery;
using api_internal::Invalid;
using api_internal::LocalError;

namespace {

// Characters an estimate path may hold: what encodeURIComponent leaves, the separators of a path
// and a query, and percent escapes. No "..", no "//": the path is the caller's, never a URL.
bool CleanApiPath(std::string_view p) {
  if (p.rfind("/api/", 0) != 0 || p.find("..") != std::string_view::npos || p.find("//") != std::string_view::npos)
    return false;
  for (char c : p) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("-_.!~*'()/?&=%+,:").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool Success(const HttpResponse& r) { return r.status >= 200 && r.status < 300; }

}  // namespace

Result<Value> ApiClient::GetProjectV2(const std::string& id) {
  Result<Value> data = Run(Call{"GET", "/v2/projects/" + EncodeUriComponent(id), "", nullptr, "", "project"});
  if (!data.ok()) return data.status();
  return *data->Find("project");
}

Result<Value> ApiClient::GetProjectV1(const std::string& id) {
  Result<Value> data = Run(Call{"GET", "/v1/projects/" + EncodeUriComponent(id), "", nullptr, "", "project"});
  if (!data.ok()) return data.status();
  return *data->Find("project");
}

Result<Value> ApiClient::SyncProjects(const std::string& app_id) {
  Call call{"GET", "/api/v1/artist/projects/sync"};
  call.socket_host = true;
  if (app_id.empty()) return Fail(call, LocalError("an appId is required"), Invalid("an appId is required"));
  AddQuery(&call.query, "appId", app_id);
  Result<Value> body = Run(call);
  if (!body.ok()) return body.status();
  Value out = Value::Object();
  for (const char* key : {"activeProjects", "unclaimedCompletedProjects"}) {
    const Value* list = body->Find(key);
    out.Set(key, list && list->is_array() ? *list : Value::Array());
  }
  if (const Value* t = body->Find("serverTime"); t && t->is_number()) out.Set("serverTime", *t);
  return out;
}

Result<std::vector<std::string>> ApiClient::ActiveProjects() {
  Call call{"GET", "/api/v1/artist/projects/active"};
  call.socket_host = true;
  Result<Value> body = Run(call);
  if (!body.ok()) return body.status();
  const Value* projects = body->Find("projects");
  if (!projects || !projects->is_array()) {
    Status s = MalformedAnswer(200, "the response did not include projects (a list)");
    return Fail(call, LocalError(s.message(), 200), s);
  }
  std::vector<std::string> ids;
  for (const Value& p : projects->items()) {
    const Value* id = p.is_object() ? p.Find("id") : nullptr;
    if (id && id->is_string()) ids.push_back(id->as_string());
  }
  return ids;
}

Result<Value> ApiClient::GetEstimate(const std::string& path_and_query) {
  size_t q = path_and_query.find('?');
  Call call{"GET", path_and_query.substr(0, q), q == std::string::npos ? "" : path_and_query.substr(q)};
  call.socket_host = true;
  if (!CleanApiPath(path_and_query)) {
    call.path = "(estimate)";
    Status s = Status::Internal("an estimate path must start with /api/ and hold only URL characters");
    return Fail(call, LocalError(s.message()), s);
  }
  return Run(call);
}

Result<Value> ApiClient::GetModelCatalog(const std::string& path) {
  Call call{"GET", path};
  call.socket_host = true;
  call.any_json = true;
  if (path != "/api/v1/models/list" && path != "/api/v2/models/tiers") {
    Status s = Status::Internal("not a model catalog route: " + path);
    return Fail(call, LocalError(s.message()), s);
  }
  return Run(call);
}

Result<Value> ApiClient::Balance() { return Run(Call{"GET", "/v4/account/balance"}); }

Status ApiClient::PutSignedUrl(const std::string& url, const std::string& bytes, const std::string& content_type) {
  HttpRequest put;
  put.method = "PUT";
  put.url = url;
  if (!content_type.empty()) put.headers.emplace_back("Content-Type", content_type);
  put.body = bytes;
  // No credentials: the signature in the URL is the authorisation, and the host is storage.
  Result<HttpResponse> r = transport_->Send(put);
  const std::string where = "PUT " + RedactUrl(url);
  if (!r.ok()) return Status::Error(r.status().code(), Redact(where + ": " + r.status().message()));
  if (Success(*r)) return Status::OK();
  std::string text = where + ": HTTP " + std::to_string(r->status);
  if (!r->reason.empty()) text += " " + r->reason;
  return Status::Error(CodeForHttpStatus(r->status), Redact(text)).WithHttp(r->status);
}

Status ApiClient::UploadProjectMedia(const MediaUrlQuery& query, const std::string& bytes) {
  if (query.version != 1) return Status::Internal("project media go through the v1 upload URL (a raw PUT)");
  RetryOptions retry = options_.retry;
  {
    std::lock_guard<std::mutex> lock(mu_);
    retry.seed = seeds_();
  }
  RetryPolicy policy(retry, clock_);
  const auto start = clock_->Now();
  for (int attempt = 1;; ++attempt) {
    Result<Value> data = GetUploadUrl(query);
    if (!data.ok()) return data.status();
    const std::string url = data->Find("uploadUrl")->as_string();
    Status sent = PutSignedUrl(url, bytes, query.content_type);
    if (sent.ok()) return sent;
    AttemptResult a;
    if (sent.http_status() == 0) a.transport = sent;
    a.http_status = sent.http_status();
    if (!RetryPolicy::Transient(a) || attempt >= retry.max_attempts) {
      if (attempt == 1) return sent;
      return Status::Error(sent.code(), sent.message() + " (after " + std::to_string(attempt) + " attempts)")
          .WithHttp(sent.http_status());
    }
    const std::chrono::milliseconds delay = policy.DelayBefore(attempt, a);
    if (clock_->Now() - start + delay > retry.time_budget) return sent;
    if (retry.on_retry) {
      RetryNotice n;
      n.request = "PUT " + RedactUrl(url);
      n.why = sent.http_status() ? "HTTP " + std::to_string(sent.http_status()) : sent.message();
      n.attempt = attempt;
      n.max_attempts = retry.max_attempts;
      n.delay = delay;
      retry.on_retry(n);
    }
    if (!clock_->SleepFor(delay)) return Status::Error(Status::Code::kCancelled, "interrupted while waiting to retry an upload");
  }
}

}  // namespace sflow
