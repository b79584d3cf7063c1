// Internal to api_client*.cc: the description of one REST call, and small helpers both halves of
// the client share. Not part of the public API.
#ifndef SFLOW_API_API_CLIENT_CALL_H_
#define SFLOW_API_API_CLIENT_CALL_H_

#include <cstdint>
#include <optional>
#include <string>

#include "api/api_client.h"
#include "api/http_url.h"

namespace sflow {

// One route call: what to send, and which member of `data` the answer must have.
struct ApiClient::Call {
  Call(std::string m, std::string p = "", std::string q = "", const Value* b = nullptr, std::string idem = "",
       std::string k = "", Value::Kind kd = Value::Kind::kObject, bool bare = false)
      : method(std::move(m)), path(std::move(p)), query(std::move(q)), body(b), idempotency_key(std::move(idem)),
        key(std::move(k)), kind(kd), allow_bare(bare) {}
  std::string method;
  std::string path;   // for the request and messages
  std::string query;  // "?..." or "", sent but never quoted in messages
  const Value* body = nullptr;
  const std::string* raw_body = nullptr;  // JSON text sent byte for byte (a stored intent's body)
  std::string idempotency_key;
  std::string key;  // the data member the route promises; "" for none
  Value::Kind kind = Value::Kind::kObject;
  bool allow_bare = false;
  // A route of the projects socket host: sent to socket_base_url, and its answer is the body
  // itself (a JSON object, no envelope), as the SDK's socket.get reads it.
  bool socket_host = false;
  bool any_json = false;  // socket host: any JSON value (the model list is an array)
};

namespace api_internal {

inline Status Invalid(std::string m) { return Status::InvalidPlan(std::move(m)); }

inline void SetIf(Value* body, const char* key, const std::string& v) {
  if (!v.empty()) body->Set(key, Value::String(v));
}

inline void AddQuery(std::string* q, const char* key, const std::string& value) {
  if (value.empty()) return;
  q->append(q->empty() ? "?" : "&").append(key).append("=").append(EncodeUriComponent(value));
}

inline std::optional<int64_t> NextOffset(const Value& data) {
  const Value* next = data.Find("next");
  if (next && next->is_int()) return next->as_int();
  return std::nullopt;
}

inline ApiError LocalError(std::string message, int http_status = 0) {
  ApiError e;
  e.http_status = http_status;
  e.message = std::move(message);
  return e;
}

}  // namespace api_internal

}  // namespace sflow

#endif  // SFLOW_API_API_CLIENT_CALL_H_
