// The projects socket (sandbox/projects.h), driven as the SDK drives it: a WebSocket with the
// api-key on the upgrade, frames {type, data: base64(JSON)} both ways, then the REST reads.
// Every wait has a deadline, and only 127.0.0.1 is contacted.
#include "sandbox/projects.h"

#include "tests/sandbox/projects_fixture.h"

namespace sflow {
namespace projects_test {
namespace {

TEST_F(ProjectsTest, AuthenticatesFirstThenAnnouncesTheSwarm) {
  auto c = Connect();
  std::optional<Msg> a = c->Next();
  ASSERT_TRUE(a.has_value());
  ASSERT_EQ(a->type, "authenticated");
  EXPECT_EQ(a->data.Find("clientType")->as_string(), "artist");
  EXPECT_TRUE(a->data.Find("activeProjects")->is_array());
  EXPECT_EQ(a->data.Find("activeProjects")->size(), 0u);
  EXPECT_EQ(a->data.Find("unclaimedCompletedProjects")->size(), 0u);
  // The same account /v1/account/me describes.
  Value me = *client().Get("/v1/account/me").json.Find("data");
  EXPECT_EQ(a->data.Find("username")->as_string(), me.Find("username")->as_string());
  EXPECT_EQ(a->data.Find("address")->as_string(), me.Find("walletAddress")->as_string());
  // An entitlement snapshot, so the SDK has no need to ask /v1/subscriptions/status.
  EXPECT_FALSE(a->data.Find("subscriptionEntitlement")->Find("active")->as_bool());
  std::optional<Msg> s = c->Next();
  ASSERT_TRUE(s.has_value());
  ASSERT_EQ(s->type, "swarmModels");
  EXPECT_GT(s->data.Find("flux1-schnell-fp8")->as_int(), 0);
  EXPECT_GT(s->data.Find("z-turbo")->as_int(), 0);
  // And the REST fallback answers in the envelope.
  HttpResult sub = client().Get("/v1/subscriptions/status");
  EXPECT_EQ(sub.status, 200);
  EXPECT_EQ(sub.json.Find("data")->Find("subscription")->Find("status")->as_string(), "none");
  // Pings are answered.
  c->Ping("hello");
  EXPECT_FALSE(c->Next(300).has_value());
  EXPECT_EQ(c->pongs(), 1);
}

TEST_F(ProjectsTest, AnImageProjectRunsEveryFrameAndStoresItsRecord) {
  const std::string id = ProjectId(1);
  EXPECT_EQ(client().Get("/v1/projects/" + id).status, 404);  // unknown
  auto c = ConnectReady();
  c->Send("jobRequest", JobRequest(id, "flux1-schnell-fp8", 2, R"(,"steps":3,"seed":42)", "png"));
  std::optional<Msg> queued = c->Next();
  ASSERT_TRUE(queued.has_value());
  EXPECT_EQ(queued->type, "jobState");
  EXPECT_EQ(queued->data.Find("type")->as_string(), "queued");
  EXPECT_TRUE(queued->data.Find("queuePosition")->is_number());
  // Not finished yet: v1 is 404, v2 is live.
  EXPECT_EQ(client().Get("/v1/projects/" + id).status, 404);
  HttpResult live = client().Get("/v2/projects/" + id);
  ASSERT_EQ(live.status, 200);
  EXPECT_FALSE(live.json.Find("data")->Find("project")->Find("finished")->as_bool());

  std::vector<Msg> frames = RunToCompletion(*c, id);
  // Per job: initiatingModel, jobStarted, jobETA, jobProgress 1..3, jobResult, in that order.
  std::vector<std::string> img_ids;
  std::map<std::string, std::vector<std::string>> per_job;
  for (const Msg& m : frames) {
    const Value* img = m.data.Find("imgID");
    if (!img) continue;
    if (!per_job.count(img->as_string())) img_ids.push_back(img->as_string());
    std::string what = m.type == "jobState" ? m.data.Find("type")->as_string()
                       : m.type == "jobProgress" ? "progress" + std::to_string(m.data.Find("step")->as_int()) + "/" +
                                                       std::to_string(m.data.Find("stepCount")->as_int())
                                                 : m.type;
    per_job[img->as_string()].push_back(what);
  }
  ASSERT_EQ(img_ids.size(), 2u);
  EXPECT_NE(img_ids[0], img_ids[1]);
  for (const std::string& img : img_ids) {
    EXPECT_TRUE(IsUpperUuid(img)) << img;
    // jobETA when the job starts (steps left + the result's round) and again halfway.
    EXPECT_EQ(per_job[img], (std::vector<std::string>{"initiatingModel", "jobStarted", "jobETA", "progress1/3",
                                                      "jobETA", "progress2/3", "progress3/3", "jobResult"}));
  }
  EXPECT_EQ(frames.back().type, "jobState");
  EXPECT_EQ(frames.back().data.Find("type")->as_string(), "jobCompleted");

  std::vector<Msg> results = Results(frames);
  ASSERT_EQ(results.size(), 2u);
  std::set<std::string> seeds;
  for (const Msg& r : results) {
    EXPECT_EQ(r.data.Find("performedStepCount")->as_int(), 3);
    seeds.insert(r.data.Find("lastSeed")->as_string());
    HttpResult png = client().GetUrl(r.data.Find("resultUrl")->as_string());
    EXPECT_EQ(png.status, 200);
    EXPECT_EQ(png.headers["Content-Type"], "image/png");
    EXPECT_EQ(png.body.substr(0, 8), "\x89PNG\r\n\x1a\n");
  }
  EXPECT_EQ(seeds, (std::set<std::string>{"42", "43"}));

  // GET /v1/projects/:id now has the record, with both jobs completed.
  HttpResult v1 = client().Get("/v1/projects/" + id);
  ASSERT_EQ(v1.status, 200) << v1.body;
  EXPECT_EQ(v1.json.Find("status")->as_string(), "success");
  const Value& project = *v1.json.Find("data")->Find("project");
  EXPECT_EQ(project.Find("id")->as_string(), id);
  EXPECT_EQ(project.Find("status")->as_string(), "completed");
  EXPECT_EQ(project.Find("imageCount")->as_int(), 2);
  EXPECT_EQ(project.Find("stepCount")->as_int(), 3);
  EXPECT_EQ(project.Find("previewCount")->as_int(), 0);
  const auto& jobs = project.Find("completedWorkerJobs")->items();
  ASSERT_EQ(jobs.size(), 2u);
  std::set<std::string> job_ids;
  for (const Value& j : jobs) {
    job_ids.insert(j.Find("imgID")->as_string());
    EXPECT_EQ(j.Find("status")->as_string(), "jobCompleted");
    EXPECT_EQ(j.Find("performedSteps")->as_int(), 3);
    EXPECT_TRUE(j.Find("worker")->Find("name")->is_string());
  }
  EXPECT_EQ(job_ids, std::set<std::string>(img_ids.begin(), img_ids.end()));
  HttpResult v2 = client().Get("/v2/projects/" + id);
  EXPECT_EQ(v2.json.Find("data")->Find("project")->Find("status")->as_string(), "completed");
  EXPECT_TRUE(v2.json.Find("data")->Find("project")->Find("finished")->as_bool());
  // Another account sees nothing.
  EXPECT_EQ(HttpTestClient(sandbox_->port(), "k2").Get("/v1/projects/" + id).status, 404);
  EXPECT_EQ(HttpTestClient(sandbox_->port(), "k2").Get("/v2/projects/" + id).status, 404);

  // The SDK's fallback when a jobResult has no resultUrl: the image download-URL route.
  HttpResult url = client().Get("/v1/image/downloadUrl?jobId=" + id + "&imageId=" + img_ids[1] + "&type=complete");
  ASSERT_EQ(url.status, 200) << url.body;
  HttpResult again = client().GetUrl(url.json.Find("data")->Find("downloadUrl")->as_string());
  EXPECT_EQ(again.body.substr(0, 8), "\x89PNG\r\n\x1a\n");
  EXPECT_EQ(client().Get("/v1/image/downloadUrl?jobId=" + id + "&imageId=" + img_ids[1] + "&type=preview").status, 404);
  EXPECT_EQ(client().Get("/v1/image/downloadUrl?jobId=" + id + "&imageId=NOPE&type=complete").status, 404);
  // A reset forgets projects too.
  EXPECT_EQ(client().Post("/_sandbox/reset", "").status, 200);
  EXPECT_EQ(client().Get("/v2/projects/" + id).status, 404);
}

TEST_F(ProjectsTest, VideoAudioAndImageProjectsServeTheFormatsAsked) {
  auto c = ConnectReady();
  const std::string video = ProjectId(2), audio = ProjectId(3);
  c->Send("jobRequest",
          JobRequest(video, "wan_v2.2-14b-fp8_t2v_lightx2v", 1,
                     R"(,"steps":2,"width":320,"height":192,"frames":17,"fps":16)", "mp4"));
  std::vector<Msg> results = Results(RunToCompletion(*c, video));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].data.Find("outputFormat")->as_string(), "mp4");
  HttpResult mp4 = client().GetUrl(results[0].data.Find("resultUrl")->as_string());
  EXPECT_EQ(mp4.headers["Content-Type"], "video/mp4");
  EXPECT_EQ(mp4.body.substr(4, 4), "ftyp");
  std::string img = results[0].data.Find("imgID")->as_string();
  HttpResult url = client().Get("/v1/media/downloadUrl?jobId=" + video + "&id=" + img + "&type=complete");
  ASSERT_EQ(url.status, 200) << url.body;
  EXPECT_EQ(client().GetUrl(url.json.Find("data")->Find("downloadUrl")->as_string()).body.substr(4, 4), "ftyp");
  HttpResult record = client().Get("/v1/projects/" + video);
  EXPECT_EQ(record.json.Find("data")->Find("project")->Find("model")->Find("id")->as_string(),
            "wan_v2.2-14b-fp8_t2v_lightx2v");

