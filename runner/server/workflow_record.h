// What a workflow record (GET /v1/creative-agent/workflows/{id}) says, as a change to the stored
// run: status, waiting reason, error, steps and artifacts. Pure: no I/O.
//
// Every spelling the contract allows is read (docs/api-contract.md): "canceled" and "pending"
// as the store spells them; step units from cost.actual (a number or {capacityUnits}) or
// cost.capacityUnits; artifacts from each step's `artifacts` and from the record's top-level
// `artifacts` (by stepId; "_" when none), each remote id once.
#ifndef SFLOW_RUNNER_SERVER_WORKFLOW_RECORD_H_
#define SFLOW_RUNNER_SERVER_WORKFLOW_RECORD_H_

#include <optional>
#include <string>

#include "engine/run_store.h"
#include "engine/status.h"
#include "engine/value.h"

namespace sflow {

// The run status a wire status names; nullopt for one the store does not know.
std::optional<RunStatus> WireStatus(std::string status);

// The record's status, steps and artifacts as a RunUpdate. kInternal when the record's status is
// not one of the contract's.
Result<RunUpdate> RecordUpdate(const Value& workflow);

// Whether the record says the server paused for cost approval.
bool AwaitsCostApproval(const Value& workflow);

// The digest of a step's arguments as they made its artifacts: sha256 of the arguments JSON with
// sorted keys, and with "seed" set to the step's own seed when the record gives one (a reseed
// changes the seed the step ran with, and the digest must change with it). "" without arguments.
std::string ArgumentsDigest(const Value& step);

}  // namespace sflow

#endif  // SFLOW_RUNNER_SERVER_WORKFLOW_RECORD_H_
