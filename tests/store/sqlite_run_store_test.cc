#include <cmath>
#include "store/sqlite_run_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "store/run_rows.h"
#include "tests/store/store_test_util.h"
#include "tests/support/test_util.h"

namespace sflow {
namespace {

class RunStoreTest : public testing::Test {
 protected:
  RunStoreTest() : store_(MemoryStore([this] { return now_; })) {}
  void Create(const std::string& id) { ASSERT_OK(store_->CreateRun(SampleRun(id))); }
  RunRecord Get(const std::string& id) {
    Result<RunRecord> r = store_->GetRun(id);
    EXPECT_OK(r.status());
    return r.ok() ? *r : RunRecord{};
  }
  int64_t now_ = kTestNow;
  std::unique_ptr<SqliteRunStore> store_;
};

// ---- runs

TEST_F(RunStoreTest, CreateRunThenGetRunReturnsEveryField) {
  RunRecord in = SampleRun("r1");
  in.api_url = "https://api.example.test";
  in.error = Value::Object();
  in.error.Set("code", Value::String("x"));
  ASSERT_OK(store_->CreateRun(in));
  RunRecord out = Get("r1");
  EXPECT_EQ(out.id, "r1");
  EXPECT_EQ(out.plan_path, in.plan_path);
  EXPECT_EQ(out.plan_name, in.plan_name);
  EXPECT_EQ(out.plan_digest, in.plan_digest);
  EXPECT_EQ(out.params, in.params);
  EXPECT_EQ(out.params.ToJson(), R"({"subject":"translucent headphones","seconds":5})");
  EXPECT_EQ(out.execution, Execution::kServer);
  EXPECT_EQ(out.status, RunStatus::kPlanned);
  EXPECT_EQ(out.workflow_id, "");
  EXPECT_EQ(out.account, "0123456789abcdef");
  EXPECT_EQ(out.out_dir, "out/r1");
  EXPECT_EQ(out.api_url, "https://api.example.test");
  EXPECT_EQ(out.error, in.error);
  EXPECT_EQ(out.created_at, kTestNow);
  EXPECT_EQ(out.updated_at, kTestNow);
  EXPECT_EQ(out.cursor, -1);
  ASSERT_EQ(out.steps.size(), 2u);
  EXPECT_EQ(out.steps[0].step_id, "keyframe");
  EXPECT_EQ(out.steps[0].tool, "generate_image");
  EXPECT_EQ(out.steps[0].seed, 1234);
  EXPECT_EQ(out.steps[0].status, RunStatus::kPlanned);
  EXPECT_EQ(out.steps[1].step_id, "clip");
  EXPECT_EQ(out.steps[1].seed, std::nullopt);
  EXPECT_TRUE(out.steps[1].error.is_null());
}

TEST_F(RunStoreTest, LocalExecutionRoundTrips) {
  RunRecord in = SampleRun("r1");
  in.execution = Execution::kLocal;
  ASSERT_OK(store_->CreateRun(in));
  EXPECT_EQ(Get("r1").execution, Execution::kLocal);
}

TEST_F(RunStoreTest, CreatingARunTwiceIsConflict) {
  Create("r1");
  Status s = store_->CreateRun(SampleRun("r1"));
  EXPECT_EQ(s.code(), Status::Code::kConflict);
  EXPECT_EQ(s.message(), "run r1 already exists");
}

TEST_F(RunStoreTest, RefusesAnApiKeyAsTheAccountWithoutEchoingIt) {
  RunRecord r = SampleRun("r1");
  r.account = "sk-live-SECRET-0123456789";
  Status s = store_->CreateRun(r);
  EXPECT_EQ(s.code(), Status::Code::kInternal);
  EXPECT_EQ(s.message().find("SECRET"), std::string::npos);
  EXPECT_NE(s.message().find("never the key"), std::string::npos);
  EXPECT_EQ(store_->GetRun("r1").status().code(), Status::Code::kNotFound);
  // The schema refuses it too, should a write bypass the check.
  Status raw = store_->db().Exec(
      "INSERT INTO runs VALUES ('x', '', '', '', '{}', 'server', 'planned', '', NULL, "
      "'sk-live-SECRET', '', NULL, 0, 0, '', 0)");
  EXPECT_EQ(raw.code(), Status::Code::kInternal);
  EXPECT_NE(raw.message().find("CHECK constraint failed"), std::string::npos);
}

ProjectRecord SampleProject(const std::string& id, const std::string& run, const std::string& key = "") {
  ProjectRecord p;
  p.project_id = id;
  p.run_id = run;
  p.step_id = "hero";
  p.app_id = "sogni-flow-app";
  p.request = R"({"jobID":")" + id + R"(","numberOfImages":1})";
  p.cache_key = key;
  p.quote = 1.5;
  p.token_type = "spark";
  return p;
}

TEST_F(RunStoreTest, AProjectIsCommittedOnceAndItsRequestNeverChanges) {
  Create("r1");
  const ProjectRecord p = SampleProject("P-1", "r1");
  RunUpdate u;
  u.steps.push_back(StepRecord{.step_id = "hero", .status = RunStatus::kSubmitting, .remote_id = "P-1"});
  ASSERT_OK(store_->RecordProject(p, u));
  ASSERT_OK(store_->RecordProject(p, u));  // the same again: nothing changes
  ProjectRecord other = p;
  other.request = R"({"jobID":"P-1","numberOfImages":2})";
  EXPECT_EQ(store_->RecordProject(other, u).code(), Status::Code::kConflict);
  Result<std::vector<ProjectRecord>> got = store_->ListProjects("r1");
  ASSERT_OK(got.status());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].request, p.request);
  EXPECT_EQ((*got)[0].state, ProjectState::kPending);
  EXPECT_EQ((*got)[0].quote, 1.5);
  std::string remote;
  Result<RunRecord> run = store_->GetRun("r1");
  ASSERT_OK(run.status());
  for (const StepRecord& st : run->steps)
    if (st.step_id == "hero") remote = st.remote_id;
  EXPECT_EQ(remote, "P-1") << "the run update is applied with the project";
  ProjectRecord orphan = SampleProject("P-2", "nope");
  EXPECT_EQ(store_->RecordProject(orphan, {}).code(), Status::Code::kNotFound);
  ProjectRecord bad = SampleProject("P-3", "r1", "not-a-key");
  EXPECT_EQ(store_->RecordProject(bad, {}).code(), Status::Code::kInternal);
  ProjectRecord nan = SampleProject("P-4", "r1");
  nan.quote = std::nan("");
  EXPECT_EQ(store_->RecordProject(nan, {}).code(), Status::Code::kInternal);
}

