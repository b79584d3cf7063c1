#include "tests/support/fault_proxy_script.h"

#include <algorithm>
#include <charconv>
#include <set>

namespace sflow {

namespace {

constexpr std::string_view kWorkflows = "/v1/creative-agent/workflows";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> Words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

bool ParseInt(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && *out >= 0;
}

// "A" or "A-B" (non-negative), A <= B.
bool ParseRange(std::string_view s, int64_t* lo, int64_t* hi) {
  size_t dash = s.find('-');
  if (dash == std::string_view::npos) return ParseInt(s, lo) && (*hi = *lo, true);
  return ParseInt(s.substr(0, dash), lo) && ParseInt(s.substr(dash + 1), hi) && *lo <= *hi;
}

uint64_t Mix(uint64_t h, uint64_t v) {  // splitmix64 over the running hash
  h += v + 0x9e3779b97f4a7c15ull;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

uint64_t HashText(std::string_view s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

const std::map<std::string_view, FaultKind>& KindsByName() {
  static const std::map<std::string_view, FaultKind> kinds = {
      {"pass", FaultKind::kPass}, {"status", FaultKind::kStatus},     {"drop", FaultKind::kDrop},
      {"reset", FaultKind::kReset}, {"truncate", FaultKind::kTruncate}, {"stall", FaultKind::kStall},
      {"drip", FaultKind::kDrip}, {"hold", FaultKind::kHold},         {"late", FaultKind::kLate},
      {"garble", FaultKind::kGarble}};
  return kinds;
}

// The keys each action takes (besides p), and those it needs.
const std::set<std::string_view>& KeysOf(FaultKind kind) {
  static const std::map<FaultKind, std::set<std::string_view>> keys = {
      {FaultKind::kPass, {}},
      {FaultKind::kGarble, {}},
      {FaultKind::kStatus, {"code", "retry_after", "retry_after_digits"}},
      {FaultKind::kDrop, {"forward"}},
      {FaultKind::kReset, {"after"}},
      {FaultKind::kTruncate, {"after"}},
      {FaultKind::kStall, {"ms", "after"}},
      {FaultKind::kDrip, {"bytes", "ms"}},
      {FaultKind::kHold, {"ms", "until"}},
      {FaultKind::kLate, {"ms", "until"}}};
  return keys.at(kind);
}

}  // namespace

const char* ProxyRouteName(ProxyRoute route) {
  switch (route) {
    case ProxyRoute::kStart: return "start";
    case ProxyRoute::kPost: return "post";
    case ProxyRoute::kStream: return "stream";
    case ProxyRoute::kEvents: return "events";
    case ProxyRoute::kWorkflow: return "workflow";
    case ProxyRoute::kMedia: return "media";
    case ProxyRoute::kOther: return "other";
    case ProxyRoute::kAdmin: return "admin";
  }
  return "other";
}

ProxyRoute ClassifyProxyRoute(std::string_view method, std::string_view path) {
  path = path.substr(0, path.find('?'));
  if (path.starts_with("/_sandbox/media/")) return ProxyRoute::kMedia;
  if (path.starts_with("/_sandbox/") || path.starts_with("/_proxy/")) return ProxyRoute::kAdmin;
  if (!path.starts_with(kWorkflows)) return ProxyRoute::kOther;
  std::string_view rest = path.substr(kWorkflows.size());
  if (rest.empty() || rest == "/") return method == "POST" ? ProxyRoute::kStart : ProxyRoute::kOther;
  if (rest.starts_with("/templates")) return ProxyRoute::kOther;
  if (method == "POST") return ProxyRoute::kPost;
  if (method != "GET") return ProxyRoute::kOther;
  rest.remove_prefix(1);
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return ProxyRoute::kWorkflow;
  std::string_view tail = rest.substr(slash);
  if (tail == "/events/stream") return ProxyRoute::kStream;
  if (tail == "/events") return ProxyRoute::kEvents;
  return ProxyRoute::kOther;
}

const char* FaultKindName(FaultKind kind) {
  for (const auto& [name, k] : KindsByName())
    if (k == kind) return name.data();
  return "pass";
}

Result<FaultScript::Rule> FaultScript::ParseRule(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidPlan("fault rule \"" + std::string(text) + "\": " + why);
  };
  std::vector<std::string_view> words = Words(text);
  if (words.size() < 2) return bad("expected ROUTE ACTION [key=value...]");
  Rule rule;
  std::string_view route = words[0];
  if (size_t open = route.find('['); open != std::string_view::npos) {
    if (route.back() != ']') return bad("unclosed [");
    std::string_view sel = route.substr(open + 1, route.size() - open - 2);
    route = route.substr(0, open);
    if (sel.ends_with("-")) {
      if (!ParseInt(sel.substr(0, sel.size() - 1), &rule.first)) return bad("bad request range");
    } else if (!ParseRange(sel, &rule.first, &rule.last)) {
      return bad("bad request range");
    }
    if (rule.first < 1) return bad("requests are counted from 1");
  }
  static const std::set<std::string_view> kRoutes = {"*", "start", "post", "stream", "events",
                                                      "workflow", "media", "other"};
  if (!kRoutes.count(route)) return bad("unknown route " + std::string(route));
  rule.route = std::string(route);
  auto kind = KindsByName().find(words[1]);
  if (kind == KindsByName().end()) return bad("unknown action " + std::string(words[1]));
  rule.kind = kind->second;
  size_t next = 2;
  if (rule.kind == FaultKind::kStatus) {  // `status 503` or `status code=503`
    if (next < words.size() && words[next].find('=') == std::string_view::npos) {
      Range r;
      if (!ParseRange(words[next], &r.lo, &r.hi)) return bad("bad status code");
      rule.values["code"] = r;
      ++next;
    }
  }
  for (; next < words.size(); ++next) {
    std::string_view w = words[next];
    size_t eq = w.find('=');
    if (eq == std::string_view::npos) return bad("expected key=value, got " + std::string(w));
    std::string_view key = w.substr(0, eq), value = w.substr(eq + 1);
    if (key == "p") {
      std::string v(value);
      char* end = nullptr;
      rule.p = std::strtod(v.c_str(), &end);
      if (end != v.c_str() + v.size() || !(rule.p >= 0 && rule.p <= 1)) return bad("p must be in [0, 1]");
      continue;
    }
    if (!KeysOf(rule.kind).count(key)) return bad(std::string(words[1]) + " takes no " + std::string(key));
    Range r;
    if (key == "until") {
      if (value != "ended") return bad("until takes only ended");
      r.lo = r.hi = 1;
    } else if (!ParseRange(value, &r.lo, &r.hi)) {
      return bad("bad value for " + std::string(key));
    }
    rule.values[std::string(key)] = r;
  }
  if (rule.kind == FaultKind::kStatus && !rule.values.count("code")) return bad("status needs a code");
  if ((rule.kind == FaultKind::kReset || rule.kind == FaultKind::kTruncate) && !rule.values.count("after"))
    return bad(std::string(words[1]) + " needs after=N");
  if ((rule.kind == FaultKind::kHold || rule.kind == FaultKind::kLate) &&
      rule.values.count("ms") == rule.values.count("until"))
    return bad(std::string(words[1]) + " needs exactly one of ms=M and until=ended");
  if (rule.kind == FaultKind::kStall && !rule.values.count("ms")) return bad("stall needs ms=M");
  return rule;
}

Result<FaultScript> FaultScript::Parse(std::string_view text) {
  FaultScript script;
  size_t i = 0;
  while (i <= text.size()) {
    size_t j = text.find_first_of(";\n", i);
    if (j == std::string_view::npos) j = text.size();
    std::string_view line = Trim(text.substr(i, j - i));
    i = j + 1;
    if (line.empty() || line[0] == '#') continue;
    Result<Rule> rule = ParseRule(line);
    if (!rule.ok()) return rule.status();
    script.rules_.push_back(std::move(*rule));
  }
  return script;
}

FaultDecision FaultScript::Decide(uint64_t seed, ProxyRoute route, int64_t n) const {
  FaultDecision d;
  if (route == ProxyRoute::kAdmin) return d;
  const std::string_view name = ProxyRouteName(route);
  for (size_t r = 0; r < rules_.size(); ++r) {
    const Rule& rule = rules_[r];
    if ((rule.route != "*" && rule.route != name) || n < rule.first || n > rule.last) continue;
    const uint64_t base = Mix(Mix(Mix(seed, HashText(name)), static_cast<uint64_t>(n)), r);
    if (rule.p < 1 && static_cast<double>(Mix(base, 0) >> 11) * 0x1.0p-53 >= rule.p) continue;
    auto draw = [&](std::string_view key, int64_t fallback) {
      auto it = rule.values.find(std::string(key));
      if (it == rule.values.end()) return fallback;
      uint64_t span = static_cast<uint64_t>(it->second.hi - it->second.lo) + 1;
      return it->second.lo + static_cast<int64_t>(Mix(base, HashText(key)) % span);
    };
    d.kind = rule.kind;
    d.rule = static_cast<int>(r);
    d.status = static_cast<int>(draw("code", 503));
    d.retry_after = static_cast<int>(draw("retry_after", -1));
    d.retry_after_digits = static_cast<int>(std::clamp<int64_t>(draw("retry_after_digits", 0), 0, 4096));
    d.forward = draw("forward", 1) != 0;
    d.after = draw("after", -1);
    d.ms = draw("ms", 0);
    d.bytes = std::max<int64_t>(1, draw("bytes", 1));
    d.until_ended = rule.values.count("until") > 0;
    return d;
  }
  return d;
}

}  // namespace sflow
