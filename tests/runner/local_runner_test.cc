// The local runner against a scripted ProjectService and an in-memory store: the DAG order,
// failure propagation, re-attach and re-send after a crash, the step cache, and the reading of
// socket frames as project news (jobRetry matched by jobIndex).
#include <gtest/gtest.h>

#include <unistd.h>

#include <deque>
#include <functional>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "engine/json.h"
#include "runner/local/dag_scheduler.h"
#include "runner/local/local_runner.h"
#include "runner/local/session_project_service.h"
#include "runner/artifact_files.h"
#include "runner/sha256.h"
#include "store/sqlite_run_store.h"

namespace sflow {
namespace {

#ifndef ASSERT_OK
#define ASSERT_OK(expr)                                      \
  do {                                                       \
    const Status _s = (expr);                                \
    ASSERT_TRUE(_s.ok()) << #expr << ": " << _s.message();   \
  } while (0)
#endif

// ---- DagScheduler

TEST(DagSchedulerTest, HandsOutReadyStepsInPlanOrder) {
  // 0 -> 2, 1 -> 2, 2 -> 3; 4 alone.
  DagScheduler dag({{}, {}, {0, 1}, {2}, {}});
  EXPECT_EQ(dag.NextReady(), 0u);
  EXPECT_EQ(dag.NextReady(), 1u);
  EXPECT_EQ(dag.NextReady(), 4u);
  EXPECT_EQ(dag.NextReady(), std::nullopt);
  dag.Finish(0, true);
  EXPECT_EQ(dag.NextReady(), std::nullopt);  // 2 still waits for 1
  dag.Finish(1, true);
  EXPECT_EQ(dag.NextReady(), 2u);
  dag.Finish(2, true);
  dag.Finish(4, true);
  EXPECT_EQ(dag.NextReady(), 3u);
  dag.Finish(3, true);
  EXPECT_TRUE(dag.Idle());
}

TEST(DagSchedulerTest, AFailureSkipsEveryDependantAndLetsOtherBranchesFinish) {
  // 0 -> 1 -> 2 -> 3 (a chain), and 4 -> 5 beside it.
  DagScheduler dag({{}, {0}, {1}, {2}, {}, {4}});
  EXPECT_EQ(dag.NextReady(), 0u);
  EXPECT_EQ(dag.NextReady(), 4u);
  dag.Finish(0, false);
  EXPECT_EQ(dag.state(1), DagScheduler::State::kSkipped);
  EXPECT_EQ(dag.state(3), DagScheduler::State::kSkipped);
  dag.Finish(4, true);
  EXPECT_EQ(dag.NextReady(), 5u);
  dag.Finish(5, true);
  EXPECT_TRUE(dag.Idle());
  EXPECT_EQ(dag.state(5), DagScheduler::State::kDone);
}

TEST(DagSchedulerTest, ResumedStateIsTakenAsGiven) {
  DagScheduler dag({{}, {0}, {0}, {1, 2}});
  dag.MarkDone(0);
  dag.MarkRunning(1);  // re-attached
  dag.MarkFailed(2);
  EXPECT_EQ(dag.state(3), DagScheduler::State::kSkipped);
  EXPECT_EQ(dag.NextReady(), std::nullopt);
  EXPECT_FALSE(dag.Idle());
  dag.Finish(1, true);
  EXPECT_TRUE(dag.Idle());
}

TEST(DagSchedulerTest, RepeatedAndBogusEdgesDoNotWedgeIt) {
  // Step 1 names 0 three times, itself once, and an index out of range.
  DagScheduler dag({{}, {0, 0, 0, 1, 99}});
  EXPECT_EQ(dag.NextReady(), 0u);
  dag.Finish(0, true);
  EXPECT_EQ(dag.NextReady(), 1u);
}

TEST(DagSchedulerTest, ALongChainFailsWithoutDeepRecursion) {
  const size_t n = 200000;
  std::vector<std::vector<size_t>> deps(n);
  for (size_t i = 1; i < n; ++i) deps[i] = {i - 1};
  DagScheduler dag(deps);
  EXPECT_EQ(dag.NextReady(), 0u);
  dag.Finish(0, false);
  EXPECT_EQ(dag.state(n - 1), DagScheduler::State::kSkipped);
  EXPECT_TRUE(dag.Idle());
}

// ---- ProjectNewsReader

ProjectFrame NewsFrame(const std::string& type, const std::string& json) {
  Result<Value> v = ParseJson(json);
  EXPECT_TRUE(v.ok()) << json;
  return ProjectFrame{type, v.ok() ? *v : Value()};
}

TEST(ProjectNewsReaderTest, ARetriedJobKeepsItsIndexUnderItsNewImgId) {
  ProjectNewsReader r;
  auto started = r.Read(NewsFrame("jobState", R"({"type":"jobStarted","jobID":"p1","imgID":"a","jobIndex":1,"workerName":"w"})"));
  ASSERT_TRUE(started);
  EXPECT_EQ(started->kind, ProjectNews::Kind::kStarted);
  EXPECT_EQ(started->project_id, "P1");
  auto retry = r.Read(NewsFrame("jobRetry", R"({"jobID":"P1","imgID":"b","jobIndex":1,"attempt":2,"maxAttempts":3,"isFromWorker":true,"error":5002})"));
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->kind, ProjectNews::Kind::kJobRetry);
  auto result = r.Read(NewsFrame("jobResult", R"({"jobID":"P1","imgID":"B","resultUrl":"https://x/1"})"));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->kind, ProjectNews::Kind::kJobResult);
  EXPECT_EQ(result->job_index, 1);
  EXPECT_EQ(result->result_url, "https://x/1");
  // The old imgID's late result is still index 1, never a new artifact of its own.
  auto late = r.Read(NewsFrame("jobResult", R"({"jobID":"P1","imgID":"A","resultUrl":"https://x/0"})"));
  ASSERT_TRUE(late);
  EXPECT_EQ(late->job_index, 1);
}

TEST(ProjectNewsReaderTest, AProjectLevelErrorFailsTheProjectAndAJobErrorOnlyTheJob) {
  ProjectNewsReader r;
  auto project = r.Read(NewsFrame("jobError", R"({"jobID":"P","isFromWorker":false,"error":"insufficientFunds"})"));
  ASSERT_TRUE(project);
  EXPECT_EQ(project->kind, ProjectNews::Kind::kFailed);
  EXPECT_EQ(project->error, "insufficientFunds");
  auto job = r.Read(NewsFrame("jobError", R"({"jobID":"P","imgID":"J","isFromWorker":true,"error":5003})"));
  ASSERT_TRUE(job);
  EXPECT_EQ(job->kind, ProjectNews::Kind::kJobFailed);
  auto cancelled = r.Read(NewsFrame("jobError", R"({"jobID":"P","error":"artistCanceled","error_message":"artistCanceled"})"));
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(cancelled->kind, ProjectNews::Kind::kCancelled);
}

TEST(ProjectNewsReaderTest, JunkIsNoNews) {
  ProjectNewsReader r;
  for (const char* junk : {R"([])", R"("x")", R"({})", R"({"jobID":7})", R"({"jobID":""})",
                           R"({"jobID":"P","type":"somethingNew"})", R"({"jobID":"P","jobIndex":-4,"type":"jobStarted","imgID":"Q"})"}) {
    auto n = r.Read(NewsFrame("jobState", junk));
    if (n) {
      EXPECT_LT(n->job_index, 0) << junk;  // a negative index is never believed
    }
  }
  EXPECT_FALSE(r.Read(NewsFrame("balanceUpdate", R"({"spark":{"net":"1"}})")));
  EXPECT_FALSE(r.Read(NewsFrame("artistCancelConfirmation", R"({"jobID":"P","didCancel":false})")));
  auto big = r.Read(NewsFrame("jobProgress", R"({"jobID":"P","imgID":"Q","step":1e308,"stepCount":1e-308})"));
  ASSERT_TRUE(big);
  EXPECT_EQ(big->kind, ProjectNews::Kind::kProgress);
}

// ---- LocalRunner

// A PNG's first bytes, so that downloads are named .png.
std::string LocalPngBytes(const std::string& tag) {
  return std::string("\x89PNG\r\n\x1a\n", 8) + "sandbox image " + tag;
}

// Serves LocalPngBytes(url) for every URL, counting requests per URL.
class LocalFakeMedia : public HttpTransport {
 public:
  Result<HttpResponse> Send(const HttpRequest&) override { return Status::Internal("unused"); }
  Result<HttpResponse> Stream(const HttpRequest& request, const StreamHandlers& handlers, StreamCancel*) override {
    ++fetched[request.url];
    std::string body = LocalPngBytes(request.url);
    HttpResponse head;
    head.status = 200;
    head.headers.emplace_back("Content-Length", std::to_string(body.size()));
    if (handlers.on_head && !handlers.on_head(head)) return head;
    if (handlers.on_chunk) handlers.on_chunk(body);
    return head;
  }
  std::map<std::string, int> fetched;
};

// A Supernet in a box: a sent project runs to its end on the next Wait(), one result per media,
// unless the test scripted its failure. Lookups answer what was sent.
class LocalFakeService : public ProjectService {
 public:
  void Watch(const std::string& id) override { watched.insert(id); }
  void Unwatch(const std::string& id) override { watched.erase(id); }
  Status Send(const std::string& id, const std::string& request) override {
    sends.push_back({id, request});
    Watch(id);
    if (drop_sends > 0) {
      // The socket closes under the frame (a restart): nothing reaches the server, and the
      // session comes back.
      --drop_sends;
      queue.push_back(ProjectNews{.kind = ProjectNews::Kind::kReconnected});
      return Status::Error(Status::Code::kUnavailable, "projects socket closed with code 1001 (the frame may not have reached the server)");
    }
    Result<Value> r = ParseJson(request);
    int64_t n = 1;
    if (const Value* v = r.ok() ? r->Find("numberOfImages") : nullptr; v && v->is_int()) n = v->as_int();
    known[id] = n;
    if (script) {
      for (ProjectNews news : script(id)) queue.push_back(news);
      return Status::OK();
    }
    if (fail_next) {
      fail_next = false;
      queue.push_back(ProjectNews{.kind = ProjectNews::Kind::kFailed, .project_id = id, .error = "worker lost"});
      failed.insert(id);
      return Status::OK();
    }
    for (int64_t i = 0; i < n; ++i) {
      queue.push_back(ProjectNews{.kind = ProjectNews::Kind::kStarted, .project_id = id, .job_id = id + "-J" + std::to_string(i), .job_index = i});
      queue.push_back(ProjectNews{.kind = ProjectNews::Kind::kJobResult, .project_id = id, .job_id = id + "-J" + std::to_string(i),
                                  .job_index = i, .result_url = "https://media.test/" + id + "/" + std::to_string(i)});
    }
    queue.push_back(ProjectNews{.kind = ProjectNews::Kind::kCompleted, .project_id = id});
    return Status::OK();
  }
  std::vector<ProjectNews> Wait(std::chrono::milliseconds) override {
    std::vector<ProjectNews> out;
    while (!queue.empty()) {
      if (watched.count(queue.front().project_id)) out.push_back(queue.front());
      queue.pop_front();
    }
    return out;
  }
  Result<RemoteProject> Lookup(const std::string& id) override {
    ++lookups;
    auto it = known.find(id);
    if (it == known.end()) return Status::NotFound("no project " + id);
    RemoteProject p;
    p.status = failed.count(id) ? "failed" : "completed";
    if (!lookup_statuses.empty()) {
      p.status = lookup_statuses.front();
      lookup_statuses.pop_front();
    }
    p.charge = 0.5;
    for (int64_t i = 0; i < it->second && !failed.count(id); ++i)
      p.jobs.push_back(RemoteJob{id + "-J" + std::to_string(i), i, true, false, "https://media.test/" + id + "/" + std::to_string(i)});
    return p;
  }
  Status Cancel(const std::string& id) override {
    cancels.push_back(id);
    return Status::OK();
  }
  Status Upload(const std::string& id, const ProjectUpload& up, const std::string&, const std::string& bytes) override {
    uploads.push_back(id + ":" + up.param + ":" + Sha256Hex(bytes));
    return Status::OK();
  }
  Result<std::string> MintResultUrl(const std::string& id, const std::string& job, MediaKind) override {
    return "https://media.test/minted/" + id + "/" + job;
  }
  Result<ModelTraits> Traits(const std::string& model) override { return TraitsForModel(model); }
  Result<ProjectQuoteFigures> Quote(const Value&, const std::string& tt) override { return ProjectQuoteFigures{1, 0.01, tt}; }
  Result<double> Balance(const std::string&) override { return 1000.0; }

  std::vector<std::pair<std::string, std::string>> sends;
  std::vector<std::string> uploads, cancels;
  std::map<std::string, int64_t> known;  // sent projects and their job counts
  std::set<std::string> watched, failed;
  std::deque<ProjectNews> queue;
  bool fail_next = false;
  int drop_sends = 0;  // sends that fail as if the socket closed under them
  int lookups = 0;
  // When set, what a sent project's news are (instead of a clean run to its end).
  std::function<std::vector<ProjectNews>(const std::string& id)> script;
  std::deque<std::string> lookup_statuses;  // the next lookups' statuses, then "completed"
};

Status DriveStatus(LocalRunner& r, const std::string& run) {
  Result<RunOutcome> out = r.Drive(run);
  return out.status();
}

class LocalRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("sflow-local-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    Result<std::unique_ptr<Db>> db = Db::Open(":memory:");
    ASSERT_TRUE(db.ok());
    Result<std::unique_ptr<SqliteRunStore>> store = SqliteRunStore::Open(std::move(*db));
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static SpecStep Image(const std::string& id, int64_t n, std::vector<size_t> deps = {}) {
    SpecStep s;
    s.id = id;
    s.type = "image";
    Result<Value> params = ParseJson(R"({"type":"image","modelId":"flux1-schnell-fp8","positivePrompt":")" + id +
                                     R"(","numberOfMedia":)" + std::to_string(n) + "}");
    s.params = *params;
    s.artifact_count = n;
    s.deps = std::move(deps);
    return s;
  }

  // A diamond: a (2 images) -> b, c -> d; b takes a's second image as its starting image.
  LocalSpec Diamond() {
    LocalSpec spec;
    spec.steps = {Image("a", 2), Image("b", 1, {0}), Image("c", 1, {0}), Image("d", 1, {1, 2})};
    spec.steps[1].bindings.push_back(SpecBinding{"startingImage", 0, true, "", "a", 1, MediaKind::kImage});
    spec.steps[1].params.Set("startingImage", Value::Bool(true));
    return spec;
  }

  std::string CreateRun(const LocalSpec& spec, const std::string& id) {
    RunRecord run;
    run.id = id;
    run.plan_path = "plan.yaml";
    run.plan_name = "diamond";
    run.plan_digest = std::string(64, 'a');
    run.execution = Execution::kLocal;
    run.out_dir = (dir_ / id).string();
    run.spec = SpecToValue(spec);
    for (const SpecStep& s : spec.steps) run.steps.push_back(StepRecord{.step_id = s.id, .tool = "project:" + s.type});
    EXPECT_TRUE(store_->CreateRun(run).ok());
    return id;
  }

  LocalRunner Runner(LocalRunnerOptions o = {}) {
    o.poll = std::chrono::milliseconds(1);
    return LocalRunner(store_.get(), &service_, &media_, o);
  }

  StepRecord Step(const std::string& run, const std::string& step) {
    Result<RunRecord> r = store_->GetRun(run);
    for (const StepRecord& s : r->steps)
      if (s.step_id == step) return s;
    ADD_FAILURE() << "no step " << step;
    return {};
  }

  std::filesystem::path dir_;
  std::unique_ptr<SqliteRunStore> store_;
  LocalFakeService service_;
  LocalFakeMedia media_;
};

TEST_F(LocalRunnerTest, ADiamondRunsInDependencyOrderAndDownloadsEachResultOnce) {
  const std::string run = CreateRun(Diamond(), "r-1");
  LocalRunner runner = Runner();
  Result<RunOutcome> out = runner.Drive(run);
  ASSERT_OK(out.status());
  EXPECT_EQ(out->status, RunStatus::kCompleted);
  EXPECT_EQ(out->artifacts_done, 5);
  ASSERT_EQ(service_.sends.size(), 4u);
  // a first; d last; b and c between, in plan order.
  std::vector<std::string> order;
  Result<std::vector<ProjectRecord>> projects = store_->ListProjects(run);
  ASSERT_OK(projects.status());
  for (const ProjectRecord& p : *projects) order.push_back(p.step_id);
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "c", "d"}));
  for (const ProjectRecord& p : *projects) {
    EXPECT_EQ(p.state, ProjectState::kCompleted);
    EXPECT_EQ(p.charge, 0.5);
    Result<Value> request = ParseJson(p.request);
    ASSERT_OK(request.status());
    EXPECT_EQ(request->Find("jobID")->as_string(), p.project_id);  // the stored request is the sent one
  }
  for (const auto& [url, n] : media_.fetched) EXPECT_EQ(n, 1) << url;
  EXPECT_EQ(media_.fetched.size(), 5u);
  // b's starting image is a's second image, uploaded under b's project id.
  ASSERT_EQ(service_.uploads.size(), 1u);
  const std::string a1 = "https://media.test/" + (*projects)[0].project_id + "/1";
  EXPECT_EQ(service_.uploads[0], (*projects)[1].project_id + ":startingImage:" + Sha256Hex(LocalPngBytes(a1)));
  Result<std::string> provenance = ReadWholeFile((dir_ / run / "a" / "1.png.provenance.json").string());
  ASSERT_OK(provenance.status());
  Result<Value> prov = ParseJson(*provenance);
  ASSERT_OK(prov.status());
  EXPECT_EQ(prov->Find("projectId")->as_string(), (*projects)[0].project_id);
  EXPECT_EQ(prov->Find("argumentsDigest")->as_string(), (*projects)[0].cache_key);
  EXPECT_EQ(prov->Find("step")->as_string(), "a");
}

