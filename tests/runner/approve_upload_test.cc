// End to end: local media upload in `run`, the approval file of `approve PLAN`, the local cost gate
// of `run`, and `approve --run` of a run the server paused for cost approval. The in-process
// sandbox on 127.0.0.1 with temporary state directories; commands run in-process through RunCli.
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/plan_check.h"
#include "engine/estimate.h"
#include "engine/json.h"
#include "engine/run_id.h"
#include "engine/wire.h"
#include "runner/approval.h"
#include "runner/media_upload.h"
#include "runner/server/server_runner.h"
#include "runner/sha256.h"
#include "sandbox/sandbox.h"
#include "store/state_dir.h"
#include "tests/runner/run_test_base.h"
#include "tests/support/http_test_client.h"
#include "tests/support/test_util.h"

namespace sflow {
namespace {

const std::string kApproveKey = "sk_canary_approve_5d1e7c";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The count of answers to `route` (any status, or only `status`) in the sandbox's stats.
int64_t Count(const Value& stats, const std::string& route, const std::string& status = "") {
  const Value* requests = stats.Find("requests");
  if (!requests) return 0;
  const Value* r = requests->Find(route);
  if (!r || !r->is_object()) return 0;
  int64_t n = 0;
  for (const Value::Member& m : r->members())
    if (status.empty() || m.key == status) n += m.value.as_int();
  return n;
}

constexpr const char* kUploadPlan = R"(version: 1
name: uses-logo
execution: server
media:
  logo: {path: logo.png, kind: image}
steps:
  - id: keyframe
    toolName: generate_image
    arguments: {prompt: "Product render with a logo", model: z-turbo, seed: 7}
)";

// Forwards to a real transport, remembers every request, and answers 404 to v2 upload-URL
// requests when told to (an API without v2 uploads).
class RecordingTransport : public HttpTransport {
 public:
  explicit RecordingTransport(HttpTransport* real) : real_(real) {}
  Result<HttpResponse> Send(const HttpRequest& request) override {
    requests.push_back(request);
    if (no_v2 && request.url.find("/v2/image/uploadUrl") != std::string::npos) {
      HttpResponse r;
      r.status = 404;
      r.headers.push_back({"Content-Type", "application/json"});
      r.body = R"({"status":"error","message":"Not found","errorCode":404})";
      return r;
    }
    return real_->Send(request);
  }
  Result<HttpResponse> Stream(const HttpRequest& request, const StreamHandlers& handlers, StreamCancel* cancel) override {
    return real_->Stream(request, handlers, cancel);
  }
  bool no_v2 = false;
  std::vector<HttpRequest> requests;

 private:
  HttpTransport* real_;
};

class ApproveUploadTest : public RunTestBase {
 protected:
  void SetUp() override {
    SandboxOptions so;
    so.step_ms = 5;
    so.api_keys = {kApproveKey};
    so.keepalive_ms = 200;
    StartBackend(so, kApproveKey, "", /*fast_retries=*/false);
    logo_ = ReadAll(SourceDir() + "/samples/media/logo.png");
    ASSERT_FALSE(logo_.empty());
    env_key_ = "SOGNI_API_KEY=" + kApproveKey;
  }

  CliResult Cli(std::vector<std::string> args, bool backend = true) {
    if (backend) {
      args.push_back("--api-url");
      args.push_back(sandbox_->url());
      args.push_back("--state-dir");
      args.push_back(state());
    }
    std::ostringstream out, err;
    std::string user = "USER=tester";
    char* env[] = {env_key_.data(), user.data(), nullptr};
    Context ctx{out, err, env};
    CliResult r;
    r.exit_code = RunCli(args, ctx);
    r.out = out.str();
    r.err = err.str();
    return r;
  }

  std::string state() const { return tmp_.path() + "/state"; }
  Value Stats() { return admin_->Get("/_sandbox/stats").json; }

  // The only run in the state dir (closed again before returning).
  RunRecord OnlyRun() {
    StateDirOptions so;
    so.path = state();
    auto dir = StateDir::Open(so);
    EXPECT_TRUE(dir.ok()) << dir.status().ToString();
    if (!dir.ok()) return {};
    auto runs = (*dir)->store().ListRuns({});
    EXPECT_TRUE(runs.ok());
    EXPECT_EQ(runs->size(), 1u);
    return runs->empty() ? RunRecord{} : runs->front();
  }

