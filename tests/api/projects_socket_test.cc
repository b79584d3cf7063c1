// The Poco projects connection against real servers on loopback: the sandbox in-process (plain
// ws://, the frames of a real project), and a scripted WebSocket server over TLS with the test
// certificates (strict verification, hostile frames, close codes, refusals). The canary key must
// reach the server in the api-key header only and never appear in a URL or a Status.
#include "api/projects_socket.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/WebSocket.h>

#include "api/projects_frames.h"
#include "engine/json.h"
#include "sandbox/sandbox.h"
#include "tests/api/api_test_env.h"
#include "tests/api/loopback_ws_server.h"
#include "tests/api/test_certs.h"

namespace sflow {
namespace {

using Poco::Net::WebSocket;
using std::chrono::milliseconds;
constexpr int kFin = WebSocket::FRAME_FLAG_FIN;

const std::string* SeenHeader(const HttpHeaders& h, const std::string& name) { return FindHeader(h, name); }

// The next text frame within 20 s, decoded.
Result<ProjectFrame> Next(ProjectsConnection& c) {
  for (int i = 0; i < 100; ++i) {
    Result<std::optional<std::string>> t = c.ReceiveText(milliseconds(200));
    if (!t.ok()) return t.status();
    if (t->has_value()) return DecodeProjectFrame(**t);
  }
  return Status::Error(Status::Code::kDeadlineExceeded, "no frame in 20 s");
}

// Reads until the connection ends; its Status.
Status UntilEnd(ProjectsConnection& c) {
  for (int i = 0; i < 100; ++i) {
    Result<std::optional<std::string>> t = c.ReceiveText(milliseconds(200));
    if (!t.ok()) return t.status();
  }
  return Status::Error(Status::Code::kDeadlineExceeded, "the connection did not end in 20 s");
}

ProjectsSocketOptions Options(const std::string& url, const std::string& key = kCanaryKey) {
  ProjectsSocketOptions o;
  o.socket_url = url;
  o.app_id = "app-1+test/x";
  o.api_key = key;
  o.handshake_deadline = milliseconds(10000);
  return o;
}

TEST(ProjectsSocketSandbox, RunsAProjectOverThePlainLoopbackSocket) {
  SandboxOptions so;
  so.step_ms = 2;
  so.api_keys = {"k1"};
  Result<std::unique_ptr<Sandbox>> sandbox = Sandbox::Start(so);
  ASSERT_TRUE(sandbox.ok()) << sandbox.status().ToString();
  Result<std::unique_ptr<ProjectsConnection>> c = OpenProjectsConnection(Options((*sandbox)->url(), "k1"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  Result<ProjectFrame> first = Next(**c);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->type, "authenticated");
  ASSERT_TRUE((*c)->Ping().ok());
  Result<Value> request = ParseJson(
      R"({"jobID":"3f2a0c1e-aaaa-4bbb-8ccc-000000000001","numberOfImages":1,"previews":0,"tokenType":"spark",)"
      R"("outputFormat":"png","keyFrames":[{"modelID":"flux1-schnell-fp8","positivePrompt":"a lamp","steps":2}]})");
  ASSERT_TRUE(request.ok());
  ASSERT_TRUE((*c)->SendText(EncodeProjectFrame("jobRequest", *request)).ok());
  bool result = false, completed = false;
  for (int i = 0; i < 200 && !completed; ++i) {
    Result<ProjectFrame> f = Next(**c);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    const Value* job = f->data.Find("jobID");
    if (f->type == "jobResult") {
      result = true;
      EXPECT_EQ(job->as_string(), "3F2A0C1E-AAAA-4BBB-8CCC-000000000001") << "upper-cased as the SDK does";
    }
    if (f->type == "jobState" && f->data.Find("type")->as_string() == "jobCompleted") completed = true;
  }
  EXPECT_TRUE(result);
  EXPECT_TRUE(completed);
  (*c)->Close();
  EXPECT_EQ((*c)->SendText("x").code(), Status::Code::kUnavailable);
}

TEST(ProjectsSocketSandbox, AWrongKeyIsClosedWith4021AsPermission) {
  SandboxOptions so;
  so.api_keys = {"k1"};
  Result<std::unique_ptr<Sandbox>> sandbox = Sandbox::Start(so);
  ASSERT_TRUE(sandbox.ok());
  Result<std::unique_ptr<ProjectsConnection>> c = OpenProjectsConnection(Options((*sandbox)->url()));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  Status end = UntilEnd(**c);
  EXPECT_EQ(end.code(), Status::Code::kPermission) << end.ToString();
  EXPECT_EQ(CloseCodeOf(end), 4021);
  ExpectNoCanary(end.ToString());
}

class ProjectsSocketTlsTest : public testing::Test {
 protected:
  void SetUp() override {
    const TestCerts& certs = TestCerts::Get();
    ASSERT_TRUE(certs.error.empty()) << certs.error;
  }
  void Serve(WsScript script, const CertPair& pair = TestCerts::Get().localhost) {
    LoopbackWsServer::Options o;
    o.cert_file = pair.cert;
    o.key_file = pair.key;
    server_ = LoopbackWsServer::Start(std::move(script), o);
  }
  ProjectsSocketOptions Tls() {
    ProjectsSocketOptions o = Options(server_->Url("localhost"));
    o.ca_file = TestCerts::Get().ca_cert;
    return o;
  }
  std::unique_ptr<LoopbackWsServer> server_;
};

TEST_F(ProjectsSocketTlsTest, OpensAsTheSdkDoesWithTheKeyOnlyInItsHeader) {
  std::promise<std::pair<std::string, HttpHeaders>> seen;
  Serve({nullptr, [&](WsPeer& p) {
           seen.set_value({p.target(), p.headers()});
           p.SendText(EncodeProjectFrame("authenticated", Value::Object()));
           std::string payload;
           int flags = 0;
           while (p.Receive(&payload, &flags)) {
             if ((flags & WebSocket::FRAME_OP_BITMASK) == WebSocket::FRAME_OP_TEXT) p.SendText(payload);  // echo
             if ((flags & WebSocket::FRAME_OP_BITMASK) == WebSocket::FRAME_OP_CLOSE) break;
           }
         }});
  Result<std::unique_ptr<ProjectsConnection>> c = OpenProjectsConnection(Tls());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto [target, headers] = seen.get_future().get();
  EXPECT_EQ(target, "/?appId=app-1%2Btest%2Fx&clientName=sogni-flow&clientType=artist&forceWorkerId=fast");
  ASSERT_NE(SeenHeader(headers, "api-key"), nullptr);
  EXPECT_EQ(*SeenHeader(headers, "api-key"), kCanaryKey);
  ExpectNoCanary(target);
  EXPECT_EQ(SeenHeader(headers, "Authorization"), nullptr) << "the SDK's api-key auth sends only api-key";
  Result<ProjectFrame> f = Next(**c);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->type, "authenticated");
  ASSERT_TRUE((*c)->SendText(EncodeProjectFrame("jobRequest", *ParseJson(R"({"jobID":"x1"})"))).ok());
  f = Next(**c);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->data.Find("jobID")->as_string(), "X1");
}

TEST_F(ProjectsSocketTlsTest, RefusesCertificatesItCannotVerify) {
  struct Case {
    const char* name;
    const CertPair* pair;
    std::string host;
  };
  const TestCerts& certs = TestCerts::Get();
  for (const Case& k : {Case{"untrusted CA", &certs.rogue, "localhost"}, Case{"self-signed", &certs.self_signed, "localhost"},
                        Case{"other host name", &certs.other_host, "localhost"}}) {
    Serve({nullptr, [](WsPeer& p) { p.SendText(EncodeProjectFrame("authenticated", Value::Object())); }}, *k.pair);
    ProjectsSocketOptions o = Tls();
    o.socket_url = server_->Url(k.host);
    Result<std::unique_ptr<ProjectsConnection>> c = OpenProjectsConnection(o);
    ASSERT_FALSE(c.ok()) << k.name;
    EXPECT_EQ(c.status().code(), Status::Code::kSecurity) << k.name << ": " << c.status().ToString();
    EXPECT_EQ(server_->upgrades(), 0) << k.name << ": nothing was sent before the certificate was checked";
    ExpectNoCanary(c.status().ToString());
    server_.reset();
  }
}

TEST_F(ProjectsSocketTlsTest, PlainWsIsOnlyForTheSandboxNames) {
  ProjectsSocketOptions o = Options("ws://example.com");
  Result<std::unique_ptr<ProjectsConnection>> c = OpenProjectsConnection(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kSecurity) << c.status().ToString();
  o.socket_url = "wss://socket.example/?appId=evil";
  c = OpenProjectsConnection(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kInvalidPlan) << c.status().ToString();
  // Checked before any connection (port 9, discard, has no server here).
  o = Options("wss://localhost:9");
  o.app_id = "";
  EXPECT_EQ(OpenProjectsConnection(o).status().code(), Status::Code::kInvalidPlan);
  o = Options("wss://localhost:9");
  o.api_key = "bad\r\nX-Injected: 1";
  c = OpenProjectsConnection(o);
  EXPECT_EQ(c.status().code(), Status::Code::kPermission);
  EXPECT_EQ(c.status().message().find("Injected"), std::string::npos);
}

TEST_F(ProjectsSocketTlsTest, AnswersPingsReassemblesFragmentsAndSkipsBinary) {
  std::promise<bool> ponged;
  Serve({nullptr, [&](WsPeer& p) {
           p.SendFrame("hi", kFin | WebSocket::FRAME_OP_PING);
           std::string payload;
           int flags = 0;
           bool pong = p.Receive(&payload, &flags) && (flags & WebSocket::FRAME_OP_BITMASK) == WebSocket::FRAME_OP_PONG &&
                       payload == "hi";
           ponged.set_value(pong);
           p.SendFrame("\x01\x02", WebSocket::FRAME_BINARY);
           std::string text = EncodeProjectFrame("jobETA", *ParseJson(R"({"jobID":"a","etaSeconds":3})"));
           p.SendFrame(text.substr(0, 10), WebSocket::FRAME_OP_TEXT);  // no FIN
           p.SendFrame(text.substr(10, 5), WebSocket::FRAME_OP_CONT);
           p.SendFrame(text.substr(15), kFin | WebSocket::FRAME_OP_CONT);
           p.Close(1000, "");
         }});
  Result<std::unique_ptr<ProjectsConnection>> c = OpenProjectsConnection(Tls());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  Result<ProjectFrame> f = Next(**c);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->type, "jobETA");
  EXPECT_TRUE(ponged.get_future().get());
  Status end = UntilEnd(**c);
  EXPECT_EQ(CloseCodeOf(end), 1000);
  EXPECT_EQ(end.code(), Status::Code::kUnavailable);
}

