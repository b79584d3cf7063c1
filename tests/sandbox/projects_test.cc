// The projects socket (sandbox/projects.h), driven as the SDK drives it: a WebSocket with the
// api-key on the upgrade, frames {type, data: base64(JSON)} both ways, then the REST reads.
// Every wait has a deadline, and only 127.0.0.1 is contacted.
#include "sandbox/projects.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Base64Decoder.h>
#include <Poco/Base64Encoder.h>
#include <Poco/Buffer.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/WebSocket.h>
#include <gtest/gtest.h>

#include "engine/json.h"
#include "tests/sandbox/sandbox_fixture.h"

namespace sflow {
namespace {

using Poco::Net::WebSocket;
using Clock = std::chrono::steady_clock;

struct Msg {
  std::string type;
  Value data;
};

std::string B64(const std::string& s) {
  std::ostringstream out;
  Poco::Base64Encoder enc(out);
  enc.rdbuf()->setLineLength(0);
  enc << s;
  enc.close();
  return out.str();
}

std::string UnB64(const std::string& s) {
  std::istringstream in(s);
  Poco::Base64Decoder dec(in);
  std::string out;
  for (char c; dec.get(c);) out += c;
  return out;
}

bool IsUpperUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (s[i] == '-')) return false;
    if (!dash && !std::isdigit(static_cast<unsigned char>(s[i])) && !(s[i] >= 'A' && s[i] <= 'F')) return false;
  }
  return true;
}

// A test client for the socket. Next() returns the next data frame, or nullopt once the socket
// closed (close_code() then says how: a close frame's code, or 0 for a connection that just ended)
// or the deadline passed.
class SocketClient {
 public:
  SocketClient(int port, const std::string& key, const std::string& app_id)
      : session_("127.0.0.1", static_cast<Poco::UInt16>(port)) {
    session_.setTimeout(Poco::Timespan(5, 0));
    Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET,
                               "/?appId=" + app_id + "&clientName=projects_test&clientType=artist&forceWorkerId=fast",
                               Poco::Net::HTTPMessage::HTTP_1_1);
    if (!key.empty()) req.set("api-key", key);
    Poco::Net::HTTPResponse resp;
    ws_ = std::make_unique<WebSocket>(session_, req, resp);
    ws_->setReceiveTimeout(Poco::Timespan(0, 50 * 1000));
  }

  std::optional<Msg> Next(int timeout_ms = 5000) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!closed_ && Clock::now() < deadline) {
      Poco::Buffer<char> buf(0);
      int flags = 0, n = 0;
      try {
        n = ws_->receiveFrame(buf, flags);
      } catch (const Poco::TimeoutException&) {
        continue;
      } catch (const Poco::Exception&) {
        closed_ = true;  // reset by the peer
        break;
      }
      int op = flags & WebSocket::FRAME_OP_BITMASK;
      if (n == 0 && flags == 0) {
        closed_ = true;  // ended without a close frame
      } else if (op == WebSocket::FRAME_OP_CLOSE) {
        closed_ = true;
        if (n >= 2) close_code_ = (static_cast<uint8_t>(buf[0]) << 8) | static_cast<uint8_t>(buf[1]);
      } else if (op == WebSocket::FRAME_OP_PONG) {
        ++pongs_;
      } else if (op == WebSocket::FRAME_OP_TEXT) {
        Result<Value> frame = ParseJson(std::string(buf.begin(), static_cast<size_t>(n)));
        EXPECT_TRUE(frame.ok()) << std::string(buf.begin(), static_cast<size_t>(n));
        if (!frame.ok()) continue;
        const Value* type = frame->Find("type");
        const Value* data = frame->Find("data");
        EXPECT_TRUE(type && type->is_string());
        EXPECT_TRUE(data && data->is_string() && !data->as_string().empty()) << frame->ToJson();
        if (!type || !data || !data->is_string()) continue;
        Result<Value> payload = ParseJson(UnB64(data->as_string()));
        EXPECT_TRUE(payload.ok()) << UnB64(data->as_string());
        if (!payload.ok()) continue;
        return Msg{type->as_string(), std::move(payload).value()};
      }
    }
    return std::nullopt;
  }

  // Frames until one of `type` (and, when given, jobState `state`), or nullopt.
  std::optional<Msg> NextOf(const std::string& type, const std::string& state = "", int timeout_ms = 10000,
                            std::vector<Msg>* seen = nullptr) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      std::optional<Msg> m = Next(std::max(static_cast<int>(left), 1));
      if (!m) return std::nullopt;
      if (seen) seen->push_back(*m);
      if (m->type == type && (state.empty() || m->data.Find("type")->as_string() == state)) return m;
    }
    return std::nullopt;
  }

  void Send(const std::string& type, const Value& payload) {
    std::string text = R"({"type":")" + type + R"(","data":")" + B64(payload.ToJson()) + R"("})";
    ws_->sendFrame(text.data(), static_cast<int>(text.size()), WebSocket::FRAME_TEXT);
  }
  void Ping(const std::string& payload) {
    ws_->sendFrame(payload.data(), static_cast<int>(payload.size()),
                   static_cast<int>(WebSocket::FRAME_FLAG_FIN) | WebSocket::FRAME_OP_PING);
  }

  bool closed() const { return closed_; }
  int close_code() const { return close_code_; }
  int pongs() const { return pongs_; }

 private:
  Poco::Net::HTTPClientSession session_;
  std::unique_ptr<WebSocket> ws_;
  bool closed_ = false;
  int close_code_ = 0;
  int pongs_ = 0;
};