TEST_F(LocalRunnerTest, AFailedStepSkipsItsDependantsAndTheRunEndsPartialFailure) {
  LocalSpec spec;
  spec.steps = {Image("a", 1), Image("b", 1, {0}), Image("c", 1)};
  const std::string run = CreateRun(spec, "r-2");
  service_.fail_next = true;  // a fails
  LocalRunner runner = Runner();
  Result<RunOutcome> out = runner.Drive(run);
  ASSERT_OK(out.status());
  EXPECT_EQ(out->status, RunStatus::kPartialFailure);
  EXPECT_EQ(Step(run, "a").status, RunStatus::kFailed);
  EXPECT_EQ(Step(run, "b").status, RunStatus::kCancelled);  // never sent
  EXPECT_EQ(Step(run, "c").status, RunStatus::kCompleted);
  EXPECT_EQ(service_.sends.size(), 2u);
  EXPECT_NE(out->problem.find("worker lost"), std::string::npos) << out->problem;
}

// A step whose request cannot be built (here a video below the model's minimum width, which a
// catalog that differs from validate's could let through) fails before it is sent: its
// dependants are skipped, the rest run. It aborted the process, and every resume after it.
TEST_F(LocalRunnerTest, AStepWhoseRequestCannotBeBuiltFailsUnsentAndTheOthersRun) {
  LocalSpec spec;
  spec.steps = {Image("a", 1), Image("b", 1, {0}), Image("c", 1)};
  spec.steps[0].type = "video";
  spec.steps[0].params = *ParseJson(R"({"type":"video","modelId":"wan_v2.2-14b-fp8_t2v_lightx2v","positivePrompt":"x",)"
                                    R"("duration":1,"fps":16,"width":256,"height":256,"seed":5})");
  const std::string run = CreateRun(spec, "r-19");
  LocalRunner runner = Runner();
  Result<RunOutcome> out = runner.Drive(run);
  ASSERT_OK(out.status());
  EXPECT_EQ(out->status, RunStatus::kPartialFailure);
  EXPECT_EQ(Step(run, "a").status, RunStatus::kFailed);
  EXPECT_EQ(Step(run, "b").status, RunStatus::kCancelled);  // never sent
  EXPECT_EQ(Step(run, "c").status, RunStatus::kCompleted);
  EXPECT_EQ(service_.sends.size(), 1u) << "only c was sent";
  EXPECT_NE(out->problem.find("width"), std::string::npos) << out->problem;
}