TEST_F(ProjectsSocketTlsTest, RefusesAnOversizedFrame) {
  Serve({nullptr, [&](WsPeer& p) {
           p.SendText(std::string(kMaxProjectFrameBytes + 1, 'x'));
           std::string payload;
           int flags = 0;
           p.Receive(&payload, &flags);
         }});
  Result<std::unique_ptr<ProjectsConnection>> c = OpenProjectsConnection(Tls());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  Status end = UntilEnd(**c);
  EXPECT_EQ(end.code(), Status::Code::kUnavailable) << end.ToString();
  EXPECT_NE(end.message().find("larger than"), std::string::npos) << end.ToString();
  EXPECT_EQ(CloseCodeOf(end), 1009);
}

TEST_F(ProjectsSocketTlsTest, CloseCodesMapAndAnEchoedKeyIsRedacted) {
  struct Case {
    int code;
    Status::Code want;
  };
  for (const Case& k : {Case{4021, Status::Code::kPermission}, Case{4015, Status::Code::kConflict},
                        Case{1001, Status::Code::kUnavailable}, Case{4999, Status::Code::kUnavailable}}) {
    Serve({nullptr, [&](WsPeer& p) { p.Close(k.code, std::string("bad key ") + kCanaryKey); }});
    Result<std::unique_ptr<ProjectsConnection>> c = OpenProjectsConnection(Tls());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    Status end = UntilEnd(**c);
    EXPECT_EQ(end.code(), k.want) << end.ToString();
    EXPECT_EQ(CloseCodeOf(end), k.code);
    EXPECT_NE(end.message().find(std::to_string(k.code)), std::string::npos);
    ExpectNoCanary(end.ToString());
    server_.reset();
  }
}

