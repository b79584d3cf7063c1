// What the end-to-end run tests share: a sandbox on 127.0.0.1 with a REST client for one of its
// keys, a state directory under a temp dir, and runs created the way `sogni-flow run` creates
// them.
#ifndef SFLOW_TESTS_RUNNER_RUN_TEST_BASE_H_
#define SFLOW_TESTS_RUNNER_RUN_TEST_BASE_H_

#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "api/api_client.h"
#include "api/http_transport.h"
#include "cli/run_reporter.h"
#include "runner/server/server_runner.h"
#include "sandbox/sandbox.h"
#include "store/state_dir.h"
#include "tests/support/http_test_client.h"
#include "tests/support/test_util.h"

namespace sflow {

class RunTestBase : public ::testing::Test {
 protected:
  // Starts a sandbox with `so` and a client for `api_key` against it. fast_retries: 10 attempts
  // 10-100 ms apart, so fault tests finish quickly; otherwise the client's defaults.
  void StartBackend(SandboxOptions so, const std::string& api_key, const std::string& app_source = "",
                    bool fast_retries = true);
  void OpenStoreAt(const std::string& path);
  // A planned server run of `plan_text` (written to plan.yaml) in dir_'s store, for `api_key`;
  // send_max_units puts the plan's budget.max_units in the start body. "" on failure (reported).
  std::string NewRunOf(const std::string& plan_text, const std::string& api_key, bool send_max_units);
  // Runner options with progress to progress_ and short backoffs.
  ServerRunnerOptions FastOptions(std::ostream* json = nullptr);

  TempDir tmp_;
  std::unique_ptr<Sandbox> sandbox_;
  std::unique_ptr<HttpTransport> transport_;
  std::unique_ptr<ApiClient> client_;
  std::unique_ptr<HttpTestClient> admin_;
  std::unique_ptr<StateDir> dir_;
  std::ostringstream progress_;
  std::vector<std::unique_ptr<StreamReporter>> reporters_;  // one per FastOptions() call
  int runs_ = 0;
};

}  // namespace sflow

#endif  // SFLOW_TESTS_RUNNER_RUN_TEST_BASE_H_
