#include "runner/synchronized_run_store.h"

#include <condition_variable>
#include <mutex>
#include <optional>

namespace sflow {

Result<AppendResult> SynchronizedRunStore::AppendEvents(const std::string& id, const EventBatch& b) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<AppendResult>> result;
  committer_.Submit(&id, &b, [&](Result<AppendResult> r) {
    std::lock_guard<std::mutex> lock(mu);
    result = std::move(r);
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return result.has_value(); });
  return std::move(*result);
}

}  // namespace sflow