  Value Record(const std::string& workflow_id) {
    auto wf = client_->GetWorkflow(workflow_id);
    EXPECT_TRUE(wf.ok()) << wf.status().ToString();
    return wf.ok() ? *wf : Value();
  }

  // A copy of samples/launch-teaser.yaml (and its logo) in the temp dir.
  std::string CopyTeaser() {
    tmp_.Write("samples/media/logo.png", logo_);
    return tmp_.Write("samples/launch-teaser.yaml", ReadAll(SourceDir() + "/samples/launch-teaser.yaml"));
  }

  std::string logo_, env_key_;
};

TEST_F(ApproveUploadTest, LocalPngIsUploadedAndSentAsMediaReference) {
  std::string plan = tmp_.Write("plan.yaml", kUploadPlan);
  tmp_.Write("logo.png", logo_);
  CliResult r = Cli({"run", plan, "--out", tmp_.path() + "/out"});
  ASSERT_EQ(r.exit_code, kExitOk) << r.err;
  Value stats = Stats();
  EXPECT_EQ(Count(stats, "POST /_sandbox/upload/:token", "204"), 1) << stats.ToJson();
  RunRecord run = OnlyRun();
  EXPECT_EQ(run.status, RunStatus::kCompleted);
  Value record = Record(run.workflow_id);
  const Value* refs = record.Find("input") ? record.Find("input")->Find("mediaReferences") : nullptr;
  ASSERT_TRUE(refs && refs->is_array() && refs->size() == 1) << record.ToJson();
  const Value& ref = refs->items()[0];
  EXPECT_EQ(ref.Find("id")->as_string(), "logo");
  EXPECT_EQ(ref.Find("kind")->as_string(), "image");
  HttpResult bytes = admin_->GetUrl(ref.Find("url")->as_string());
  EXPECT_EQ(bytes.status, 200);
  EXPECT_TRUE(bytes.body == logo_) << "the uploaded media differs from the file";
  // The digest is of the file's bytes, not of the upload's URL.
  CheckedPlan c = CheckPlan(plan, DefaultCatalog(), {}, nullptr, ValidateOptions());
  auto digest = PlanDigest(c.plan, c.analysis);
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(run.plan_digest, *digest);
}

TEST_F(ApproveUploadTest, MultipartPutsFieldsFirstAndFileLast) {
  Value fields = Value::Object();
  fields.Set("key", Value::String("uploads/x"));
  fields.Set("policy", Value::String("p"));
  std::string body = MultipartBody(fields, "logo.png", "image/png", "BYTES", "B");
  size_t key = body.find("name=\"key\""), policy = body.find("name=\"policy\""), file = body.find("name=\"file\"");
  ASSERT_NE(file, std::string::npos);
  EXPECT_LT(key, policy);
  EXPECT_LT(policy, file);
  EXPECT_NE(body.find("Content-Type: image/png\r\n\r\nBYTES\r\n--B--\r\n"), std::string::npos);
}

TEST_F(ApproveUploadTest, PresignedUploadGetsNoKeyAndV1IsTheFallback) {
  std::string plan = tmp_.Write("plan.yaml", kUploadPlan);
  tmp_.Write("logo.png", logo_);
  CheckedPlan c = CheckPlan(plan, DefaultCatalog(), {}, nullptr, ValidateOptions());
  ASSERT_TRUE(c.ok()) << FormatAll(c.diags);
  for (bool no_v2 : {false, true}) {
    RecordingTransport recording(transport_.get());
    recording.no_v2 = no_v2;
    ApiClientOptions api;
    api.base_url = sandbox_->url();
    api.api_key = kApproveKey;
    ApiClient client(&recording, api);
    auto media = ResolveMedia(c.plan, client, recording, no_v2 ? "sogni-flow-v1" : "sogni-flow-v2");
    ASSERT_TRUE(media.ok()) << media.status().ToString();
    ASSERT_EQ(media->size(), 1u);
    EXPECT_EQ((*media)[0].mime_type, "image/png");
    EXPECT_TRUE(admin_->GetUrl((*media)[0].url).body == logo_);
    int uploads = 0;
    for (const HttpRequest& r : recording.requests) {
      if (r.url.find("/_sandbox/upload/") == std::string::npos) continue;
      ++uploads;
      EXPECT_EQ(r.method, no_v2 ? "PUT" : "POST");
      EXPECT_EQ(FindHeader(r.headers, "Authorization"), nullptr);
      EXPECT_EQ(FindHeader(r.headers, "api-key"), nullptr);
      EXPECT_EQ(r.body.find(kApproveKey), std::string::npos);
    }
    EXPECT_EQ(uploads, 1);
  }
  Value stats = Stats();
  EXPECT_EQ(Count(stats, "GET /v1/image/uploadUrl"), 1) << stats.ToJson();
  EXPECT_EQ(Count(stats, "PUT /_sandbox/upload/:token", "200"), 1) << stats.ToJson();
}

TEST_F(ApproveUploadTest, ResumedRunDoesNotUploadAgain) {
  std::string plan = tmp_.Write("plan.yaml", kUploadPlan);
  tmp_.Write("logo.png", logo_);
  CheckedPlan c = CheckPlan(plan, DefaultCatalog(), {}, nullptr, ValidateOptions());
  ASSERT_TRUE(c.ok()) << FormatAll(c.diags);
  std::string run_id = MakeRunId(std::time(nullptr), 42);
  {
    StateDirOptions so;
    so.path = state();
    auto dir = StateDir::Open(so);
    ASSERT_TRUE(dir.ok());
    auto media = ResolveMedia(c.plan, *client_, *transport_, "sogni-flow-" + run_id);
    ASSERT_TRUE(media.ok()) << media.status().ToString();
    StartOptions start;
    start.media = *media;
    NewServerRun spec;
    spec.plan_path = plan;
    spec.plan_name = c.plan.name;
    spec.plan_digest = *PlanDigest(c.plan, c.analysis);
    spec.start_body = StartBody(c.plan, c.analysis, start);
    spec.account = AccountFingerprint(kApproveKey);
    spec.out_dir = tmp_.path() + "/out";
    spec.step_ids = {"keyframe"};
    ASSERT_TRUE(CreateServerRun((*dir)->store(), spec, run_id).ok());
    ServerRunnerOptions o;
    o.before_start_post = [] { return false; };  // the process "dies" before the start POST
    ServerRunner runner(&(*dir)->store(), client_.get(), transport_.get(), o);
    EXPECT_EQ(runner.Drive(run_id).status().code(), Status::Code::kCancelled);
  }
  CliResult r = Cli({"resume", run_id});
  ASSERT_EQ(r.exit_code, kExitOk) << r.err;
  Value stats = Stats();
  EXPECT_EQ(Count(stats, "POST /_sandbox/upload/:token"), 1) << stats.ToJson();
  EXPECT_EQ(Count(stats, "GET /v2/image/uploadUrl"), 1) << stats.ToJson();
  EXPECT_EQ(OnlyRun().status, RunStatus::kCompleted);
}

// Two ceilings, set by two people (the plan's budget.max_units and the approval's --max-units):
// the server is told the lower one.
TEST_F(ApproveUploadTest, AnApprovalAboveTheBudgetSendsTheBudget) {
  std::string plan = CopyTeaser();
  CliResult ok = Cli({"approve", plan, "--max-units", "500"}, false);
  ASSERT_EQ(ok.exit_code, kExitOk) << ok.err;
  CliResult dry = Cli({"run", plan, "--dry-run"}, false);
  ASSERT_EQ(dry.exit_code, kExitOk) << dry.err;
  Result<Value> body = ParseJson(dry.out);
  ASSERT_TRUE(body.ok()) << dry.out;
  ASSERT_TRUE(body->Find("max_estimated_capacity_units")) << dry.out;
  EXPECT_EQ(body->Find("max_estimated_capacity_units")->as_number(), 45) << "the plan's budget, not the approval's 500";
}

TEST_F(ApproveUploadTest, ApprovalRequiredGatesRun) {
  std::string plan = CopyTeaser();
  std::string approval = tmp_.path() + "/samples/launch-teaser.approval.json";

  CliResult none = Cli({"run", plan, "--out", tmp_.path() + "/out1"});
  EXPECT_EQ(none.exit_code, kExitCostGate) << none.err;
  EXPECT_NE(none.err.find("sogni-flow approve " + plan + " --max-units 45"), std::string::npos) << none.err;
  EXPECT_EQ(Count(Stats(), "POST /v1/creative-agent/workflows"), 0);

  CliResult low = Cli({"approve", plan, "--max-units", "10"}, false);
  EXPECT_EQ(low.exit_code, kExitCostGate) << low.err;
  EXPECT_NE(access(approval.c_str(), F_OK), 0);

  CliResult ok = Cli({"approve", plan, "--max-units", "45"}, false);
  ASSERT_EQ(ok.exit_code, kExitOk) << ok.err;
  auto file = ReadApprovalFile(approval);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->max_units, 45);
  EXPECT_EQ(file->approved_by, "tester");
  EXPECT_GT(file->expires_at, file->approved_at + 29 * 86400);
  EXPECT_NE(ReadAll(approval).find("\n  \"digest\": "), std::string::npos);  // pretty-printed
  CliResult again = Cli({"approve", plan, "--max-units", "45"}, false);
  EXPECT_EQ(again.exit_code, kExitInvalid) << "an approval file is never replaced silently";

