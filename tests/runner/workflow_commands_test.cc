// End to end: cancel, reseed, artifacts and templates commands against the in-process sandbox on
// 127.0.0.1, with a temporary state dir.
#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli/exit_codes.h"
#include "cli/plan_check.h"
#include "engine/json.h"
#include "engine/run_id.h"
#include "engine/wire.h"
#include "runner/server/server_runner.h"
#include "runner/sha256.h"
#include "sandbox/sandbox.h"
#include "store/state_dir.h"
#include "tests/runner/run_test_base.h"
#include "tests/support/http_test_client.h"
#include "tests/support/test_util.h"

namespace sflow {
namespace {

constexpr const char* kCommandsPlan = R"(version: 1
name: two-step
execution: server
steps:
  - id: keyframe
    toolName: generate_image
    arguments: {prompt: "Product render of headphones", model: z-turbo}
  - id: clip
    toolName: generate_video
    arguments: {prompt: slow orbit, videoModel: ltx23, duration: 3}
    dependsOn:
      - {sourceStepId: keyframe, sourceArtifactIndex: 0, targetArgument: referenceImageIndices,
         mediaType: image, transform: image_index}
)";

const std::string kCommandsKey = "sk_commands_5d1e2f3a4b5c6d7e";
const std::string kOtherKey = "sk_commands_other_9a8b7c6d5e";

// Fails media downloads (404) after the first `allow` of them; everything else passes through.
class FlakyMediaTransport : public HttpTransport {
 public:
  FlakyMediaTransport(HttpTransport* inner, int allow) : inner_(inner), allow_(allow) {}
  Result<HttpResponse> Send(const HttpRequest& request) override {
    if (request.url.find("/_sandbox/media/") != std::string::npos && allow_-- <= 0) {
      HttpResponse r;
      r.status = 404;
      return r;
    }
    return inner_->Send(request);
  }
  Result<HttpResponse> Stream(const HttpRequest& request, const StreamHandlers& handlers, StreamCancel* cancel) override {
    if (request.url.find("/_sandbox/media/") != std::string::npos && allow_-- <= 0) {
      HttpResponse r;
      r.status = 404;
      return r;
    }
    return inner_->Stream(request, handlers, cancel);
  }

 private:
  HttpTransport* inner_;
  int allow_;
};

class WorkflowCommandsTest : public RunTestBase {
 protected:
  void StartSandbox(int step_ms = 20) {
    SandboxOptions so;
    so.seed = 7;
    so.step_ms = step_ms;
    so.api_keys = {kCommandsKey, kOtherKey};
    so.keepalive_ms = 200;
    StartBackend(so, kCommandsKey, "sogni-flow");
    key_file_ = tmp_.Write("key", kCommandsKey);
    ASSERT_EQ(chmod(key_file_.c_str(), 0600), 0);
    other_key_file_ = tmp_.Write("other-key", kOtherKey);
    ASSERT_EQ(chmod(other_key_file_.c_str(), 0600), 0);
  }

  void OpenStore() { OpenStoreAt(StatePath()); }
  std::string StatePath() const { return tmp_.path() + "/state"; }

  std::string NewRun() { return NewRunOf(kCommandsPlan, kCommandsKey, false); }

  ServerRunnerOptions Options() { return FastOptions(); }

  // A run driven to completion in-process.
  std::string CompletedRun() {
    std::string run_id = NewRun();
    ServerRunner runner(&dir_->store(), client_.get(), transport_.get(), Options());
    auto outcome = runner.Drive(run_id);
    EXPECT_TRUE(outcome.ok()) << outcome.status().ToString() << progress_.str();
    if (outcome.ok()) {
      EXPECT_EQ(outcome->status, RunStatus::kCompleted);
    }
    return run_id;
  }

  std::vector<std::string> Api(std::vector<std::string> args, const std::string& key_file = "") {
    args.insert(args.end(), {"--api-url", sandbox_->url(), "--api-key-file", key_file.empty() ? key_file_ : key_file});
    return args;
  }

  Value Stats() { return admin_->Get("/_sandbox/stats").json; }

  Value RemoteWorkflow(const std::string& workflow_id) {
    HttpResult r = HttpTestClient(sandbox_->port(), kCommandsKey).Get("/v1/creative-agent/workflows/" + workflow_id);
    EXPECT_EQ(r.status, 200) << r.body;
    const Value* data = r.json.Find("data");
    const Value* w = data ? data->Find("workflow") : nullptr;
    return w ? *w : Value();
  }

