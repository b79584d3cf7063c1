#include "cli/batch_runs.h"

#include <map>

namespace sflow {

Result<std::vector<std::pair<std::string, RunRecord>>> NewestBatchRuns(RunStore& store, const std::string& batch) {
  Result<std::vector<BatchRunRow>> rows = store.ListBatchRuns(batch);  // in the order stored
  if (!rows.ok()) return rows.status();
  std::vector<std::string> order;
  std::map<std::string, std::string> newest;  // entry -> run id
  for (const BatchRunRow& r : *rows) {
    if (!newest.count(r.entry)) order.push_back(r.entry);
    newest[r.entry] = r.run_id;
  }
  std::vector<std::pair<std::string, RunRecord>> runs;
  for (const std::string& entry : order) {
    Result<RunRecord> run = store.GetRun(newest[entry]);
    if (!run.ok()) return run.status();
    runs.emplace_back(entry, std::move(*run));
  }
  return runs;
}

}  // namespace sflow