  CliResult run = Cli({"run", plan, "--out", tmp_.path() + "/out2"});
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  RunRecord stored = OnlyRun();
  EXPECT_EQ(stored.plan_digest, file->digest);
  {
    StateDirOptions so;
    so.path = state();
    auto dir = StateDir::Open(so);
    ASSERT_TRUE(dir.ok());
    auto recorded = (*dir)->store().FindApproval(file->digest);
    ASSERT_TRUE(recorded.ok()) << recorded.status().ToString();
    EXPECT_EQ(recorded->ceiling, 45);
    EXPECT_EQ(recorded->approved_by, "tester");
  }
  Value record = Record(stored.workflow_id);
  const Value* billing = record.Find("billingPreview");
  ASSERT_TRUE(billing && billing->Find("maxEstimatedCapacityUnits")) << record.ToJson();
  EXPECT_EQ(billing->Find("maxEstimatedCapacityUnits")->as_number(), 45);

  // Other params are another digest.
  CliResult params = Cli({"run", plan, "-p", "seconds=5", "--out", tmp_.path() + "/out3"});
  EXPECT_EQ(params.exit_code, kExitCostGate) << params.err;
  EXPECT_NE(params.err.find(" -p seconds=5"), std::string::npos) << params.err;  // one shell word

  // An edited prompt is another digest.
  std::string text = ReadAll(plan);
  size_t at = text.find("Studio product render");
  ASSERT_NE(at, std::string::npos);
  tmp_.Write("samples/launch-teaser.yaml", text.replace(at, 21, "Studio product photo "));
  CliResult changed = Cli({"run", plan, "--out", tmp_.path() + "/out4"});
  EXPECT_EQ(changed.exit_code, kExitCostGate) << changed.err;
  EXPECT_NE(changed.err.find("another version"), std::string::npos) << changed.err;