TEST_F(LocalRunnerTest, AProjectCommittedButNeverSentIsSentAgainUnderTheSameIdWithTheSameRequest) {
  LocalSpec spec;
  spec.steps = {Image("a", 1)};
  const std::string run = CreateRun(spec, "r-3");
  LocalRunnerOptions crash;
  crash.before_send = [] { return false; };  // the process "dies" between commit and send
  LocalRunner first = Runner(crash);
  { Result<RunOutcome> got = first.Drive(run); EXPECT_EQ(got.status().code(), Status::Code::kCancelled); };
  Result<std::vector<ProjectRecord>> stored = store_->ListProjects(run);
  ASSERT_OK(stored.status());
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0].state, ProjectState::kPending);
  EXPECT_TRUE(service_.sends.empty());

  LocalRunner second = Runner();
  Result<RunOutcome> out = second.Drive(run);
  ASSERT_OK(out.status());
  EXPECT_EQ(out->status, RunStatus::kCompleted);
  ASSERT_EQ(service_.sends.size(), 1u);
  EXPECT_EQ(service_.sends[0].first, (*stored)[0].project_id);
  EXPECT_EQ(service_.sends[0].second, (*stored)[0].request);  // byte for byte
  EXPECT_EQ(store_->ListProjects(run)->size(), 1u);
}

