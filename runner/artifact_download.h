// Downloading a run's artifacts, each exactly once, with a provenance file beside it
// (docs/architecture.md, crash safety).
//
// For each artifact the store does not call done yet, in the order the run announced them:
//   1. the body streams into <out>/<step>/.<n>.<run>.part (runner/artifact_files.h), resumed with Range
//      after a crash or a cut; transient answers are retried a few times;
//   2. the part is published as <out>/<step>/<n>.<ext> (fsync, link that never replaces, fsync
//      of the directory); the extension comes from the bytes, the name never from the server;
//   3. <n>.<ext>.provenance.json is written beside it (the same way);
//   4. the store marks the artifact done with its size and sha256; only then the part goes.
// A file or provenance file that exists with other content (another run wrote into the same
// --out, or a person did) is never overwritten: the artifact is marked failed with a message
// that says what to do, and the run's outcome counts it. Store errors end the download.
#ifndef SFLOW_RUNNER_ARTIFACT_DOWNLOAD_H_
#define SFLOW_RUNNER_ARTIFACT_DOWNLOAD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "api/http_transport.h"
#include "api/retry_policy.h"
#include "engine/run_store.h"
#include "engine/status.h"
#include "runner/progress.h"

namespace sflow {

struct DownloadOptions {
  RunProgress* reporter = nullptr;  // "saved ..." and problem lines; may be null
  StreamCancel* cancel = nullptr;   // Ctrl-C: stop before the next artifact and inside this one
  RetryClock* clock = nullptr;      // waits between attempts; nullptr = the real clock
  // DownloadArtifactList only: the store is not told; every record of `marked` (done or failed)
  // is the caller's to store, in the transaction that ends the step, and only after that
  // commit may the done ones' part files go (RemovePartFiles). One commit per step, not one
  // per file and one more for the step.
  bool defer_marks = false;
};

struct DownloadTally {
  int64_t done = 0, failed = 0;
  std::string first_problem;        // the first artifact's failure, for the run's summary
};

// Downloads every artifact of `run` (as stored; out_dir as given in `run`) that is not done.
// Every artifact is tried. Returns kCancelled when interrupted (resume fetches the rest), a store
// error as it is, or kUnavailable when an artifact could not be fetched for a reason that may
// pass (the network, a 5xx): resumable. Artifacts that cannot be saved for good (a file in the
// way, a 4xx) are counted in `tally` and fail the run's outcome instead.
Status DownloadArtifacts(RunStore& store, HttpTransport& transport, const RunRecord& run,
                         const DownloadOptions& options, DownloadTally* tally);

// The same for the given artifacts of `run` only (their records as stored; `run` with its steps),
// without reading the run's other artifacts: the local runner downloads each step's files as the
// step ends. When `marked` is given, every record the store was told of (done or failed) is
// appended to it as stored, so that the caller need not read the run's artifacts back.
Status DownloadArtifactList(RunStore& store, HttpTransport& transport, const RunRecord& run,
                            const std::vector<ArtifactRecord>& artifacts, const DownloadOptions& options,
                            DownloadTally* tally, std::vector<ArtifactRecord>* marked = nullptr);

// Removes the part files of the done artifacts among `stored` (after defer_marks, once the store
// holds them): until then a part linked to its final name proved the bytes complete.
void RemovePartFiles(const RunRecord& run, const std::vector<ArtifactRecord>& stored);

// What a provenance file says about one downloaded artifact: enough to tell, from the file alone,
// which reviewed plan, step, tool, seed and arguments made it, on which workflow, at what cost.
// Nothing in it changes between two downloads of the same artifact.
std::string ProvenanceJson(const RunRecord& run, const ArtifactRecord& a, const StepRecord* step);

}  // namespace sflow

#endif  // SFLOW_RUNNER_ARTIFACT_DOWNLOAD_H_
