// End to end: ServerRunner against the in-process sandbox on 127.0.0.1, with a temporary state dir.
#include "runner/server/server_runner.h"

#include <dirent.h>
#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli/exit_codes.h"
#include "cli/plan_check.h"
#include "engine/json.h"
#include "engine/run_id.h"
#include "engine/wire.h"
#include "runner/artifact_files.h"
#include "runner/sha256.h"
#include "sandbox/sandbox.h"
#include "store/state_dir.h"
#include "tests/runner/run_test_base.h"
#include "tests/support/http_test_client.h"
#include "tests/support/test_util.h"

namespace sflow {
namespace {

constexpr const char* kRunnerPlan = R"(version: 1
name: two-step
execution: server
steps:
  - id: keyframe
    toolName: generate_image
    arguments: {prompt: "Product render of headphones", model: z-turbo, seed: 1234}
  - id: clip
    toolName: generate_video
    arguments: {prompt: slow orbit, videoModel: ltx23, duration: 3}
    dependsOn:
      - {sourceStepId: keyframe, sourceArtifactIndex: 0, targetArgument: referenceImageIndices,
         mediaType: image, transform: image_index}
)";

const std::string kCanary = "sk_canary_7f3a91c2e5d84b60";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void ListFiles(const std::string& dir, std::vector<std::string>* out) {
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string path = dir + "/" + name;
    struct stat st{};
    if (lstat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) ListFiles(path, out);
    else if (S_ISREG(st.st_mode)) out->push_back(path);
  }
  closedir(d);
}

class ServerRunnerTest : public RunTestBase {
 protected:
  void StartSandbox(const std::string& faults = "", uint64_t seed = 1) {
    SandboxOptions so;
    so.seed = seed;
    so.step_ms = 20;
    so.api_keys = {kCanary};
    so.faults = faults;
    so.keepalive_ms = 200;
    StartBackend(so, kCanary);
  }

  void OpenStore() { OpenStoreAt(tmp_.path() + "/state"); }

  std::string NewRun(const std::string& plan_text = kRunnerPlan) { return NewRunOf(plan_text, kCanary, true); }

  ServerRunnerOptions Options() { return FastOptions(&json_); }

  Value Stats() { return admin_->Get("/_sandbox/stats").json; }

  // Stored events equal the sandbox's authoritative log, each exactly once, in order.
  void ExpectEventsMatch(const std::string& run_id, const std::string& workflow_id) {
    HttpResult log = admin_->Get("/_sandbox/events/" + workflow_id);
    ASSERT_EQ(log.status, 200);
    const Value* events = log.json.Find("events");
    ASSERT_TRUE(events && events->is_array());
    auto stored = dir_->store().ListEvents(run_id, -1, 0);
    ASSERT_TRUE(stored.ok());
    ASSERT_EQ(stored->size(), events->items().size());
    for (size_t i = 0; i < stored->size(); ++i) {
      auto parsed = ParseJson((*stored)[i].json);
      ASSERT_TRUE(parsed.ok());
      EXPECT_EQ(*parsed, events->items()[i]) << "event " << i;
      EXPECT_EQ((*stored)[i].sequence, static_cast<int64_t>(i + 1));
    }
  }

  void ExpectArtifactsDownloadedOnce(const std::string& run_id) {
    auto arts = dir_->store().ListArtifacts(run_id);
    ASSERT_TRUE(arts.ok());
    ASSERT_GE(arts->size(), 2u);
    Value stats = Stats();
    const Value* downloads = stats.Find("downloads");
    ASSERT_TRUE(downloads && downloads->is_object());
    for (const ArtifactRecord& a : *arts) {
      EXPECT_EQ(a.state, ArtifactState::kDone) << a.remote_id;
      std::string bytes = ReadFile(a.local_path);
      EXPECT_EQ(static_cast<int64_t>(bytes.size()), a.size);
      EXPECT_EQ(Sha256Hex(bytes), a.sha256);
      const Value* n = downloads->Find(a.remote_id);
      ASSERT_TRUE(n && n->is_int()) << a.remote_id << " in " << downloads->ToJson();
      EXPECT_EQ(n->as_int(), 1) << a.remote_id;
      ExpectProvenance(run_id, a);
    }
  }