  static std::optional<int64_t> RemoteSeed(const Value& workflow, const std::string& step) {
    const Value* steps = workflow.Find("steps");
    if (!steps || !steps->is_array()) return std::nullopt;
    for (const Value& s : steps->items()) {
      const Value* id = s.Find("id");
      const Value* seed = s.Find("seed");
      if (id && id->is_string() && id->as_string() == step && seed && seed->is_int()) return seed->as_int();
    }
    return std::nullopt;
  }

  // The newest stored run cloned from `source`.
  std::string CloneOf(const std::string& source) {
    auto runs = dir_->store().ListRuns({});
    EXPECT_TRUE(runs.ok());
    if (!runs.ok()) return "";
    for (const RunRecord& r : *runs) {
      const Value* from = r.params.is_object() ? r.params.Find("cloned_from_run") : nullptr;
      if (from && from->is_string() && from->as_string() == source) return r.id;
    }
    return "";
  }

  std::string key_file_, other_key_file_;
};

TEST_F(WorkflowCommandsTest, CancelWaitEndsARunningWorkflowCancelled) {
  StartSandbox(/*step_ms=*/1500);
  OpenStore();
  std::string run_id = NewRun();
  // Start it as the runner would, without following it.
  auto pending = dir_->store().PendingIntents(run_id);
  ASSERT_TRUE(pending.ok() && pending->size() == 1u);
  const IntentRecord& intent = (*pending)[0];
  HttpResult started = HttpTestClient(sandbox_->port(), kCommandsKey)
                           .Post("/v1/creative-agent/workflows", intent.request,
                                 {{"Idempotency-Key", intent.idempotency_key}, {"Content-Type", "application/json"}});
  ASSERT_EQ(started.status, 201) << started.body;
  std::string wid = started.json.Find("data")->Find("workflow")->Find("workflowId")->as_string();
  ASSERT_TRUE(dir_->store()
                  .MarkIntent(intent.id, {.state = IntentState::kDone,
                                          .run = {.status = RunStatus::kQueued, .workflow_id = wid}})
                  .ok());
  dir_.reset();

  CliResult help = RunCliForTest({"cancel", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--wait"), std::string::npos);

  CliResult r = RunCliForTest(Api({"cancel", run_id, "--wait", "--state-dir", StatePath()}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("cancel"), std::string::npos) << r.err;
  OpenStore();
  auto run = dir_->store().GetRun(run_id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, RunStatus::kCancelled);
  std::string remote = RemoteWorkflow(wid).Find("status")->as_string();
  EXPECT_TRUE(remote == "cancelled" || remote == "canceled") << remote;
  dir_.reset();

  // Once more: the run has ended, so there is nothing to cancel, and that is said.
  CliResult again = RunCliForTest(Api({"cancel", run_id, "--state-dir", StatePath()}));
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("already ended"), std::string::npos) << again.err;
}

TEST_F(WorkflowCommandsTest, ReseedChangesOnlyTheNamedStepSeed) {
  StartSandbox();
  OpenStore();
  std::string source = CompletedRun();
  auto src = dir_->store().GetRun(source);
  ASSERT_TRUE(src.ok());
  std::optional<int64_t> old_clip;
  for (const StepRecord& s : src->steps)
    if (s.step_id == "clip") old_clip = s.seed;
  ASSERT_TRUE(old_clip.has_value()) << "the runner stores each step's seed";
  EXPECT_EQ(RemoteSeed(RemoteWorkflow(src->workflow_id), "clip"), old_clip);
  dir_.reset();

  CliResult bad = RunCliForTest(Api({"reseed", source, "--step", "nosuch=1", "--state-dir", StatePath()}));
  EXPECT_EQ(bad.exit_code, kExitInvalid) << bad.err;

  CliResult r = RunCliForTest(Api({"reseed", source, "--step", "keyframe=42", "--out", tmp_.path() + "/reseeded",
                                   "--state-dir", StatePath()}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  OpenStore();
  std::string clone = CloneOf(source);
  ASSERT_FALSE(clone.empty());
  auto run = dir_->store().GetRun(clone);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, RunStatus::kCompleted);
  ASSERT_FALSE(run->workflow_id.empty());
  EXPECT_NE(run->workflow_id, src->workflow_id);
  Value w = RemoteWorkflow(run->workflow_id);
  EXPECT_EQ(RemoteSeed(w, "keyframe"), std::optional<int64_t>(42)) << w.ToJson();
  EXPECT_EQ(RemoteSeed(w, "clip"), old_clip) << w.ToJson();
  const Value* from = w.Find("clonedFromRunId");
  ASSERT_TRUE(from && from->is_string());
  EXPECT_EQ(from->as_string(), src->workflow_id);
  auto arts = dir_->store().ListArtifacts(clone);
  ASSERT_TRUE(arts.ok());
  ASSERT_GE(arts->size(), 2u);
  for (const ArtifactRecord& a : *arts) {
    EXPECT_EQ(a.state, ArtifactState::kDone);
    EXPECT_EQ(a.local_path.rfind(tmp_.path() + "/reseeded/", 0), 0u) << a.local_path;
  }
  EXPECT_EQ(Stats().Find("workflowsCreated")->as_int(), 2);
  // The arguments digest tells what the step ran with: it changes with the reseeded step's seed
  // and stays for the step that kept its seed.
  auto digest_of = [](const RunRecord& r, const std::string& step) {
    for (const StepRecord& s : r.steps)
      if (s.step_id == step) return s.arguments_digest;
    return std::string();
  };
  RunRecord before = *src, after = *dir_->store().GetRun(clone);
  ASSERT_FALSE(digest_of(before, "keyframe").empty());
  EXPECT_NE(digest_of(after, "keyframe"), digest_of(before, "keyframe"));
  EXPECT_EQ(digest_of(after, "clip"), digest_of(before, "clip"));
}

TEST_F(WorkflowCommandsTest, CrashAfterReseedIntentResumesWithTheSameKey) {
  StartSandbox();
  OpenStore();
  std::string source = CompletedRun();
  auto src = dir_->store().GetRun(source);
  ASSERT_TRUE(src.ok());
  std::map<std::string, int64_t> overrides{{"keyframe", 42}};
  for (const StepRecord& s : src->steps)
    if (s.step_id == "clip" && s.seed) overrides["clip"] = *s.seed;
  ASSERT_EQ(overrides.size(), 2u);
  auto clone = CreateReseedRun(dir_->store(), *src, overrides, tmp_.path() + "/reseeded");
  ASSERT_TRUE(clone.ok()) << clone.status().ToString();
  std::string key;
  ServerRunnerOptions crashing = Options();
  // The POST reaches the server with the committed key and body, then the process dies before
  // the answer is stored.
  crashing.before_start_post = [&] {
    auto pending = dir_->store().PendingIntents(*clone);
    EXPECT_TRUE(pending.ok() && pending->size() == 1u);
    if (!pending.ok() || pending->empty()) return false;
    const IntentRecord& intent = (*pending)[0];
    EXPECT_EQ(intent.kind, IntentKind::kReseed);
    key = intent.idempotency_key;
    HttpResult sent = HttpTestClient(sandbox_->port(), kCommandsKey)
                          .Post("/v1/creative-agent/workflows/" + src->workflow_id + "/reseed", intent.request,
                                {{"Idempotency-Key", key}, {"Content-Type", "application/json"}});
    EXPECT_EQ(sent.status, 200) << sent.body;
    return false;
  };
  ServerRunner runner(&dir_->store(), client_.get(), transport_.get(), crashing);
  ASSERT_FALSE(runner.Drive(*clone).ok());
  EXPECT_EQ(Stats().Find("workflowsCreated")->as_int(), 2);
  dir_.reset();

  CliResult r = RunCliForTest(Api({"resume", *clone, "--state-dir", StatePath()}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("idempotent"), std::string::npos) << r.err;
  EXPECT_EQ(Stats().Find("workflowsCreated")->as_int(), 2) << "one clone only";
  OpenStore();
  auto run = dir_->store().GetRun(*clone);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, RunStatus::kCompleted);
  auto intents = dir_->store().PendingIntents(*clone);
  ASSERT_TRUE(intents.ok());
  EXPECT_TRUE(intents->empty());
  Value w = RemoteWorkflow(run->workflow_id);
  EXPECT_EQ(RemoteSeed(w, "keyframe"), std::optional<int64_t>(42));
}

// A Ctrl-C while the artifacts download stops before the next one (the run stays completed, the
// missing ones stay planned) and a later pass fetches exactly those.
TEST_F(WorkflowCommandsTest, AnInterruptStopsTheDownloadsAndTheRestFollowLater) {
  StartSandbox();
  OpenStore();
  std::string run_id = NewRun();
  StreamCancel cancel;
  // The first download goes through; the transport is "interrupted" as the second begins.
  class InterruptingTransport : public HttpTransport {
   public:
    InterruptingTransport(HttpTransport* inner, StreamCancel* cancel) : inner_(inner), cancel_(cancel) {}
    Result<HttpResponse> Send(const HttpRequest& r) override { return inner_->Send(r); }
    Result<HttpResponse> Stream(const HttpRequest& r, const StreamHandlers& h, StreamCancel* c) override {
      if (r.url.find("/_sandbox/media/") != std::string::npos && media_++ == 1) cancel_->Cancel();
      return inner_->Stream(r, h, c);
    }
   private:
    HttpTransport* inner_;
    StreamCancel* cancel_;
    int media_ = 0;
  } interrupting(transport_.get(), &cancel);
  ServerRunnerOptions options = Options();
  options.cancel = &cancel;
  ServerRunner runner(&dir_->store(), client_.get(), &interrupting, options);
  auto outcome = runner.Drive(run_id);
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.status().code(), Status::Code::kCancelled) << outcome.status().ToString();
  auto run = dir_->store().GetRun(run_id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, RunStatus::kCompleted);
  auto arts = dir_->store().ListArtifacts(run_id);
  ASSERT_TRUE(arts.ok());
  ASSERT_GE(arts->size(), 2u);
  EXPECT_EQ((*arts)[0].state, ArtifactState::kDone);
  for (size_t i = 1; i < arts->size(); ++i) EXPECT_EQ((*arts)[i].state, ArtifactState::kPlanned) << i;

  ServerRunner later(&dir_->store(), client_.get(), transport_.get(), Options());
  auto rest = later.DownloadMissing(run_id);
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  EXPECT_EQ(rest->artifacts_done, static_cast<int64_t>(arts->size()));
  EXPECT_EQ(rest->artifacts_failed, 0);
  Value downloads = *Stats().Find("downloads");
  auto after = dir_->store().ListArtifacts(run_id);
  ASSERT_TRUE(after.ok());
  for (const ArtifactRecord& a : *after) {
    EXPECT_EQ(a.state, ArtifactState::kDone);
    const Value* n = downloads.Find(a.remote_id);
    EXPECT_TRUE(n && n->as_int() == 1) << a.remote_id << " " << downloads.ToJson();
  }
}

TEST_F(WorkflowCommandsTest, ArtifactsDownloadsOnlyWhatIsMissing) {
  StartSandbox();
  OpenStore();
  std::string run_id = NewRun();
  FlakyMediaTransport flaky(transport_.get(), /*allow=*/1);
  ServerRunner runner(&dir_->store(), client_.get(), &flaky, Options());
  auto outcome = runner.Drive(run_id);
  ASSERT_FALSE(outcome.ok());  // the other downloads failed, for a reason that may pass: resumable
  EXPECT_EQ(outcome.status().code(), Status::Code::kUnavailable) << outcome.status().message();
  auto arts = dir_->store().ListArtifacts(run_id);
  ASSERT_TRUE(arts.ok());
  ASSERT_GE(arts->size(), 2u);
  int done = 0;
  for (const ArtifactRecord& a : *arts) done += a.state == ArtifactState::kDone;
  EXPECT_EQ(done, 1);
  dir_.reset();

  CliResult r = RunCliForTest({"artifacts", run_id, "--state-dir", StatePath()});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.err.find("downloading " + std::to_string(arts->size() - 1)), std::string::npos) << r.err;
  CliResult again = RunCliForTest({"artifacts", run_id, "--state-dir", StatePath(), "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("all " + std::to_string(arts->size()) + " artifacts are downloaded"), std::string::npos)
      << again.err;
  size_t lines = 0;
  std::istringstream in(again.out);
  for (std::string line; std::getline(in, line);) {
    auto v = ParseJson(line);
    ASSERT_TRUE(v.ok()) << line;
    EXPECT_EQ(v->Find("state")->as_string(), "done");
    ++lines;
  }
  EXPECT_EQ(lines, arts->size());

  OpenStore();
  arts = dir_->store().ListArtifacts(run_id);
  ASSERT_TRUE(arts.ok());
  Value stats = Stats();
  const Value* downloads = stats.Find("downloads");
  ASSERT_TRUE(downloads && downloads->is_object());
  for (const ArtifactRecord& a : *arts) {
    EXPECT_EQ(a.state, ArtifactState::kDone) << a.remote_id;
    std::ifstream f(a.local_path, std::ios::binary);
    std::ostringstream bytes;
    bytes << f.rdbuf();
    EXPECT_EQ(Sha256Hex(bytes.str()), a.sha256) << a.local_path;
    const Value* n = downloads->Find(a.remote_id);
    ASSERT_TRUE(n && n->is_int()) << a.remote_id << " in " << downloads->ToJson();
    EXPECT_EQ(n->as_int(), 1) << a.remote_id;
  }
}

TEST_F(WorkflowCommandsTest, TemplatesRoundTripAndPrivacy) {
  StartSandbox();
  std::string plan = std::string(SFLOW_SOURCE_DIR) + "/samples/teaser-template.yaml";
  CliResult push = RunCliForTest(Api({"templates", "push", plan}));
  ASSERT_EQ(push.exit_code, 0) << push.err;
  std::string id = push.out.substr(0, push.out.find('\n'));
  ASSERT_FALSE(id.empty());

  CliResult list = RunCliForTest(Api({"templates", "list"}));
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("VISIBILITY"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find(id), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("private"), std::string::npos) << list.out;
  CliResult list_json = RunCliForTest(Api({"templates", "list", "--json"}));
  ASSERT_EQ(list_json.exit_code, 0);
  EXPECT_NE(list_json.out.find("\"" + id + "\""), std::string::npos) << list_json.out;

  CliResult show = RunCliForTest(Api({"templates", "show", id}));
  ASSERT_EQ(show.exit_code, 0) << show.err;
  auto shown = ParseJson(show.out);
  ASSERT_TRUE(shown.ok()) << show.out;
  EXPECT_EQ(shown->Find("id")->as_string(), id);
  EXPECT_TRUE(shown->Find("stages") && shown->Find("stages")->is_array());

  std::string out = tmp_.path() + "/pulled.json";
  CliResult pull = RunCliForTest(Api({"templates", "pull", id, "--out", out}));
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  std::ifstream f(out);
  std::ostringstream text;
  text << f.rdbuf();
  auto pulled = ParseJson(text.str());
  ASSERT_TRUE(pulled.ok());
  EXPECT_EQ(*pulled, *shown);
  CliResult pull_again = RunCliForTest(Api({"templates", "pull", id, "--out", out}));
  EXPECT_EQ(pull_again.exit_code, kExitInvalid) << pull_again.err;  // "it already exists": docs/diagnostics.md
  EXPECT_NE(pull_again.err.find("not overwriting"), std::string::npos) << pull_again.err;

  CliResult fork = RunCliForTest(Api({"templates", "fork", id, "--name", "my-teaser"}));
  ASSERT_EQ(fork.exit_code, 0) << fork.err;
  std::string fork_id = fork.out.substr(0, fork.out.find('\n'));
  ASSERT_FALSE(fork_id.empty());
  EXPECT_NE(fork_id, id);

  // Another account sees neither private template.
  CliResult other = RunCliForTest(Api({"templates", "list", "--json"}, other_key_file_));
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_EQ(other.out.find("\"" + id + "\""), std::string::npos) << other.out;
  CliResult other_show = RunCliForTest(Api({"templates", "show", id}, other_key_file_));
  EXPECT_EQ(other_show.exit_code, kExitInvalid) << other_show.err;  // 404
  CliResult other_delete = RunCliForTest(Api({"templates", "delete", id}, other_key_file_));
  EXPECT_NE(other_delete.exit_code, 0);

  CliResult del = RunCliForTest(Api({"templates", "delete", id}));
  ASSERT_EQ(del.exit_code, 0) << del.err;
  CliResult del_fork = RunCliForTest(Api({"templates", "delete", fork_id}));
  ASSERT_EQ(del_fork.exit_code, 0) << del_fork.err;
  CliResult gone = RunCliForTest(Api({"templates", "show", id}));
  EXPECT_EQ(gone.exit_code, kExitInvalid);
  CliResult bad = RunCliForTest(Api({"templates", "push", std::string(SFLOW_SOURCE_DIR) + "/samples/nope.yaml"}));
  EXPECT_EQ(bad.exit_code, kExitInvalid);
}

}  // namespace
}  // namespace sflow
