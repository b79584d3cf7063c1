// Stream()'s contract (api/http_transport.h) held by both of its implementations, the Poco
// transport and the stream loop (api/stream_loop.h), against real servers on loopback, plain
// and TLS; then what only the loop promises: many streams on one thread, pause and resume,
// strict framing, every stream ended exactly once.
#include "api/stream_loop.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/api/loopback_server.h"
#include "tests/api/test_certs.h"

namespace sflow {
namespace {

using namespace std::chrono_literals;

HttpRequest Get(std::string url) {
  HttpRequest r;
  r.url = std::move(url);
  r.headers.emplace_back("Authorization", "Bearer sk-canary-loop-0000");
  return r;
}

int Threads() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  return -1;
}

// A TCP server on 127.0.0.1 for answers no HTTP server would give: for each connection, reads
// the request head (unless told not to), then runs `answer` with the socket, then closes it. One
// thread per connection; the destructor waits for them.
class RawServer {
 public:
  explicit RawServer(std::function<void(int fd)> answer, bool read_request = true)
      : answer_(std::move(answer)), read_request_(read_request) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd_, 1024);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] {
      while (true) {
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) {
          close(c);
          return;
        }
        workers_.emplace_back([this, c] {
          int one = 1;
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          std::string head;
          char b[1024];
          while (read_request_ && head.find("\r\n\r\n") == std::string::npos) {
            ssize_t n = recv(c, b, sizeof b, 0);
            if (n <= 0) break;
            head.append(b, static_cast<size_t>(n));
          }
          answer_(c);
          close(c);
        });
      }
    });
  }
  ~RawServer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    acceptor_.join();
    for (auto& w : workers_) w.join();
  }
  std::string Url(const std::string& path = "/s") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

  static void Write(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }

 private:
  std::function<void(int)> answer_;
  const bool read_request_;
  int fd_ = -1;
  int port_ = 0;
  std::mutex mu_;
  bool stop_ = false;
  std::thread acceptor_;
  std::vector<std::thread> workers_;
};

// Handlers that keep what arrives (in *got, when given) and, at the first piece, start a thread
// (*canceller) that cancels 100 ms later: a cancel that comes while the stream waits.
StreamHandlers CancelSoonAfterTheFirstPiece(StreamCancel* cancel, std::thread* canceller, std::string* got) {
  return Chunks([=](std::string_view b) {
    if (got) got->append(b);
    if (!canceller->joinable()) *canceller = std::thread([cancel] {
      std::this_thread::sleep_for(100ms);
      cancel->Cancel();
    });
    return true;
  });
}

// ---- the contract, both implementations -------------------------------------------------------

// Stream() by way of NewStream: the caller waits for on_done. How the contract test holds an
// asynchronous stream to Stream()'s rules.
class ViaNewStream final : public HttpTransport {
 public:
  explicit ViaNewStream(std::unique_ptr<HttpTransport> inner) : inner_(std::move(inner)) {}
  Result<HttpResponse> Send(const HttpRequest& r) override { return inner_->Send(r); }
  Result<HttpResponse> Stream(const HttpRequest& r, const StreamHandlers& h, StreamCancel* cancel) override {
    if (cancel && cancel->cancelled()) return Status::Error(Status::Code::kCancelled, "stream cancelled");
    auto done = std::make_shared<std::promise<Result<HttpResponse>>>();
    std::future<Result<HttpResponse>> result = done->get_future();
    AsyncStreamHandlers ah;
    ah.on_head = h.on_head;
    ah.on_chunk = h.on_chunk;
    ah.on_done = [done](Result<HttpResponse> out) { done->set_value(std::move(out)); };
    std::shared_ptr<AsyncStream> s = inner_->NewStream(r, std::move(ah));
    if (cancel) cancel->SetHook([s] { s->Cancel(); });
    s->Start();
    Result<HttpResponse> out = result.get();
    if (cancel) cancel->ClearHook();
    return out;
  }

 private:
  std::unique_ptr<HttpTransport> inner_;
};

// Poco: Stream() itself; Thread: NewStream's default (Stream() on a thread per stream); Loop:
// NewStream of a transport over a StreamLoop.
enum class Impl { kPoco, kThread, kLoop };

