#include "runner/approval.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include "engine/json.h"
#include "engine/media.h"
#include "engine/run_id.h"
#include "engine/wire.h"
#include "runner/sha256.h"

namespace sflow {

namespace {

void Pretty(const Value& v, int indent, std::string* out) {
  std::string pad(static_cast<size_t>(indent + 2), ' ');
  if (v.is_object() && v.size() > 0) {
    *out += "{\n";
    bool first = true;
    for (const Value::Member& m : v.members()) {
      if (!first) *out += ",\n";
      first = false;
      *out += pad + Value::String(m.key).ToJson() + ": ";
      Pretty(m.value, indent + 2, out);
    }
    *out += "\n" + std::string(static_cast<size_t>(indent), ' ') + "}";
  } else if (v.is_array() && v.size() > 0) {
    *out += "[\n";
    bool first = true;
    for (const Value& item : v.items()) {
      if (!first) *out += ",\n";
      first = false;
      *out += pad;
      Pretty(item, indent + 2, out);
    }
    *out += "\n" + std::string(static_cast<size_t>(indent), ' ') + "]";
  } else {
    *out += v.ToJson();
  }
}

}  // namespace

Result<std::string> PlanDigest(const Plan& plan, const PlanAnalysis& analysis) {
  StartOptions options;
  const std::string& dir = plan.directory;
  for (const MediaEntry& m : plan.media) {
    WireMedia wm;
    wm.name = m.name;
    wm.kind = m.kind;
    if (m.path.empty()) {
      wm.url = m.url;
    } else {
      LocalMediaCheck check = CheckLocalMedia(dir, m.path);
      if (!check.error.empty()) return Status::IOError("media '" + m.name + "': " + check.error);
      std::ifstream in(check.resolved, std::ios::binary);
      std::ostringstream bytes;
      bytes << in.rdbuf();
      if (!in.good() && !in.eof()) return Status::IOError("cannot read " + check.resolved);
      wm.mime_type = check.sniff.mime;
      wm.url = "sha256:" + Sha256Hex(bytes.str());
    }
    options.media.push_back(std::move(wm));
  }
  Value body = StartBody(plan, analysis, options);
  return Sha256Hex(PlanDigestInput(body, analysis.params));
}

std::string ApprovalPathFor(const std::string& plan_path) {
  std::string base = plan_path;
  for (const char* ext : {".yaml", ".yml", ".json"}) {
    std::string e = ext;
    if (base.size() > e.size() && base.compare(base.size() - e.size(), e.size(), e) == 0) {
      base.resize(base.size() - e.size());
      break;
    }
  }
  return base + ".approval.json";
}

std::string ApprovalJson(const ApprovalFile& a) {
  Value v = Value::Object();
  v.Set("kind", Value::String("sogni-flow/approval"));
  v.Set("plan", Value::String(a.plan_path));
  v.Set("digest", Value::String(a.digest));
  v.Set("params", a.params);
  v.Set("estimateUnits", Value::Double(a.estimate_units));
  v.Set("maxUnits", Value::Double(a.max_units));
  v.Set("approvedBy", Value::String(a.approved_by));
  v.Set("approvedAt", Value::String(IsoTime(a.approved_at)));
  v.Set("expiresAt", Value::String(IsoTime(a.expires_at)));
  v.Set("sogniFlowVersion", Value::String(a.version));
  std::string out;
  Pretty(v, 0, &out);
  return out + "\n";
}

Result<ApprovalFile> ReadApprovalFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("no approval file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  Result<Value> v = ParseJson(text.str());
  if (!v.ok()) return Status::InvalidPlan(path + ": " + v.status().message());
  if (!v->is_object()) return Status::InvalidPlan(path + ": not a JSON object");
  ApprovalFile a;
  auto str = [&](const char* key, std::string* out) {
    const Value* f = v->Find(key);
    if (!f || !f->is_string()) return false;
    *out = f->as_string();
    return true;
  };
  auto num = [&](const char* key, double* out) {
    const Value* f = v->Find(key);
    if (!f || !f->is_number()) return false;
    *out = f->as_number();
    return true;
  };
  std::string approved_at, expires_at;
  if (!str("digest", &a.digest) || !num("maxUnits", &a.max_units) || !str("expiresAt", &expires_at))
    return Status::InvalidPlan(path + ": needs digest, maxUnits and expiresAt");
  if (!IsValidMaxUnits(a.max_units))
    return Status::InvalidPlan(path + ": maxUnits must be a finite number above 0; approve the plan again");
  str("plan", &a.plan_path);
  str("approvedBy", &a.approved_by);
  str("sogniFlowVersion", &a.version);
  num("estimateUnits", &a.estimate_units);
  if (str("approvedAt", &approved_at)) a.approved_at = ParseIsoTime(approved_at).value_or(0);
  std::optional<int64_t> expires = ParseIsoTime(expires_at);
  if (!expires) return Status::InvalidPlan(path + ": expiresAt is not an ISO time (YYYY-MM-DDTHH:MM:SSZ)");
  a.expires_at = *expires;
  if (const Value* p = v->Find("params"); p && p->is_object()) a.params = *p;
  return a;
}

bool IsValidMaxUnits(double units) { return std::isfinite(units) && units > 0; }

std::optional<double> ParseDecimal(const std::string& text) {
  // Digits with at most one point, and an optional exponent: what strtod takes beyond that
  // (inf, nan, hex, a sign, leading spaces) is not a number a person means.
  size_t i = 0, digits = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i, ++digits;
  if (i < text.size() && text[i] == '.')
    for (++i; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]));) ++i, ++digits;
  if (digits == 0) return std::nullopt;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == start) return std::nullopt;
  }
  if (i != text.size()) return std::nullopt;
  double v = std::strtod(text.c_str(), nullptr);
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<double> ParseMaxUnits(const std::string& text) {
  std::optional<double> units = ParseDecimal(text);
  if (!units || !IsValidMaxUnits(*units)) return std::nullopt;
  return units;
}

