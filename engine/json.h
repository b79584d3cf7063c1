// Strict JSON (RFC 8259) text to Value. Used for the wire: API replies, SSE event data, request
// bodies in the sandbox. Hand-written rather than Poco::JSON because it is on the hot path of
// event streaming (hundreds of thousands of events a second) and because it reports failures as
// a Status with a byte offset instead of throwing.
#ifndef SFLOW_ENGINE_JSON_H_
#define SFLOW_ENGINE_JSON_H_

#include <string_view>

#include "engine/status.h"
#include "engine/value.h"

namespace sflow {

struct JsonLimits {
  int max_depth = 128;
};

// Parses exactly one JSON value (surrounding whitespace allowed). Numbers without a fraction or
// exponent that fit in int64 become integers, others doubles. Duplicate object keys: the last
// wins (as in JavaScript). Invalid UTF-8 and lone surrogate escapes are errors. On failure:
// kInvalidPlan "JSON: <what> at byte N".
Result<Value> ParseJson(std::string_view text, const JsonLimits& limits = JsonLimits());

}  // namespace sflow

#endif  // SFLOW_ENGINE_JSON_H_