TEST_F(RunStoreTest, ProjectsRecordedTogetherAreStoredTogetherOrNotAtAll) {
  Create("r1");
  Create("r2");
  ASSERT_OK(store_->RecordProject(SampleProject("P-1", "r1"), {}));
  ProjectRecord clash = SampleProject("P-1", "r1");
  clash.request = R"({"jobID":"P-1","numberOfImages":7})";
  RunUpdate u{.steps = {StepRecord{.step_id = "hero", .status = RunStatus::kSubmitting, .remote_id = "P-3"}}};
  EXPECT_EQ(store_->RecordProjects({SampleProject("P-2", "r1"), clash}, u).code(), Status::Code::kConflict);
  EXPECT_EQ(store_->RecordProjects({SampleProject("P-2", "r1"), SampleProject("P-9", "r2")}, u).code(),
            Status::Code::kInternal) << "two runs in one call";
  EXPECT_EQ(store_->RecordProjects({}, u).code(), Status::Code::kInternal);
  EXPECT_EQ(store_->ListProjects("r1")->size(), 1u) << "nothing of a refused call is stored";
  ASSERT_OK(store_->RecordProjects({SampleProject("P-2", "r1"), SampleProject("P-3", "r1")}, u));
  EXPECT_EQ(store_->ListProjects("r1")->size(), 3u);
  Result<RunRecord> run = store_->GetRun("r1");
  ASSERT_OK(run.status());
  std::string remote;
  for (const StepRecord& st : run->steps)
    if (st.step_id == "hero") remote = st.remote_id;
  EXPECT_EQ(remote, "P-3") << "the run update is applied with the projects";
}

TEST_F(RunStoreTest, AFinalProjectStateIsNeverLeft) {
  Create("r1");
  ASSERT_OK(store_->RecordProject(SampleProject("P-1", "r1"), {}));
  ASSERT_OK(store_->MarkProject("P-1", {.state = ProjectState::kSent}));
  ASSERT_OK(store_->MarkProject("P-1", {.state = ProjectState::kCompleted, .charge = 1.25}));
  ASSERT_OK(store_->MarkProject("P-1", {.state = ProjectState::kCompleted}));  // the same end again
  EXPECT_EQ(store_->MarkProject("P-1", {.state = ProjectState::kFailed}).code(), Status::Code::kConflict);
  EXPECT_EQ(store_->MarkProject("P-1", {.state = ProjectState::kPending}).code(), Status::Code::kInternal);
  EXPECT_EQ(store_->MarkProject("P-9", {.state = ProjectState::kSent}).code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->ListProjects("r1")->at(0).charge, 1.25);
}

TEST_F(RunStoreTest, AStepsFilesItsProjectAndItsEndGoInOneCommitOrNotAtAll) {
  Create("r1");
  Create("r2");
  ASSERT_OK(store_->RecordProject(SampleProject("P-1", "r1"), {}));
  ASSERT_OK(store_->RecordProject(SampleProject("P-2", "r2"), {}));
  const ArtifactRecord planned{.step_id = "hero", .index = 0, .remote_id = "P-1-0", .url = "http://127.0.0.1/x",
                               .kind = MediaKind::kImage};
  ArtifactRecord done = planned;
  done.state = ArtifactState::kDone;
  done.local_path = "/out/hero/0.png";
  done.size = 3;
  done.sha256 = std::string(64, 'a');
  const StepRecord end{.step_id = "hero", .status = RunStatus::kCompleted, .artifact_count = 1, .remote_id = "P-1"};

  // Each bad part refuses the whole update: nothing of it is stored.
  RunUpdate other_runs_project{.steps = {end}, .artifacts = {planned}, .saved = {done},
                               .projects = {{.project_id = "P-2", .state = ProjectState::kCompleted}}};
  EXPECT_EQ(store_->UpdateRun("r1", other_runs_project).code(), Status::Code::kInternal);
  RunUpdate unknown_artifact{.steps = {end}, .saved = {done}};
  EXPECT_EQ(store_->UpdateRun("r1", unknown_artifact).code(), Status::Code::kNotFound);
  ArtifactRecord no_digest = done;
  no_digest.sha256 = "";
  EXPECT_EQ(store_->UpdateRun("r1", {.artifacts = {planned}, .saved = {no_digest}}).code(), Status::Code::kInternal);
  EXPECT_EQ(store_->UpdateRun("r1", {.projects = {{.project_id = "P-1", .charge = -1}}}).code(), Status::Code::kInternal);
  EXPECT_EQ(store_->UpdateRun("r1", {.projects = {{.project_id = "P-1", .state = ProjectState::kPending}}}).code(),
            Status::Code::kInternal);
  EXPECT_EQ(store_->ListArtifacts("r1")->size(), 0u);
  EXPECT_EQ(store_->ListProjects("r1")->at(0).state, ProjectState::kPending);
  EXPECT_EQ(store_->GetRun("r1")->steps[0].status, RunStatus::kPlanned);

  RunUpdate whole{.steps = {end}, .artifacts = {planned}, .saved = {done},
                  .projects = {{.project_id = "P-1", .state = ProjectState::kCompleted, .charge = 2.5}}};
  ASSERT_OK(store_->UpdateRun("r1", whole));
  Result<std::vector<ArtifactRecord>> arts = store_->ListArtifacts("r1");
  ASSERT_OK(arts.status());
  ASSERT_EQ(arts->size(), 1u);
  EXPECT_EQ((*arts)[0].state, ArtifactState::kDone);
  EXPECT_EQ((*arts)[0].sha256, done.sha256);
  EXPECT_EQ(store_->ListProjects("r1")->at(0).state, ProjectState::kCompleted);
  EXPECT_EQ(store_->ListProjects("r1")->at(0).charge, 2.5);
  ASSERT_OK(store_->UpdateRun("r1", whole));  // the same again changes nothing
  ArtifactRecord elsewhere = done;
  elsewhere.local_path = "/other/0.png";
  EXPECT_EQ(store_->UpdateRun("r1", {.saved = {elsewhere}}).code(), Status::Code::kConflict);
  EXPECT_EQ(store_->UpdateRun("r1", {.projects = {{.project_id = "P-1", .state = ProjectState::kFailed}}}).code(),
            Status::Code::kConflict);
}