  c->Send("jobRequest", JobRequest(audio, "ace_step_1.5_turbo", 1, R"(,"steps":2,"duration":2)", "mp3"));
  results = Results(RunToCompletion(*c, audio));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].data.Find("outputFormat")->as_string(), "mp3");
  HttpResult mp3 = client().GetUrl(results[0].data.Find("resultUrl")->as_string());
  EXPECT_EQ(mp3.headers["Content-Type"], "audio/mpeg");
  EXPECT_EQ(static_cast<uint8_t>(mp3.body[0]), 0xFF);
  const std::string as_wav = ProjectId(8), flac = ProjectId(9), webp = ProjectId(10);
  c->Send("jobRequest", JobRequest(flac, "ace_step_1.5_turbo", 1, R"(,"steps":1,"duration":1)", "flac"));
  results = Results(RunToCompletion(*c, flac));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].data.Find("outputFormat")->as_string(), "wav");  // flac is not encoded: WAV
  c->Send("jobRequest", JobRequest(webp, "flux1-schnell-fp8", 1, R"(,"steps":1)", "webp"));
  results = Results(RunToCompletion(*c, webp));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].data.Find("outputFormat")->as_string(), "webp");
  HttpResult webp_bytes = client().GetUrl(results[0].data.Find("resultUrl")->as_string());
  EXPECT_EQ(webp_bytes.headers["Content-Type"], "image/webp");
  EXPECT_EQ(webp_bytes.body.substr(8, 4), "WEBP");
  c->Send("jobRequest", JobRequest(as_wav, "ace_step_1.5_turbo", 1, R"(,"steps":2,"duration":2)", "wav"));
  results = Results(RunToCompletion(*c, as_wav));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].data.Find("outputFormat")->as_string(), "wav");
  HttpResult wav = client().GetUrl(results[0].data.Find("resultUrl")->as_string());
  EXPECT_EQ(wav.headers["Content-Type"], "audio/wav");
  EXPECT_EQ(wav.body.substr(0, 4), "RIFF");
  EXPECT_EQ(wav.body.substr(8, 4), "WAVE");
}

