// CheckStore: the full check of a state database behind `sogni-flow check`, everything the store
// can verify about itself without the network:
//   - the log (store/wal_check.h): damage SQLite would drop silently;
//   - PRAGMA integrity_check (every page, index and constraint) and PRAGMA foreign_key_check;
//   - every row of every table decodes as store/run_rows.h promises (events included);
//   - every run has a cursor, and the cursor covers every stored event of the run;
//   - the rows of a local run agree: its spec, its steps and their projects (CheckLocalRuns).
// It opens the database read-only by itself, so that it can report on a database that
// StateDir::Open refuses. The artifacts' files are checked by the caller (it has the hashing).
#ifndef SFLOW_STORE_STATE_CHECK_H_
#define SFLOW_STORE_STATE_CHECK_H_

#include <cstdint>
#include <string>
#include <vector>

#include "engine/run_store.h"
#include "engine/status.h"

namespace sflow {

struct StoreCheck {
  std::vector<std::string> problems;  // one sentence each, without advice
  int64_t runs = 0, steps = 0, events = 0, intents = 0, artifacts = 0;
  std::vector<ArtifactRecord> done;   // artifacts stored as downloaded (for the file checks)
  std::vector<std::string> done_runs; // the run of each of `done`
};

// kNotFound when there is no database at `db_path`; every other trouble is a problem in the result.
Result<StoreCheck> CheckStore(const std::string& db_path);

}  // namespace sflow

#endif  // SFLOW_STORE_STATE_CHECK_H_
