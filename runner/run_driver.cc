#include "runner/run_driver.h"

#include "runner/executor.h"

namespace sflow {

Task<Result<RunOutcome>> RunDriver::DriveAsync(const std::string& run_id_ref, Executor& ex) {
  const std::string run_id = run_id_ref;
  // Named, not a temporary: GCC 12 destroys a temporary awaiter with members twice (seen here: a double free).
  auto awaiter = OnOwnThread<Result<RunOutcome>>(ex, [this, run_id] { return Drive(run_id); });
  co_return co_await awaiter;
}

}  // namespace sflow