TEST_F(RunStoreTest, TheCacheFindsOnlyCompletedProjectsOfItsKey) {
  Create("r1");
  const std::string key(64, 'c'), other(64, 'd');
  ASSERT_OK(store_->RecordProject(SampleProject("P-1", "r1", key), {}));
  EXPECT_FALSE(store_->FindCompletedProject(key)->has_value()) << "pending is not a result";
  ASSERT_OK(store_->MarkProject("P-1", {.state = ProjectState::kCompleted}));
  Result<std::optional<ProjectRecord>> hit = store_->FindCompletedProject(key);
  ASSERT_OK(hit.status());
  ASSERT_TRUE(hit->has_value());
  EXPECT_EQ((*hit)->project_id, "P-1");
  EXPECT_FALSE(store_->FindCompletedProject(other)->has_value());
  EXPECT_EQ(store_->FindCompletedProject("'; DROP TABLE projects; --").status().code(), Status::Code::kInternal);
}

TEST_F(RunStoreTest, ASettingKeepsItsFirstValue) {
  Result<std::string> a = store_->Setting("app_id", "first");
  Result<std::string> b = store_->Setting("app_id", "second");
  ASSERT_OK(a.status());
  ASSERT_OK(b.status());
  EXPECT_EQ(*a, "first");
  EXPECT_EQ(*b, "first");
}

TEST_F(RunStoreTest, ADamagedProjectRowIsDamageNotARecord) {
  Create("r1");
  ASSERT_OK(store_->RecordProject(SampleProject("P-1", "r1"), {}));
  ASSERT_OK(store_->db().Exec("PRAGMA ignore_check_constraints = ON; UPDATE projects SET state = 'lost'"));
  Result<std::vector<ProjectRecord>> got = store_->ListProjects("r1");
  EXPECT_EQ(got.status().code(), Status::Code::kIOError);
  EXPECT_NE(got.status().message().find("projects row 'P-1'"), std::string::npos) << got.status().message();
}

TEST_F(RunStoreTest, GetRunOfAnUnknownIdIsNotFound) {
  Result<RunRecord> r = store_->GetRun("nope");
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(r.status().message(), "no run nope in the state database");
}

TEST_F(RunStoreTest, ListRunsFiltersByStatusNewestFirst) {
  for (int i = 1; i <= 4; ++i) {
    now_ = kTestNow + i;
    Create("r" + std::to_string(i));
  }
  ASSERT_OK(store_->UpdateRun("r2", {.status = RunStatus::kRunning}));
  ASSERT_OK(store_->UpdateRun("r3", {.status = RunStatus::kCompleted}));
  Result<std::vector<RunRecord>> all = store_->ListRuns({});
  ASSERT_OK(all.status());
  std::vector<std::string> ids;
  for (const RunRecord& r : *all) ids.push_back(r.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"r4", "r3", "r2", "r1"}));
  EXPECT_EQ((*all)[0].steps.size(), 2u);

  Result<std::vector<RunRecord>> active =
      store_->ListRuns({.statuses = {RunStatus::kPlanned, RunStatus::kRunning}, .limit = 2});
  ASSERT_OK(active.status());
  ASSERT_EQ(active->size(), 2u);
  EXPECT_EQ((*active)[0].id, "r4");
  EXPECT_EQ((*active)[1].id, "r2");
}

TEST_F(RunStoreTest, UpdateRunChangesOnlyTheFieldsGiven) {
  Create("r1");
  now_ += 10;
  Value err = Value::Object();
  err.Set("message", Value::String("boom"));
  ASSERT_OK(store_->UpdateRun(
      "r1",
      {.status = RunStatus::kWaitingForUser, .waiting_reason = "cost approval", .error = err}));
  RunRecord r = Get("r1");
  EXPECT_EQ(r.status, RunStatus::kWaitingForUser);
  EXPECT_EQ(r.waiting_reason, "cost approval");
  EXPECT_EQ(r.error, err);
  EXPECT_EQ(r.plan_name, "launch-teaser");
  EXPECT_EQ(r.created_at, kTestNow);
  EXPECT_EQ(r.updated_at, kTestNow + 10);

  ASSERT_OK(store_->UpdateRun(
      "r1", {.status = RunStatus::kRunning, .waiting_reason = "", .error = Value()}));
  r = Get("r1");
  EXPECT_EQ(r.waiting_reason, "");
  EXPECT_TRUE(r.error.is_null());
  EXPECT_EQ(store_->UpdateRun("zz", {.status = RunStatus::kRunning}).code(),
            Status::Code::kNotFound);
}