TEST_F(ProjectsSocketTlsTest, ARefusedUpgradeSaysWhy) {
  for (int status : {401, 503}) {
    Serve({[&](const std::string&, const HttpHeaders&) { return status; }, nullptr});
    Result<std::unique_ptr<ProjectsConnection>> c = OpenProjectsConnection(Tls());
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), status == 401 ? Status::Code::kPermission : Status::Code::kUnavailable)
        << c.status().ToString();
    EXPECT_NE(c.status().message().find("HTTP " + std::to_string(status)), std::string::npos) << c.status().ToString();
    ExpectNoCanary(c.status().ToString());
    server_.reset();
  }
}

TEST(ProjectsSocketDeadline, AServerThatNeverAnswersTheUpgradeTripsTheHandshakeDeadline) {
  // Listening, so the TCP connect succeeds (the kernel's backlog), but never accepting.
  Poco::Net::ServerSocket silent(Poco::Net::SocketAddress("127.0.0.1", 0), 4);
  ProjectsSocketOptions o = Options("ws://127.0.0.1:" + std::to_string(silent.address().port()));
  o.handshake_deadline = milliseconds(300);
  Result<std::unique_ptr<ProjectsConnection>> c = OpenProjectsConnection(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(c.status().message().find("opening took longer than 300 ms"), std::string::npos) << c.status().ToString();
}

TEST_F(ProjectsSocketTlsTest, CloseWakesABlockedReader) {
  std::promise<void> done;
  Serve({nullptr, [&](WsPeer& p) {
           std::string payload;
           int flags = 0;
           while (p.Receive(&payload, &flags)) {
             if ((flags & WebSocket::FRAME_OP_BITMASK) == WebSocket::FRAME_OP_CLOSE) break;
           }
         }});
  Result<std::unique_ptr<ProjectsConnection>> c = OpenProjectsConnection(Tls());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ProjectsConnection* conn = c->get();
  // An hour's wait: the test times out unless Close() ends it.
  auto reader = std::async(std::launch::async, [conn] { return conn->ReceiveText(std::chrono::hours(1)); });
  conn->Close();
  Result<std::optional<std::string>> r = reader.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(CloseCodeOf(r.status()), 1000);
}

}  // namespace
}  // namespace sflow
