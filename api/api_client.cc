// The client's core (headers, retries, envelopes, redaction) and the workflow routes. Templates,
// account and media routes are in api_client_resources.cc.
#include "api/api_client.h"

#include <algorithm>
#include <cmath>

#include "api/api_client_call.h"
#include "api/http_url.h"
#include "engine/json.h"
#include "engine/random.h"

namespace sflow {

using api_internal::Invalid;
using api_internal::SetIf;
using api_internal::AddQuery;
using api_internal::NextOffset;
using api_internal::LocalError;

namespace {

constexpr char kWorkflows[] = "/v1/creative-agent/workflows";

Status CheckMediaReferences(const Value& refs) {
  if (refs.is_null()) return Status::OK();
  if (!refs.is_array()) return Invalid("media_references must be a list");
  std::vector<std::string> bad;
  for (size_t i = 0; i < refs.items().size(); ++i) {
    const Value& r = refs.items()[i];
    const Value* url = r.is_object() ? r.Find("url") : nullptr;
    std::string where = "mediaReferences[" + std::to_string(i) + "]";
    if (r.is_object() && (r.Find("dataUri") || r.Find("data_uri"))) bad.push_back(where + ".dataUri");
    if (!url || !url->is_string() ||
        (url->as_string().rfind("https://", 0) != 0 && url->as_string().rfind("http://", 0) != 0))
      bad.push_back(where + ".url");
  }
  if (bad.empty()) return Status::OK();
  std::string list;
  for (const std::string& b : bad) list += (list.empty() ? "" : ", ") + b;
  return Invalid("Durable creative workflows do not support inline base64/data URI media. Upload media first and "
                 "pass HTTP(S) URLs instead. Offending field(s): " + list);
}
// The machine-readable reason of an error answer, for the decisions the run driver makes:
//   "active_workflow_limit"  409 with details {activeWorkflows, limit}: the account's cap of
//                            concurrent workflows (wait for a slot, then send again);
//   "not_found"              404/410.
std::string ReasonOf(const ApiError& e) {
  if (e.http_status == 409 && e.details.is_object() && (e.details.Find("limit") || e.details.Find("activeWorkflows")))
    return "active_workflow_limit";
  if (e.http_status == 409 && e.message.find("Too many active workflows") != std::string::npos)
    return "active_workflow_limit";
  if (e.http_status == 404 || e.http_status == 410) return "not_found";
  return "";
}

Status CheckIdempotencyKey(const std::string& key) {
  if (key.empty()) return Status::Internal("a paid request needs an idempotency key");
  if (key.size() > 255) return Status::Internal("idempotency key longer than 255 characters");
  for (char c : key)
    if (c < 0x21 || c > 0x7e) return Status::Internal("idempotency key has a character outside visible ASCII");
  return Status::OK();
}
}  // namespace

ApiClient::ApiClient(HttpTransport* transport, ApiClientOptions options, RetryClock* clock)
    : transport_(transport), options_(std::move(options)), clock_(clock ? clock : RetryClock::Real()),
      seeds_(options_.retry.seed ? *options_.retry.seed : RandomU64()) {
  while (!options_.base_url.empty() && options_.base_url.back() == '/') options_.base_url.pop_back();
}

std::string ApiClient::Redact(std::string text) const {
  const std::string& k = options_.api_key;
  if (k.empty()) return text;
  for (size_t at = text.find(k); at != std::string::npos; at = text.find(k, at + 3)) text.replace(at, k.size(), "***");
  return text;
}

ApiError ApiClient::last_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = last_errors_.find(std::this_thread::get_id());
  return it == last_errors_.end() ? ApiError() : it->second;
}

HttpRequest ApiClient::Build(const std::string& method, const std::string& path_and_query, const Value* body,
                             const std::string& idempotency_key, const std::string* raw_body) const {
  HttpRequest r;
  r.method = method;
  r.url = options_.base_url + path_and_query;
  if (!options_.api_key.empty()) {
    r.headers.emplace_back("Authorization", "Bearer " + options_.api_key);
    r.headers.emplace_back("api-key", options_.api_key);
  }
  r.headers.emplace_back("Accept", "application/json");
  if (!options_.app_source.empty()) r.headers.emplace_back("X-App-Source", options_.app_source);
  if (!idempotency_key.empty()) r.headers.emplace_back("Idempotency-Key", idempotency_key);
  if (body || raw_body) {
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = raw_body ? *raw_body : body->ToJson();
  }
  return r;
}