TEST_F(RunStoreTest, WorkflowIdIsSetOnce) {
  Create("r1");
  ASSERT_OK(store_->UpdateRun("r1", {.workflow_id = "wf-1"}));
  EXPECT_OK(store_->UpdateRun("r1", {.workflow_id = "wf-1"}));
  Status s = store_->UpdateRun("r1", {.status = RunStatus::kFailed, .workflow_id = "wf-2"});
  EXPECT_EQ(s.code(), Status::Code::kConflict);
  EXPECT_EQ(s.message(), "run r1 is already bound to workflow wf-1; refusing to rebind it to wf-2");
  RunRecord r = Get("r1");
  EXPECT_EQ(r.workflow_id, "wf-1");
  EXPECT_EQ(r.status, RunStatus::kPlanned) << "the whole update was refused";
}

TEST_F(RunStoreTest, AFinalStatusIsNeverLeft) {
  Create("r1");
  ASSERT_OK(store_->UpdateRun("r1", {.status = RunStatus::kRunning, .workflow_id = "wf-1"}));
  ASSERT_OK(store_->UpdateRun("r1", {.status = RunStatus::kCompleted}));
  for (RunStatus to : {RunStatus::kRunning, RunStatus::kQueued, RunStatus::kFailed, RunStatus::kUnknown,
                       RunStatus::kWaitingForUser}) {
    Status s = store_->UpdateRun("r1", {.status = to});
    EXPECT_EQ(s.code(), Status::Code::kConflict) << Name(to);
    EXPECT_EQ(s.message(), std::string("run r1 has ended (completed); its status cannot become ") + Name(to));
  }
  // Through every path that carries a run update: events, intents.
  EventBatch batch = SampleBatch(0, 1);
  batch.run.status = RunStatus::kRunning;
  EXPECT_EQ(store_->AppendEvents("r1", batch).status().code(), Status::Code::kConflict);
  EXPECT_EQ(store_->CountEvents("r1").value(), 0) << "nothing of the refused batch is stored";
  ASSERT_OK(store_->RecordIntent(SampleIntent("i1", "r1"), {}));
  EXPECT_EQ(store_->MarkIntent("i1", {.state = IntentState::kDone, .run = {.status = RunStatus::kQueued}}).code(),
            Status::Code::kConflict);
  // What may still change after the end: the same status again, the error, steps, artifacts;
  // a cancel request is ignored.
  Value error = Value::Object();
  error.Set("message", Value::String("late"));
  ASSERT_OK(store_->UpdateRun("r1", {.status = RunStatus::kCompleted, .error = error,
                                     .steps = {{.step_id = "keyframe", .status = RunStatus::kCompleted, .units = 2.5}},
                                     .artifacts = {{.step_id = "keyframe", .remote_id = "a1", .url = "https://x/1"}},
                                     .cancel_requested = true}));
  ASSERT_OK(StatusOf(store_->AppendEvents("r1", SampleBatch(0, 1))));
  RunRecord r = Get("r1");
  EXPECT_EQ(r.status, RunStatus::kCompleted);
  EXPECT_EQ(r.error, error);
  EXPECT_EQ(r.steps[0].units, 2.5);
  EXPECT_EQ(r.cancel_requested_at, 0);
  EXPECT_EQ(store_->ListArtifacts("r1")->size(), 1u);
}

TEST_F(RunStoreTest, ACancelRequestIsStampedOnce) {
  Create("r1");
  now_ = kTestNow + 10;
  ASSERT_OK(store_->UpdateRun("r1", {.status = RunStatus::kRunning, .cancel_requested = true}));
  now_ = kTestNow + 20;
  ASSERT_OK(store_->UpdateRun("r1", {.cancel_requested = true}));
  EXPECT_EQ(Get("r1").cancel_requested_at, kTestNow + 10);
  ASSERT_OK(store_->UpdateRun("r1", {.status = RunStatus::kCancelled}));
  EXPECT_EQ(Get("r1").cancel_requested_at, kTestNow + 10) << "kept: when it was asked for";
}

