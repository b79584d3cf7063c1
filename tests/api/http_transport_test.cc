// The transport over plain HTTP against a real server on loopback: what is sent, session reuse,
// the loopback-only rule and failures. Stream()'s contract, which the stream loop keeps too, is
// in stream_loop_test.cc.
#include "api/http_transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "tests/api/loopback_server.h"

namespace sflow {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<HttpTransport> Transport(HttpTransportOptions o = HttpTransportOptions()) {
  Result<std::unique_ptr<HttpTransport>> t = NewHttpTransport(o);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? std::move(t).value() : nullptr;
}

HttpRequest Req(std::string method, std::string url, std::string body = "") {
  HttpRequest r;
  r.method = std::move(method);
  r.url = std::move(url);
  r.body = std::move(body);
  return r;
}

ServedHandler Echo() {
  return [](const ServedRequest& rq, ReplyWriter& w) {
    w.Send(200, rq.method + " " + rq.target + " " + rq.body, {{"X-Ua", FindHeader(rq.headers, "User-Agent") ? *FindHeader(rq.headers, "User-Agent") : ""}});
  };
}

TEST(HttpTransportTest, SendsTheRequestAndReadsTheAnswer) {
  auto server = LoopbackServer::Start(Echo());
  auto t = Transport();
  HttpRequest r = Req("POST", server->Url("/v1/x?after=2"), R"({"a":1})");
  r.headers.emplace_back("Content-Type", "application/json");
  Result<HttpResponse> a = t->Send(r);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->status, 200);
  EXPECT_EQ(a->body, R"(POST /v1/x?after=2 {"a":1})");
  EXPECT_EQ(a->Header("x-ua"), "sogni-flow");
  EXPECT_EQ(a->Header("Content-Length"), std::to_string(a->body.size()));
}

TEST(HttpTransportTest, ReusesOneKeepAliveSessionForRepeatableRequests) {
  auto server = LoopbackServer::Start(Echo());
  auto t = Transport();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(t->Send(Req("GET", server->Url("/a"))).ok());
  HttpRequest keyed = Req("POST", server->Url("/start"), "{}");
  keyed.headers.emplace_back("Idempotency-Key", "k-1");
  ASSERT_TRUE(t->Send(keyed).ok());
  EXPECT_EQ(server->requests(), 4);
  EXPECT_EQ(server->connections(), 1);
}

TEST(HttpTransportTest, UnkeyedPostsGoOnFreshConnections) {
  auto server = LoopbackServer::Start(Echo());
  auto t = Transport();
  ASSERT_TRUE(t->Send(Req("GET", server->Url("/a"))).ok());
  ASSERT_TRUE(t->Send(Req("POST", server->Url("/cancel"))).ok());
  ASSERT_TRUE(t->Send(Req("POST", server->Url("/cancel"))).ok());
  ASSERT_TRUE(t->Send(Req("GET", server->Url("/a"))).ok());  // back on the pooled session
  EXPECT_EQ(server->connections(), 3);
}

TEST(HttpTransportTest, LocalhostByNameIsLoopback) {
  auto server = LoopbackServer::Start(Echo());
  auto t = Transport();
  Result<HttpResponse> a = t->Send(Req("GET", server->Url("/x", "localhost")));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->status, 200);
}

// One request on a raw connection of our own (the transport refuses hosts like 127.0.0.2); the
// whole answer, read until the server closes.
std::string RawGet(const std::string& host, int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

TEST(HttpTransportTest, PlainHttpBeyondLoopbackIsRefusedBeforeConnecting) {
  auto t = Transport();
  for (const char* url : {"http://api.sogni.ai/v1/account/me", "http://10.0.0.1:8787/", "http://127.1/",
                          "http://[::ffff:127.0.0.1]/", "http://0x7f000001/"}) {
    auto start = std::chrono::steady_clock::now();
    Result<HttpResponse> a = t->Send(Req("GET", url));
    ASSERT_FALSE(a.ok()) << url;
    EXPECT_EQ(a.status().code(), Status::Code::kSecurity) << url;
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s) << url;  // no DNS, no connect
  }
  EXPECT_EQ(t->Send(Req("GET", "http://api.sogni.ai/")).status().message(),
            "refusing plain http:// to api.sogni.ai: only https is allowed beyond loopback");
}

