// What the state directory holds of a batch: shared by `batch run|status|cancel` and `report`.
#ifndef SFLOW_CLI_BATCH_RUNS_H_
#define SFLOW_CLI_BATCH_RUNS_H_

#include <string>
#include <utility>
#include <vector>

#include "engine/run_store.h"

namespace sflow {

// The newest stored run of each run name (entry) of `batch`, the entries in the order each was
// first stored. The store's order decides which run is newest, never a clock.
Result<std::vector<std::pair<std::string, RunRecord>>> NewestBatchRuns(RunStore& store, const std::string& batch);

}  // namespace sflow

#endif  // SFLOW_CLI_BATCH_RUNS_H_