Status ApiClient::Fail(const Call& call, ApiError error, const Status& base) {
  error.message = Redact(std::move(error.message));
  if (!error.details.is_null()) {
    std::string json = error.details.ToJson();
    std::string clean = Redact(json);
    if (clean != json) {
      Result<Value> reparsed = ParseJson(clean);
      error.details = reparsed.ok() ? std::move(reparsed).value() : Value::String("***");
    }
  }
  std::string msg = call.method + " " + call.path + ": " + Redact(base.message());
  Status out = Status::Error(base.code(), Redact(msg)).WithHttp(error.http_status, ReasonOf(error));
  std::lock_guard<std::mutex> lock(mu_);
  last_errors_[std::this_thread::get_id()] = std::move(error);
  return out;
}

Result<Value> ApiClient::Run(const Call& call) {
  HttpRequest request = Build(call.method, call.path + call.query, call.body, call.idempotency_key, call.raw_body);
  if (call.socket_host) {
    std::string base = options_.socket_base_url.empty() ? options_.base_url : options_.socket_base_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    request.url = base + call.path + call.query;
  }
  RetryOptions retry = options_.retry;
  {
    std::lock_guard<std::mutex> lock(mu_);
    retry.seed = seeds_();
  }
  RetryPolicy policy(retry, clock_);
  int attempts = 0;
  Result<HttpResponse> r = policy.Execute(*transport_, request, &attempts);
  ApiError error;
  error.attempts = attempts;
  if (!r.ok()) {
    error.message = r.status().message();
    return Fail(call, std::move(error), r.status());
  }
  if (r->status == 204 && call.key.empty()) return Value::Object();  // nothing promised, nothing sent
  if (r->status >= 200 && r->status < 300) {
    Result<Value> data = call.socket_host ? (call.any_json ? ParseBareJson(*r) : ParseBareObject(*r))
                                          : ParseSuccessEnvelope(*r, call.key, call.kind, call.allow_bare);
    if (data.ok()) return data;
    error.http_status = r->status;
    error.message = data.status().message();
    return Fail(call, std::move(error), data.status());
  }
  error = ParseErrorAnswer(*r);
  error.attempts = attempts;
  std::string text = "HTTP " + std::to_string(r->status) + ": " + error.message;
  if (r->status >= 300 && r->status < 400) text += " (redirect not followed)";
  if (error.error_code != 0 && error.error_code != r->status) text += " (errorCode " + std::to_string(error.error_code) + ")";
  if (!error.details.is_null()) text += "; details " + CollapseWhitespace(error.details.ToJson(), 300);
  if (attempts > 1) text += " (after " + std::to_string(attempts) + " attempts)";
  return Fail(call, std::move(error), Status::Error(CodeForHttpStatus(r->status), text));
}

// --- Workflows -------------------------------------------------------------------------------

Status CheckStartBody(const Value& body) {
  if (!body.is_object()) return Invalid("the start request must be a JSON object");
  const Value* input = body.Find("input");
  const Value* workflow_id = body.Find("workflow_id");
  const Value* inputs = body.Find("inputs");
  const bool has_input = input && !input->is_null();
  const bool has_template = workflow_id && workflow_id->is_string() && !workflow_id->as_string().empty();
  if (!has_input && !has_template) return Invalid("starting a workflow requires either input or workflow_id");
  if (has_input && has_template) return Invalid("starting a workflow accepts input or workflow_id, not both");
  if (has_input && !input->is_object()) return Invalid("input must be an object");
  if (inputs && !inputs->is_null() && (!has_template || !inputs->is_object()))
    return Invalid("inputs must be an object and goes only with workflow_id");
  const Value* refs = body.Find("media_references");
  return CheckMediaReferences(refs ? *refs : Value());
}