TEST(HttpTransportTest, ALoopbackAddressOutsideTheListIsNeverContacted) {
  // 127.0.0.2 reaches this machine, but it is not one of the sandbox names.
  std::unique_ptr<LoopbackServer> server;
  try {
    LoopbackServer::Options o;
    o.bind = "127.0.0.2";
    server = LoopbackServer::Start(Echo(), o);
  } catch (...) {
    GTEST_SKIP() << "cannot listen on 127.0.0.2 here";
  }
  auto t = Transport();
  Result<HttpResponse> a = t->Send(Req("GET", server->Url("/x", "127.0.0.2")));
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Status::Code::kSecurity);
  // A sentinel connection of our own, answered: the server accepts connections in the order they
  // arrive, so once it has answered ours, any connection the transport had made would have been
  // accepted before it. Exactly one connection means the transport made none.
  EXPECT_EQ(RawGet("127.0.0.2", server->port(), "/sentinel").substr(0, 12), "HTTP/1.1 200");
  EXPECT_EQ(server->connections(), 1);
  EXPECT_EQ(server->requests(), 1);
}

TEST(HttpTransportTest, RefusesHeaderInjection) {
  auto server = LoopbackServer::Start(Echo());
  auto t = Transport();
  HttpRequest r = Req("GET", server->Url("/x"));
  r.headers.emplace_back("X-Note", "a\r\nAuthorization: Bearer stolen");
  Result<HttpResponse> a = t->Send(r);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Status::Code::kInternal);
  EXPECT_EQ(server->requests(), 0);
}

TEST(HttpTransportTest, ConnectionRefusedIsUnavailable) {
  int port;
  {
    auto server = LoopbackServer::Start(Echo());
    port = server->port();
  }
  auto t = Transport();
  Result<HttpResponse> a = t->Send(Req("GET", "http://127.0.0.1:" + std::to_string(port) + "/x"));
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(a.status().message(), "connection refused by 127.0.0.1:" + std::to_string(port));
}

TEST(HttpTransportTest, ASlowAnswerTimesOut) {
  auto server = LoopbackServer::Start([](const ServedRequest&, ReplyWriter& w) {
    std::this_thread::sleep_for(3000ms);  // far beyond the timeout, so a loaded machine still tells them apart
    w.Send(200, "late");
  });
  HttpTransportOptions o;
  o.receive_timeout = 300ms;
  auto t = Transport(o);
  auto start = std::chrono::steady_clock::now();
  Result<HttpResponse> a = t->Send(Req("GET", server->Url("/slow")));
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(a.status().message().find("timed out waiting for 127.0.0.1:"), std::string::npos) << a.status().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms);  // the timeout ended it, not the answer
}

// A server that drips its answer a byte at a time never trips the receive timeout; the deadline
// of the whole exchange ends it, and the transport still serves the next request.
TEST(HttpTransportTest, ADrippedAnswerMeetsTheDeadlineOfTheWholeExchange) {
  auto server = LoopbackServer::Start([](const ServedRequest& rq, ReplyWriter& w) {
    if (rq.target == "/fine") return w.Send(200, "fine");
    w.Begin(200);
    for (int i = 0; i < 200 && w.Write(" "); ++i) std::this_thread::sleep_for(50ms);
  });
  HttpTransportOptions o;
  o.receive_timeout = 2000ms;  // each byte comes well within it
  o.request_deadline = 600ms;
  auto t = Transport(o);
  auto start = std::chrono::steady_clock::now();
  Result<HttpResponse> a = t->Send(Req("GET", server->Url("/drip")));
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(a.status().message().find("took longer than 600 ms"), std::string::npos) << a.status().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5000ms);  // the drip alone lasts 10 s
  Result<HttpResponse> b = t->Send(Req("GET", server->Url("/fine")));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->body, "fine");
}

TEST(HttpTransportTest, BodiesOverTheCapAreRefused) {
  auto server = LoopbackServer::Start([](const ServedRequest&, ReplyWriter& w) { w.Send(200, std::string(5000, 'z')); });
  HttpTransportOptions o;
  o.max_body_bytes = 1000;
  auto t = Transport(o);
  Result<HttpResponse> a = t->Send(Req("GET", server->Url("/big")));
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Status::Code::kInternal);
}

TEST(HttpTransportTest, AnAnswerCutShortIsNotASuccess) {
  auto server = LoopbackServer::Start([](const ServedRequest&, ReplyWriter& w) { w.SendShort(200, 100, std::string(40, 'a')); });
  auto t = Transport();
  Result<HttpResponse> a = t->Send(Req("GET", server->Url("/short")));
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(a.status().message().find("cut short"), std::string::npos) << a.status().message();
}

}  // namespace
}  // namespace sflow