TEST_F(ProjectsTest, CancelMidJobIsConfirmedAndNothingFollows) {
  auto c = ConnectReady();
  const std::string id = ProjectId(4);
  c->Send("jobRequest", JobRequest(id, "z-turbo", 1, R"(,"steps":200)", "png"));
  ASSERT_TRUE(c->NextOf("jobProgress").has_value());
  c->Send("jobError", Parse(R"({"jobID":")" + id +
                            R"(","error":"artistCanceled","error_message":"artistCanceled","isFromWorker":false})"));
  std::optional<Msg> confirm = c->NextOf("artistCancelConfirmation");
  ASSERT_TRUE(confirm.has_value());
  EXPECT_TRUE(confirm->data.Find("didCancel")->as_bool());
  EXPECT_EQ(confirm->data.Find("jobID")->as_string(), id);
  // Nothing more about it, though 200 steps at 5 ms would still be running.
  std::optional<Msg> after = c->Next(500);
  EXPECT_FALSE(after.has_value()) << after->type;
  HttpResult v2 = client().Get("/v2/projects/" + id);
  EXPECT_EQ(v2.json.Find("data")->Find("project")->Find("status")->as_string(), "canceled");
  HttpResult v1 = client().Get("/v1/projects/" + id);
  ASSERT_EQ(v1.status, 200);
  EXPECT_EQ(v1.json.Find("data")->Find("project")->Find("status")->as_string(), "cancelled");
  EXPECT_EQ(v1.json.Find("data")->Find("project")->Find("reason")->as_string(), "artistCanceled");
  // A second cancel of a finished project, and one of an unknown project, are refused.
  c->Send("jobError", Parse(R"({"jobID":")" + ProjectId(99) + R"(","error":"artistCanceled"})"));
  std::optional<Msg> refused = c->NextOf("artistCancelConfirmation");
  ASSERT_TRUE(refused.has_value());
  EXPECT_FALSE(refused->data.Find("didCancel")->as_bool());
}

