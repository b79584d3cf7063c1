#include "engine/ledger.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "engine/json.h"

namespace sflow {

namespace {

bool NeverRan(const std::string& status) { return status == "planned" || status == "queued"; }

}  // namespace

std::string LedgerFigure(double v) {
  char buf[64];
  if (!(std::fabs(v) < 1e15)) return std::snprintf(buf, sizeof buf, "%.6g", v), buf;  // never 300 digits
  std::snprintf(buf, sizeof buf, "%.4f", v);
  std::string s = buf;
  while (s.size() > 1 && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

LedgerAmount LedgerEstimate::Total() const {
  LedgerAmount total;
  for (const auto& [id, amount] : steps) total += amount;
  return total;
}

std::string LedgerEstimate::ToJson() const {
  Value o = Value::Object();
  for (const auto& [id, amount] : steps) {
    Value a = Value::Object();
    a.Set("units", Value::Double(amount.units));
    a.Set("usd", Value::Double(amount.usd));
    o.Set(id, std::move(a));
  }
  return o.ToJson();
}

Result<LedgerEstimate> LedgerEstimate::FromJson(const std::string& json) {
  Result<Value> v = ParseJson(json);
  if (!v.ok() || !v->is_object()) return Status::Internal("a ledger estimate that is not a JSON object");
  LedgerEstimate e;
  for (const auto& m : v->members()) {
    const Value* units = m.value.is_object() ? m.value.Find("units") : nullptr;
    const Value* usd = m.value.is_object() ? m.value.Find("usd") : nullptr;
    if (!units || !usd || !units->is_number() || !usd->is_number() || !(units->as_number() >= 0) ||
        !(usd->as_number() >= 0) || !(units->as_number() < 1e300) || !(usd->as_number() < 1e300))
      return Status::Internal("a ledger estimate whose step '" + m.key + "' is not {units, usd}, two numbers of 0 or more");
    e.steps[m.key] = LedgerAmount{units->as_number(), usd->as_number()};
  }
  return e;
}

const char* Name(LedgerScope scope) {
  switch (scope) {
    case LedgerScope::kBatch: return "batch";
    case LedgerScope::kDay: return "day";
    case LedgerScope::kMonth: return "month";
  }
  return "";
}

LedgerAmount ActualCost(const LedgerEstimate& estimate, const std::vector<SettledStep>& steps,
                        const std::vector<SettledProject>& projects) {
  struct Charges {
    bool any_project = false;
    bool unconverted = false;  // a project sent with no charge known, or no rate to convert it
    double usd = 0;
  };
  std::map<std::string, Charges> by_step;
  for (const SettledProject& p : projects) {
    Charges& c = by_step[p.step_id];
    c.any_project = true;
    if (p.charge && p.quote && p.quote_usd && *p.quote > 0)
      c.usd += *p.charge * (*p.quote_usd / *p.quote);
    else if (!p.charge || *p.charge > 0)
      c.unconverted = true;  // a charge of 0 needs no rate
  }
  LedgerAmount total;
  std::map<std::string, bool> seen;
  for (const SettledStep& s : steps) {
    seen[s.step_id] = true;
    auto est = estimate.steps.find(s.step_id);
    const LedgerAmount guess = est == estimate.steps.end() ? LedgerAmount{} : est->second;
    if (s.units) total.units += *s.units;
    else if (!NeverRan(s.status)) total.units += guess.units;
    auto c = by_step.find(s.step_id);
    if (c == by_step.end() || !c->second.any_project) continue;  // never sent, or served from the cache
    total.usd += c->second.unconverted ? std::max(guess.usd, c->second.usd) : c->second.usd;
  }
  for (const auto& [id, amount] : estimate.steps)
    if (!seen.count(id)) total += amount;
  return total;
}

std::string LedgerDay(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  if (!gmtime_r(&t, &tm)) return "1970-01-01";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return buf;
}

std::string LedgerScopeText(LedgerScope scope, const std::string& key) {
  switch (scope) {
    case LedgerScope::kBatch: return "batch '" + key + "'";
    case LedgerScope::kDay: return "the day " + key;
    case LedgerScope::kMonth: return "the month " + key;
  }
  return key;
}

bool WithinCeiling(double total, double max) { return total <= max + 1e-9 * std::max(1.0, std::fabs(max)); }

Status CheckCeiling(const LedgerCeiling& ceiling, const std::string& scope_key, const LedgerAmount& spent,
                    const LedgerAmount& cost) {
  const std::string scope = LedgerScopeText(ceiling.scope, scope_key);
  auto over = [&](double max, double have, double add, bool dollars) -> Status {
    if (WithinCeiling(have + add, max)) return Status::OK();
    auto amount = [&](double v) { return dollars ? "$" + LedgerFigure(v) : LedgerFigure(v) + " units"; };
    return Status::Error(Status::Code::kCostGate, "it would take " + scope + " to " + amount(have + add) + " (" +
                                                      amount(have) + " so far, " + amount(add) + " this run); the ceiling is " +
                                                      amount(max) + " (" + ceiling.origin + ")");
  };
  if (ceiling.max_units)
    if (Status s = over(*ceiling.max_units, spent.units, cost.units, false); !s.ok()) return s;
  if (ceiling.max_usd)
    if (Status s = over(*ceiling.max_usd, spent.usd, cost.usd, true); !s.ok()) return s;
  return Status::OK();
}

}  // namespace sflow
