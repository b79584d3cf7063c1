// Test plumbing for the projects socket (sandbox/projects.h): a WebSocket client that speaks
// the SDK's frames ({type, data: base64(JSON)}), jobRequest builders, and a fixture that starts
// the sandbox with a short step. Every wait has a deadline; only 127.0.0.1 is contacted.
#ifndef SFLOW_TESTS_SANDBOX_PROJECTS_FIXTURE_H_
#define SFLOW_TESTS_SANDBOX_PROJECTS_FIXTURE_H_

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
namespace projects_test {

using Poco::Net::WebSocket;
using Clock = std::chrono::steady_clock;

struct Msg {
  std::string type;
  Value data;
};

inline std::string B64(const std::string& s) {
  std::ostringstream out;
  Poco::Base64Encoder enc(out);
  enc.rdbuf()->setLineLength(0);
  enc << s;
  enc.close();
  return out.str();
}

inline std::string UnB64(const std::string& s) {
  std::istringstream in(s);
  Poco::Base64Decoder dec(in);
  std::string out;
  for (char c; dec.get(c);) out += c;
  return out;
}

inline bool IsUpperUuid(const std::string& s) {
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

inline Value Parse(const std::string& json) {
  Result<Value> v = ParseJson(json);
  EXPECT_TRUE(v.ok()) << json;
  return v.ok() ? std::move(v).value() : Value();
}

// A jobRequest as the SDK's createJobRequestMessage builds it (the parts the server reads).
inline Value JobRequest(const std::string& id, const std::string& model, int count, const std::string& key_frame_extra,
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
    std::vector<Msg> mine;
    for (const Msg& m : frames) {
      if (m.type == "balanceUpdate") continue;  // account frames: every project's go to every socket
      const Value* job = m.data.Find("jobID");
      EXPECT_TRUE(job && job->is_string() && job->as_string() == id) << m.type << " " << m.data.ToJson();
      mine.push_back(m);
    }
    return mine;
  }
  static std::vector<Msg> Results(const std::vector<Msg>& frames) {
    std::vector<Msg> out;
    for (const Msg& m : frames)
      if (m.type == "jobResult") out.push_back(m);
    return out;
  }
};

}  // namespace projects_test
}  // namespace sflow

#endif  // SFLOW_TESTS_SANDBOX_PROJECTS_FIXTURE_H_