  // A fresh approval that has expired.
  ASSERT_EQ(Cli({"approve", plan, "--max-units", "45", "--expires", "1s", "--force"}, false).exit_code, kExitOk);
  sleep(2);
  CliResult expired = Cli({"run", plan, "--out", tmp_.path() + "/out5"});
  EXPECT_EQ(expired.exit_code, kExitCostGate) << expired.err;
  EXPECT_NE(expired.err.find("expired"), std::string::npos) << expired.err;
  EXPECT_EQ(Count(Stats(), "POST /v1/creative-agent/workflows"), 1);
}

TEST_F(ApproveUploadTest, BudgetMaxUnitsRefusesLocallyAndIsSent) {
  std::string over = tmp_.Write("over.yaml", std::string(kUploadPlan).replace(0, 0, "") + "budget: {max_units: 0.5}\n");
  tmp_.Write("logo.png", logo_);
  CliResult refused = Cli({"run", over});
  EXPECT_EQ(refused.exit_code, kExitCostGate) << refused.err;
  EXPECT_NE(refused.err.find("budget.max_units"), std::string::npos) << refused.err;
  EXPECT_EQ(Count(Stats(), "POST /v1/creative-agent/workflows"), 0);

  std::string fits = tmp_.Write("fits.yaml", std::string(kUploadPlan) + "budget: {max_units: 5}\n");
  CliResult ok = Cli({"run", fits, "--out", tmp_.path() + "/out"});
  ASSERT_EQ(ok.exit_code, kExitOk) << ok.err;
  Value record = Record(OnlyRun().workflow_id);
  EXPECT_EQ(record.Find("billingPreview")->Find("maxEstimatedCapacityUnits")->as_number(), 5);
}

