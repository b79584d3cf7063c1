// Safe YAML reading: bytes from an untrusted file to a Value, or a positioned diagnostic.
//
// yaml-cpp 0.7 accepts duplicate keys, lets aliases share (and loop) nodes, does not check
// UTF-8 and spends ~44 bytes of memory per input byte when it builds its node tree (see
// docs/architecture.md, library pitfalls). So sogni-flow never builds a YAML::Node: it checks the
// bytes first, then drives yaml-cpp's event parser and builds a Value directly, refusing on the
// spot what a plan must not contain. In order:
//   1. a regular file (fstat before reading), at most `max_bytes`;
//   2. valid UTF-8 without NUL bytes (a leading BOM is accepted and skipped);
//   3. exactly one document;
//   4. no anchors, aliases or custom tags (refused at the first one, so an alias bomb costs nothing);
//   5. nesting at most `max_depth` containers deep;
//   6. no duplicate keys in any mapping (reported at the second key);
//   7. mapping keys are scalars.
// Plain scalars are typed by the YAML 1.2 core schema (null, bool, int, float, else string);
// quoted scalars are strings. Infinities and NaN are refused: JSON cannot carry them.
#ifndef SFLOW_PLANS_YAML_READER_H_
#define SFLOW_PLANS_YAML_READER_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "engine/diagnostics.h"
#include "engine/status.h"
#include "engine/value.h"

namespace sflow {

struct YamlLimits {
  size_t max_bytes = 1 << 20;  // 1 MiB
  int max_depth = 64;
};

// Reads path into a string after checking that it is a regular file within limits.max_bytes.
// Errors are reported into diags (positionless) and returned as kInvalidPlan.
Result<std::string> ReadLimitedFile(const std::string& path, const YamlLimits& limits,
                                    DiagnosticList* diags);

// Parses text as one YAML document into a Value (checks 2-7 above). On failure the problems
// are in diags and the Status is kInvalidPlan.
Result<Value> ParseYaml(std::string_view text, const YamlLimits& limits, DiagnosticList* diags);

// ReadLimitedFile followed by ParseYaml.
Result<Value> LoadYamlFile(const std::string& path, const YamlLimits& limits, DiagnosticList* diags);

// Returns the byte offset of the first invalid UTF-8 sequence or NUL byte, or npos if none.
size_t FindInvalidUtf8(std::string_view text);

}  // namespace sflow

#endif  // SFLOW_PLANS_YAML_READER_H_
