// Param patterns: RE2 syntax, matched against the whole value, in time linear in the value's
// length (no backtracking, no recursion that grows with the input).
//
// std::regex is never used on a plan's text: its backtracking executor recurses once per
// character (a 20,000-character value against "(a|b)*" overflows the stack) and takes
// exponential time on patterns like "(a+)+$". RE2 gives neither, at the price of its dialect:
// no backreferences and no lookaround (docs/plan-language.md, section 4).
#ifndef SFLOW_ENGINE_PATTERN_H_
#define SFLOW_ENGINE_PATTERN_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace re2 {
class RE2;
}

namespace sflow {

// The longest pattern a plan may declare, in bytes.
constexpr size_t kMaxPatternBytes = 1024;
// The longest string a param may take, in bytes (from any source: default, file, -p, environment).
constexpr size_t kMaxParamValueBytes = 64 * 1024;

class Pattern {
 public:
  // Compiles `text` as an RE2 pattern. kInvalidPlan with RE2's reason when it is malformed, uses
  // what RE2 does not have, is longer than kMaxPatternBytes or compiles to a program too large.
  // Thread-safe; the last few patterns that compiled are kept, so compiling the same text again
  // (each value of a param is checked from several places) costs a lookup.
  static Result<Pattern> Compile(std::string_view text);

  // True when the pattern matches all of `value` (as if written ^(?:pattern)$).
  bool FullMatch(std::string_view value) const;

 private:
  explicit Pattern(std::shared_ptr<const re2::RE2> re) : re_(std::move(re)) {}
  std::shared_ptr<const re2::RE2> re_;  // shared: RE2 is immutable and thread-safe once built
};

}  // namespace sflow

#endif  // SFLOW_ENGINE_PATTERN_H_
