// Batch files (`kind: batch`): which plans a scheduled job runs, each over a matrix of params.
//
//   version: 1
//   kind: batch
//   name: nightly-products        # a slug: the state directory keeps the batch's runs under it
//   concurrency: 4                # runs at once (optional; else -j, the jobs setting, 1)
//   budget:                       # the ledger's ceilings (optional; engine/ledger.h)
//     batch: {max_units: 20000}   #   the batch's runs, all of them
//     day: {max_units: 5000, max_usd: 10}  # every run of the state directory today (UTC)
//     month: {max_usd: 200}       #   and this month
//   entries:
//     - plan: plans/product-shot.yaml   # relative to the batch file
//       params: {style: studio}         # the same for every run of the entry (optional)
//       matrix:                         # every combination, in the order written (optional)
//         product: [kettle, toaster]
//         size: [square, wide]
//       rows: products.csv              # and/or rows: a CSV file (its header names the params),
//                                       # a YAML file holding a list of mappings, or that list inline
//
// An entry makes one run per row times each combination of its matrix (one run when it has
// neither). A run's params are given to its plan as `-p NAME=VALUE` would give them (typed by the
// plan's params, checked by validate). A run is named by its plan file's stem and every param it
// gets, sorted by name: `product-shot[product=kettle,size=square]`; in a value, the characters
// `%,=[]` and controls are written %XX, and a param whose name says secret shows `(secret)`.
// Names are unique within a batch: `batch run` finds an entry's earlier runs by it.
//
// Hostile input: the batch file and a rows file are read by the plans' safe YAML reader (1 MiB,
// no anchors, no duplicate keys); a CSV file is capped at 1 MiB, checked as UTF-8, and parsed as
// RFC 4180 (quoted fields, "" inside quotes). A batch expands to at most kMaxBatchRuns runs (the
// count is computed before anything is expanded, so a matrix of ten lists of ten values costs
// nothing). Every problem is reported at its file:line:col.
#ifndef SFLOW_PLANS_BATCH_LOADER_H_
#define SFLOW_PLANS_BATCH_LOADER_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/diagnostics.h"
#include "engine/ledger.h"
#include "engine/status.h"
#include "engine/value.h"

namespace sflow {

inline constexpr size_t kMaxBatchRuns = 10000;

struct BatchRun {
  std::string name;                                        // "product-shot[product=kettle]"
  std::vector<std::pair<std::string, std::string>> params;  // in order: entry params, matrix, row
  SourceLoc loc;                                           // the entry, or its row in the batch file
};

struct BatchEntry {
  std::string plan_path;  // absolute, links resolved (found relative to the batch file's folder)
  SourceLoc loc;          // the entry's `plan:` value
  std::vector<BatchRun> runs;
};

struct Batch {
  std::string path;  // the batch file
  std::string name;
  int concurrency = 0;  // 0 = not given
  std::vector<LedgerCeiling> ceilings;  // budget: what `batch run` does not start a run past
  std::vector<BatchEntry> entries;
  size_t run_count() const;
};

// Whether `path` holds a batch file (a mapping whose `kind` is `batch`), read cheaply; false for
// anything else, including files that do not parse (the plan loader reports those).
bool LooksLikeBatchFile(const std::string& path);

// Loads, checks and expands a batch file. Problems go into `diags` (each with its file and
// position); kInvalidPlan when there is one.
Result<Batch> LoadBatch(const std::string& path, DiagnosticList* diags);
// The same for text already read (`path` names it; plans and rows files are found beside it).
Result<Batch> LoadBatchFromText(const std::string& path, std::string_view text, DiagnosticList* diags);

// Parses CSV text (RFC 4180) into rows of fields; problems go into `diags` (which names the file)
// at their line and column. The first row is the header.
Result<std::vector<std::vector<std::pair<std::string, SourceLoc>>>> ParseCsv(std::string_view text, DiagnosticList* diags);

}  // namespace sflow

#endif  // SFLOW_PLANS_BATCH_LOADER_H_
