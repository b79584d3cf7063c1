#include "runner/local/step_cache.h"

#include <cerrno>

#include "runner/artifact_files.h"
#include "runner/sha256.h"

namespace sflow {

std::string StepCacheKey(const Value& job_request, const std::vector<CacheInput>& inputs) {
  Value request = job_request;
  if (request.is_object()) request.Erase("jobID");
  std::string text = "sogni-flow step cache v1\n" + request.ToJson(/*sort_keys=*/true) + "\n";
  for (const CacheInput& in : inputs)
    text += in.param + "[" + std::to_string(in.position) + "]=" + in.sha256 + "\n";
  return Sha256Hex(text);
}

Result<bool> VerifyCachedFiles(const std::vector<ArtifactRecord>& artifacts) {
  if (artifacts.empty()) return false;
  for (const ArtifactRecord& a : artifacts) {
    if (a.state != ArtifactState::kDone || a.local_path.empty()) return false;
    Result<FileDigest> digest = DigestFile(a.local_path);  // a block at a time: videos too
    if (!digest.ok()) {
      if (digest.status().code() == Status::Code::kNotFound || digest.status().code() == Status::Code::kIOError) return false;
      return digest.status();
    }
    if (digest->sha256 != a.sha256) return false;
  }
  return true;
}

}  // namespace sflow
