#include "tests/runner/run_test_base.h"

#include <ctime>

#include "cli/plan_check.h"
#include "engine/run_id.h"
#include "engine/wire.h"
#include "runner/sha256.h"

namespace sflow {

void RunTestBase::StartBackend(SandboxOptions so, const std::string& api_key, const std::string& app_source,
                               bool fast_retries) {
  auto sb = Sandbox::Start(so);
  ASSERT_TRUE(sb.ok()) << sb.status().ToString();
  sandbox_ = std::move(*sb);
  auto t = NewHttpTransport(HttpTransportOptions());
  ASSERT_TRUE(t.ok());
  transport_ = std::move(*t);
  ApiClientOptions api;
  api.base_url = sandbox_->url();
  api.api_key = api_key;
  api.app_source = app_source;
  if (fast_retries) {
    api.retry.base_delay = std::chrono::milliseconds(10);
    api.retry.max_delay = std::chrono::milliseconds(100);
    api.retry.max_attempts = 10;
  }
  client_ = std::make_unique<ApiClient>(transport_.get(), api);
  admin_ = std::make_unique<HttpTestClient>(sandbox_->port());
}

void RunTestBase::OpenStoreAt(const std::string& path) {
  StateDirOptions so;
  so.path = path;
  auto dir = StateDir::Open(so);
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  dir_ = std::move(*dir);
}

std::string RunTestBase::NewRunOf(const std::string& plan_text, const std::string& api_key, bool send_max_units) {
  std::string path = tmp_.Write("plan.yaml", plan_text);
  CheckedPlan c = CheckPlan(path, DefaultCatalog(), {}, nullptr, ValidateOptions());
  EXPECT_TRUE(c.ok()) << FormatAll(c.diags);
  NewServerRun spec;
  spec.plan_path = path;
  spec.plan_name = c.plan.name;
  StartOptions start;
  if (send_max_units) start.max_units = c.plan.budget.max_units;
  spec.start_body = StartBody(c.plan, c.analysis, start);
  spec.plan_digest = Sha256Hex(PlanDigestInput(spec.start_body, c.analysis.params));
  spec.account = AccountFingerprint(api_key);
  std::string run_id = MakeRunId(std::time(nullptr), static_cast<uint64_t>(++runs_));
  spec.out_dir = tmp_.path() + "/out/" + run_id;
  for (const Step& s : c.plan.steps) spec.step_ids.push_back(s.id);
  auto id = CreateServerRun(dir_->store(), spec, run_id);
  EXPECT_TRUE(id.ok()) << id.status().ToString();
  return id.ok() ? *id : "";
}

ServerRunnerOptions RunTestBase::FastOptions(std::ostream* json) {
  ServerRunnerOptions o;
  reporters_.push_back(std::make_unique<StreamReporter>(&progress_, json));
  o.reporter = reporters_.back().get();
  o.backoff_base = std::chrono::milliseconds(10);
  o.backoff_max = std::chrono::milliseconds(200);
  o.max_stream_failures = 50;
  return o;
}

}  // namespace sflow