class StreamContractTest : public testing::TestWithParam<Impl> {
 protected:
  std::unique_ptr<HttpTransport> Transport(HttpTransportOptions o = HttpTransportOptions()) {
    Result<std::unique_ptr<HttpTransport>> rest = NewHttpTransport(o);
    EXPECT_TRUE(rest.ok()) << rest.status().ToString();
    if (!rest.ok()) return nullptr;
    if (GetParam() == Impl::kPoco) return std::move(rest).value();
    if (GetParam() == Impl::kThread) return std::make_unique<ViaNewStream>(std::move(rest).value());
    Result<std::unique_ptr<StreamLoop>> loop = StreamLoop::Start(o);
    EXPECT_TRUE(loop.ok()) << loop.status().ToString();
    if (!loop.ok()) return nullptr;
    loop_ = std::move(loop).value();
    return std::make_unique<ViaNewStream>(NewLoopStreamTransport(std::move(rest).value(), loop_.get()));
  }
  std::unique_ptr<HttpTransport> TlsTransport(const std::string& ca_file) {
    HttpTransportOptions o;
    o.ca_file = ca_file;
    o.connect_timeout = 5s;
    o.stream_idle_timeout = 5s;
    return Transport(o);
  }
  std::unique_ptr<LoopbackServer> ServeTls(const CertPair& cert, bool old_protocol = false) {
    LoopbackServer::Options o;
    o.cert_file = cert.cert;
    o.key_file = cert.key;
    o.tls_1_1_only = old_protocol;
    return LoopbackServer::Start([](const ServedRequest&, ReplyWriter& w) {
      w.Begin(200, {{"Content-Type", "text/event-stream"}});
      w.Write("id: 1\ndata: {}\n\n");
      std::this_thread::sleep_for(300ms);
      w.Write("id: 2\ndata: {}\n\n");
    }, o);
  }
  static void ExpectSecurity(const Result<HttpResponse>& r, const std::string& host_port) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kSecurity) << r.status().ToString();
    EXPECT_NE(r.status().message().find(host_port), std::string::npos) << r.status().message();
    EXPECT_EQ(r.status().message().find("canary"), std::string::npos);
  }
  static StreamHandlers Collect(std::string* got) {
    return Chunks([got](std::string_view b) {
      got->append(b);
      return true;
    });
  }

  std::unique_ptr<StreamLoop> loop_;  // outlives the transport made over it
};

INSTANTIATE_TEST_SUITE_P(Each, StreamContractTest, testing::Values(Impl::kPoco, Impl::kThread, Impl::kLoop),
                         [](const testing::TestParamInfo<Impl>& i) {
                           return i.param == Impl::kPoco ? "Poco" : i.param == Impl::kThread ? "Thread" : "Loop";
                         });

TEST_P(StreamContractTest, HandsOverEachPieceAsItArrives) {
  std::promise<void> first_seen;
  std::future<void> first_seen_f = first_seen.get_future();
  auto server = LoopbackServer::Start([&](const ServedRequest&, ReplyWriter& w) {
    w.Begin(200, {{"Content-Type", "text/event-stream"}});
    w.Write("id: 1\ndata: {}\n\n");
    // The second piece goes out only once the client has the first: a transport that waits to
    // fill its buffer would stall here and fail the test.
    if (first_seen_f.wait_for(5s) != std::future_status::ready) return;
    w.Write("id: 2\ndata: {}\n\n");
  });
  auto t = Transport();
  std::string got;
  int pieces = 0;
  Result<HttpResponse> a = t->Stream(Get(server->Url("/stream")), Chunks([&](std::string_view b) {
    got.append(b);
    if (++pieces == 1) first_seen.set_value();
    return true;
  }), nullptr);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->status, 200);
  EXPECT_EQ(a->Header("Content-Type"), "text/event-stream");
  EXPECT_TRUE(a->body.empty());
  EXPECT_EQ(got, "id: 1\ndata: {}\n\nid: 2\ndata: {}\n\n");
  EXPECT_GE(pieces, 2);
}

TEST_P(StreamContractTest, ReturnsTheBodyOfAnError) {
  auto server = LoopbackServer::Start([](const ServedRequest&, ReplyWriter& w) {
    w.Send(404, R"({"status":"error","message":"Workflow not found","errorCode":404})");
  });
  auto t = Transport();
  bool called = false;
  Result<HttpResponse> a = t->Stream(Get(server->Url("/stream")), Chunks([&](std::string_view) { return called = true; }), nullptr);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->status, 404);
  EXPECT_NE(a->body.find("Workflow not found"), std::string::npos);
  EXPECT_FALSE(called);
}