TEST_F(RunStoreTest, CancelRequestedAtReadsTheFlagAloneAsGetRunHasIt) {
  Create("r1");
  Create("r2");
  EXPECT_EQ(*store_->CancelRequestedAt("r1"), 0);
  now_ = kTestNow + 10;
  ASSERT_OK(store_->UpdateRun("r1", {.status = RunStatus::kRunning, .cancel_requested = true}));
  EXPECT_EQ(*store_->CancelRequestedAt("r1"), kTestNow + 10);
  EXPECT_EQ(*store_->CancelRequestedAt("r1"), Get("r1").cancel_requested_at);
  EXPECT_EQ(*store_->CancelRequestedAt("r2"), 0) << "another run's request is not this one's";
  Result<int64_t> none = store_->CancelRequestedAt("nope");
  EXPECT_EQ(none.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(none.status().message(), "no run nope in the state database");
}

TEST_F(RunStoreTest, ForgetRunRemovesEverythingOfTheRunAndNothingElse) {
  Create("r1");
  Create("r2");
  ASSERT_OK(StatusOf(store_->AppendEvents("r1", SampleBatch(0, 3))));
  ASSERT_OK(store_->RecordIntent(SampleIntent("i1", "r1"), {}));
  ASSERT_OK(store_->UpdateRun("r1", {.artifacts = {{.step_id = "keyframe", .remote_id = "a1"}}}));
  ASSERT_OK(store_->ForgetRun("r1"));
  EXPECT_EQ(store_->GetRun("r1").status().code(), Status::Code::kNotFound);
  for (const char* table : {"steps", "event_chunks", "cursors", "intents", "artifacts"}) {
    EXPECT_EQ(*store_->db().QueryInt(std::string("SELECT count(*) FROM ") + table + " WHERE run_id = 'r1'"), 0) << table;
  }
  EXPECT_EQ(Get("r2").steps.size(), 2u);
  EXPECT_EQ(store_->ForgetRun("r1").code(), Status::Code::kNotFound);
}

TEST_F(RunStoreTest, RowsThatBreakTheSchemasPromisesAreDamageNotRecords) {
  struct Case {
    const char* sql;
    const char* damage;
  } cases[] = {
      {"UPDATE steps SET artifact_count = -1 WHERE step_id = 'clip'", "steps row 'clip': artifact_count is -1, below 0"},
      {"UPDATE runs SET account = 'NOT-HEX'", "runs row 'r1': account is not a key fingerprint"},
      {"UPDATE runs SET params = '{'", "runs row 'r1': params is not JSON (JSON: expected a string key at byte 1)"},
      {"UPDATE runs SET status = 'complXted'", "runs row 'r1': status 'complXted' is not one this sogni-flow knows"},
      {"UPDATE runs SET plan_name = CAST(X'ff41' AS TEXT)", "runs row 'r1': plan_name is not valid UTF-8"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.sql);
    std::unique_ptr<SqliteRunStore> store = MemoryStore();
    ASSERT_OK(store->CreateRun(SampleRun("r1")));
    ASSERT_OK(store->db().Exec(std::string("PRAGMA ignore_check_constraints = ON; ") + c.sql));
    Status s = StatusOf(store->GetRun("r1"));
    EXPECT_EQ(s.code(), Status::Code::kIOError);
    EXPECT_EQ(s.message(), std::string("the state database :memory: is damaged: ") + c.damage +
                               "; keep a copy of .; `sogni-flow check` lists what is damaged and `sogni-flow "
                               "recover` gets runs back from the server");
  }
  // A chunk of events (store/event_chunks.h) whose body was damaged: no event of it is handed out.
  struct Chunk {
    const char* sql;
    const char* damage;
  } chunks[] = {
      {"UPDATE event_chunks SET body = replace(body, '\"sequence\":1,', '\"sequence\":1;')",
       "event_chunks row '0': event 2 (sequence 1): json is not a JSON object (JSON: expected ',' or '}' at byte 22)"},
      {"UPDATE event_chunks SET body = CAST(replace(CAST(body AS BLOB), CAST('\"id\":\"1\"' AS BLOB), "
       "X'226964223a22ff22') AS TEXT)",
       "event_chunks row '0': event 2 (sequence 1): json is not a JSON object (JSON: invalid UTF-8 at byte 7)"},
      {"UPDATE event_chunks SET body = substr(body, 1, length(body) - 3)", "event_chunks row '0': event 3: the body ends inside it"},
      {"UPDATE event_chunks SET body = replace(body, '1 13 7', '01 13 7')", "event_chunks row '0': event 2: its header is not five numbers"},
      {"UPDATE event_chunks SET count = 2", "event_chunks row '0': 3 events, the row says 2"},
      {"UPDATE event_chunks SET last_sequence = 5", "event_chunks row '0': the last event is not the row's last_sequence 5"},
      {"UPDATE event_chunks SET first_sequence = 1", "event_chunks row '1': event 1: sequence 0 is not the row's first_sequence 1"},
      {"UPDATE event_chunks SET body = replace(body, '2 13 7', '1 13 7')", "event_chunks row '0': event 3: sequence 1 does not ascend"},
  };
  for (const Chunk& c : chunks) {
    SCOPED_TRACE(c.sql);
    std::unique_ptr<SqliteRunStore> store = MemoryStore();
    ASSERT_OK(store->CreateRun(SampleRun("r1")));
    ASSERT_OK(StatusOf(store->AppendEvents("r1", SampleBatch(0, 2))));
    ASSERT_OK(store->db().Exec(std::string("PRAGMA ignore_check_constraints = ON; ") + c.sql));
    Result<std::vector<EventRecord>> events = store->ListEvents("r1", -1, 0);
    ASSERT_FALSE(events.ok()) << "a damaged chunk is never handed out";
    EXPECT_EQ(events.status().code(), Status::Code::kIOError);
    EXPECT_EQ(DamageDetail(events.status()), c.damage);
  }
}

TEST_F(RunStoreTest, StepsAreUpsertedAndAKnownSeedIsNeverForgotten) {
  Create("r1");
  StepRecord keyframe{.step_id = "keyframe", .status = RunStatus::kCompleted, .artifact_count = 1};
  StepRecord extra{
      .step_id = "upscale", .tool = "upscale_image", .status = RunStatus::kQueued, .seed = 9};
  ASSERT_OK(store_->UpdateRun("r1", {.steps = {keyframe, extra}}));
  RunRecord r = Get("r1");
  ASSERT_EQ(r.steps.size(), 3u);
  EXPECT_EQ(r.steps[0].step_id, "keyframe");
  EXPECT_EQ(r.steps[0].status, RunStatus::kCompleted);
  EXPECT_EQ(r.steps[0].seed, 1234) << "no seed given: the stored one stays";
  EXPECT_EQ(r.steps[0].tool, "generate_image");
  EXPECT_EQ(r.steps[0].artifact_count, 1);
  EXPECT_EQ(r.steps[2].step_id, "upscale") << "a new step goes last";
  keyframe.seed = 77;  // a reseed
  ASSERT_OK(store_->UpdateRun("r1", {.steps = {keyframe}}));
  EXPECT_EQ(Get("r1").steps[0].seed, 77);
}

TEST_F(RunStoreTest, StepUnitsAndArgumentsDigestAreKeptOnceKnown) {
  Create("r1");
  StepRecord keyframe{.step_id = "keyframe", .status = RunStatus::kRunning};
  EXPECT_EQ(Get("r1").steps[0].units, std::nullopt);
  EXPECT_EQ(Get("r1").steps[0].arguments_digest, "");
  keyframe.units = 2.5;
  keyframe.arguments_digest = std::string(64, 'a');
  ASSERT_OK(store_->UpdateRun("r1", {.steps = {keyframe}}));
  keyframe.units.reset();
  keyframe.arguments_digest.clear();
  keyframe.status = RunStatus::kCompleted;
  ASSERT_OK(store_->UpdateRun("r1", {.steps = {keyframe}}));
  RunRecord r = Get("r1");
  EXPECT_EQ(r.steps[0].status, RunStatus::kCompleted);
  EXPECT_EQ(r.steps[0].units, 2.5);
  EXPECT_EQ(r.steps[0].arguments_digest, std::string(64, 'a'));
}

// ---- intents

TEST_F(RunStoreTest, RecordIntentCommitsWithItsRunUpdateAndIsIdempotent) {
  Create("r1");
  IntentRecord in = SampleIntent("i1", "r1");
  ASSERT_OK(store_->RecordIntent(in, {.status = RunStatus::kSubmitting}));
  EXPECT_EQ(Get("r1").status, RunStatus::kSubmitting);
  ASSERT_OK(store_->RecordIntent(in, {.status = RunStatus::kFailed}));  // a retry: no change
  EXPECT_EQ(Get("r1").status, RunStatus::kSubmitting);
  Result<std::vector<IntentRecord>> pending = store_->PendingIntents("r1");
  ASSERT_OK(pending.status());
  ASSERT_EQ(pending->size(), 1u);
  const IntentRecord& got = (*pending)[0];
  EXPECT_EQ(got.id, "i1");
  EXPECT_EQ(got.kind, IntentKind::kStart);
  EXPECT_EQ(got.idempotency_key, "key-i1");
  EXPECT_EQ(got.request, in.request);
  EXPECT_EQ(got.state, IntentState::kPending);
  EXPECT_EQ(got.response, "");
  EXPECT_EQ(got.created_at, kTestNow);
}

TEST_F(RunStoreTest, CreateRunWithIntentStoresBothOrNeither) {
  IntentRecord in = SampleIntent("i1", "r1");
  ASSERT_OK(store_->CreateRunWithIntent(SampleRun("r1"), in, {.status = RunStatus::kSubmitting}));
  EXPECT_EQ(Get("r1").status, RunStatus::kSubmitting);
  Result<std::vector<IntentRecord>> pending = store_->PendingIntents("r1");
  ASSERT_OK(pending.status());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].id, "i1");
  EXPECT_EQ((*pending)[0].state, IntentState::kPending);
  EXPECT_EQ((*pending)[0].request, in.request);

  // A taken run id: kConflict, nothing of the second call stored.
  EXPECT_EQ(store_->CreateRunWithIntent(SampleRun("r1"), SampleIntent("i2", "r1"), {}).code(),
            Status::Code::kConflict);
  pending = store_->PendingIntents("r1");
  ASSERT_OK(pending.status());
  EXPECT_EQ(pending->size(), 1u);

  // The intent fails inside the transaction (its key is taken): the run is rolled back too.
  IntentRecord same_key = SampleIntent("i3", "r2");
  same_key.idempotency_key = in.idempotency_key;
  EXPECT_EQ(store_->CreateRunWithIntent(SampleRun("r2"), same_key, {}).code(), Status::Code::kConflict);
  EXPECT_EQ(store_->GetRun("r2").status().code(), Status::Code::kNotFound);
  pending = store_->PendingIntents("");
  ASSERT_OK(pending.status());
  EXPECT_EQ(pending->size(), 1u);

  // Checked before any write: an intent of another run, a bad request body.
  EXPECT_EQ(store_->CreateRunWithIntent(SampleRun("r3"), SampleIntent("i4", "r1"), {}).code(),
            Status::Code::kInternal);
  IntentRecord bad_json = SampleIntent("i5", "r3");
  bad_json.request = "{";
  EXPECT_EQ(store_->CreateRunWithIntent(SampleRun("r3"), bad_json, {}).code(), Status::Code::kInternal);
  EXPECT_EQ(store_->GetRun("r3").status().code(), Status::Code::kNotFound);
}

