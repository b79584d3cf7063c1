// Intents: the one protocol for every request that changes remote state or costs money: a
// workflow start, a reseed, a cost confirmation, a cancel (docs/architecture.md, crash safety).
//
//   record   the intent (its kind, a fresh Idempotency-Key, the EXACT request body) is committed
//            together with the run change that goes with it, BEFORE anything is sent (pending);
//   send     it is marked sent (committed), then the stored body is sent byte for byte with the
//            stored key (ApiClient::SendStored): no field is re-derived, so none can be dropped;
//   answer   accepted: done, with the answer and the run change it implies, in one transaction;
//            refused for good (a 4xx the request cannot get past): done, with the error, and the
//            run change of a refusal (a start or reseed refused ends its run failed);
//            no answer (network, 5xx after retries, a malformed reply): unknown, and the next
//            SendIntent re-sends the SAME body with the SAME key, so the server creates nothing
//            twice. Only reconciliation (a later answer) leaves unknown; nothing resubmits blindly.
// The account's cap on active workflows (409, reason "active_workflow_limit") is neither: the
// server did nothing, the intent stays sent, and the caller waits for a slot and sends again.
//
// Store errors are returned, never dropped: an answer that could not be recorded leaves the
// intent sent, and the re-send returns the same answer.
#ifndef SFLOW_RUNNER_INTENTS_H_
#define SFLOW_RUNNER_INTENTS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "api/api_client.h"
#include "engine/run_store.h"
#include "engine/status.h"
#include "engine/value.h"

namespace sflow {

// A fresh random Idempotency-Key ("sflow-" and 32 hex digits).
std::string NewIdempotencyKey();

struct NewServerRun {
  std::string plan_path{}, plan_name{}, plan_digest{};
  Value params = Value::Object();
  Value start_body{};        // engine/wire.h StartBody; checked with CheckStartBody before it is stored
  std::string account{};     // AccountFingerprint(key)
  std::string api_url{};     // the endpoint the run belongs to (resume talks to it)
  std::string out_dir{};     // "" = ./sogni-out/<run id>
  std::vector<std::string> step_ids{};
  std::string batch{}, batch_entry{};  // the batch file's run this is (RunRecord::batch), or ""
  LedgerEstimate cost{};               // what it is expected to cost (RunRecord::cost)
  std::vector<LedgerCeiling> ceilings{};  // it is not stored when it would cross one (kCostGate)
};

// Stores a new run (status planned) with a fresh id and, in the same transaction, its start
// intent (status submitting). Nothing is sent. Returns the run id. `run_id` may be given
// (tests); "" = MakeRunId(now, random). kInvalidPlan when the body is not a start body.
Result<std::string> CreateServerRun(RunStore& store, const NewServerRun& run, std::string run_id = "");

// A reseed of the completed or partial_failure run `source` as a NEW local run: stored (status
// planned, the source's plan, digest, account, endpoint and steps; params gain
// "cloned_from_run" and "cloned_from_workflow"; in the ledger, the source's estimate, as the
// server may run every step again) with its reseed intent {"seed_overrides": ...,
// "app_source": "sogni-flow"} (status submitting). Nothing is sent; ServerRunner::Drive posts it.
Result<std::string> CreateReseedRun(RunStore& store, const RunRecord& source,
                                    const std::map<std::string, int64_t>& seed_overrides,
                                    const std::string& out_dir, std::string run_id = "");

// Sends a recorded intent of `run` (pending: marked sent first; sent or unknown: re-sent as it
// is) and stores the answer as described above. Returns the answer, or the error (a refusal, an
// unknown outcome, the active-workflow cap, a store error).
Result<WorkflowReply> SendIntent(RunStore& store, ApiClient& client, const RunRecord& run, const IntentRecord& intent);

// The open (pending, sent or unknown) intent of `kind` of a run, if any: the one a send must
// re-send before a new one of its kind may be recorded.
Result<std::optional<IntentRecord>> OpenIntent(RunStore& store, const std::string& run_id, IntentKind kind);

// Records a new intent of `kind` for `run` with `request` as its exact body and a fresh key
// (pending), unless one of that kind is open: then that one is returned, to be re-sent.
Result<IntentRecord> RecordOrReuseIntent(RunStore& store, const RunRecord& run, IntentKind kind,
                                         const std::string& request);

// Cancels the workflow of `run` (which has one): an open cancel intent is re-sent, else a new one
// is recorded and sent. A non-terminal status in the answer is stored; a terminal one is left for
// whoever follows the run, which stores it once the events up to it are in (a cancel never makes a
// run terminal by itself).
Result<WorkflowReply> RequestCancel(RunStore& store, ApiClient& client, const RunRecord& run);

// Confirms the cost of a run the server paused for cost approval: an open confirm-cost intent is
// re-sent as stored, else one with {"decision":"confirm"} is recorded and sent. On acceptance the
// run is stored running (its waiting reason cleared). kInvalidPlan when the run is not waiting
// for cost approval and has no open confirm-cost intent.
Result<WorkflowReply> ConfirmCost(RunStore& store, ApiClient& client, const RunRecord& run);

// Gives up a run whose start (or reseed) request was never sent: its pending intent is marked
// done with {"abandoned": true} and the run cancelled, in one transaction, so that no later
// `resume` sends it. kConflict when the request may have been sent (intent sent or unknown), or
// the run has a workflow: then only a remote cancel can stop it.
Status AbandonUnsentStart(RunStore& store, const std::string& run_id);

}  // namespace sflow

#endif  // SFLOW_RUNNER_INTENTS_H_
