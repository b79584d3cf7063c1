// A project's life as the real service lives it (sandbox/project_scheduler.cc and the socket
// faults): jobETA, repeated `queued` with a falling position, jobRetry storms with new imgIDs,
// the 1001 "server restarting" refusal, a jobRequest for a known jobID, results without
// resultUrl, duplicated frames; every fault counted in /_sandbox/stats.
#include <cstdlib>

#include "tests/sandbox/projects_fixture.h"

namespace sflow {
namespace projects_test {
namespace {

class LifecycleTest : public ProjectsTest {
 protected:
  int64_t Fired(const std::string& fault) {
    Value stats = Stats();
    const Value* f = stats.Find("faults") ? stats.Find("faults")->Find(fault) : nullptr;
    return f ? f->as_int() : 0;
  }
  double SparkSettled() {
    HttpResult r = client().Get("/v4/account/balance");
    return std::strtod(r.json.Find("data")->Find("spark")->Find("settled")->as_string().c_str(), nullptr);
  }
};

TEST_F(LifecycleTest, ETAsFollowTheSteps) {
  auto c = ConnectReady();
  const std::string id = ProjectId(60);
  c->Send("jobRequest", JobRequest(id, "flux1-schnell-fp8", 1, R"(,"steps":4)", "png"));
  std::vector<double> etas;
  for (const Msg& m : RunToCompletion(*c, id))
    if (m.type == "jobETA") {
      EXPECT_TRUE(m.data.Find("imgID")->is_string());
      etas.push_back(m.data.Find("etaSeconds")->as_number());
    }
  ASSERT_EQ(etas.size(), 2u);
  EXPECT_GT(etas[0], etas[1]);
  EXPECT_GT(etas[1], 0);
}

TEST_F(LifecycleTest, AQueuedProjectHearsItsPositionFall) {
  StartWith("queue_rounds=3");
  auto c = ConnectReady();
  const std::string id = ProjectId(61);
  c->Send("jobRequest", JobRequest(id, "flux1-schnell-fp8", 1, R"(,"steps":1)", "png"));
  std::vector<int64_t> positions;
  for (const Msg& m : RunToCompletion(*c, id)) {
    if (m.type != "jobState") continue;
    const std::string type = m.data.Find("type")->as_string();
    if (type == "queued") positions.push_back(m.data.Find("queuePosition")->as_int());
    if (type == "assigned") break;
  }
  EXPECT_EQ(positions, (std::vector<int64_t>{4, 3, 2, 1}));
  EXPECT_EQ(Fired("queue_rounds"), 1);
}

TEST_F(LifecycleTest, ARetryStormRequeuesEachJobUnderNewImgIdsAndChargesOnce) {
  StartWith("retry_storm=1");
  const double before = SparkSettled();
  auto c = ConnectReady();
  const std::string id = ProjectId(62);
  c->Send("jobRequest", JobRequest(id, "flux1-schnell-fp8", 2, R"(,"steps":2,"width":1024,"height":1024)", "png"));
  std::vector<Msg> frames = RunToCompletion(*c, id);
  std::map<int64_t, std::vector<std::string>> ids_by_index;  // imgIDs of each jobIndex, in order
  std::map<std::string, int64_t> index_of;
  int retries = 0;
  for (const Msg& m : frames) {
    if (m.type == "jobState" && m.data.Find("type")->as_string() == "initiatingModel") {
      int64_t index = m.data.Find("jobIndex")->as_int();
      ids_by_index[index].push_back(m.data.Find("imgID")->as_string());
      index_of[m.data.Find("imgID")->as_string()] = index;
    }
    if (m.type == "jobRetry") {
      ++retries;
      const std::string old = m.data.Find("imgID")->as_string();
      ASSERT_TRUE(index_of.count(old)) << "jobRetry names an imgID that never started: " << old;
      EXPECT_EQ(m.data.Find("jobIndex")->as_int(), index_of[old]);
      EXPECT_EQ(m.data.Find("maxAttempts")->as_int(), 3);
      EXPECT_TRUE(m.data.Find("isFromWorker")->as_bool());
      EXPECT_TRUE(m.data.Find("error")->is_string());
    }
  }
  EXPECT_EQ(retries, 4);  // two per job: attempts 1 and 2 fail, the third renders
  ASSERT_EQ(ids_by_index.size(), 2u);
  std::set<std::string> all;
  for (const auto& [index, ids] : ids_by_index) {
    EXPECT_EQ(ids.size(), 3u) << "job " << index;
    all.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(all.size(), 6u);  // every attempt has its own imgID
  std::vector<Msg> results = Results(frames);
  ASSERT_EQ(results.size(), 2u);
  for (const Msg& r : results) EXPECT_EQ(r.data.Find("imgID")->as_string(), ids_by_index[index_of[r.data.Find("imgID")->as_string()]].back());
  EXPECT_EQ(Fired("retry_storm"), 4);
  // 2 x 2 steps x 1 MP x 0.25 s = 1 s: 0.08 spark, once.
  for (int i = 0; i < 100 && SparkSettled() == before; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_NEAR(before - SparkSettled(), 0.08, 1e-9);
}

TEST_F(LifecycleTest, ARequestRefusedWhileRestartingRunsWhenSentAgain) {
  StartWith("restart_refusal=1");
  const std::string id = ProjectId(63);
  Value request = JobRequest(id, "flux1-schnell-fp8", 1, R"(,"steps":1)", "png");
  {
    auto c = ConnectReady();
    c->Send("jobRequest", request);
    std::optional<Msg> e = c->Next();
    ASSERT_TRUE(e.has_value());
    ASSERT_EQ(e->type, "jobError");
    EXPECT_EQ(e->data.Find("jobID")->as_string(), id);
    EXPECT_FALSE(e->data.Find("imgID"));
    EXPECT_TRUE(e->data.Find("error")->is_number());
    EXPECT_EQ(e->data.Find("error")->as_int(), 1001);
    EXPECT_FALSE(c->Next(3000).has_value());
    EXPECT_EQ(c->close_code(), 1001);
  }
  EXPECT_EQ(client().Get("/v2/projects/" + id).status, 404);  // never admitted
  EXPECT_EQ(Fired("restart_refusal"), 1);
  auto again = ConnectReady();
  again->Send("jobRequest", request);
  EXPECT_EQ(Results(RunToCompletion(*again, id)).size(), 1u);
}

TEST_F(LifecycleTest, AKnownJobIdReattachesTheProjectAndChargesNothingMore) {
  const double before = SparkSettled();
  const std::string id = ProjectId(64);
  Value request = JobRequest(id, "flux1-schnell-fp8", 1, R"(,"steps":3,"width":1024,"height":1024)", "png");
  auto first = ConnectReady(nullptr, "app-one");
  first->Send("jobRequest", request);
  first->Send("jobRequest", request);  // a resend on the same socket: no second project
  std::vector<Msg> frames = RunToCompletion(*first, id);
  EXPECT_EQ(Results(frames).size(), 1u);
  int queued = 0;
  for (const Msg& m : frames) queued += m.type == "jobState" && m.data.Find("type")->as_string() == "queued";
  EXPECT_EQ(queued, 2);  // the first answer, and the resend told where the project is
  // From another appId after it finished: told the result and the end, nothing re-run.
  auto second = ConnectReady(nullptr, "app-two");
  second->Send("jobRequest", request);
  std::vector<Msg> replay = RunToCompletion(*second, id);
  std::vector<Msg> results = Results(replay);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].data.Find("imgID")->as_string(), Results(frames)[0].data.Find("imgID")->as_string());
  EXPECT_EQ(client().GetUrl(results[0].data.Find("resultUrl")->as_string()).status, 200);
  EXPECT_NEAR(before - SparkSettled(), 0.75 * 0.0004 / 0.005, 1e-9);  // 3 steps x 0.25 s, paid once
  // Another account's jobRequest with that id is refused.
  auto other = std::make_unique<SocketClient>(sandbox_->port(), "k2", "app-one");
  other->Next();
  other->Next();
  other->Send("jobRequest", request);
  std::optional<Msg> refused = other->NextOf("jobError");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->data.Find("error")->as_string(), "duplicateJobID");
}

TEST_F(LifecycleTest, ResultsWithoutResultUrlAreMintedThroughDownloadUrl) {
  StartWith("omit_result_url=1");
  auto c = ConnectReady();
  const std::string image = ProjectId(65), audio = ProjectId(66);
  c->Send("jobRequest", JobRequest(image, "flux1-schnell-fp8", 1, R"(,"steps":1)", "png"));
  std::vector<Msg> results = Results(RunToCompletion(*c, image));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].data.Find("resultUrl"));
  HttpResult url = client().Get("/v1/image/downloadUrl?jobId=" + image + "&imageId=" +
                                results[0].data.Find("imgID")->as_string() + "&type=complete&contentType=image/png");
  ASSERT_EQ(url.status, 200) << url.body;
  EXPECT_EQ(client().GetUrl(url.json.Find("data")->Find("downloadUrl")->as_string()).body.substr(0, 4), "\x89PNG");
  c->Send("jobRequest", JobRequest(audio, "ace_step_1.5_turbo", 1, R"(,"steps":1,"duration":1)", "wav"));
  results = Results(RunToCompletion(*c, audio));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].data.Find("resultUrl"));
  url = client().Get("/v1/media/downloadUrl?jobId=" + audio + "&id=" + results[0].data.Find("imgID")->as_string() +
                     "&type=complete");
  ASSERT_EQ(url.status, 200) << url.body;
  EXPECT_EQ(Fired("omit_result_url"), 2);
}

TEST_F(LifecycleTest, DuplicatedFramesAreCounted) {
  StartWith("socket_duplicate=1");
  auto c = Connect();
  std::optional<Msg> a = c->Next(), b = c->Next();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->type, "authenticated");
  EXPECT_EQ(b->type, "authenticated");  // the same frame twice
  EXPECT_GE(Fired("socket_duplicate"), 1);
}

}  // namespace
}  // namespace projects_test
}  // namespace sflow