TEST_P(StreamContractTest, AnErrorBodyOverTheCapIsRefused) {
  auto server = LoopbackServer::Start([](const ServedRequest&, ReplyWriter& w) { w.Send(500, std::string(200 * 1024, 'x')); });
  auto t = Transport();
  Result<HttpResponse> a = t->Stream(Get(server->Url("/s")), Chunks([](std::string_view) { return true; }), nullptr);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Status::Code::kInternal) << a.status().ToString();
}

TEST_P(StreamContractTest, ShowsTheHeadBeforeAnyBody) {
  auto server = LoopbackServer::Start([](const ServedRequest& rq, ReplyWriter& w) {
    w.Begin(200, {{"Content-Type", rq.target == "/sse" ? "text/event-stream" : "text/html"}});
    w.Write(rq.target == "/sse" ? ": hi\n\n" : "<html>login page</html>");
  });
  auto t = Transport();
  std::string order;
  StreamHandlers h;
  h.on_head = [&](const HttpResponse& head) {
    order += "head;";
    return head.Header("Content-Type") == "text/event-stream";
  };
  h.on_chunk = [&](std::string_view) {
    order += "chunk;";
    return true;
  };
  Result<HttpResponse> html = t->Stream(Get(server->Url("/page")), h, nullptr);
  ASSERT_TRUE(html.ok()) << html.status().ToString();
  EXPECT_EQ(html->status, 200);
  EXPECT_EQ(order, "head;");  // refused at the head: the page is never read
  order.clear();
  ASSERT_TRUE(t->Stream(Get(server->Url("/sse")), h, nullptr).ok());
  EXPECT_EQ(order, "head;chunk;");
}

TEST_P(StreamContractTest, StopsWhenTheHandlerSaysSo) {
  auto server = LoopbackServer::Start([](const ServedRequest&, ReplyWriter& w) {
    w.Begin(200);
    for (int i = 0; i < 50 && w.Write(": keepalive\n\n"); ++i) std::this_thread::sleep_for(20ms);
  });
  auto t = Transport();
  auto start = std::chrono::steady_clock::now();
  Result<HttpResponse> a = t->Stream(Get(server->Url("/s")), Chunks([](std::string_view) { return false; }), nullptr);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 800ms);  // not the server's 1 s of keepalives
}

TEST_P(StreamContractTest, ACancelFromAnotherThreadEndsAWaitingStream) {
  auto server = LoopbackServer::Start([](const ServedRequest&, ReplyWriter& w) {
    w.Begin(200);
    w.Write("id: 1\ndata: {}\n\n");
    std::this_thread::sleep_for(3s);  // then silence
  });
  auto t = Transport();
  StreamCancel cancel;
  std::thread canceller;
  auto start = std::chrono::steady_clock::now();
  Result<HttpResponse> a = t->Stream(Get(server->Url("/s")), CancelSoonAfterTheFirstPiece(&cancel, &canceller, nullptr), &cancel);
  canceller.join();
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Status::Code::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms);  // well before the server's 3 s
  // A cancelled StreamCancel stays cancelled: no new connection is made.
  int before = server->connections();
  EXPECT_EQ(t->Stream(Get(server->Url("/s")), Chunks([](std::string_view) { return true; }), &cancel).status().code(),
            Status::Code::kCancelled);
  EXPECT_EQ(server->connections(), before);
}

TEST_P(StreamContractTest, ASilentStreamTimesOut) {
  auto server = LoopbackServer::Start([](const ServedRequest&, ReplyWriter& w) {
    w.Begin(200);
    w.Write(": hello\n\n");
    std::this_thread::sleep_for(2s);
  });
  HttpTransportOptions o;
  o.stream_idle_timeout = 300ms;
  auto t = Transport(o);
  auto start = std::chrono::steady_clock::now();
  Result<HttpResponse> a = t->Stream(Get(server->Url("/s")), Chunks([](std::string_view) { return true; }), nullptr);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Status::Code::kUnavailable) << a.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
}

TEST_P(StreamContractTest, PlainHttpBeyondLoopbackIsRefusedBeforeConnecting) {
  auto t = Transport();
  Result<HttpResponse> a = t->Stream(Get("http://example.com/s"), Chunks([](std::string_view) { return true; }), nullptr);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Status::Code::kSecurity);
}

