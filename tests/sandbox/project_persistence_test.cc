// Projects and balances across a restart from --data-dir (sandbox/project_persistence.cc): a
// project in flight when the sandbox stopped finishes after it starts again, its frames go to
// the next socket of its appId, unclaimedCompletedProjects lists it once, its media still
// downloads, and it is paid for once.
#include <cstdlib>

#include "tests/sandbox/projects_fixture.h"

namespace sflow {
namespace projects_test {
namespace {

class PersistenceTest : public ProjectsTest {
 protected:
  void SetUp() override {}
  SandboxOptions Options() {
    SandboxOptions o = DefaultOptions();
    o.step_ms = 20;
    o.data_dir = dir_.path() + "/state";
    return o;
  }
  void Restart() {
    sandbox_->Stop();
    sandbox_.reset();
    Start(Options());
  }
  Value WaitFinished(const std::string& id) {
    for (int i = 0; i < 1000; ++i) {
      HttpResult v2 = client().Get("/v2/projects/" + id);
      if (v2.status == 200 && v2.json.Find("data")->Find("project")->Find("finished")->as_bool())
        return *v2.json.Find("data")->Find("project");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << id << " did not finish";
    return Value();
  }
  double Spark(const char* field) {
    HttpResult r = client().Get("/v4/account/balance");
    return std::strtod(r.json.Find("data")->Find("spark")->Find(field)->as_string().c_str(), nullptr);
  }
  TempDir dir_;
};

TEST_F(PersistenceTest, AnInFlightProjectFinishesAfterARestartAndIsHandedBackOnce) {
  Start(Options());
  ASSERT_EQ(client().Post("/_sandbox/balance", R"({"spark": 10})").status, 200);
  const std::string id = ProjectId(70);
  {
    auto c = ConnectReady();
    c->Send("jobRequest", JobRequest(id, "flux1-schnell-fp8", 1, R"(,"steps":40,"width":1024,"height":1024)", "png"));
    ASSERT_TRUE(c->NextOf("jobProgress").has_value());
  }
  const double quote = 40 * 0.25 * 0.0004 / 0.005;
  EXPECT_NEAR(Spark("debit"), quote, 1e-9);
  Restart();
  EXPECT_NEAR(Spark("debit"), quote, 1e-9);  // still held: the project is still running
  Value project = WaitFinished(id);
  EXPECT_EQ(project.Find("status")->as_string(), "completed");
  EXPECT_NEAR(Spark("settled"), 10 - quote, 1e-9);
  EXPECT_NEAR(Spark("debit"), 0, 1e-9);
  Value auth;
  ConnectReady(&auth);
  const auto& unclaimed = auth.Find("unclaimedCompletedProjects")->items();
  ASSERT_EQ(unclaimed.size(), 1u) << auth.ToJson();
  EXPECT_EQ(unclaimed[0].Find("id")->as_string(), id);
  const std::string img = unclaimed[0].Find("completedWorkerJobs")->items()[0].Find("imgID")->as_string();
  HttpResult url = client().Get("/v1/image/downloadUrl?jobId=" + id + "&imageId=" + img + "&type=complete");
  ASSERT_EQ(url.status, 200) << url.body;
  EXPECT_EQ(client().GetUrl(url.json.Find("data")->Find("downloadUrl")->as_string()).body.substr(0, 4), "\x89PNG");
  Value again;
  ConnectReady(&again);
  EXPECT_EQ(again.Find("unclaimedCompletedProjects")->size(), 0u);
  // And once more across another restart: the delivery is remembered, the balance kept.
  Restart();
  Value third;
  ConnectReady(&third);
  EXPECT_EQ(third.Find("unclaimedCompletedProjects")->size(), 0u);
  EXPECT_NEAR(Spark("settled"), 10 - quote, 1e-9);
  EXPECT_EQ(client().Get("/v1/projects/" + id).status, 200);
}

TEST_F(PersistenceTest, TheNextSocketOfTheAppGetsTheRestoredProjectsFrames) {
  Start(Options());
  const std::string id = ProjectId(71);
  {
    auto c = ConnectReady();
    c->Send("jobRequest", JobRequest(id, "flux1-schnell-fp8", 1, R"(,"steps":60)", "png"));
    ASSERT_TRUE(c->NextOf("jobProgress").has_value());
  }
  Restart();
  Value auth;
  auto c = ConnectReady(&auth);
  bool listed = false;
  for (const Value& p : auth.Find("activeProjects")->items()) listed |= p.Find("id")->as_string() == id;
  ASSERT_TRUE(listed) << auth.ToJson();
  std::vector<Msg> results = Results(RunToCompletion(*c, id));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].data.Find("performedStepCount")->as_int(), 60);
  // A new project after the restart gets ids of its own.
  const std::string next = ProjectId(72);
  c->Send("jobRequest", JobRequest(next, "flux1-schnell-fp8", 1, R"(,"steps":1)", "png"));
  std::vector<Msg> more = Results(RunToCompletion(*c, next));
  ASSERT_EQ(more.size(), 1u);
  EXPECT_NE(more[0].data.Find("imgID")->as_string(), results[0].data.Find("imgID")->as_string());
}

}  // namespace
}  // namespace projects_test
}  // namespace sflow
