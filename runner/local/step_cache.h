// The step cache of local runs. A step's key is the sha256 of its resolved request (the
// jobRequest without its jobID, keys sorted) and of the sha256 of every input it consumes, in
// the order it consumes them. Two steps with one key ask the Supernet for the same thing: the
// second one takes the first one's verified files instead of paying again (`run --no-cache`
// forces a new project). A step with no fixed seed has the same key each time, so a cached
// result stands for "the same request", not for "the same pixels a new project would make".
#ifndef SFLOW_RUNNER_LOCAL_STEP_CACHE_H_
#define SFLOW_RUNNER_LOCAL_STEP_CACHE_H_

#include <string>
#include <vector>

#include "engine/run_store.h"
#include "engine/status.h"
#include "engine/value.h"

namespace sflow {

// One consumed input: the parameter, the place in it, and the sha256 of its bytes.
struct CacheInput {
  std::string param;
  int64_t position = 0;
  std::string sha256;
};

// 64 lowercase hex digits.
std::string StepCacheKey(const Value& job_request, const std::vector<CacheInput>& inputs);

// The files of `artifacts` (done, of one step) re-read and checked against their sha256: true
// when every one is intact, false when one is missing or changed (the cache entry is then not
// used). kIOError only for a read that fails for another reason.
Result<bool> VerifyCachedFiles(const std::vector<ArtifactRecord>& artifacts);

}  // namespace sflow

#endif  // SFLOW_RUNNER_LOCAL_STEP_CACHE_H_