TEST_F(LocalRunnerTest, AProjectTheServerKnowsIsReattachedNeverSentTwice) {
  LocalSpec spec;
  spec.steps = {Image("a", 2)};
  const std::string run = CreateRun(spec, "r-4");
  // The first process sends the project and is stopped right after, before it reads any news.
  {
    StreamCancel stop;
    LocalRunnerOptions o;
    o.cancel = &stop;
    o.before_send = [&] {
      stop.Cancel();
      return true;
    };
    LocalRunner r = Runner(o);
    { Result<RunOutcome> got = r.Drive(run); EXPECT_EQ(got.status().code(), Status::Code::kCancelled); };
  }
  ASSERT_EQ(service_.sends.size(), 1u);
  service_.queue.clear();  // the news died with the process
  service_.watched.clear();
  LocalRunner resumed = Runner();
  Result<RunOutcome> out = resumed.Drive(run);
  ASSERT_OK(out.status());
  EXPECT_EQ(out->status, RunStatus::kCompleted);
  EXPECT_EQ(service_.sends.size(), 1u) << "a project the server knows is never sent again";
  EXPECT_EQ(out->artifacts_done, 2);
  EXPECT_GE(service_.lookups, 1);
}

TEST_F(LocalRunnerTest, AnUnchangedStepTakesTheCachedFilesAndAChangedFileIsNotTrusted) {
  const std::string first = CreateRun(Diamond(), "r-5");
  {
    LocalRunner r = Runner();
    ASSERT_OK(DriveStatus(r, first));
  }
  EXPECT_EQ(service_.sends.size(), 4u);
  const std::string second = CreateRun(Diamond(), "r-6");
  {
    LocalRunner r = Runner();
    Result<RunOutcome> out = r.Drive(second);
    ASSERT_OK(out.status());
    EXPECT_EQ(out->status, RunStatus::kCompleted);
    EXPECT_EQ(out->artifacts_done, 5);
  }
  EXPECT_EQ(service_.sends.size(), 4u) << "an unchanged plan costs nothing";
  EXPECT_TRUE(std::filesystem::exists(dir_ / second / "d" / "0.png"));
  // Someone edits c's file where the cache keeps it (the run that made it): a third run must not
  // take it, so c runs again (d depends on c only by order, with no input from it: cached).
  {
    std::FILE* f = std::fopen((dir_ / first / "c" / "0.png").c_str(), "ab");
    ASSERT_NE(f, nullptr);
    std::fputs("tampered", f);
    std::fclose(f);
  }
  const std::string third = CreateRun(Diamond(), "r-7");
  LocalRunner r = Runner();
  ASSERT_OK(DriveStatus(r, third));
  EXPECT_EQ(service_.sends.size(), 5u) << "only the step whose cached file changed runs again";
  EXPECT_EQ(service_.sends.back().second.find("\"positivePrompt\":\"c\"") != std::string::npos, true);
}