TEST_F(RunStoreTest, AnIntentIdOrKeyCannotBeReusedForAnotherRequest) {
  Create("r1");
  ASSERT_OK(store_->RecordIntent(SampleIntent("i1", "r1"), {}));
  IntentRecord other_body = SampleIntent("i1", "r1");
  other_body.request = R"({"input":{}})";
  Status s = store_->RecordIntent(other_body, {});
  EXPECT_EQ(s.code(), Status::Code::kConflict);
  EXPECT_EQ(s.message(), "intent i1 is already recorded with another request");
  IntentRecord same_key = SampleIntent("i2", "r1");
  same_key.idempotency_key = "key-i1";
  s = store_->RecordIntent(same_key, {});
  EXPECT_EQ(s.code(), Status::Code::kConflict);
  EXPECT_EQ(s.message(), "intent i2 reuses the idempotency key of intent i1");
  EXPECT_EQ(store_->RecordIntent(SampleIntent("i3", "nope"), {}).code(), Status::Code::kNotFound);
  IntentRecord no_key = SampleIntent("i4", "r1");
  no_key.idempotency_key = "";
  EXPECT_EQ(store_->RecordIntent(no_key, {}).code(), Status::Code::kInternal);
  IntentRecord bad_json = SampleIntent("i5", "r1");
  bad_json.request = "{";
  EXPECT_EQ(store_->RecordIntent(bad_json, {}).code(), Status::Code::kInternal);
}

