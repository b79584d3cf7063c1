// The cost gate shared by approve and run: the plan digest (what an approval is bound to), the
// PLAN.approval.json file (written by `approve`, read by `run`) and the local checks of
// docs/plan-language.md section 7 (exit 5: no or stale approval, estimate over the ceiling or over budget.max_units).
#ifndef SFLOW_RUNNER_APPROVAL_H_
#define SFLOW_RUNNER_APPROVAL_H_

#include <cstdint>
#include <optional>
#include <string>

#include "engine/estimate.h"
#include "engine/plan.h"
#include "engine/status.h"
#include "engine/validate.h"
#include "engine/value.h"

namespace sflow {

// The digest stored in runs.plan_digest and in approval files: sha256 of PlanDigestInput over the
// start body as it would be sent WITHOUT a ceiling, with every local media entry's url replaced by
// "sha256:<hex of the file>" (uploads get fresh URLs each run; the bytes are what is approved) and
// the resolved params (`analysis` is the plan's validation). Fails kIOError when a local media
// file cannot be read.
Result<std::string> PlanDigest(const Plan& plan, const PlanAnalysis& analysis);

// samples/launch-teaser.yaml -> samples/launch-teaser.approval.json (.yaml/.yml/.json stripped).
std::string ApprovalPathFor(const std::string& plan_path);

struct ApprovalFile {
  std::string plan_path, digest, approved_by, version;
  double estimate_units = 0, max_units = 0;
  int64_t approved_at = 0, expires_at = 0;  // seconds since the epoch
  Value params = Value::Object();
};

// The file's JSON, pretty-printed (2 spaces, keys in a fixed order) and ending in a newline.
std::string ApprovalJson(const ApprovalFile& a);
// Parses an approval file; kInvalidPlan (with the reason) for a malformed one, kNotFound if absent.
Result<ApprovalFile> ReadApprovalFile(const std::string& path);

// "7d", "12h", "30m", "45s" -> seconds; nullopt when malformed or not positive.
std::optional<int64_t> ParseDuration(const std::string& text);
std::string IsoTime(int64_t seconds);                      // 2026-11-23T17:40:00Z
std::optional<int64_t> ParseIsoTime(const std::string& text);

// A number as a person writes it ("45", "12.5", "2e3", "0"): digits with at most one point and an
// optional exponent, finite; nullopt for anything else ("inf", "nan", "1e400", "-3", "0x10", " 5",
// ""), which strtod would partly take.
std::optional<double> ParseDecimal(const std::string& text);
// A ceiling in capacity units ("45", "12.5"): nullopt unless it is a whole decimal number that is
// finite and above 0 ("inf", "nan", "1e400", "0", "-3", "0x10" and " 5" are refused). A ceiling
// that is not finite would be written as null and refused by `run`.
std::optional<double> ParseMaxUnits(const std::string& text);
bool IsValidMaxUnits(double units);  // finite and > 0

// Units as a person writes them: 10, 10.5, 0.25 (never 10.000000).
std::string FormatUnits(double units);

// The units gate, one function for approve and run: the estimate must be within the plan's
// budget.max_units and within `ceiling` when there is one (an approval's maxUnits, or approve's
// --max-units, named by ceiling_name in the message). kCostGate (exit 5) when it is not.
Status CheckUnits(const std::string& plan_path, const Plan& plan, const PlanEstimate& estimate,
                  std::optional<double> ceiling, const std::string& ceiling_name);

// The local cost gate of `run` (kCostGate, exit 5, when it fails; the message names the command that fixes
// it). budget.approval: required needs ApprovalPathFor(plan_path) with this digest, unexpired at
// `now` (seconds) and a maxUnits that covers the estimate; *max_units becomes its ceiling and
// *used (when given) the approval. Without
// approval an estimate over budget.max_units is refused and *max_units becomes budget.max_units.
Status CheckCostGate(const std::string& plan_path, const Plan& plan, const std::string& digest,
                     const PlanEstimate& estimate, int64_t now, std::optional<double>* max_units,
                     const std::string& param_args = "", ApprovalFile* used = nullptr);

// The smallest whole ceiling that covers `estimate` (what the fix-it command suggests).
int64_t SuggestedCeiling(double estimate, std::optional<double> max_units);

}  // namespace sflow

#endif  // SFLOW_RUNNER_APPROVAL_H_