TEST_F(LocalRunnerTest, NoCacheRunsEveryStep) {
  const std::string first = CreateRun(Diamond(), "r-8");
  {
    LocalRunner r = Runner();
    ASSERT_OK(DriveStatus(r, first));
  }
  const std::string second = CreateRun(Diamond(), "r-9");
  LocalRunnerOptions o;
  o.use_cache = false;
  LocalRunner r = Runner(o);
  ASSERT_OK(DriveStatus(r, second));
  EXPECT_EQ(service_.sends.size(), 8u);
}

TEST_F(LocalRunnerTest, ADamagedSpecIsAStateErrorNotACrash) {
  RunRecord run;
  run.id = "r-10";
  run.plan_path = "p.yaml";
  run.plan_name = "p";
  run.plan_digest = std::string(64, 'b');
  run.execution = Execution::kLocal;
  run.out_dir = (dir_ / "r-10").string();
  for (const char* bad : {R"({"steps":[{"id":"a","type":"image","params":{},"artifactCount":1,"deps":[5],"bindings":[]}],"media":{}})",
                          R"({"steps":"x","media":{}})", R"([])",
                          R"({"steps":[{"id":"a","type":"image","params":{},"artifactCount":1,"deps":[],"bindings":[{"target":"t","position":0,"upload":true,"media":"nope","sourceStep":"","sourceIndex":0,"kind":"image"}]}],"media":{}})",
                          // A self-dependency, a cycle, an input from a step not depended on, a
                          // repeated id, no project type.
                          R"({"steps":[{"id":"a","type":"image","params":{},"artifactCount":1,"deps":[0],"bindings":[]}],"media":{}})",
                          R"({"steps":[{"id":"a","type":"image","params":{},"artifactCount":1,"deps":[1],"bindings":[]},)"
                          R"({"id":"b","type":"image","params":{},"artifactCount":1,"deps":[0],"bindings":[]}],"media":{}})",
                          R"({"steps":[{"id":"a","type":"image","params":{},"artifactCount":1,"deps":[],"bindings":[]},)"
                          R"({"id":"b","type":"image","params":{},"artifactCount":1,"deps":[],"bindings":[{"target":"startingImage","position":0,"upload":true,"media":"","sourceStep":"a","sourceIndex":0,"kind":"image"}]}],"media":{}})",
                          R"({"steps":[{"id":"a","type":"image","params":{},"artifactCount":1,"deps":[],"bindings":[]},)"
                          R"({"id":"a","type":"image","params":{},"artifactCount":1,"deps":[],"bindings":[]}],"media":{}})",
                          R"({"steps":[{"id":"a","type":"tool","params":{},"artifactCount":1,"deps":[],"bindings":[]}],"media":{}})"}) {
    run.id = "r-10-" + std::to_string(std::hash<std::string>()(bad) % 100000);
    run.spec = *ParseJson(bad);
    ASSERT_OK(store_->CreateRun(run));
    LocalRunner r = Runner();
    Result<RunOutcome> out = r.Drive(run.id);
    const Status st = out.status();
    EXPECT_EQ(st.code(), Status::Code::kIOError) << bad;
  }
  EXPECT_TRUE(service_.sends.empty());
}

