#include "sandbox/faults.h"

#include <cstdlib>
#include <set>
#include <sstream>

namespace sflow {

namespace {
const std::set<std::string> kProbabilities = {"http_5xx", "http_429", "sse_truncate", "sse_duplicate", "sse_reorder",
                                              "ignore_last_event_id", "step_fail", "partial_failure",
                                              "media_short_body", "retry_storm", "restart_refusal",
                                              "omit_result_url", "socket_duplicate", "socket_reorder", "result_first", "estimate_garbage",
                                              "hostile_result_url"};
const std::set<std::string> kCounts = {"retry_after", "sse_drop_after", "slow_ms", "socket_drop_after", "queue_rounds"};
}  // namespace

Result<std::map<std::string, double>> Faults::Parse(const std::string& spec) {
  std::map<std::string, double> out;
  std::stringstream in(spec);
  for (std::string item; std::getline(in, item, ',');) {
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string::npos) return Status::InvalidPlan("fault '" + item + "' needs a value (name=value)");
    std::string name = item.substr(0, eq), text = item.substr(eq + 1);
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0') return Status::InvalidPlan("fault '" + name + "': '" + text + "' is not a number");
    if (kProbabilities.count(name)) {
      if (v < 0 || v > 1) return Status::InvalidPlan("fault '" + name + "' is a probability between 0 and 1");
    } else if (kCounts.count(name)) {
      if (v < 0) return Status::InvalidPlan("fault '" + name + "' must not be negative");
    } else {
      return Status::InvalidPlan("unknown fault '" + name + "'");
    }
    out[name] = v;
  }
  return out;
}

Faults::Faults(std::map<std::string, double> settings, uint64_t seed)
    : settings_(std::move(settings)), rng_(seed), seed_(seed) {}

bool Faults::Roll(const std::string& name) {
  auto it = settings_.find(name);
  if (it == settings_.end() || it->second <= 0) return false;
  std::lock_guard<std::mutex> lock(mu_);
  bool fire = std::uniform_real_distribution<double>(0, 1)(rng_) < it->second;
  if (fire) ++fired_[name];
  return fire;
}

double Faults::Value(const std::string& name, double fallback) const {
  auto it = settings_.find(name);
  return it == settings_.end() ? fallback : it->second;
}

void Faults::Count(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  ++fired_[name];
}

std::map<std::string, int64_t> Faults::Fired() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fired_;
}

void Faults::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  fired_.clear();
  rng_.seed(seed_);
}

}  // namespace sflow
