// Strict JSON (RFC 8259) text to Value. Used for the wire: API replies, SSE event data, request
// bodies in the sandbox. Hand-written rather than Poco::JSON because it is on the hot path of
// event streaming (hundreds of thousands of events a second) and because it reports failures as
// a Status with a byte offset instead of throwing.
#ifndef SFLOW_ENGINE_JSON_H_
#define SFLOW_ENGINE_JSON_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
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

// Reads a few members of a JSON object without building it (the event stream's hot path):
// `text` is checked exactly as ParseJson checks it (the same errors, so the two accept the same
// texts), and values[i] is set to the text of the value of the outermost object's member
// keys[i] (its JSON text, e.g. `"running"` or `{"status":"x"}`; empty when absent; the last one
// when a key repeats, as ParseJson keeps the last). Keys are matched after unescaping. No value
// is built: only a key longer than a short string's inline buffer allocates. kInvalidPlan "JSON:
// not an object at byte N" when the text does not start as an object; kInternal when the spans
// differ in size.
Status SkimJsonObject(std::string_view text, std::span<const std::string_view> keys, std::span<std::string_view> values,
                      const JsonLimits& limits = JsonLimits());
// The string a JSON string token holds (as SkimJsonObject returns it), unescaped; nullopt when
// the token is not one string.
std::optional<std::string> JsonStringToken(std::string_view token);
// The integer a JSON number token holds when it has no fraction or exponent and fits int64 (as
// ParseJson makes integers); nullopt otherwise.
std::optional<int64_t> JsonIntToken(std::string_view token);

}  // namespace sflow

#endif  // SFLOW_ENGINE_JSON_H_