TEST_F(LocalRunnerTest, ReseedRunsTheNamedStepAndItsDependantsOnly) {
  LocalSpec spec = Diamond();
  Result<LocalSpec> again = ReseedSpec(spec, {{"b", 42}}, 7);
  ASSERT_OK(again.status());
  EXPECT_FALSE(again->steps[0].no_cache);
  EXPECT_TRUE(again->steps[1].no_cache);
  EXPECT_FALSE(again->steps[2].no_cache);
  EXPECT_TRUE(again->steps[3].no_cache);
  EXPECT_EQ(again->steps[1].params.Find("seed")->as_int(), 42);
  EXPECT_EQ(again->steps[0].params.Find("seed"), nullptr);
  EXPECT_EQ(ReseedSpec(spec, {{"zz", std::nullopt}}, 7).status().code(), Status::Code::kInvalidPlan);

  const std::string first = CreateRun(spec, "r-11");
  {
    LocalRunner r = Runner();
    ASSERT_OK(DriveStatus(r, first));
  }
  const std::string second = CreateRun(*again, "r-12");
  LocalRunner r = Runner();
  ASSERT_OK(DriveStatus(r, second));
  ASSERT_EQ(service_.sends.size(), 6u);
  EXPECT_NE(service_.sends[4].second.find("\"positivePrompt\":\"b\""), std::string::npos);
  EXPECT_NE(service_.sends[5].second.find("\"positivePrompt\":\"d\""), std::string::npos);
}