  // The provenance file beside an artifact names the run, plan digest, workflow, step, tool, seed,
  // arguments digest, units and the file's own sha256, as the store and the server know them.
  void ExpectProvenance(const std::string& run_id, const ArtifactRecord& a) {
    auto parsed = ParseJson(ReadFile(a.local_path + ".provenance.json"));
    ASSERT_TRUE(parsed.ok()) << a.local_path << ": " << parsed.status().ToString();
    const Value& p = *parsed;
    auto run = dir_->store().GetRun(run_id);
    ASSERT_TRUE(run.ok());
    auto field = [&](const char* k) { const Value* v = p.Find(k); return v ? *v : Value::Null(); };
    EXPECT_EQ(field("kind").as_string(), "sogni-flow/provenance");
    EXPECT_EQ(field("run").as_string(), run_id);
    EXPECT_EQ(field("planDigest").as_string(), run->plan_digest);
    EXPECT_EQ(field("workflowId").as_string(), run->workflow_id);
    EXPECT_EQ(field("step").as_string(), a.step_id);
    EXPECT_EQ(field("sha256").as_string(), a.sha256);
    EXPECT_EQ(field("size").as_int(), a.size);
    EXPECT_EQ(field("artifactId").as_string(), a.remote_id);
    // What the server's record says about the step (the sandbox reports tool, seed, arguments, units).
    auto record = client_->GetWorkflow(run->workflow_id);
    ASSERT_TRUE(record.ok());
    const Value* step = nullptr;
    for (const Value& st : record->Find("steps")->items())
      if (st.Find("id")->as_string() == a.step_id) step = &st;
    ASSERT_TRUE(step) << a.step_id;
    EXPECT_EQ(field("tool").as_string(), step->Find("toolName")->as_string());
    EXPECT_EQ(field("seed").as_int(), step->Find("seed")->as_int());
    // The arguments the step ran with: the record's arguments with the step's own seed in them.
    Value ran_with = *step->Find("arguments");
    ran_with.Set("seed", *step->Find("seed"));
    EXPECT_EQ(field("argumentsDigest").as_string(), Sha256Hex(ran_with.ToJson(true)));
    EXPECT_EQ(field("units").as_number(), step->Find("cost")->Find("actual")->as_number());
  }

  void ExpectNoCanaryAnywhere() {
    std::vector<std::string> files;
    ListFiles(tmp_.path(), &files);
    ASSERT_FALSE(files.empty());
    for (const std::string& f : files)
      EXPECT_EQ(ReadFile(f).find(kCanary), std::string::npos) << f;
    EXPECT_EQ(progress_.str().find(kCanary), std::string::npos);
    EXPECT_EQ(json_.str().find(kCanary), std::string::npos);
  }

  std::ostringstream json_;
};

TEST_F(ServerRunnerTest, TwoStepPlanCompletesWithEventsAndArtifacts) {
  StartSandbox();
  OpenStore();
  std::string run_id = NewRun();
  ServerRunner runner(&dir_->store(), client_.get(), transport_.get(), Options());
  auto outcome = runner.Drive(run_id);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString() << "\n" << progress_.str();
  EXPECT_EQ(outcome->status, RunStatus::kCompleted);
  EXPECT_EQ(ExitCodeForOutcome(*outcome), 0);
  auto run = dir_->store().GetRun(run_id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, RunStatus::kCompleted);
  EXPECT_EQ(run->account, AccountFingerprint(kCanary));
  ASSERT_FALSE(run->workflow_id.empty());
  ExpectEventsMatch(run_id, run->workflow_id);
  ExpectArtifactsDownloadedOnce(run_id);
  auto pending = dir_->store().PendingIntents(run_id);
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty());

  // Driving it again downloads nothing twice and never overwrites a file.
  ServerRunner again(&dir_->store(), client_.get(), transport_.get(), Options());
  auto second = again.Drive(run_id);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->status, RunStatus::kCompleted);
  ExpectArtifactsDownloadedOnce(run_id);
  ExpectEventsMatch(run_id, run->workflow_id);
  ExpectNoCanaryAnywhere();
}

