// The Sogni REST envelopes, read the way the official SDK reads them (docs/api-contract.md
// sections 1 and 9), with no I/O: the success envelope {"status":"success","data":{...}} and the error
// envelope {"status":"error","message","errorCode","retryAfter"?,"details"?}, plus the SDK's
// fallbacks for answers that are not JSON.
#ifndef SFLOW_API_API_ENVELOPE_H_
#define SFLOW_API_API_ENVELOPE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/http_transport.h"
#include "engine/status.h"
#include "engine/value.h"

namespace sflow {

// The structured part of a failed API call, for messages and decisions above the client (the
// 409's active-workflow count, a 400's capacity estimate). No field ever holds the API key.
struct ApiError {
  int http_status = 0;       // 0: no answer arrived (the transport failed)
  int64_t error_code = 0;    // the envelope's errorCode; 0 when absent
  std::string message;       // the server's message, or the body text as the SDK derives it
  std::optional<double> retry_after;  // seconds, from the body
  Value details;             // the envelope's details; null when absent
  int attempts = 0;          // sends made, retries included
};

// The Status code for an HTTP error status: 400/413/422 kInvalidPlan, 401/402/403 kPermission,
// 404/410 kNotFound, 409/423 kConflict, 408/429/5xx kUnavailable, anything else kInternal.
Status::Code CodeForHttpStatus(int http_status);

// The `data` of a 2xx success envelope. With a non-empty `key`, data.<key> must exist and be of
// `kind` (kObject or kArray), as the SDK's parseEnvelope demands ("... response did not include
// data.workflow"). `allow_bare`: a body without "status" and "data" is taken as data itself
// (the SDK's templates client accepts that). Failures are MalformedAnswer (below).
Result<Value> ParseSuccessEnvelope(const HttpResponse& response, std::string_view key, Value::Kind kind,
                                   bool allow_bare = false);

// A 2xx answer of the projects socket host, whose body is the answer itself: a JSON object.
// MalformedAnswer otherwise.
// The body as any JSON value (the socket host's model list is an array).
Result<Value> ParseBareJson(const HttpResponse& r);
// "malformed answer (HTTP N): <why>", kUnavailable (exit 4, resumable; reason "malformed_answer"):
// an answer not in the API's shape says nothing of the request, as a server that did not answer.
Status MalformedAnswer(int http_status, const std::string& why);
Result<Value> ParseBareObject(const HttpResponse& response);

// The error of a non-2xx answer. JSON: `status=="error" ? body : (body.data ?? body)`, message
// falling back to the reason phrase (or error.message of an OpenAI-style body), errorCode to 0.
// Not JSON: the text with whitespace collapsed, at most 500 characters; an HTML page becomes
// "<reason>: <first 200 characters>".
ApiError ParseErrorAnswer(const HttpResponse& response);

// The whitespace-collapsed, trimmed text, cut to at most `max` bytes (never inside a UTF-8
// sequence).
std::string CollapseWhitespace(std::string_view text, size_t max);

}  // namespace sflow

#endif  // SFLOW_API_API_ENVELOPE_H_