Value Parse(const std::string& json) {
  Result<Value> v = ParseJson(json);
  EXPECT_TRUE(v.ok()) << json;
  return v.ok() ? std::move(v).value() : Value();
}

// A jobRequest as the SDK's createJobRequestMessage builds it (the parts the server reads).
Value JobRequest(const std::string& id, const std::string& model, int count, const std::string& key_frame_extra,
                 const std::string& output_format) {
  return Parse(R"({"jobID":")" + id + R"(","numberOfImages":)" + std::to_string(count) +
               R"(,"previews":0,"disableSafety":false,"tokenType":"spark","outputFormat":")" + output_format +
               R"(","keyFrames":[{"modelID":")" + model + R"(","positivePrompt":"a lighthouse at dawn")" +
               key_frame_extra + "}]}");
}

class ProjectsTest : public SandboxTest {
 protected:
  void SetUp() override { StartWith(""); }
  void StartWith(const std::string& faults) {
    sandbox_.reset();
    SandboxOptions o = DefaultOptions();
    o.step_ms = 5;
    o.faults = faults;
    Start(o);
  }
  std::unique_ptr<SocketClient> Connect(const std::string& app_id = "projects-test", const std::string& key = "k1") {
    auto c = std::make_unique<SocketClient>(sandbox_->port(), key, app_id);
    return c;
  }
  // Connects and reads the handshake (authenticated, then swarmModels); returns authenticated's data.
  std::unique_ptr<SocketClient> ConnectReady(Value* authenticated = nullptr,
                                             const std::string& app_id = "projects-test") {
    auto c = Connect(app_id);
    std::optional<Msg> a = c->Next();
    EXPECT_TRUE(a && a->type == "authenticated") << (a ? a->type : "nothing");
    if (a && authenticated) *authenticated = a->data;
    std::optional<Msg> s = c->Next();
    EXPECT_TRUE(s && s->type == "swarmModels") << (s ? s->type : "nothing");
    return c;
  }
  static std::string ProjectId(int n) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "6A1F0C2E-9B3D-4E5F-8A7B-%012d", n);
    return buf;
  }
  // Frames of one project until jobState jobCompleted (or the deadline).
  static std::vector<Msg> RunToCompletion(SocketClient& c, const std::string& id) {
    std::vector<Msg> frames;
    std::optional<Msg> done = c.NextOf("jobState", "jobCompleted", 10000, &frames);
    EXPECT_TRUE(done.has_value()) << "no jobCompleted for " << id;
    for (const Msg& m : frames) EXPECT_EQ(m.data.Find("jobID")->as_string(), id) << m.type;
    return frames;
  }
  static std::vector<Msg> Results(const std::vector<Msg>& frames) {
    std::vector<Msg> out;
    for (const Msg& m : frames)
      if (m.type == "jobResult") out.push_back(m);
    return out;
  }
};

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
  // Per job: initiatingModel, jobStarted, jobProgress 1..3, jobResult, in that order.
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
    EXPECT_EQ(per_job[img], (std::vector<std::string>{"initiatingModel", "jobStarted", "progress1/3", "progress2/3",
                                                      "progress3/3", "jobResult"}));
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

TEST_F(ProjectsTest, VideoAndAudioProjectsServeMp4AndWav) {
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
  EXPECT_EQ(results[0].data.Find("outputFormat")->as_string(), "wav");  // the sandbox encodes WAV only
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
}  // namespace sflow