TEST_F(ServerRunnerTest, CompletesUnderStreamAndHttpFaults) {
  OpenStore();
  for (uint64_t seed : {1, 2, 3, 4}) {
    SCOPED_TRACE("sandbox seed " + std::to_string(seed));
    StartSandbox("http_5xx=0.2,http_429=0.1,sse_drop_after=3,sse_duplicate=0.2,ignore_last_event_id=0.3,"
                 "retry_after=0", seed);
    std::string run_id = NewRun();
    ServerRunner runner(&dir_->store(), client_.get(), transport_.get(), Options());
    auto outcome = runner.Drive(run_id);
    ASSERT_TRUE(outcome.ok()) << outcome.status().ToString() << "\n" << progress_.str();
    EXPECT_EQ(outcome->status, RunStatus::kCompleted);
    auto run = dir_->store().GetRun(run_id);
    ASSERT_TRUE(run.ok());
    ExpectEventsMatch(run_id, run->workflow_id);  // 0 missing, 0 duplicate
    ExpectArtifactsDownloadedOnce(run_id);
    Value stats = Stats();
    const Value* faults = stats.Find("faults");
    ASSERT_TRUE(faults && faults->is_object());
    for (const char* fault : {"sse_drop_after", "http_5xx"}) {
      const Value* n = faults->Find(fault);
      EXPECT_TRUE(n && n->is_int() && n->as_int() > 0) << fault << " never fired: " << faults->ToJson();
    }
  }
  ExpectNoCanaryAnywhere();
}

// A media body cut short (half of it, then the connection drops) is kept in the artifact's part
// file and finished with Range: every file complete, each object sent from byte 0 at most once.
TEST_F(ServerRunnerTest, ShortMediaBodiesAreFinishedWithRange) {
  OpenStore();
  StartSandbox("media_short_body=0.5", 3);
  std::string run_id = NewRun();
  ServerRunner runner(&dir_->store(), client_.get(), transport_.get(), Options());
  auto outcome = runner.Drive(run_id);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString() << "\n" << progress_.str();
  EXPECT_EQ(outcome->status, RunStatus::kCompleted);
  auto arts = dir_->store().ListArtifacts(run_id);
  ASSERT_TRUE(arts.ok());
  ASSERT_GE(arts->size(), 2u);
  Value stats = Stats();
  const Value* fired = stats.Find("faults")->Find("media_short_body");
  ASSERT_TRUE(fired && fired->as_int() > 0) << stats.ToJson();
  int64_t resumed_total = 0;
  for (const ArtifactRecord& a : *arts) {
    EXPECT_EQ(a.state, ArtifactState::kDone) << a.remote_id;
    std::string bytes = ReadFile(a.local_path);
    EXPECT_EQ(static_cast<int64_t>(bytes.size()), a.size);
    EXPECT_EQ(Sha256Hex(bytes), a.sha256);
    const Value* full = stats.Find("downloads")->Find(a.remote_id);
    const Value* resumed = stats.Find("resumedDownloads")->Find(a.remote_id);
    int64_t n_full = full ? full->as_int() : 0, n_resumed = resumed ? resumed->as_int() : 0;
    EXPECT_EQ(n_full + n_resumed, 1) << a.remote_id << ": " << stats.ToJson();
    resumed_total += n_resumed;
    ExpectProvenance(run_id, a);
    struct stat st{};
    std::string dir = a.local_path.substr(0, a.local_path.rfind('/'));
    EXPECT_NE(::stat(PartPathFor(dir, run_id, a.index).c_str(), &st), 0) << "part file left";
  }
  EXPECT_GT(resumed_total, 0) << stats.ToJson();
}