Result<WorkflowReply> ApiClient::StartWorkflow(const StartWorkflowRequest& req, const std::string& idempotency_key) {
  Call call{"POST", kWorkflows};
  auto refuse = [&](Status s) { return Fail(call, LocalError(s.message()), s); };
  if (Status k = CheckIdempotencyKey(idempotency_key); !k.ok()) return refuse(k);
  const bool has_input = !req.input.is_null(), has_template = !req.workflow_id.empty();
  if (!has_input && !has_template) return refuse(Invalid("starting a workflow requires either input or workflow_id"));
  if (has_input && has_template) return refuse(Invalid("starting a workflow accepts input or workflow_id, not both"));
  if (has_input && !req.input.is_object()) return refuse(Invalid("input must be an object"));
  if (!req.inputs.is_null() && (!has_template || !req.inputs.is_object()))
    return refuse(Invalid("inputs must be an object and goes only with workflow_id"));
  if (Status m = CheckMediaReferences(req.media_references); !m.ok()) return refuse(m);

  Value body = Value::Object();
  if (has_input) body.Set("input", req.input);
  SetIf(&body, "workflow_id", req.workflow_id);
  if (!req.inputs.is_null()) body.Set("inputs", req.inputs);
  SetIf(&body, "token_type", req.token_type);
  SetIf(&body, "billing_mode", req.billing_mode);
  SetIf(&body, "app_source", req.app_source.empty() ? options_.app_source : req.app_source);
  if (const auto& cap = req.max_estimated_capacity_units) {
    double whole = std::trunc(*cap);
    body.Set("max_estimated_capacity_units",
             whole == *cap && std::fabs(whole) < 9e15 ? Value::Int(static_cast<int64_t>(whole)) : Value::Double(*cap));
  }
  if (req.confirm_cost) body.Set("confirm_cost", Value::Bool(*req.confirm_cost));
  if (req.safe_content_filter) body.Set("safe_content_filter", Value::Bool(*req.safe_content_filter));
  if (!req.media_references.is_null()) body.Set("media_references", req.media_references);

  call.body = &body;
  call.idempotency_key = idempotency_key;
  return RunWorkflow(std::move(call));
}

Result<WorkflowReply> ApiClient::RunWorkflow(Call call) {
  call.key = "workflow";
  Result<Value> data = Run(call);
  if (!data.ok()) return data.status();
  return WorkflowReply{*data->Find("workflow"), *data};
}

Result<Value> ApiClient::GetWorkflow(const std::string& id) {
  Result<Value> data = Run(Call{"GET", std::string(kWorkflows) + "/" + EncodeUriComponent(id), "", nullptr, "", "workflow"});
  if (!data.ok()) return data.status();
  return *data->Find("workflow");
}

Result<WorkflowPage> ApiClient::ListWorkflows(std::optional<int64_t> limit, std::optional<int64_t> offset) {
  std::string q;
  if (limit) AddQuery(&q, "limit", std::to_string(*limit));
  if (offset) AddQuery(&q, "offset", std::to_string(*offset));
  Result<Value> data = Run(Call{"GET", kWorkflows, q, nullptr, "", "workflows", Value::Kind::kArray});
  if (!data.ok()) return data.status();
  return WorkflowPage{data->Find("workflows")->items(), NextOffset(*data)};
}

Result<std::vector<Value>> ApiClient::ListEvents(const std::string& id, std::optional<int64_t> after) {
  std::string q;
  if (after) AddQuery(&q, "after", std::to_string(*after));
  Result<Value> data = Run(Call{"GET", std::string(kWorkflows) + "/" + EncodeUriComponent(id) + "/events", q, nullptr,
                                "", "events", Value::Kind::kArray});
  if (!data.ok()) return data.status();
  return data->Find("events")->items();
}

Result<WorkflowReply> ApiClient::CancelWorkflow(const std::string& id) {
  // No body, as the TypeScript SDK sends it.
  return RunWorkflow(Call{"POST", std::string(kWorkflows) + "/" + EncodeUriComponent(id) + "/cancel", "",
                                nullptr, "", "workflow"});
}