TEST_F(LocalRunnerTest, ADuplicatedJobFailureCountsOnceAndTheOtherJobStillDelivers) {
  LocalSpec spec;
  spec.steps = {Image("a", 2)};
  const std::string run = CreateRun(spec, "r-13");
  using K = ProjectNews::Kind;
  service_.script = [](const std::string& id) {
    return std::vector<ProjectNews>{
        {.kind = K::kJobFailed, .project_id = id, .job_id = "J0", .job_index = 0, .error = "worker lost"},
        {.kind = K::kJobFailed, .project_id = id, .job_id = "J0", .job_index = 0, .error = "worker lost"},  // duplicated frame
        {.kind = K::kJobResult, .project_id = id, .job_id = "J1", .job_index = 1, .result_url = "https://media.test/" + id + "/1"},
        {.kind = K::kCompleted, .project_id = id}};
  };
  service_.lookup_statuses = {"processing"};  // job 1 is still running when job 0's failures arrive
  LocalRunnerOptions o;
  o.lookup_interval = std::chrono::milliseconds(0);
  o.quiet_check = std::chrono::hours(1);  // the lookups of a lagging record, not the quiet check, end it
  StreamCancel watchdog;
  o.cancel = &watchdog;
  std::jthread stop([&](std::stop_token t) {
    for (int i = 0; i < 200 && !t.stop_requested(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!t.stop_requested()) watchdog.Cancel();
  });
  LocalRunner r = Runner(o);
  Result<RunOutcome> out = r.Drive(run);
  ASSERT_OK(out.status());
  EXPECT_EQ(out->status, RunStatus::kCompleted) << out->problem;
  EXPECT_EQ(Step(run, "a").status, RunStatus::kCompleted);
}

// Results that arrive before their job's jobState (so without an index), swapped and each twice:
// each medium still goes under its own index, from the project's record. Counting results
// put the second image under index 0 and lost the first, or swapped them.
TEST_F(LocalRunnerTest, ResultsOfUnknownJobsTakeTheirIndexFromTheRecordNotFromTheirOrder) {
  LocalSpec spec;
  spec.steps = {Image("a", 2)};
  const std::string run = CreateRun(spec, "r-18");
  using K = ProjectNews::Kind;
  service_.script = [](const std::string& id) {
    auto result = [&](int i) {
      return ProjectNews{.kind = K::kJobResult, .project_id = id, .job_id = id + "-J" + std::to_string(i),
                         .result_url = "https://media.test/" + id + "/" + std::to_string(i)};
    };
    return std::vector<ProjectNews>{result(1), result(1), result(0), result(0), {.kind = K::kCompleted, .project_id = id}};
  };
  LocalRunner r = Runner();
  Result<RunOutcome> out = r.Drive(run);
  ASSERT_OK(out.status());
  EXPECT_EQ(out->status, RunStatus::kCompleted) << out->problem;
  EXPECT_EQ(out->artifacts_done, 2);
  Result<std::vector<ArtifactRecord>> artifacts = store_->ListArtifacts(run);
  ASSERT_TRUE(artifacts.ok());
  ASSERT_EQ(artifacts->size(), 2u);
  for (const ArtifactRecord& a : *artifacts) {
    EXPECT_EQ(a.url.substr(a.url.rfind('/') + 1), std::to_string(a.index)) << a.remote_id << " " << a.url;
    Result<std::string> bytes = ReadWholeFile(a.local_path);
    ASSERT_TRUE(bytes.ok()) << a.local_path;
    EXPECT_EQ(*bytes, LocalPngBytes(a.url)) << "file " << a.local_path << " holds the medium of its own index";
  }
}

TEST_F(LocalRunnerTest, AnEndTheRecordDoesNotShowYetIsNotConcluded) {
  LocalSpec spec;
  spec.steps = {Image("a", 1)};
  const std::string run = CreateRun(spec, "r-14");
  service_.lookup_statuses = {"processing", "processing"};  // the record lags behind the socket
  LocalRunnerOptions o;
  o.lookup_interval = std::chrono::milliseconds(0);
  // Looked up again every lookup_interval until the record shows the end; never left to the
  // quiet check (once made 30 s per step), which a 10 s watchdog would catch.
  o.quiet_check = std::chrono::hours(1);
  StreamCancel watchdog;
  o.cancel = &watchdog;
  std::jthread stop([&](std::stop_token t) {
    for (int i = 0; i < 200 && !t.stop_requested(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!t.stop_requested()) watchdog.Cancel();
  });
  LocalRunner r = Runner(o);
  Result<RunOutcome> out = r.Drive(run);
  ASSERT_OK(out.status());
  EXPECT_EQ(out->status, RunStatus::kCompleted) << out->problem;
  EXPECT_GE(service_.lookups, 3);
}

TEST_F(LocalRunnerTest, ASendTheSocketDroppedIsLookedUpAfterTheReconnectAndSentAgain) {
  LocalSpec spec;
  spec.steps = {Image("a", 1), Image("b", 1)};
  const std::string run = CreateRun(spec, "r-17");
  service_.drop_sends = 1;
  LocalRunnerOptions o;
  o.jobs = 1;
  LocalRunner r = Runner(o);
  Result<RunOutcome> out = r.Drive(run);
  ASSERT_OK(out.status());  // not a failure of the run: the project went again once the socket was back
  EXPECT_EQ(out->status, RunStatus::kCompleted) << out->problem;
  ASSERT_EQ(service_.sends.size(), 3u);
  EXPECT_EQ(service_.sends[0].first, service_.sends[1].first) << "the same project id";
  EXPECT_EQ(service_.sends[0].second, service_.sends[1].second) << "the same bytes";
  EXPECT_EQ(media_.fetched.size(), 2u);
}

TEST_F(LocalRunnerTest, ResultsBeyondWhatTheStepAskedForAreNotDownloaded) {
  LocalSpec spec;
  spec.steps = {Image("a", 1)};
  const std::string run = CreateRun(spec, "r-15");
  using K = ProjectNews::Kind;
  service_.script = [](const std::string& id) {
    std::vector<ProjectNews> news;
    for (int64_t i = 0; i < 50; ++i)
      news.push_back({.kind = K::kJobResult, .project_id = id, .job_id = "J", .job_index = i,
                      .result_url = "https://media.test/" + id + "/" + std::to_string(i)});
    news.push_back({.kind = K::kCompleted, .project_id = id});
    return news;
  };
  LocalRunner r = Runner();
  Result<RunOutcome> out = r.Drive(run);
  ASSERT_OK(out.status());
  EXPECT_EQ(out->artifacts_done, 1);
  EXPECT_EQ(media_.fetched.size(), 1u);
}

TEST_F(LocalRunnerTest, AProjectSentUnderAnotherAppIdIsFollowedByLookups) {
  LocalSpec spec;
  spec.steps = {Image("a", 1)};
  const std::string run = CreateRun(spec, "r-16");
  {
    StreamCancel stop;
    LocalRunnerOptions o;
    o.cancel = &stop;
    o.app_id = "app-of-a-process-that-died";
    o.before_send = [&] {
      stop.Cancel();
      return true;
    };
    LocalRunner r = Runner(o);
    Result<RunOutcome> got = r.Drive(run);
    EXPECT_EQ(got.status().code(), Status::Code::kCancelled);
  }
  service_.queue.clear();  // its news go to the dead process's socket, never to this one
  LocalRunnerOptions o;
  o.app_id = "app-of-this-process";
  o.lookup_interval = std::chrono::milliseconds(0);
  o.quiet_check = std::chrono::hours(1);
  service_.lookup_statuses = {"processing", "processing", "processing"};
  LocalRunner r = Runner(o);
  Result<RunOutcome> out = r.Drive(run);
  ASSERT_OK(out.status());
  EXPECT_EQ(out->status, RunStatus::kCompleted);
  EXPECT_EQ(service_.sends.size(), 1u);
}

}  // namespace
}  // namespace sflow
