// What `run` and `batch run` share: a plan checked, gated and ready to store (Prepare), quoted
// when it is local (QuoteAndGate), and stored as a run with its lease (CreateRun).
#ifndef SFLOW_CLI_RUN_SETUP_H_
#define SFLOW_CLI_RUN_SETUP_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/backend.h"
#include "cli/context.h"
#include "cli/plan_check.h"
#include "engine/wire.h"
#include "runner/approval.h"
#include "runner/local/local_spec.h"
#include "runner/local/spec_quote.h"
#include "store/state_dir.h"

namespace sflow {

// One plan of the command line, checked and gated, ready to be stored as a run.
struct PreparedPlan {
  std::string path;
  CheckedPlan checked;
  std::string digest;
  StartOptions start;
  ApprovalFile approval;
  std::optional<LocalSpec> local;  // execution: local
};

// Validates `path` (its diagnostics go to ctx.err), computes its digest and applies the cost
// gate. Errors: kInvalidPlan, kCostGate, kIOError (a media file that cannot be read). With
// dry_run a local plan is only validated (its requests are shown step by step elsewhere).
Status Prepare(const std::string& path, const ParamOptions& params, Context& ctx, PreparedPlan* out,
               bool dry_run = false);

// The batch file's run a new run is (stored with it, in its creating transaction); empty: none.
// And the ledger's ceilings it must fit under (engine/ledger.h): a run that would cross one is
// not stored, and CreateRun is kCostGate naming it, before anything is uploaded.
struct BatchMark {
  std::string batch{}, entry{};
  std::vector<LedgerCeiling> ceilings{};
};

// What a prepared plan is expected to cost, per step: a server step's units (the offline
// estimate); a local step's quote in dollars (after QuoteAndGate; nothing before), and no units:
// every step of a local run is a direct project, priced in tokens.
LedgerEstimate CostOf(const PreparedPlan& p);

// Uploads the plan's local media, then stores the run and its start intent (nothing is sent).
// out_dir "" = the out_dir setting's folder/RUN; else with per_run_dir DIR/RUN, without DIR.
// The run's lease is taken before the run is stored, so that no other process (resume --all) can
// take it up before this one drives it; it joins `leases`. no_cache is stored with a local run's
// spec (each step's noCache), so that `resume` keeps it.
Result<std::string> CreateRun(PreparedPlan& p, Backend& backend, StateDir& dir, std::vector<std::unique_ptr<RunLease>>* leases,
                              const std::string& out_dir, bool per_run_dir, bool no_cache, Context& ctx,
                              const BatchMark& batch = {});

// Quotes every step of a local plan (stored into its spec), then gates: the total over
// max_tokens or the plan's budget.max_tokens (the lower one) is kCostGate (exit 5), a balance
// below it kPermission (exit 3), both before anything is stored or paid.
// `totals_out` (may be null) gets the quoted totals; `quiet` (-q) leaves out the two lines that say
// the plan is being quoted and at what (a refusal is still said, by the caller).
Status QuoteAndGate(PreparedPlan& p, Backend& backend, std::optional<double> max_tokens, Context& ctx,
                    SpecQuoteTotals* totals_out = nullptr, bool quiet = false);

}  // namespace sflow

#endif  // SFLOW_CLI_RUN_SETUP_H_