TEST_F(ProjectsTest, RefusesAWrongKeyAndAnUnknownModel) {
  auto wrong = Connect("projects-test", "nope");
  EXPECT_FALSE(wrong->Next(3000).has_value());
  EXPECT_TRUE(wrong->closed());
  EXPECT_EQ(wrong->close_code(), 4021);
  auto anonymous = Connect("projects-test", "");
  EXPECT_FALSE(anonymous->Next(3000).has_value());
  EXPECT_EQ(anonymous->close_code(), 4021);

  auto c = ConnectReady();
  c->Send("jobRequest", JobRequest(ProjectId(5), "no-such-model", 1, "", "png"));
  std::optional<Msg> e = c->Next();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->type, "jobError");
  EXPECT_EQ(e->data.Find("jobID")->as_string(), ProjectId(5));
  EXPECT_FALSE(e->data.Find("imgID"));
  EXPECT_EQ(client().Get("/v2/projects/" + ProjectId(5)).status, 404);
}

TEST_F(ProjectsTest, TheSocketHostServesModelsAndTiersTheSdkReads) {
  HttpTestClient anonymous(sandbox_->port());
  HttpResult list = anonymous.Get("/api/v1/models/list");
  ASSERT_EQ(list.status, 200);
  ASSERT_TRUE(list.json.is_array());
  HttpResult tiers = anonymous.Get("/api/v2/models/tiers");
  ASSERT_EQ(tiers.status, 200);
  std::set<std::string> media;
  for (const Value& m : list.json.items()) {
    media.insert(m.Find("media")->as_string());
    const Value* tier = tiers.json.Find(m.Find("tier")->as_string());
    ASSERT_TRUE(tier) << "no tier for " << m.Find("id")->as_string();
    const Value* steps = tier->Find("steps");
    ASSERT_TRUE(steps);
    EXPECT_LE(steps->Find("min")->as_number(), steps->Find("default")->as_number());
    EXPECT_LE(steps->Find("default")->as_number(), steps->Find("max")->as_number());
    if (!tier->Find("type")) {  // a Forge image tier
      EXPECT_TRUE(tier->Find("scheduler")->Find("allowed")->is_array());
      EXPECT_TRUE(tier->Find("sampler")->Find("default")->is_string());
    } else {
      EXPECT_TRUE(tier->Find("comfySampler")->Find("allowed")->is_array());
    }
  }
  EXPECT_EQ(media, (std::set<std::string>{"image", "video", "audio"}));
  EXPECT_EQ(tiers.json.Find("flux1-schnell")->Find("steps")->Find("default")->as_int(), 4);
}

