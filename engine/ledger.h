// The ledger: what runs cost, per run, kept by the state store (docs/ledger.md).
//
// Runs are priced in two measures that do not convert into each other:
//   units  capacity units of server steps, estimated offline (engine/estimate.h); the server
//          reports what each step actually took (steps[i].cost.actual, INFERRED)
//   usd    US dollars of local projects, quoted by the network before they are sent; a project
//          is charged in tokens, turned into dollars at its own quote's rate
// A new run is stored with what it is expected to cost, step by step (LedgerEstimate), in the
// transaction that creates it. Once the run has ended, what it was charged replaces that
// (ActualCost), step by step. Spending over a scope (a batch, a day, a month) is the sum of what
// each of its runs counts: the charge once known, the estimate until then.
//
// A ceiling (LedgerCeiling) refuses a new run whose estimate would take a scope's spending over
// it; the check and the new run's row are one transaction, so two processes cannot both squeeze
// under one ceiling.
#ifndef SFLOW_ENGINE_LEDGER_H_
#define SFLOW_ENGINE_LEDGER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/status.h"
#include "engine/value.h"

namespace sflow {

struct LedgerAmount {
  double units = 0;  // capacity units (server steps)
  double usd = 0;    // US dollars (local projects)
  LedgerAmount& operator+=(const LedgerAmount& o) {
    units += o.units;
    usd += o.usd;
    return *this;
  }
};

// What a run is expected to cost, per step id.
struct LedgerEstimate {
  std::map<std::string, LedgerAmount> steps{};
  LedgerAmount Total() const;
  // {"STEP": {"units": N, "usd": N}, ...}, and back. FromJson: kInternal for anything else
  // (the text comes from the state database, which may be damaged).
  std::string ToJson() const;
  static Result<LedgerEstimate> FromJson(const std::string& json);
};

// Who pays for a run: its API key's fingerprint at its endpoint. A ceiling counts only the runs of
// the payer of the run it gates: runs against the sandbox never spend a real account's budget,
// nor one account's runs another's. Empty fields match any.
struct LedgerPayer {
  std::string account{}, api_url{};
  // The payer of a run with this account and api_url, as its ledger row names it: an empty one
  // (a run stored by a test, or before endpoints were kept) is "-", so that it matches only its like.
  static LedgerPayer Of(const std::string& account, const std::string& api_url) {
    return {account.empty() ? "-" : account, api_url.empty() ? "-" : api_url};
  }
};

// Which runs a ceiling counts (of its payer). A day and a month are the state directory's (every run stored in
// it that day or month, UTC); a batch is that batch's runs, whenever they were stored.
enum class LedgerScope { kBatch, kDay, kMonth };
const char* Name(LedgerScope scope);  // "batch", "day", "month"

struct LedgerCeiling {
  LedgerScope scope = LedgerScope::kDay;
  std::optional<double> max_units{}, max_usd{};
  std::string origin{};  // where it was set, for messages: "--max-units", "nightly.batch.yaml: budget.day"
};

// A run's step as the ledger settles it: its status name and the units the server reported
// (a server run's step; a local run's step record holds its charge in tokens there, which the
// ledger takes from the step's projects instead: leave it out).
struct SettledStep {
  std::string step_id{};
  std::string status{};            // a RunStatus name
  std::optional<double> units{};   // capacity units reported by the server
};
// One project (an attempt at a local step): what it was quoted and what it was charged.
struct SettledProject {
  std::string step_id{};
  std::optional<double> quote{}, quote_usd{}, charge{};  // tokens, dollars, tokens
};

// What an ended run counts, step by step:
//   units  the units the server reported for the step; else nothing when the step never left
//          planned or queued (it never ran); else its estimate (it ran and nothing was reported)
//   usd    the step's projects' charges, each at its quote's rate (quote_usd / quote); else
//          nothing when the step has no project (never sent, or served from the step cache);
//          else its estimate (sent, and no charge is known, or no rate to convert it)
// Steps the estimate names and the run does not (a damaged store) count their estimate.
LedgerAmount ActualCost(const LedgerEstimate& estimate, const std::vector<SettledStep>& steps,
                        const std::vector<SettledProject>& projects);

// The day (YYYY-MM-DD) of `ms` since the epoch, UTC, and its month (YYYY-MM). UTC, not the local
// zone: every process files a run under the same day whatever its TZ says (two processes in two
// zones would otherwise each get a day of their own, and each a full day's ceiling).
std::string LedgerDay(int64_t ms);
inline std::string LedgerMonth(const std::string& day) { return day.substr(0, 7); }

// "38", "12.5", "0.0086": at most 4 decimals, no trailing zeros.
std::string LedgerFigure(double v);

// "batch 'NAME'", "the day 2026-12-06", "the month 2026-12": a scope and its key as messages name it.
std::string LedgerScopeText(LedgerScope scope, const std::string& key);

// Whether `total` stays within the ceiling `max` (reaching it is within). Sums of binary
// fractions ($0.002468 three times is above $0.007404 in doubles) get a relative margin of 1e-9,
// far below any figure shown.
bool WithinCeiling(double total, double max);

// Whether `cost` added to `spent` (what the ceiling's scope counts now) stays within `ceiling`
// (equal is within). A refusal says which measure, by how much, and where the ceiling was set.
Status CheckCeiling(const LedgerCeiling& ceiling, const std::string& scope_key, const LedgerAmount& spent,
                    const LedgerAmount& cost);

}  // namespace sflow

#endif  // SFLOW_ENGINE_LEDGER_H_