TEST_P(StreamContractTest, HeaderInjectionIsRefused) {
  auto server = LoopbackServer::Start([](const ServedRequest&, ReplyWriter& w) { w.Send(200, "x"); });
  auto t = Transport();
  HttpRequest r = Get(server->Url("/s"));
  r.headers.emplace_back("X-Evil", "a\r\nInjected: yes");
  Result<HttpResponse> a = t->Stream(r, Chunks([](std::string_view) { return true; }), nullptr);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(server->requests(), 0);
}

TEST_P(StreamContractTest, AClosedPortIsUnavailable) {
  int port;
  {
    RawServer gone([](int) {});
    port = std::stoi(gone.Url().substr(std::string("http://127.0.0.1:").size()));
  }
  auto t = Transport();
  Result<HttpResponse> a =
      t->Stream(Get("http://127.0.0.1:" + std::to_string(port) + "/s"), Chunks([](std::string_view) { return true; }), nullptr);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Status::Code::kUnavailable) << a.status().ToString();
}

TEST_P(StreamContractTest, LocalhostByNameWorks) {
  auto server = LoopbackServer::Start([](const ServedRequest& rq, ReplyWriter& w) {
    w.Begin(200);
    w.Write(*FindHeader(rq.headers, "Host"));
  });
  auto t = Transport();
  std::string got;
  Result<HttpResponse> a = t->Stream(Get(server->Url("/s", "localhost")), Collect(&got), nullptr);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(got, "localhost:" + std::to_string(server->port()));
}

TEST_P(StreamContractTest, OverTlsWithATrustedCaAndMatchingName) {
  ASSERT_TRUE(TestCerts::Get().error.empty()) << TestCerts::Get().error;
  auto server = ServeTls(TestCerts::Get().localhost);
  auto t = TlsTransport(TestCerts::Get().ca_cert);
  for (const char* host : {"localhost", "127.0.0.1"}) {
    std::string got;
    Result<HttpResponse> a = t->Stream(Get(server->Url("/s", host)), Collect(&got), nullptr);
    ASSERT_TRUE(a.ok()) << host << ": " << a.status().ToString();
    EXPECT_EQ(got, "id: 1\ndata: {}\n\nid: 2\ndata: {}\n\n") << host;
  }
}

// The CA file is loaded at the first https connection (a CA bundle costs about 10 ms of CPU, on
// every start of the binary before): a file that is there but not PEM is no obstacle to plain
// http, and the first https stream says what is wrong with it. A file that is not there at all
// is refused when the transport is made (TlsTransportTest.AMissingCaFileIsASecurityError).
TEST_P(StreamContractTest, TheCaFileIsLoadedAtTheFirstHttpsStream) {
  ASSERT_TRUE(TestCerts::Get().error.empty()) << TestCerts::Get().error;
  const std::string not_pem = TestCerts::Get().dir + "/not-a-ca.pem";
  {
    std::ofstream f(not_pem);
    f << "this is not a certificate\n";
  }
  auto t = TlsTransport(not_pem);
  ASSERT_NE(t, nullptr);
  auto plain = LoopbackServer::Start([](const ServedRequest&, ReplyWriter& w) {
    w.Begin(200);
    w.Write("plain");
  });
  std::string got;
  Result<HttpResponse> a = t->Stream(Get(plain->Url("/s")), Collect(&got), nullptr);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(got, "plain");
  auto server = ServeTls(TestCerts::Get().localhost);
  Result<HttpResponse> b = t->Stream(Get(server->Url("/s", "localhost")), Collect(&got), nullptr);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Status::Code::kSecurity) << b.status().ToString();
  EXPECT_NE(b.status().message().find("cannot load the CA file " + not_pem), std::string::npos) << b.status().message();
  EXPECT_EQ(server->requests(), 0);
}

TEST_P(StreamContractTest, OverTlsEveryCertificateProblemIsASecurityError) {
  ASSERT_TRUE(TestCerts::Get().error.empty()) << TestCerts::Get().error;
  const TestCerts& c = TestCerts::Get();
  struct Case {
    const CertPair* cert;
    const char* says;
  };
  for (const Case& k : {Case{&c.other_host, "not valid for host name localhost"},
                        Case{&c.rogue, "unable to get local issuer certificate"},
                        Case{&c.self_signed, "self-signed certificate"}}) {
    auto server = ServeTls(*k.cert);
    auto t = TlsTransport(c.ca_cert);
    Result<HttpResponse> a = t->Stream(Get(server->Url("/s", "localhost")), Chunks([](std::string_view) { return true; }), nullptr);
    ExpectSecurity(a, "localhost:" + std::to_string(server->port()));
    if (!a.ok()) {
      EXPECT_NE(a.status().message().find(k.says), std::string::npos) << a.status().message();
    }
    EXPECT_EQ(server->requests(), 0);
  }
}

