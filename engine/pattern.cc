#include "engine/pattern.h"

#include <re2/re2.h>

#include <map>
#include <mutex>

namespace sflow {

namespace {

// A bound on the compiled program's memory; RE2's default is 8 MiB. Patterns as long as
// kMaxPatternBytes with counted repetitions ("a{1000}") can exceed it, and are refused.
constexpr int64_t kMaxProgramBytes = 4 << 20;

// Compiled patterns by text. One value is checked against its param's pattern from several
// places (the default, each source, the final check), and compiling costs far more than
// matching; a plan declares a handful of patterns. Bounded (emptied when full) so that a process
// that meets many patterns (validating many plans, a fuzzer) keeps at most this many compiled
// programs and their match caches alive. Only patterns that compiled are kept: a refused one is
// compiled again, and refused again, each time.
constexpr size_t kMaxCachedPatterns = 16;

class PatternCache {
 public:
  std::shared_ptr<const RE2> Find(std::string_view text) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = compiled_.find(text);
    return it == compiled_.end() ? nullptr : it->second;
  }
  void Add(std::string_view text, std::shared_ptr<const RE2> re) {
    std::lock_guard<std::mutex> lock(mu_);
    if (compiled_.size() >= kMaxCachedPatterns) compiled_.clear();
    compiled_.emplace(std::string(text), std::move(re));
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const RE2>, std::less<>> compiled_;
};

PatternCache& Cache() {
  static PatternCache* cache = new PatternCache();  // never destroyed: usable until exit
  return *cache;
}

}  // namespace

Result<Pattern> Pattern::Compile(std::string_view text) {
  if (text.size() > kMaxPatternBytes)
    return Status::InvalidPlan("the pattern is " + std::to_string(text.size()) + " bytes long, over the " +
                               std::to_string(kMaxPatternBytes) + "-byte limit");
  if (std::shared_ptr<const RE2> cached = Cache().Find(text)) return Pattern(std::move(cached));
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
  Cache().Add(text, re);
  return Pattern(std::move(re));
}

bool Pattern::FullMatch(std::string_view value) const {
  return RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *re_);
}

}  // namespace sflow
