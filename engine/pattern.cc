#include "engine/pattern.h"

#include <re2/re2.h>

namespace sflow {

namespace {

// A bound on the compiled program's memory; RE2's default is 8 MiB. Patterns as long as
// kMaxPatternBytes with counted repetitions ("a{1000}") can exceed it, and are refused.
constexpr int64_t kMaxProgramBytes = 4 << 20;

}  // namespace

Result<Pattern> Pattern::Compile(std::string_view text) {
  if (text.size() > kMaxPatternBytes)
    return Status::InvalidPlan("the pattern is " + std::to_string(text.size()) + " bytes long, over the " +
                               std::to_string(kMaxPatternBytes) + "-byte limit");
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(kMaxProgramBytes);
  // UTF-8 (RE2's default): "." is one character, not one byte.
  auto re = std::make_shared<const RE2>(re2::StringPiece(text.data(), text.size()), options);
  if (!re->ok()) {
    std::string why = re->error();
    if (re->error_code() == RE2::ErrorPatternTooLarge) why = "it compiles to a program too large to run";
    return Status::InvalidPlan(why);
  }
  return Pattern(std::move(re));
}

bool Pattern::FullMatch(std::string_view value) const {
  return RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *re_);
}

}  // namespace sflow