TEST_F(RunStoreTest, MarkIntentMovesForwardAndBindsTheWorkflowAtomically) {
  Create("r1");
  ASSERT_OK(store_->RecordIntent(SampleIntent("i1", "r1"), {.status = RunStatus::kSubmitting}));
  ASSERT_OK(store_->MarkIntent("i1", {.state = IntentState::kSent}));
  ASSERT_OK(store_->MarkIntent("i1", {.state = IntentState::kUnknown}));
  ASSERT_OK(store_->MarkIntent("i1", {.state = IntentState::kSent}));  // re-sent after a crash
  ASSERT_OK(
      store_->MarkIntent("i1", {.state = IntentState::kDone,
                                .response = R"({"id":"wf-1"})",
                                .run = {.status = RunStatus::kQueued, .workflow_id = "wf-1"}}));
  RunRecord r = Get("r1");
  EXPECT_EQ(r.workflow_id, "wf-1");
  EXPECT_EQ(r.status, RunStatus::kQueued);
  EXPECT_TRUE(store_->PendingIntents("r1")->empty());
  // done is final; a repeat of done is a no-op.
  EXPECT_OK(store_->MarkIntent("i1", {.state = IntentState::kDone, .response = R"({"x":1})"}));
  Status s = store_->MarkIntent("i1", {.state = IntentState::kSent});
  EXPECT_EQ(s.code(), Status::Code::kConflict);
  EXPECT_EQ(s.message(), "intent i1 is done; it cannot become sent");
  ASSERT_OK(store_->RecordIntent(SampleIntent("i2", "r1"), {}));
  ASSERT_OK(store_->MarkIntent("i2", {.state = IntentState::kSent}));
  EXPECT_EQ(store_->MarkIntent("i2", {.state = IntentState::kPending}).code(),
            Status::Code::kConflict);
  EXPECT_EQ(store_->MarkIntent("nope", {.state = IntentState::kSent}).code(),
            Status::Code::kNotFound);
}

TEST_F(RunStoreTest, AFailingRunUpdateLeavesTheIntentUnmarked) {
  Create("r1");
  ASSERT_OK(store_->UpdateRun("r1", {.workflow_id = "wf-1"}));
  ASSERT_OK(store_->RecordIntent(SampleIntent("i1", "r1"), {}));
  Status s = store_->MarkIntent(
      "i1", {.state = IntentState::kDone, .response = "{}", .run = {.workflow_id = "wf-2"}});
  EXPECT_EQ(s.code(), Status::Code::kConflict);
  ASSERT_EQ(store_->PendingIntents("r1")->size(), 1u);
  EXPECT_EQ((*store_->PendingIntents("r1"))[0].state, IntentState::kPending);
}

TEST_F(RunStoreTest, PendingIntentsOfEveryRunOldestFirst) {
  Create("r1");
  Create("r2");
  now_ = kTestNow + 2;
  ASSERT_OK(store_->RecordIntent(SampleIntent("b", "r2"), {}));
  now_ = kTestNow + 1;
  IntentRecord cancel = SampleIntent("a", "r1");
  cancel.kind = IntentKind::kCancel;
  ASSERT_OK(store_->RecordIntent(cancel, {}));
  ASSERT_OK(store_->RecordIntent(SampleIntent("c", "r1"), {}));
  ASSERT_OK(store_->MarkIntent("c", {.state = IntentState::kDone, .response = "{}"}));
  Result<std::vector<IntentRecord>> all = store_->PendingIntents("");
  ASSERT_OK(all.status());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, "a");
  EXPECT_EQ((*all)[0].kind, IntentKind::kCancel);
  EXPECT_EQ((*all)[1].id, "b");
  EXPECT_EQ(store_->PendingIntents("r2")->size(), 1u);
}

// ---- events (more in events_test.cc)

TEST_F(RunStoreTest, AppendEventsThenListThemAfterACursor) {
  Create("r1");
  Result<AppendResult> r = store_->AppendEvents("r1", SampleBatch(0, 9));
  ASSERT_OK(r.status());
  EXPECT_EQ(r->inserted, 10);
  EXPECT_EQ(r->duplicates, 0);
  EXPECT_EQ(r->cursor, 9);
  EXPECT_EQ(Get("r1").cursor, 9);
  Result<std::vector<EventRecord>> after = store_->ListEvents("r1", 6, 0);
  ASSERT_OK(after.status());
  ASSERT_EQ(after->size(), 3u);
  EXPECT_EQ((*after)[0].sequence, 7);
  EXPECT_EQ((*after)[0].json, SampleEvent(7).json);
  EXPECT_EQ((*after)[0].type, "step_progress");
  EXPECT_EQ((*after)[0].status, "running");
  EXPECT_EQ((*after)[0].received_at, kTestNow);
  EXPECT_EQ(store_->ListEvents("r1", -1, 4)->size(), 4u);
  EXPECT_EQ(store_->ListEvents("nope", -1, 0).status().code(), Status::Code::kNotFound);
}

// Counting a run's events and appending to it read the chunks' small columns, never their
// bodies: with the chunks keyed by their whole record (WITHOUT ROWID, before migration 8) every
// chunk a seek or a range bound passed was read in full, so `status` of a run of 100,000 events
// read its 32 MB and each appended batch read its neighbours back. Counted as the pages the
// connection had to read from the file.
TEST(RunStoreFileTest, CountingAndAppendingDoNotReadTheChunkBodies) {
  TempDir dir;
  const std::string path = dir.path() + "/state.db";
  {
    Result<std::unique_ptr<SqliteRunStore>> store = SqliteRunStore::Open(MustOpenDb(path), FixedClock());
    ASSERT_OK(store.status());
    ASSERT_OK((*store)->CreateRun(SampleRun("r1")));
    const std::string pad(200, 'x');
    for (int64_t batch = 0; batch < 8; ++batch) {
      EventBatch b;
      for (int64_t i = batch * 1000; i < (batch + 1) * 1000; ++i)
        b.events.push_back(EventRecord{.sequence = i, .type = "step_progress", .status = "running",
                                       .json = "{\"sequence\":" + std::to_string(i) + ",\"pad\":\"" + pad + "\"}"});
      b.cursor = (batch + 1) * 1000 - 1;
      ASSERT_OK(StatusOf((*store)->AppendEvents("r1", b)));
    }
  }
  std::unique_ptr<Db> db = MustOpenDb(path);  // a cold page cache
  Db* raw = db.get();
  Result<std::unique_ptr<SqliteRunStore>> store = SqliteRunStore::Open(std::move(db), FixedClock());
  ASSERT_OK(store.status());
  auto misses = [raw] {
    int now = 0, high = 0;
    sqlite3_db_status(raw->handle(), SQLITE_DBSTATUS_CACHE_MISS, &now, &high, 1);
    return now;
  };
  misses();
  ASSERT_OK(StatusOf((*store)->AppendEvents("r1", SampleBatch(8000, 8001))));
  EXPECT_LT(misses(), 20) << "appending read the chunks (about 60 pages each)";
  EXPECT_EQ(*(*store)->CountEvents("r1"), 8002);
  EXPECT_LT(misses(), 20) << "counting read the chunks";
  EXPECT_EQ((*store)->ListEvents("r1", 7998, 0)->size(), 3u);
}