TEST_F(ProjectsTest, ADroppedSocketIsCountedAndItsProjectIsHandedBackOnce) {
  StartWith("socket_drop_after=3");
  const std::string id = ProjectId(6);
  {
    auto c = ConnectReady();  // frames 1 and 2
    c->Send("jobRequest", JobRequest(id, "flux1-schnell-fp8", 1, R"(,"steps":2)", "png"));
    std::optional<Msg> queued = c->Next();  // frame 3, then the drop
    ASSERT_TRUE(queued.has_value());
    EXPECT_FALSE(c->Next(2000).has_value());
    EXPECT_TRUE(c->closed());
    EXPECT_EQ(c->close_code(), 0);  // no close frame: an abnormal close
  }
  Value stats = Stats();
  const Value* drops = stats.Find("faults") ? stats.Find("faults")->Find("socket_drop_after") : nullptr;
  ASSERT_TRUE(drops) << stats.ToJson();
  EXPECT_GE(drops->as_int(), 1);
  // The project went on without its socket.
  for (int i = 0; i < 200; ++i) {
    HttpResult v2 = client().Get("/v2/projects/" + id);
    if (v2.json.Find("data") && v2.json.Find("data")->Find("project")->Find("finished")->as_bool()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(client().Get("/v1/projects/" + id).status, 200);
  // The next socket of the same appId is handed the result once, in `authenticated`.
  Value auth;
  ConnectReady(&auth);
  const auto& unclaimed = auth.Find("unclaimedCompletedProjects")->items();
  ASSERT_EQ(unclaimed.size(), 1u) << auth.ToJson();
  EXPECT_EQ(unclaimed[0].Find("id")->as_string(), id);
  EXPECT_EQ(unclaimed[0].Find("status")->as_string(), "completed");
  EXPECT_EQ(unclaimed[0].Find("completedWorkerJobs")->size(), 1u);
  Value request = Parse(UnB64(unclaimed[0].Find("clientRequestData")->as_string()));
  EXPECT_EQ(request.Find("jobID")->as_string(), id);
  Value again;
  ConnectReady(&again);
  EXPECT_EQ(again.Find("unclaimedCompletedProjects")->size(), 0u);
  // Every socket counted as a request of its own, once its handler has finished (the last
  // one is closing just now: poll briefly rather than race it).
  int64_t counted = 0;
  for (int i = 0; i < 300 && counted < 3; ++i) {
    stats = Stats();
    const Value* sockets = stats.Find("requests") ? stats.Find("requests")->Find("GET / (websocket)") : nullptr;
    counted = sockets && sockets->Find("101") ? sockets->Find("101")->as_int() : 0;
    if (counted < 3) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(counted, 3) << stats.ToJson();
}

TEST_F(ProjectsTest, ASecondSocketOfTheSameAppTakesOver) {
  auto first = ConnectReady();
  auto second = ConnectReady();
  EXPECT_FALSE(first->Next(2000).has_value());
  EXPECT_EQ(first->close_code(), 4015);
  // The newer socket gets the events.
  const std::string id = ProjectId(7);
  second->Send("jobRequest", JobRequest(id, "flux1-schnell-fp8", 1, R"(,"steps":1)", "jpg"));
  std::vector<Msg> results = Results(RunToCompletion(*second, id));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(client().GetUrl(results[0].data.Find("resultUrl")->as_string()).body.substr(0, 3), "\xFF\xD8\xFF");
}

TEST_F(ProjectsTest, StoppingTheSandboxClosesOpenSockets) {
  auto c = ConnectReady();
  auto start = Clock::now();
  sandbox_->Stop();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));
  EXPECT_FALSE(c->Next(2000).has_value());
  EXPECT_TRUE(c->closed());
}

}  // namespace
}  // namespace projects_test
}  // namespace sflow