TEST_F(ApproveUploadTest, ServerCostPauseIsConfirmedByApproveRun) {
  std::string plan = tmp_.Write("plan.yaml", R"(version: 1
name: pauses
execution: server
steps:
  - id: keyframe
    toolName: generate_image
    arguments: {prompt: "Product render of headphones", model: z-turbo, seed: 1234}
  - id: clip
    toolName: generate_video
    arguments: {prompt: slow orbit, videoModel: ltx23, duration: 3}
)");
  CheckedPlan c = CheckPlan(plan, DefaultCatalog(), {}, nullptr, ValidateOptions());
  ASSERT_TRUE(c.ok()) << FormatAll(c.diags);
  ASSERT_GT(EstimatePlan(c.plan, c.analysis).total_units, 2);
  std::string run_id = MakeRunId(std::time(nullptr), 7);
  {
    StateDirOptions so;
    so.path = state();
    auto dir = StateDir::Open(so);
    ASSERT_TRUE(dir.ok());
    StartOptions start;
    start.max_units = 2;  // a ceiling below the server's estimate: the server pauses the run
    NewServerRun spec;
    spec.plan_path = plan;
    spec.plan_name = c.plan.name;
    spec.plan_digest = *PlanDigest(c.plan, c.analysis);
    spec.start_body = StartBody(c.plan, c.analysis, start);
    spec.account = AccountFingerprint(kApproveKey);
    spec.out_dir = tmp_.path() + "/out";
    spec.step_ids = {"keyframe", "clip"};
    ASSERT_TRUE(CreateServerRun((*dir)->store(), spec, run_id).ok());
    ServerRunner runner(&(*dir)->store(), client_.get(), transport_.get(), ServerRunnerOptions());
    auto outcome = runner.Drive(run_id);
    ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
    EXPECT_EQ(outcome->status, RunStatus::kWaitingForUser);
    EXPECT_TRUE(outcome->awaiting_cost_approval);
    EXPECT_EQ(ExitCodeForOutcome(*outcome), kExitCostGate);
  }
  RunRecord paused = OnlyRun();
  EXPECT_EQ(paused.status, RunStatus::kWaitingForUser);
  EXPECT_EQ(paused.waiting_reason, "cost_approval_required");

  CliResult approved = Cli({"approve", "--run", run_id});
  ASSERT_EQ(approved.exit_code, kExitOk) << approved.err;
  EXPECT_EQ(OnlyRun().status, RunStatus::kCompleted);
  Value stats = Stats();
  EXPECT_EQ(Count(stats, "POST /v1/creative-agent/workflows/:id/confirm-cost"), 1) << stats.ToJson();

  CliResult twice = Cli({"approve", "--run", run_id});
  EXPECT_EQ(twice.exit_code, kExitInvalid) << "a completed run awaits no approval";
}

TEST_F(ApproveUploadTest, DurationsAndTimes) {
  EXPECT_EQ(ParseDuration("7d"), 7 * 86400);
  EXPECT_EQ(ParseDuration("12h"), 12 * 3600);
  EXPECT_FALSE(ParseDuration("0d"));
  EXPECT_FALSE(ParseDuration("d"));
  EXPECT_FALSE(ParseDuration("5x"));
  EXPECT_EQ(IsoTime(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(ParseIsoTime("2026-11-23T17:40:00Z"), 1795455600);
  EXPECT_EQ(ApprovalPathFor("samples/launch-teaser.yaml"), "samples/launch-teaser.approval.json");
}

}  // namespace
}  // namespace sflow