TEST_P(StreamContractTest, OverTlsOldProtocolsAndPlainServersAreRefused) {
  ASSERT_TRUE(TestCerts::Get().error.empty()) << TestCerts::Get().error;
  {
    auto server = ServeTls(TestCerts::Get().localhost, /*old_protocol=*/true);
    auto t = TlsTransport(TestCerts::Get().ca_cert);
    ExpectSecurity(t->Stream(Get(server->Url("/s", "localhost")), Chunks([](std::string_view) { return true; }), nullptr),
                   "localhost:");
  }
  // Answers in plain text as soon as a client connects (an HTTP server would wait for the rest
  // of a "request line": a stall, not a TLS verdict).
  RawServer plain([](int fd) { RawServer::Write(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"); },
                  /*read_request=*/false);
  auto t = TlsTransport(TestCerts::Get().ca_cert);
  std::string url = plain.Url();
  url.replace(0, std::string("http://127.0.0.1").size(), "https://localhost");
  ExpectSecurity(t->Stream(Get(url), Chunks([](std::string_view) { return true; }), nullptr), "localhost:");
}

TEST_P(StreamContractTest, OverTlsACancelEndsAWaitingStream) {
  ASSERT_TRUE(TestCerts::Get().error.empty()) << TestCerts::Get().error;
  LoopbackServer::Options o;
  o.cert_file = TestCerts::Get().localhost.cert;
  o.key_file = TestCerts::Get().localhost.key;
  // The handler keeps the stream open (keepalives every 100 ms, up to 3 s) and ends once the
  // client has gone, so that the server is not torn down under a TLS connection still in use.
  std::atomic<bool> handler_done{false};
  auto server = LoopbackServer::Start([&](const ServedRequest&, ReplyWriter& w) {
    w.Begin(200);
    w.Write("id: 1\ndata: {}\n\n");
    for (int i = 0; i < 30; ++i) {
      std::this_thread::sleep_for(100ms);
      if (!w.Write(": k\n\n")) break;
    }
    handler_done = true;
  }, o);
  auto t = TlsTransport(TestCerts::Get().ca_cert);
  StreamCancel cancel;
  std::thread canceller;
  std::string got;
  auto start = std::chrono::steady_clock::now();
  Result<HttpResponse> a =
      t->Stream(Get(server->Url("/s", "localhost")), CancelSoonAfterTheFirstPiece(&cancel, &canceller, &got), &cancel);
  canceller.join();
  EXPECT_EQ(got.substr(0, 16), "id: 1\ndata: {}\n\n");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Status::Code::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms);
  for (int i = 0; i < 100 && !handler_done; ++i) std::this_thread::sleep_for(50ms);
  std::this_thread::sleep_for(100ms);  // the connection's own end, after its handler
}

// ---- what only the loop promises --------------------------------------------------------------

class StreamLoopTest : public testing::Test {
 protected:
  void SetUp() override { loop_ = Start(HttpTransportOptions()); }
  static std::unique_ptr<StreamLoop> Start(HttpTransportOptions o) {
    Result<std::unique_ptr<StreamLoop>> l = StreamLoop::Start(o);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    return l.ok() ? std::move(l).value() : nullptr;
  }

  // One stream to its end, as the loop's own caller sees it: the bytes and the one result.
  struct Outcome {
    std::string body;
    Result<HttpResponse> result = Status::Internal("not done");
    int done_calls = 0;
  };
  Outcome Run(const std::string& url, StreamLoop* loop = nullptr) {
    loop = loop ? loop : loop_.get();
    auto out = std::make_shared<Outcome>();
    auto finished = std::make_shared<std::promise<void>>();
    AsyncStreamHandlers h;
    h.on_chunk = [out](std::string_view b) {
      out->body.append(b);
      return true;
    };
    h.on_done = [out, finished](Result<HttpResponse> r) {
      out->result = std::move(r);
      if (++out->done_calls == 1) finished->set_value();
    };
    loop->Open(loop->NewId(), Get(url), std::move(h));
    EXPECT_EQ(finished->get_future().wait_for(10s), std::future_status::ready) << url;
    std::this_thread::sleep_for(20ms);  // a second on_done would land here
    return *out;
  }

  std::unique_ptr<StreamLoop> loop_;
};

TEST_F(StreamLoopTest, HundredsOfStreamsAtOnceShareOneThread) {
  constexpr int kStreams = 300;
  std::mutex mu;
  std::condition_variable cv;
  int waiting = 0;
  bool go = false;
  // Every answer waits until all the streams are connected: they are open at the same time.
  RawServer server([&](int fd) {
    std::unique_lock<std::mutex> lock(mu);
    ++waiting;
    cv.notify_all();
    cv.wait_for(lock, 20s, [&] { return go; });
    lock.unlock();
    RawServer::Write(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  });
  const int threads_before = Threads();
  std::atomic<int> ok{0}, done{0};
  std::atomic<size_t> bytes{0};
  for (int i = 0; i < kStreams; ++i) {
    AsyncStreamHandlers h;
    h.on_chunk = [&](std::string_view b) {
      bytes += b.size();
      return true;
    };
    h.on_done = [&](Result<HttpResponse> r) {
      if (r.ok() && r->status == 200) ++ok;
      ++done;
    };
    loop_->Open(loop_->NewId(), Get(server.Url()), std::move(h));
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 20s, [&] { return waiting == kStreams; })) << waiting << " connected";
  }
  // The server's threads are its own (one per connection); the client added none for them.
  EXPECT_LT(Threads() - threads_before, kStreams + 5) << "threads beyond the server's own (one per connection)";
  {
    std::lock_guard<std::mutex> lock(mu);
    go = true;
  }
  cv.notify_all();
  for (int i = 0; i < 1000 && done < kStreams; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(done.load(), kStreams);
  EXPECT_EQ(ok.load(), kStreams);
  EXPECT_EQ(bytes.load(), size_t{5} * kStreams);
}

TEST_F(StreamLoopTest, APausedStreamIsNotReadUntilResumed) {
  RawServer server([](int fd) {
    RawServer::Write(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\none\r\n");
    std::this_thread::sleep_for(50ms);
    RawServer::Write(fd, "3\r\ntwo\r\n5\r\nthree\r\n0\r\n\r\n");
  });
  struct State {
    std::mutex mu;
    std::string got;
    int done = 0;
    Result<HttpResponse> result = Status::Internal("not done");
  };
  auto st = std::make_shared<State>();
  std::atomic<StreamLoop::Id> id{0};
  AsyncStreamHandlers h;
  StreamLoop* loop = loop_.get();
  h.on_chunk = [st, loop, &id](std::string_view b) {
    std::lock_guard<std::mutex> lock(st->mu);
    st->got.append(b);
    if (st->got == "one") loop->Pause(id.load());  // at once, though more may be read already
    return true;
  };
  h.on_done = [st](Result<HttpResponse> r) {
    std::lock_guard<std::mutex> lock(st->mu);
    st->result = std::move(r);
    ++st->done;
  };
  id = loop_->NewId();
  loop_->Open(id.load(), Get(server.Url()), std::move(h));
  std::this_thread::sleep_for(400ms);  // the rest has arrived in the socket meanwhile
  {
    std::lock_guard<std::mutex> lock(st->mu);
    EXPECT_EQ(st->got, "one") << "read while paused";
    EXPECT_EQ(st->done, 0);
  }
  loop_->Resume(id.load());
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard<std::mutex> lock(st->mu);
      if (st->done) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  std::lock_guard<std::mutex> lock(st->mu);
  EXPECT_EQ(st->got, "onetwothree");
  EXPECT_EQ(st->done, 1);
  EXPECT_TRUE(st->result.ok()) << st->result.status().ToString();
}

// Poke: an empty on_chunk while the stream is quiet, on the loop thread; none before the body,
// none while paused (Resume and the stash come first), none after the end.
TEST_F(StreamLoopTest, APokeIsAnEmptyChunkWhileTheStreamIsQuiet) {
  RawServer server([](int fd) {
    std::this_thread::sleep_for(300ms);  // a poke before the head finds no body yet
    RawServer::Write(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\none\r\n");
    std::this_thread::sleep_for(1500ms);  // quiet
    RawServer::Write(fd, "3\r\ntwo\r\n0\r\n\r\n");
  });
  struct State {
    std::mutex mu;
    std::vector<std::string> chunks;  // "" for a poke
    bool on_loop = true;
    int done = 0;
  };
  auto st = std::make_shared<State>();
  StreamLoop* loop = loop_.get();
  const StreamLoop::Id id = loop->NewId();
  AsyncStreamHandlers h;
  h.on_chunk = [st, loop, id](std::string_view b) {
    std::lock_guard<std::mutex> lock(st->mu);
    st->on_loop = st->on_loop && loop->InLoopThread();
    st->chunks.emplace_back(b);
    if (b == "one") {
      loop->Pause(id);
      loop->Poke(id, 0ms);    // paused: not delivered
      loop->Poke(id, 600ms);  // resumed by then: delivered, in the quiet
    }
    return true;
  };
  h.on_done = [st](Result<HttpResponse>) {
    std::lock_guard<std::mutex> lock(st->mu);
    ++st->done;
  };
  loop->Open(id, Get(server.Url()), std::move(h));
  loop->Poke(id, 0ms);  // before the head
  std::this_thread::sleep_for(600ms);
  loop->Resume(id);  // nothing stashed: the poke at 600 ms is the next on_chunk
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard<std::mutex> lock(st->mu);
      if (st->done) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  loop->Poke(id, 0ms);  // after the end: nothing
  std::this_thread::sleep_for(50ms);
  std::lock_guard<std::mutex> lock(st->mu);
  EXPECT_EQ(st->done, 1);
  EXPECT_TRUE(st->on_loop);
  ASSERT_EQ(st->chunks.size(), 3u) << testing::PrintToString(st->chunks);
  EXPECT_EQ(st->chunks[0], "one");
  EXPECT_EQ(st->chunks[1], "") << "no poke in the quiet";
  EXPECT_EQ(st->chunks[2], "two");
}

TEST_F(StreamLoopTest, APausedStreamDoesNotTimeOut) {
  HttpTransportOptions o;
  o.stream_idle_timeout = 200ms;
  auto loop = Start(o);
  RawServer server([](int fd) {
    RawServer::Write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabc");
    std::this_thread::sleep_for(700ms);
    RawServer::Write(fd, "def");
  });
  auto got = std::make_shared<std::string>();
  auto result = std::make_shared<std::promise<Result<HttpResponse>>>();
  std::atomic<StreamLoop::Id> id{0};
  AsyncStreamHandlers h;
  StreamLoop* l = loop.get();
  h.on_chunk = [got, l, &id](std::string_view b) {
    got->append(b);
    if (*got == "abc") l->Pause(id.load());
    return true;
  };
  h.on_done = [result](Result<HttpResponse> r) { result->set_value(std::move(r)); };
  auto f = result->get_future();
  id = loop->NewId();
  loop->Open(id.load(), Get(server.Url()), std::move(h));
  std::this_thread::sleep_for(900ms);  // paused far past the idle timeout, the bytes arrived
  loop->Resume(id.load());
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  Result<HttpResponse> r = f.get();
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*got, "abcdef");
}

// Each answer, the body handed over and the verdict. A framing that is not complete is not OK.
TEST_F(StreamLoopTest, FramingIsReadStrictly) {
  struct Case {
    const char* name;
    std::string answer;
    bool ok;
    std::string body;
    const char* says;  // in the error message
  };
  const std::string big_head = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(70 * 1024, 'a') + "\r\n\r\n";
  const Case cases[] = {
      {"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", true,
       "hello world", ""},
      {"chunk extensions and trailers",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n", true, "hello",
       ""},
      {"length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello and more", true, "hello", ""},
      {"close-delimited", "HTTP/1.1 200 OK\r\n\r\nuntil the close", true, "until the close", ""},
      {"interim answer first", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true, "ok", ""},
      {"chunked without its last chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", false, "hello",
       "cut short"},
      {"shorter than its length", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", false, "hello", "cut short"},
      {"no head at all", "", false, "", "no answer"},
      {"a head cut short", "HTTP/1.1 200 OK\r\nContent-", false, "", "cut short"},
      {"a malformed status line", "HTTP/1.1 2x0 OK\r\n\r\n", false, "", "malformed head"},
      {"a folded header", "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", false, "", "malformed head"},
      {"a head over 64 KiB", big_head, false, "", "longer than 64 KiB"},
      {"a chunk size that is not hex", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", false, "",
       "no chunk size"},
      {"a chunk size past 60 bits",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\nhello\r\n0\r\n\r\n", false, "",
       "too large"},
      {"no line end after a chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n", false, "he",
       "no line end"},
      {"a chunk-size line without end", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(5000, '1'), false,
       "", "too long"},
      {"a transfer coding other than chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx", false, "", "chunked"},
      {"another coding before chunked",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", false, "", "chunked alone"},
      {"lengths that disagree", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 100000\r\n\r\nhello", false, "",
       "Content-Length"},
      {"lengths that agree", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", true, "hello", ""},
      {"a malformed length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nxx", false, "", "Content-Length"},
  };
  for (const Case& k : cases) {
    for (bool byte_by_byte : {false, true}) {
      RawServer server([&](int fd) {
        if (!byte_by_byte) return RawServer::Write(fd, k.answer);
        for (char ch : k.answer) RawServer::Write(fd, std::string_view(&ch, 1));
      });
      Outcome o = Run(server.Url());
      const std::string what = std::string(k.name) + (byte_by_byte ? " (a byte at a time)" : "");
      EXPECT_EQ(o.done_calls, 1) << what;
      EXPECT_EQ(o.result.ok(), k.ok) << what << ": " << (o.result.ok() ? "OK" : o.result.status().ToString());
      EXPECT_EQ(o.body, k.body) << what;
      if (!k.ok && !o.result.ok()) {
        EXPECT_EQ(o.result.status().code(), Status::Code::kUnavailable) << what;
        EXPECT_NE(o.result.status().message().find(k.says), std::string::npos) << what << ": " << o.result.status().message();
      }
    }
  }
}

TEST_F(StreamLoopTest, CancelAndDestructionEachEndAStreamOnce) {
  RawServer server([](int fd) {
    RawServer::Write(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    std::this_thread::sleep_for(1500ms);
  });
  struct Ends {
    std::mutex mu;
    int calls = 0;
    Status last;
  };
  auto ends = std::make_shared<Ends>();
  auto handlers = [&] {
    AsyncStreamHandlers h;
    h.on_done = [ends](Result<HttpResponse> r) {
      std::lock_guard<std::mutex> lock(ends->mu);
      ++ends->calls;
      ends->last = r.status();
    };
    return h;
  };
  auto calls = [&] {
    std::lock_guard<std::mutex> lock(ends->mu);
    return ends->calls;
  };
  auto last_code = [&] {
    std::lock_guard<std::mutex> lock(ends->mu);
    return ends->last.code();
  };
  // Cancelled at once (while its name resolves), and again: one end.
  StreamLoop::Id a = loop_->NewId();
  loop_->Open(a, Get(server.Url("/a").replace(7, 9, "localhost")), handlers());
  loop_->Cancel(a);
  loop_->Cancel(a);
  for (int i = 0; i < 200 && calls() < 1; ++i) std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(calls(), 1);
  EXPECT_EQ(last_code(), Status::Code::kCancelled);
  // Open when the loop goes away: ended cancelled, once.
  auto loop = Start(HttpTransportOptions());
  loop->Open(loop->NewId(), Get(server.Url("/b")), handlers());
  std::this_thread::sleep_for(200ms);
  loop.reset();
  EXPECT_EQ(calls(), 2);
  EXPECT_EQ(last_code(), Status::Code::kCancelled);
}

TEST_F(StreamLoopTest, TimersAndPostedWorkRunOnTheLoopThreadInOrder) {
  std::mutex mu;
  std::vector<std::string> seen;
  std::promise<void> all;
  StreamLoop* loop = loop_.get();
  auto note = [&](std::string what) {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_TRUE(loop->InLoopThread());
    seen.push_back(std::move(what));
    if (seen.size() == 4) all.set_value();
  };
  loop_->After(150ms, [&] { note("after 150"); });
  loop_->After(50ms, [&] { note("after 50"); });
  loop_->Post([&] { note("post 1"); });
  loop_->Post([&] { note("post 2"); });
  EXPECT_FALSE(loop_->InLoopThread());
  ASSERT_EQ(all.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_EQ(seen, (std::vector<std::string>{"post 1", "post 2", "after 50", "after 150"}));
}

}  // namespace
}  // namespace sflow