Result<WorkflowReply> ApiClient::ResumeWorkflow(const std::string& id, const ResumeRequest& req) {
  Value body = Value::Object();
  SetIf(&body, "token_type", req.token_type);
  SetIf(&body, "billing_mode", req.billing_mode);
  SetIf(&body, "app_source", req.app_source.empty() ? options_.app_source : req.app_source);
  return RunWorkflow(Call{"POST", std::string(kWorkflows) + "/" + EncodeUriComponent(id) + "/resume", "", &body,
                                "", "workflow"});
}

Result<WorkflowReply> ApiClient::ReseedWorkflow(const std::string& id, const ReseedRequest& req,
                                                const std::string& idempotency_key) {
  Call call{"POST", std::string(kWorkflows) + "/" + EncodeUriComponent(id) + "/reseed"};
  if (Status k = CheckIdempotencyKey(idempotency_key); !k.ok()) return Fail(call, LocalError(k.message()), k);
  Value body = Value::Object();
  if (!req.seed_overrides.empty()) {
    Value seeds = Value::Object();
    for (const auto& [step, seed] : req.seed_overrides) seeds.Set(step, Value::Int(seed));
    body.Set("seed_overrides", seeds);
  }
  SetIf(&body, "token_type", req.token_type);
  SetIf(&body, "billing_mode", req.billing_mode);
  SetIf(&body, "app_source", req.app_source.empty() ? options_.app_source : req.app_source);
  call.body = &body;
  call.idempotency_key = idempotency_key;
  return RunWorkflow(std::move(call));
}

Result<WorkflowReply> ApiClient::ConfirmCost(const std::string& id, const Value& body, const std::string& idempotency_key) {
  Call call{"POST", std::string(kWorkflows) + "/" + EncodeUriComponent(id) + "/confirm-cost"};
  if (Status k = CheckIdempotencyKey(idempotency_key); !k.ok()) return Fail(call, LocalError(k.message()), k);
  if (!body.is_object()) return Fail(call, LocalError("confirm-cost body must be an object"),
                                     Invalid("confirm-cost body must be an object"));
  call.body = &body;
  call.idempotency_key = idempotency_key;
  return RunWorkflow(std::move(call));
}

Result<WorkflowReply> ApiClient::SendStored(IntentKind kind, const std::string& workflow_id, const std::string& body,
                                            const std::string& idempotency_key) {
  const std::string id = EncodeUriComponent(workflow_id);
  Call call{"POST", kind == IntentKind::kStart ? std::string(kWorkflows) : std::string(kWorkflows) + "/" + id};
  switch (kind) {
    case IntentKind::kStart: break;
    case IntentKind::kReseed: call.path += "/reseed"; break;
    case IntentKind::kConfirmCost: call.path += "/confirm-cost"; break;
    case IntentKind::kCancel: call.path += "/cancel"; break;
  }
  auto refuse = [&](Status s) { return Fail(call, LocalError(s.message()), s); };
  if (kind != IntentKind::kStart && workflow_id.empty()) return refuse(Status::Internal("no workflow id to act on"));
  // The paid kinds carry their key, so the server answers a re-send with what it did the first
  // time; a cancel has none (the SDK sends none, and cancelling twice changes nothing).
  if (kind != IntentKind::kCancel) {
    if (Status k = CheckIdempotencyKey(idempotency_key); !k.ok()) return refuse(k);
    call.idempotency_key = idempotency_key;
  }
  call.raw_body = &body;
  return RunWorkflow(std::move(call));
}

HttpRequest ApiClient::EventStreamRequest(const std::string& id, std::optional<int64_t> after,
                                          const std::string& last_event_id) const {
  std::string q;
  if (after) AddQuery(&q, "after", std::to_string(*after));
  HttpRequest r = Build("GET", std::string(kWorkflows) + "/" + EncodeUriComponent(id) + "/events/stream" + q, nullptr, "");
  for (auto& [k, v] : r.headers)
    if (k == "Accept") v = "text/event-stream";
  r.headers.emplace_back("Cache-Control", "no-cache");
  if (!last_event_id.empty()) r.headers.emplace_back("Last-Event-ID", last_event_id);
  return r;
}

}  // namespace sflow