// ---- artifacts

TEST_F(RunStoreTest, ArtifactsAreAnnouncedThenDownloadedOnce) {
  Create("r1");
  ArtifactRecord a{.step_id = "keyframe",
                   .index = 0,
                   .remote_id = "art-1",
                   .url = "https://cdn/a?sig=1",
                   .kind = MediaKind::kImage};
  ArtifactRecord b{.step_id = "clip", .index = 0, .remote_id = "art-2", .url = "https://cdn/b"};
  ASSERT_OK(store_->UpdateRun("r1", {.artifacts = {a, b}}));
  ASSERT_OK(store_->MarkArtifact("r1", {.remote_id = "art-1",
                                        .state = ArtifactState::kDownloading,
                                        .local_path = "out/r1/keyframe-0.png"}));
  a.url = "https://cdn/a?sig=2";     // a refreshed presigned URL
  a.state = ArtifactState::kFailed;  // ignored by an upsert
  ASSERT_OK(store_->UpdateRun("r1", {.artifacts = {a}}));
  Result<std::vector<ArtifactRecord>> list = store_->ListArtifacts("r1");
  ASSERT_OK(list.status());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].remote_id, "art-1");
  EXPECT_EQ((*list)[0].url, "https://cdn/a?sig=2");
  EXPECT_EQ((*list)[0].kind, MediaKind::kImage);
  EXPECT_EQ((*list)[0].state, ArtifactState::kDownloading);
  EXPECT_EQ((*list)[1].remote_id, "art-2");
  EXPECT_EQ((*list)[1].state, ArtifactState::kPlanned);

  ArtifactRecord done{.remote_id = "art-1",
                      .state = ArtifactState::kDone,
                      .local_path = "out/r1/keyframe-0.png",
                      .size = 1234,
                      .sha256 = Sha('a')};
  ASSERT_OK(store_->MarkArtifact("r1", done));
  EXPECT_OK(store_->MarkArtifact("r1", done));  // the same done again is a no-op
  ArtifactRecord again = done;
  again.state = ArtifactState::kDownloading;
  Status s = store_->MarkArtifact("r1", again);
  EXPECT_EQ(s.code(), Status::Code::kConflict);
  EXPECT_EQ(s.message(), "artifact art-1 of run r1 is already downloaded to out/r1/keyframe-0.png");
  (*list) = *store_->ListArtifacts("r1");
  EXPECT_EQ((*list)[0].size, 1234);
  EXPECT_EQ((*list)[0].sha256, Sha('a'));

  ArtifactRecord no_hash{.remote_id = "art-2",
                         .state = ArtifactState::kDone,
                         .local_path = "out/r1/clip-0.mp4",
                         .size = 1};
  EXPECT_EQ(store_->MarkArtifact("r1", no_hash).code(), Status::Code::kInternal);
  EXPECT_EQ(
      store_->MarkArtifact("r1", {.remote_id = "art-9", .state = ArtifactState::kFailed}).code(),
      Status::Code::kNotFound);
  EXPECT_EQ(store_->ListArtifacts("nope").status().code(), Status::Code::kNotFound);
}

// ---- approvals

TEST_F(RunStoreTest, FindApprovalReturnsTheNewestUnexpiredOne) {
  const std::string digest = "sha256:" + Sha('d');
  EXPECT_EQ(store_->FindApproval(digest).status().code(), Status::Code::kNotFound);
  ASSERT_OK(store_->RecordApproval({.plan_digest = digest,
                                    .ceiling = 30,
                                    .approved_by = "ana",
                                    .expires_at = kTestNow + 1000,
                                    .file_path = "a.approval.json"}));
  now_ = kTestNow + 1;
  ASSERT_OK(store_->RecordApproval({.plan_digest = digest,
                                    .ceiling = 40,
                                    .approved_by = "bo",
                                    .expires_at = 0,
                                    .file_path = "b.approval.json"}));
  Result<ApprovalRecord> found = store_->FindApproval(digest);
  ASSERT_OK(found.status());
  EXPECT_EQ(found->approved_by, "bo");
  EXPECT_EQ(found->ceiling, 40);
  EXPECT_EQ(found->created_at, kTestNow + 1);
  // Replacing b's file with one that has expired leaves a, until a expires too.
  ASSERT_OK(store_->RecordApproval({.plan_digest = digest,
                                    .ceiling = 50,
                                    .approved_by = "bo",
                                    .expires_at = kTestNow,
                                    .file_path = "b.approval.json"}));
  found = store_->FindApproval(digest);
  ASSERT_OK(found.status());
  EXPECT_EQ(found->approved_by, "ana");
  EXPECT_EQ(found->file_path, "a.approval.json");
  now_ = kTestNow + 1000;
  EXPECT_EQ(store_->FindApproval(digest).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->RecordApproval({.plan_digest = digest, .ceiling = -1}).code(),
            Status::Code::kInternal);
}

}  // namespace
}  // namespace sflow