TEST_F(ServerRunnerTest, CrashBeforeStartPostThenResumeResendsTheSameKey) {
  StartSandbox();
  OpenStore();
  std::string run_id = NewRun();
  ServerRunnerOptions crashing = Options();
  crashing.before_start_post = [] { return false; };
  {
    ServerRunner runner(&dir_->store(), client_.get(), transport_.get(), crashing);
    auto outcome = runner.Drive(run_id);
    ASSERT_FALSE(outcome.ok());
    EXPECT_EQ(outcome.status().code(), Status::Code::kCancelled);
  }
  auto pending = dir_->store().PendingIntents(run_id);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  const std::string key = (*pending)[0].idempotency_key;
  EXPECT_EQ(Stats().Find("workflowsCreated")->as_int(), 0);

  // "Restart": close and reopen the state dir, then resume.
  dir_.reset();
  OpenStore();
  // A start that reached the server but whose answer was lost: send it once by hand with the key.
  ServerRunnerOptions lost = Options();
  int calls = 0;
  lost.before_start_post = [&] { ++calls; return true; };
  ServerRunner resumed(&dir_->store(), client_.get(), transport_.get(), lost);
  auto outcome = resumed.Drive(run_id);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(outcome->status, RunStatus::kCompleted);
  Value stats = Stats();
  EXPECT_EQ(stats.Find("workflowsCreated")->as_int(), 1);
  const Value* by_key = stats.Find("workflowsByIdempotencyKey");
  ASSERT_TRUE(by_key && by_key->is_object());
  ASSERT_EQ(by_key->size(), 1u) << by_key->ToJson();
  const Value* n = by_key->Find(key);
  ASSERT_TRUE(n) << by_key->ToJson();
  EXPECT_EQ(n->as_int(), 1);
  auto run = dir_->store().GetRun(run_id);
  ASSERT_TRUE(run.ok());
  ExpectEventsMatch(run_id, run->workflow_id);
  ExpectNoCanaryAnywhere();
}

TEST_F(ServerRunnerTest, CliResumeContinuesACrashedRunWithTheSameKey) {
  StartSandbox();
  OpenStore();
  std::string run_id = NewRun();
  ServerRunnerOptions crashing = Options();
  crashing.before_start_post = [] { return false; };
  ServerRunner runner(&dir_->store(), client_.get(), transport_.get(), crashing);
  ASSERT_FALSE(runner.Drive(run_id).ok());
  auto pending = dir_->store().PendingIntents(run_id);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  const std::string key = (*pending)[0].idempotency_key;
  dir_.reset();  // the crashed process is gone: its lock too

  std::string key_file = tmp_.Write("key", kCanary);
  ASSERT_EQ(chmod(key_file.c_str(), 0600), 0);
  std::string other_key = tmp_.Write("other", "sk_other_account");
  ASSERT_EQ(chmod(other_key.c_str(), 0600), 0);
  CliResult wrong = RunCliForTest({"resume", run_id, "--api-url", sandbox_->url(), "--api-key-file", other_key,
                                   "--state-dir", tmp_.path() + "/state"});
  EXPECT_EQ(wrong.exit_code, kExitAuth) << wrong.err;
  CliResult r = RunCliForTest({"resume", run_id, "--api-url", sandbox_->url(), "--api-key-file", key_file,
                               "--state-dir", tmp_.path() + "/state"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("completed"), std::string::npos) << r.err;
  Value stats = Stats();
  EXPECT_EQ(stats.Find("workflowsCreated")->as_int(), 1);
  const Value* by_key = stats.Find("workflowsByIdempotencyKey");
  ASSERT_TRUE(by_key && by_key->Find(key)) << stats.ToJson();
  EXPECT_EQ(r.err.find(kCanary), std::string::npos);
  EXPECT_EQ(r.out.find(kCanary), std::string::npos);
}

TEST_F(ServerRunnerTest, ResendAfterAnsweredStartCreatesNoSecondWorkflow) {
  StartSandbox();
  OpenStore();
  std::string run_id = NewRun();
  auto pending = dir_->store().PendingIntents(run_id);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  // The POST reached the server (same key, same body), but the process died before storing the
  // answer: the intent is still open, so the runner re-sends it.
  auto body = ParseJson((*pending)[0].request);
  ASSERT_TRUE(body.ok());
  HttpResult first = HttpTestClient(sandbox_->port(), kCanary)
                         .Post("/v1/creative-agent/workflows", (*pending)[0].request,
                               {{"Idempotency-Key", (*pending)[0].idempotency_key},
                                {"Content-Type", "application/json"}});
  ASSERT_EQ(first.status, 201) << first.body;
  ServerRunner runner(&dir_->store(), client_.get(), transport_.get(), Options());
  auto outcome = runner.Drive(run_id);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->status, RunStatus::kCompleted);
  EXPECT_EQ(Stats().Find("workflowsCreated")->as_int(), 1);
}