std::optional<int64_t> ParseDuration(const std::string& text) {
  if (text.size() < 2) return std::nullopt;
  int64_t unit = 0;
  switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: return std::nullopt;
  }
  int64_t n = 0;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9' || n > 100000000) return std::nullopt;
    n = n * 10 + (text[i] - '0');
  }
  if (n <= 0) return std::nullopt;
  return n * unit;
}

std::string IsoTime(int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<int64_t> ParseIsoTime(const std::string& text) {
  std::tm tm{};
  int y, mo, d, h, mi, s;
  char z = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &z) != 7 || z != 'Z')
    return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm));
}

std::string FormatUnits(double units) { return Value::Double(units).ToJson(); }

Status CheckUnits(const std::string& plan_path, const Plan& plan, const PlanEstimate& estimate,
                  std::optional<double> ceiling, const std::string& ceiling_name) {
  std::optional<double> budget = plan.budget.max_units;
  if (budget && estimate.total_units > *budget)
    return Status::Error(Status::Code::kCostGate,
                         "the estimate (" + FormatUnits(estimate.total_units) + " units) is over budget.max_units (" +
                             FormatUnits(*budget) + "); raise budget.max_units in " + plan_path + " or lower the work");
  if (ceiling && estimate.total_units > *ceiling)
    return Status::Error(Status::Code::kCostGate, ceiling_name + " approves at most " + FormatUnits(*ceiling) +
                                                      " units but the estimate is " + FormatUnits(estimate.total_units));
  return Status::OK();
}

Status CheckCostGate(const std::string& plan_path, const Plan& plan, const std::string& digest,
                     const PlanEstimate& estimate, int64_t now, std::optional<double>* max_units,
                     const std::string& param_args, ApprovalFile* used) {
  std::optional<double> budget = plan.budget.max_units;
  if (Status s = CheckUnits(plan_path, plan, estimate, std::nullopt, ""); !s.ok()) return s;
  *max_units = budget;
  if (!plan.budget.approval_required) return Status::OK();
  std::string fix = "sogni-flow approve " + plan_path + " --max-units " +
                    std::to_string(SuggestedCeiling(estimate.total_units, budget)) + param_args;
  std::string file = ApprovalPathFor(plan_path);
  auto gate = [](std::string m) { return Status::Error(Status::Code::kCostGate, std::move(m)); };
  Result<ApprovalFile> a = ReadApprovalFile(file);
  if (!a.ok() && a.status().code() == Status::Code::kNotFound)
    return gate("the plan needs an approval (budget.approval: required) and " + file + " is missing; run: " + fix);
  if (!a.ok()) return gate(a.status().message() + "; run: " + fix + " --force");
  if (a->digest != digest)
    return gate(file + " approves another version of the plan or its params (digest " + a->digest.substr(0, 12) +
                ", now " + digest.substr(0, 12) + "); review the change, then run: " + fix + " --force");
  if (a->expires_at <= now) return gate(file + " expired at " + IsoTime(a->expires_at) + "; run: " + fix + " --force");
  if (Status s = CheckUnits(plan_path, plan, estimate, a->max_units, file); !s.ok())
    return gate(s.message() + "; run: " + fix + " --force");
  // Both are ceilings, set by two people: the plan's author (budget.max_units) and its approver.
  // The server is told the lower one, so neither is ever exceeded.
  *max_units = budget ? std::min(*budget, a->max_units) : a->max_units;
  if (used) *used = *a;
  return Status::OK();
}

int64_t SuggestedCeiling(double estimate, std::optional<double> max_units) {
  int64_t n = static_cast<int64_t>(std::ceil(estimate));
  if (max_units && *max_units >= estimate) n = static_cast<int64_t>(std::floor(*max_units));
  return n;
}

}  // namespace sflow