TEST_F(ServerRunnerTest, CliRunStatusEventsWithKeyFileLeakNoKey) {
  StartSandbox();
  std::string plan = tmp_.Write("plan.yaml", kRunnerPlan);
  std::string key_file = tmp_.Write("key", kCanary + "\n");
  std::string state = tmp_.path() + "/state", out = tmp_.path() + "/out";
  ASSERT_EQ(chmod(key_file.c_str(), 0644), 0);
  CliResult open_key = RunCliForTest({"run", plan, "--api-url", sandbox_->url(), "--api-key-file", key_file,
                                      "--state-dir", state});
  EXPECT_EQ(open_key.exit_code, 7) << open_key.err;
  CliResult no_key = RunCliForTest({"run", plan, "--api-url", sandbox_->url(), "--state-dir", state});
  EXPECT_EQ(no_key.exit_code, 3) << no_key.err;

  ASSERT_EQ(chmod(key_file.c_str(), 0600), 0);
  CliResult run = RunCliForTest({"run", plan, "--api-url", sandbox_->url(), "--api-key-file", key_file,
                                 "--state-dir", state, "--out", out, "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::vector<std::string> lines;
  std::istringstream in(run.out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_GE(lines.size(), 2u);
  auto summary = ParseJson(lines.back());
  ASSERT_TRUE(summary.ok()) << lines.back();
  EXPECT_EQ(summary->Find("event")->as_string(), "summary");
  EXPECT_EQ(summary->Find("status")->as_string(), "completed");
  EXPECT_EQ(summary->Find("artifactsDone")->as_int(), 2);
  const std::string run_id = summary->Find("run")->as_string();
  EXPECT_EQ(static_cast<int64_t>(lines.size() - 1), summary->Find("events")->as_int());

  CliResult status = RunCliForTest({"status", "--state-dir", state, "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto st = ParseJson(status.out.substr(0, status.out.find('\n')));
  ASSERT_TRUE(st.ok()) << status.out;
  EXPECT_EQ(st->Find("run")->as_string(), run_id);
  EXPECT_EQ(st->Find("status")->as_string(), "completed");
  EXPECT_EQ(st->Find("artifactsDone")->as_int(), 2);
  CliResult events = RunCliForTest({"events", run_id, "--state-dir", state});
  ASSERT_EQ(events.exit_code, 0) << events.err;
  EXPECT_NE(events.out.find("workflow_completed"), std::string::npos) << events.out;
  CliResult missing = RunCliForTest({"events", "r-nope", "--state-dir", state});
  EXPECT_EQ(missing.exit_code, 2) << missing.err;

  for (const CliResult* r : {&open_key, &no_key, &run, &status, &events}) {
    EXPECT_EQ(r->out.find(kCanary), std::string::npos);
    EXPECT_EQ(r->err.find(kCanary), std::string::npos);
  }
  std::vector<std::string> files;
  ListFiles(state, &files);
  ListFiles(out, &files);
  EXPECT_GE(files.size(), 3u);
  for (const std::string& f : files) EXPECT_EQ(ReadFile(f).find(kCanary), std::string::npos) << f;
}

TEST_F(ServerRunnerTest, UnavailableStartKeepsTheIntentAndResumeResendsTheSameKey) {
  StartSandbox("http_5xx=1,retry_after=0");
  OpenStore();
  std::string run_id = NewRun();
  {
    ServerRunner runner(&dir_->store(), client_.get(), transport_.get(), Options());
    auto outcome = runner.Drive(run_id);
    ASSERT_FALSE(outcome.ok());
    EXPECT_EQ(outcome.status().code(), Status::Code::kUnavailable) << outcome.status().ToString();
    EXPECT_EQ(ExitCodeFor(outcome.status()), kExitUnavailable);
  }
  auto pending = dir_->store().PendingIntents(run_id);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].state, IntentState::kUnknown);
  const std::string key = (*pending)[0].idempotency_key;

  StartSandbox();  // the service is back (a fresh sandbox without faults)
  ServerRunner resumed(&dir_->store(), client_.get(), transport_.get(), Options());
  auto outcome = resumed.Drive(run_id);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->status, RunStatus::kCompleted);
  Value stats = Stats();
  const Value* by_key = stats.Find("workflowsByIdempotencyKey");
  ASSERT_TRUE(by_key && by_key->Find(key)) << (by_key ? by_key->ToJson() : "");
  EXPECT_EQ(by_key->size(), 1u);
  EXPECT_TRUE(progress_.str().find("original Idempotency-Key") != std::string::npos) << progress_.str();
}

TEST_F(ServerRunnerTest, RunOverItsCeilingWaitsForCostApprovalWithExitFive) {
  StartSandbox();
  OpenStore();
  std::string plan = std::string(kRunnerPlan) + "budget: {max_units: 1}\n";
  std::string run_id = NewRun(plan);
  ServerRunner runner(&dir_->store(), client_.get(), transport_.get(), Options());
  auto outcome = runner.Drive(run_id);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->status, RunStatus::kWaitingForUser);
  EXPECT_TRUE(outcome->awaiting_cost_approval);
  EXPECT_EQ(ExitCodeForOutcome(*outcome), kExitCostGate);
  auto run = dir_->store().GetRun(run_id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, RunStatus::kWaitingForUser);
  EXPECT_EQ(run->waiting_reason, "cost_approval_required");
}

TEST_F(ServerRunnerTest, WrongKeyIsAnAuthError) {
  StartSandbox();
  std::string plan = tmp_.Write("plan.yaml", kRunnerPlan);
  std::string key_file = tmp_.Write("key", "sk_wrong_key_123\n");
  ASSERT_EQ(chmod(key_file.c_str(), 0600), 0);
  CliResult r = RunCliForTest({"run", plan, "--api-url", sandbox_->url(), "--api-key-file", key_file,
                               "--state-dir", tmp_.path() + "/state"});
  EXPECT_EQ(r.exit_code, kExitAuth) << r.err;
  EXPECT_EQ(r.err.find("sk_wrong_key_123"), std::string::npos) << r.err;
}

TEST_F(ServerRunnerTest, AnUnsentStartCanBeAbandonedAndIsThenNeverSent) {
  StartSandbox();
  OpenStore();
  std::string run_id = NewRun();
  ASSERT_TRUE(AbandonUnsentStart(dir_->store(), run_id).ok());
  auto run = dir_->store().GetRun(run_id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, RunStatus::kCancelled);
  EXPECT_TRUE(dir_->store().PendingIntents(run_id)->empty());
  EXPECT_EQ(AbandonUnsentStart(dir_->store(), run_id).code(), Status::Code::kConflict) << "nothing left to give up";
  ServerRunner runner(&dir_->store(), client_.get(), transport_.get(), Options());
  EXPECT_FALSE(runner.Drive(run_id).ok()) << "a given-up run is not started by a later resume";
  EXPECT_EQ(Stats().Find("workflowsCreated")->as_int(), 0);

  // A start that may have reached the server is never given up: only a remote cancel could.
  std::string sent = NewRun();
  ServerRunnerOptions crashing = Options();
  crashing.before_start_post = [&] {
    auto pending = dir_->store().PendingIntents(sent);
    return !(pending.ok() && !pending->empty() && dir_->store().MarkIntent((*pending)[0].id, {.state = IntentState::kSent}).ok());
  };
  ServerRunner crashed(&dir_->store(), client_.get(), transport_.get(), crashing);
  EXPECT_FALSE(crashed.Drive(sent).ok());
  EXPECT_EQ(AbandonUnsentStart(dir_->store(), sent).code(), Status::Code::kConflict);
}

TEST(RunIdTest, FormatsUtcTimeAndFourHexDigits) {
  EXPECT_EQ(MakeRunId(0, 0xabcd1234), "r-19700101-000000-1234");
  EXPECT_EQ(MakeRunId(1795000000, 0xbeef), "r-20261118-110640-beef");
}

TEST(RunIdTest, DigestInputIsCanonical) {
  Value a = Value::Object();
  a.Set("b", Value::Int(1));
  a.Set("a", Value::Int(2));
  Value b = Value::Object();
  b.Set("a", Value::Int(2));
  b.Set("b", Value::Int(1));
  EXPECT_EQ(PlanDigestInput(a, {}), PlanDigestInput(b, {}));
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(AccountFingerprint("x").size(), 16u);
}

}  // namespace
}  // namespace sflow
