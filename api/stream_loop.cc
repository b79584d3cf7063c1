// The epoll implementation of StreamLoop (stream_loop.h).
//
// One thread owns every connection: a state machine per stream (resolve, connect, TLS handshake,
// send the request, read the head, read the body) driven by level-triggered epoll, an eventfd for
// work posted from other threads, and a heap of timers (the streams' deadlines are checked
// lazily: activity moves a stream's deadline without touching the heap). Host names are resolved
// on a thread of their own so that a slow resolver never stalls the streams.
#include "api/stream_loop.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <Poco/Net/Context.h>

#include "api/http_answer_reader.h"
#include "api/http_url.h"
#include "api/poco_sessions.h"

namespace sflow {

// Named, not anonymous: the unity build puts this file beside poco_http_transport.cc.
namespace stream_loop_internal {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxErrorBody = 64 * 1024;  // as Stream(): the body of a non-2xx answer
constexpr size_t kReadBuffer = 64 * 1024;
constexpr size_t kMaxReadPerTurn = 256 * 1024;  // then the other streams get their turn

Status Unavailable(std::string m) { return Status::Error(Status::Code::kUnavailable, std::move(m)); }

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

struct Resolved {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string text;  // the address as inet_ntop writes it
};

// The first IPv4 address of `host`, else its first IPv6 one (as Poco's SocketAddress picks).
Result<Resolved> Resolve(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &list) != 0 || !list)
    return Unavailable("cannot resolve host " + host);
  const addrinfo* pick = nullptr;
  for (const addrinfo* a = list; a; a = a->ai_next)
    if (a->ai_family == AF_INET) { pick = a; break; }
  if (!pick)
    for (const addrinfo* a = list; a; a = a->ai_next)
      if (a->ai_family == AF_INET6) { pick = a; break; }
  Result<Resolved> out = Unavailable("cannot resolve host " + host);
  if (pick) {
    Resolved r;
    std::memcpy(&r.addr, pick->ai_addr, pick->ai_addrlen);
    r.len = pick->ai_addrlen;
    char text[INET6_ADDRSTRLEN] = {};
    const void* raw = pick->ai_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(pick->ai_addr)->sin_addr)
                                                 : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(pick->ai_addr)->sin6_addr);
    inet_ntop(pick->ai_family, raw, text, sizeof text);
    r.text = text;
    out = std::move(r);
  }
  freeaddrinfo(list);
  return out;
}

bool IsLoopbackAddress(const Resolved& r) {
  if (r.addr.ss_family == AF_INET) {
    uint32_t a = ntohl(reinterpret_cast<const sockaddr_in*>(&r.addr)->sin_addr.s_addr);
    return (a >> 24) == 127;
  }
  if (r.addr.ss_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(&r.addr)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(&a);
  }
  return false;
}

enum class Phase { kResolve, kConnect, kHandshake, kSend, kAnswer };

struct Conn {
  StreamLoop::Id id = 0;
  HttpUrl url;
  AsyncStreamHandlers handlers;
  std::string request;        // the bytes to send
  size_t sent = 0;
  int fd = -1;
  SSL* ssl = nullptr;
  Phase phase = Phase::kResolve;
  uint32_t interest = 0;      // the epoll events asked for
  bool registered = false;
  bool paused = false;
  Clock::time_point deadline = Clock::time_point::max();   // when it fails unless something happens
  Clock::time_point scheduled = Clock::time_point::max();  // its entry in the timer heap
  std::unique_ptr<HttpAnswerReader> reader;  // from the request's end
  bool stream_body = false;   // a 2xx: the body goes to on_chunk
  std::string error_body;     // a non-2xx: the body, kept
  bool error_too_big = false;
  std::string stash;          // raw bytes read but not yet consumed (the stream was paused)
};

class EpollStreamLoop final : public StreamLoop {
 public:
  explicit EpollStreamLoop(HttpTransportOptions options) : options_(std::move(options)), tls_(options_.ca_file) {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    wake_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = 0;  // stream ids start at 1
    epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
    thread_ = std::thread([this] { Run(); });
    resolver_ = std::thread([this] { ResolveLoop(); });
  }

  ~EpollStreamLoop() override {
    {
      std::lock_guard<std::mutex> lock(resolve_mu_);
      resolve_quit_ = true;
    }
    resolve_cv_.notify_all();
    resolver_.join();
    quit_ = true;
    Wake();
    thread_.join();
    close(wake_);
    close(epoll_);
  }

  Id NewId() override { return next_id_.fetch_add(1); }

  void Open(Id id, const HttpRequest& request, AsyncStreamHandlers handlers) override {
    auto conn = std::make_shared<Conn>();
    conn->id = id;
    conn->handlers = std::move(handlers);
    Status refused = Prepare(request, conn.get());
    const bool taken = TryPost([this, conn, refused] {
      if (!refused.ok()) {
        auto done = std::move(conn->handlers.on_done);
        if (done) done(refused);
        return;
      }
      conns_[conn->id] = conn;
      SetDeadline(*conn, options_.connect_timeout);
      if (IsIpLiteral(conn->url.host)) {
        Connect(*conn, Resolve(conn->url.host, conn->url.port));
      } else {
        std::lock_guard<std::mutex> lock(resolve_mu_);
        resolve_queue_.push_back(ResolveJob{conn->id, conn->url.host, conn->url.port});
        resolve_cv_.notify_one();
      }
    });
    if (!taken) {  // the loop is gone: ended at once, on this thread (there is no loop thread)
      auto done = std::move(conn->handlers.on_done);
      if (done) done(Status::Error(Status::Code::kCancelled, "the stream loop stopped"));
    }
  }

  void Cancel(Id id) override {
    Post([this, id] {
      // Ended already, when not found (a Cancel after Open's post finds it: one queue).
      if (std::shared_ptr<Conn> c = Find(id))
        Finish(*c, Status::Error(Status::Code::kCancelled, "stream from " + c->url.Authority() + " cancelled"));
    });
  }

  void Pause(Id id) override {
    if (InLoopThread()) return SetPaused(id, true);
    Post([this, id] { SetPaused(id, true); });
  }
  void Resume(Id id) override {
    if (InLoopThread()) return SetPaused(id, false);
    Post([this, id] { SetPaused(id, false); });
  }

  void Poke(Id id, std::chrono::milliseconds after) override {
    After(after, [this, id] {
      std::shared_ptr<Conn> held = Find(id);
      if (!held) return;
      Conn& c = *held;
      if (c.phase != Phase::kAnswer || !c.stream_body || c.paused || !c.handlers.on_chunk) return;
      if (!c.stash.empty()) {  // bytes held back by a pause come first
        ReadSome(c);
        if (!conns_.count(id) || c.paused) return;
      }
      if (!c.handlers.on_chunk(std::string_view())) Complete(c);  // stopped by its reader, as in OnBody
    });
  }

  void Post(std::function<void()> fn) override { (void)TryPost(std::move(fn)); }

  // Post, unless the loop has stopped taking work (it is being destroyed): false then, and fn
  // is dropped.
  bool TryPost(std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> lock(post_mu_);
      if (stopped_) return false;
      posted_.push_back(std::move(fn));
    }
    Wake();
    return true;
  }

  void After(std::chrono::milliseconds delay, std::function<void()> fn) override {
    Post([this, when = Clock::now() + delay, fn = std::move(fn)]() mutable {
      timers_.push(Timer{when, timer_seq_++, 0, std::move(fn)});
    });
  }

  bool InLoopThread() const override { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  struct Timer {
    Clock::time_point when;
    uint64_t seq;
    Id deadline_of;  // a stream's deadline check (0: a posted function)
    std::function<void()> fn;
    bool operator>(const Timer& o) const { return when != o.when ? when > o.when : seq > o.seq; }
  };
  struct ResolveJob {
    Id id;
    std::string host;
    int port;
  };

  // The checks Stream() makes before any connection, and the request's bytes.
  Status Prepare(const HttpRequest& request, Conn* c) {
    Result<HttpUrl> url = poco_net::CheckRequest(request);
    if (!url.ok()) return url.status();
    c->url = *url;
    std::string& r = c->request;
    r = request.method + " " + url->target + " HTTP/1.1\r\n";
    const bool default_port = (url->secure() && url->port == 443) || (!url->secure() && url->port == 80);
    std::string host = url->Authority();
    if (default_port) host = host.substr(0, host.rfind(':'));
    bool has_host = FindHeader(request.headers, "Host") != nullptr;
    if (!has_host) r += "Host: " + host + "\r\n";
    for (const auto& [k, v] : request.headers) r += k + ": " + v + "\r\n";
    if (!FindHeader(request.headers, "User-Agent")) r += "User-Agent: " + options_.user_agent + "\r\n";
    if (SendsBody(request)) r += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
    r += "Connection: close\r\n\r\n";
    r += request.body;
    return Status::OK();
  }

  void Wake() {
    uint64_t one = 1;
    ssize_t n = write(wake_, &one, sizeof one);
    (void)n;  // a full counter is a wake-up pending already
  }

  void ResolveLoop() {
    while (true) {
      ResolveJob job;
      {
        std::unique_lock<std::mutex> lock(resolve_mu_);
        resolve_cv_.wait(lock, [&] { return resolve_quit_ || !resolve_queue_.empty(); });
        if (resolve_quit_) return;
        job = std::move(resolve_queue_.front());
        resolve_queue_.pop_front();
      }
      Result<Resolved> r = Resolve(job.host, job.port);
      Post([this, id = job.id, r = std::move(r)]() mutable {
        if (std::shared_ptr<Conn> c = Find(id)) Connect(*c, std::move(r));
      });
    }
  }

  void Run() {
    std::vector<epoll_event> events(256);
    while (true) {
      RunPosted();
      RunTimers();
      if (quit_) break;
      int timeout = -1;
      if (!timers_.empty()) {
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(timers_.top().when - Clock::now()).count();
        timeout = static_cast<int>(std::clamp<int64_t>(wait + 1, 0, 60000));
      }
      int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), timeout);
      for (int i = 0; i < n; ++i) {
        if (events[i].data.u64 == 0) {
          uint64_t v;
          while (read(wake_, &v, sizeof v) > 0) {
          }
          continue;
        }
        if (std::shared_ptr<Conn> c = Find(events[i].data.u64)) Step(*c, events[i].events);
      }
    }
    // The loop is going away: it takes no more work, runs what was posted before (an Open
    // among it adds a stream), and ends every stream still open cancelled, until none is left.
    {
      std::lock_guard<std::mutex> lock(post_mu_);
      stopped_ = true;
    }
    while (true) {
      RunPosted();
      if (conns_.empty()) break;
      while (!conns_.empty()) {
        std::shared_ptr<Conn> keep = conns_.begin()->second;
        Finish(*keep, Status::Error(Status::Code::kCancelled, "the stream loop stopped"));
      }
    }
  }

  void RunPosted() {
    std::vector<std::function<void()>> batch;
    {
      std::lock_guard<std::mutex> lock(post_mu_);
      batch.swap(posted_);
    }
    for (auto& fn : batch) fn();
  }

  void RunTimers() {
    const Clock::time_point now = Clock::now();
    while (!timers_.empty() && timers_.top().when <= now) {
      Timer t = std::move(const_cast<Timer&>(timers_.top()));
      timers_.pop();
      if (t.deadline_of == 0) {
        if (t.fn) t.fn();
        continue;
      }
      std::shared_ptr<Conn> held = Find(t.deadline_of);
      if (!held || held->scheduled != t.when) continue;  // gone, or superseded
      Conn& c = *held;
      c.scheduled = Clock::time_point::max();
      if (c.paused) {  // a paused stream's silence is its reader's doing
        SetDeadline(c, options_.stream_idle_timeout);
        continue;
      }
      if (c.deadline > now) {  // moved by activity since: check again then
        Schedule(c);
        continue;
      }
      const std::string where = c.url.Authority();
      Finish(c, Unavailable(c.phase == Phase::kAnswer || c.phase == Phase::kSend
                                ? "timed out waiting for " + where
                                : "timed out connecting to " + where));
    }
  }

  // A new deadline for the phase c enters. Activity within a phase only moves c.deadline later,
  // which the heap entry finds when it comes due.
  void SetDeadline(Conn& c, std::chrono::milliseconds span) {
    c.deadline = Clock::now() + span;
    if (c.deadline < c.scheduled) Schedule(c);
  }
  void Schedule(Conn& c) {
    c.scheduled = c.deadline;
    timers_.push(Timer{c.deadline, timer_seq_++, c.id, nullptr});
  }

  // The events c waits for. None (a paused stream): out of epoll altogether, since epoll reports
  // a reset or hang-up whatever was asked, and a paused stream would be woken for it endlessly.
  void Want(Conn& c, uint32_t events) {
    if (c.fd < 0) return;
    if (c.paused && c.phase == Phase::kAnswer) events &= ~static_cast<uint32_t>(EPOLLIN);
    if (events == 0) {
      if (c.registered) epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
      c.registered = false;
      c.interest = 0;
      return;
    }
    if (c.registered && events == c.interest) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = c.id;
    epoll_ctl(epoll_, c.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c.fd, &ev);
    c.registered = true;
    c.interest = events;
  }

  void Connect(Conn& c, Result<Resolved> r) {
    const std::string where = c.url.Authority();
    if (!r.ok()) return Finish(c, r.status());
    if (!c.url.secure() && !IsLoopbackAddress(*r))
      return Finish(c, Status::Security("refusing plain http:// to " + c.url.host + ": it does not resolve to a loopback address"));
    if (c.url.secure() && !ResolvedAddressRefusal(c.url.host, r->text).empty())
      return Finish(c, Status::Security("refusing " + c.url.host + ": it resolves to the internal address " + r->text));
    c.fd = socket(r->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) return Finish(c, Unavailable("cannot connect to " + where + " failed: " + std::strerror(errno)));
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c.phase = Phase::kConnect;
    if (connect(c.fd, reinterpret_cast<const sockaddr*>(&r->addr), r->len) == 0) return Connected(c);
    if (errno != EINPROGRESS) return ConnectFailed(c, errno);
    Want(c, EPOLLOUT);
  }

  void ConnectFailed(Conn& c, int err) {
    const std::string where = c.url.Authority();
    if (err == ECONNREFUSED) return Finish(c, Unavailable("connection refused by " + where));
    if (err == ETIMEDOUT) return Finish(c, Unavailable("timed out connecting to " + where));
    Finish(c, Unavailable("cannot connect to " + where + " failed: " + std::strerror(err)));
  }

  void Connected(Conn& c) {
    if (!c.url.secure()) {
      c.phase = Phase::kSend;
      SetDeadline(c, options_.send_timeout);
      return SendRequest(c);
    }
    Result<Poco::Net::Context::Ptr> tls = tls_.Get();  // loaded at the first https stream
    if (!tls.ok()) return Finish(c, tls.status());
    c.ssl = SSL_new((*tls)->sslContext());
    if (!c.ssl) return Finish(c, Status::Security("TLS: cannot make a session: " + OpenSslError()));
    SSL_set_fd(c.ssl, c.fd);
    SSL_set_options(c.ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);  // the framing says whether a body is whole
    X509_VERIFY_PARAM* param = SSL_get0_param(c.ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const std::string& host = c.url.host;
    bool named = IsIpLiteral(host) ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1
                                   : SSL_set_tlsext_host_name(c.ssl, host.c_str()) == 1 && SSL_set1_host(c.ssl, host.c_str()) == 1;
    if (!named) return Finish(c, Status::Security("TLS: cannot set the host name to verify: " + host));
    SSL_set_connect_state(c.ssl);
    c.phase = Phase::kHandshake;
    SetDeadline(c, options_.stream_idle_timeout);  // as the transport: the handshake under the receive timeout
    Handshake(c);
  }

  void Handshake(Conn& c) {
    ERR_clear_error();
    int rc = SSL_do_handshake(c.ssl);
    if (rc == 1) {
      if (SSL_get_verify_result(c.ssl) != X509_V_OK || SSL_get0_peer_certificate(c.ssl) == nullptr)
        return Finish(c, Status::Security("TLS: cannot verify " + c.url.Authority() + ": no verified certificate"));
      c.phase = Phase::kSend;
      SetDeadline(c, options_.send_timeout);
      return SendRequest(c);
    }
    int err = SSL_get_error(c.ssl, rc);
    if (err == SSL_ERROR_WANT_READ) return Want(c, EPOLLIN);
    if (err == SSL_ERROR_WANT_WRITE) return Want(c, EPOLLOUT);
    const std::string where = c.url.Authority();
    long verify = SSL_get_verify_result(c.ssl);
    if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH)
      return Finish(c, Status::Security("TLS: the certificate of " + where + " is not valid for host name " + c.url.host));
    if (verify != X509_V_OK)
      return Finish(c, Status::Security("TLS: cannot verify " + where + ": " + X509_verify_cert_error_string(verify)));
    if (err == SSL_ERROR_SSL) return Finish(c, Status::Security("TLS: handshake with " + where + " failed: " + OpenSslError()));
    Finish(c, Unavailable("cannot connect to " + where + " failed: the connection closed during the TLS handshake"));
  }

  void SendRequest(Conn& c) {
    while (c.sent < c.request.size()) {
      const char* p = c.request.data() + c.sent;
      const size_t n = c.request.size() - c.sent;
      ssize_t w;
      if (c.ssl) {
        ERR_clear_error();
        size_t written = 0;
        int rc = SSL_write_ex(c.ssl, p, n, &written);
        if (rc != 1) {
          int err = SSL_get_error(c.ssl, rc);
          if (err == SSL_ERROR_WANT_WRITE) return Want(c, EPOLLOUT);
          if (err == SSL_ERROR_WANT_READ) return Want(c, EPOLLIN);
          return Finish(c, Unavailable("connection to " + c.url.Authority() + " failed: " + OpenSslError()));
        }
        w = static_cast<ssize_t>(written);
      } else {
        w = send(c.fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK) return Want(c, EPOLLOUT);
          if (errno == EINTR) continue;
          return Finish(c, Unavailable("connection to " + c.url.Authority() + " failed: " + std::strerror(errno)));
        }
      }
      c.sent += static_cast<size_t>(w);
    }
    c.phase = Phase::kAnswer;
    c.reader = std::make_unique<HttpAnswerReader>(c.url.Authority());
    SetDeadline(c, options_.stream_idle_timeout);
    Want(c, EPOLLIN);
    ReadSome(c);  // an answer may be there already (TLS keeps decrypted bytes of its own)
  }

  void Step(Conn& c, uint32_t events) {
    switch (c.phase) {
      case Phase::kConnect: {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) return ConnectFailed(c, err);
        if (!(events & EPOLLOUT)) return;
        return Connected(c);
      }
      case Phase::kHandshake:
        return Handshake(c);
      case Phase::kSend:
        return SendRequest(c);
      case Phase::kAnswer:
        return ReadSome(c);
      case Phase::kResolve:
        return;
    }
  }

  // Reads what the socket has, up to kMaxReadPerTurn, and consumes it.
  void ReadSome(Conn& c) {
    if (c.paused) return;
    const Id id = c.id;
    if (!c.stash.empty()) {
      std::string stash;
      stash.swap(c.stash);
      if (!Consume(c, stash.data(), stash.size()) || !conns_.count(id) || c.paused) return;
    }
    size_t total = 0;
    while (total < kMaxReadPerTurn) {
      ssize_t n;
      if (c.ssl) {
        ERR_clear_error();
        size_t got = 0;
        int rc = SSL_read_ex(c.ssl, buf_, sizeof buf_, &got);
        if (rc == 1) {
          n = static_cast<ssize_t>(got);
        } else {
          int err = SSL_get_error(c.ssl, rc);
          if (err == SSL_ERROR_WANT_READ) return Want(c, EPOLLIN);
          if (err == SSL_ERROR_WANT_WRITE) return Want(c, EPOLLOUT);
          if (err == SSL_ERROR_ZERO_RETURN) return OnEnd(c);
          return Finish(c, Unavailable("connection to " + c.url.Authority() + " failed: " + OpenSslError()));
        }
      } else {
        n = recv(c.fd, buf_, sizeof buf_, 0);
        if (n < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK) return Want(c, EPOLLIN);
          if (errno == EINTR) continue;
          const bool reset = errno == ECONNRESET || errno == EPIPE;
          return Finish(c, Unavailable("connection to " + c.url.Authority() + " failed: " +
                                       (reset ? "the connection was reset" : std::strerror(errno))));
        }
        if (n == 0) return OnEnd(c);
      }
      total += static_cast<size_t>(n);
      c.deadline = Clock::now() + options_.stream_idle_timeout;
      if (!Consume(c, buf_, static_cast<size_t>(n)) || !conns_.count(id) || c.paused) return;
    }
    // Its turn is over; the others get theirs first. Level-triggered epoll calls again for what
    // the socket holds, but not for what TLS has already decrypted.
    if (c.ssl && SSL_pending(c.ssl) > 0) PostReadSome(id);
  }

  // What the reader hands over, for one connection: the head to on_head (a 2xx) or kept; the
  // body to on_chunk (a 2xx) or kept, at most 64 KiB (any other status).
  class ConnSink final : public HttpAnswerReader::Sink {
   public:
    explicit ConnSink(Conn* c) : c_(c) {}
    HttpAnswerReader::Action OnHead(const HttpResponse& head) override {
      Conn& c = *c_;
      c.stream_body = head.status >= 200 && head.status < 300;
      if (!c.stream_body) return HttpAnswerReader::Action::kContinue;
      // Until the body has been handed over, a process that dies resets the connection.
      linger l{1, 0};
      setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      if (c.handlers.on_head && !c.handlers.on_head(head)) return HttpAnswerReader::Action::kStop;
      return c.paused ? HttpAnswerReader::Action::kPause : HttpAnswerReader::Action::kContinue;
    }
    HttpAnswerReader::Action OnBody(std::string_view bytes) override {
      Conn& c = *c_;
      if (!c.stream_body) {
        c.error_body.append(bytes);
        if (c.error_body.size() <= kMaxErrorBody) return HttpAnswerReader::Action::kContinue;
        c.error_too_big = true;
        return HttpAnswerReader::Action::kStop;
      }
      if (c.handlers.on_chunk && !c.handlers.on_chunk(bytes)) return HttpAnswerReader::Action::kStop;
      return c.paused ? HttpAnswerReader::Action::kPause : HttpAnswerReader::Action::kContinue;
    }

   private:
    Conn* c_;
  };

  // Consumes bytes read. False once the stream has ended (Finish was called) or is paused (the
  // rest is stashed).
  bool Consume(Conn& c, const char* p, size_t n) {
    ConnSink sink(&c);
    const size_t used = c.reader->Feed(std::string_view(p, n), sink);
    if (c.reader->failed()) {
      Finish(c, c.reader->error());
      return false;
    }
    if (c.reader->done()) {
      Complete(c);
      return false;
    }
    if (used < n) {  // paused
      c.stash.append(p + used, n - used);
      return false;
    }
    return !c.paused;
  }

  // The peer closed its side: whole when the framing says so.
  void OnEnd(Conn& c) {
    c.reader->End();
    if (c.reader->failed()) return Finish(c, c.reader->error());
    Complete(c);
  }

  // The answer is whole (or its reader stopped): the head, or the error answer with its body.
  void Complete(Conn& c) {
    if (c.error_too_big)
      return Finish(c, Status::Internal("answer from " + c.url.Authority() + " is larger than " +
                                        std::to_string(kMaxErrorBody) + " bytes"));
    HttpResponse r = c.reader->head();
    if (!c.stream_body) r.body = std::move(c.error_body);
    Finish(c, std::move(r));
  }

  // Ends c: out of the map, its socket closed, on_done called. Callers hold c alive (a
  // shared_ptr of their own) and touch nothing of it afterwards.
  void Finish(Conn& c, Result<HttpResponse> result) {
    conns_.erase(c.id);
    if (c.fd >= 0) {
      if (c.registered) epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
      if (c.ssl) {
        SSL_free(c.ssl);  // no close_notify: the connection is not reused
        c.ssl = nullptr;
      }
      // A stream that ends while its process lives closes in order (a FIN); only death resets.
      linger l{0, 0};
      setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      close(c.fd);
      c.fd = -1;
    }
    auto done = std::move(c.handlers.on_done);
    c.handlers = AsyncStreamHandlers();
    if (done) done(std::move(result));
  }

  // The stream `id`, held, or null when it has ended. Callers keep the pointer while they use it:
  // Finish erases the map's.
  std::shared_ptr<Conn> Find(Id id) {
    auto it = conns_.find(id);
    return it == conns_.end() ? nullptr : it->second;
  }

  // ReadSome of `id` once the loop gets to it, unless it has ended or paused meanwhile.
  void PostReadSome(Id id) {
    Post([this, id] {
      if (std::shared_ptr<Conn> c = Find(id); c && !c->paused) ReadSome(*c);
    });
  }

  void SetPaused(Id id, bool paused) {
    std::shared_ptr<Conn> held = Find(id);
    if (!held) return;
    Conn& c = *held;
    if (c.paused == paused) return;
    c.paused = paused;
    if (c.phase != Phase::kAnswer) return;
    if (paused) return Want(c, c.interest & ~static_cast<uint32_t>(EPOLLIN));
    c.deadline = Clock::now() + options_.stream_idle_timeout;
    Want(c, EPOLLIN);
    PostReadSome(id);  // what was stashed, and what TLS holds decrypted
  }

  const HttpTransportOptions options_;
  poco_net::LazyTlsContext tls_;
  int epoll_ = -1, wake_ = -1;
  std::atomic<Id> next_id_{1};
  std::atomic<bool> quit_{false};
  std::mutex post_mu_;
  std::vector<std::function<void()>> posted_;
  bool stopped_ = false;  // under post_mu_: no more work is taken
  // Loop thread only:
  std::map<Id, std::shared_ptr<Conn>> conns_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  uint64_t timer_seq_ = 0;
  char buf_[kReadBuffer];
  // The resolver:
  std::mutex resolve_mu_;
  std::condition_variable resolve_cv_;
  std::deque<ResolveJob> resolve_queue_;
  bool resolve_quit_ = false;
  std::thread thread_, resolver_;  // last: they start once everything above exists
};

// A stream on the loop, as an AsyncStream. Cancel before Start ends it at Start, unopened.
class LoopAsyncStream final : public AsyncStream {
 public:
  LoopAsyncStream(StreamLoop* loop, HttpRequest request, AsyncStreamHandlers handlers)
      : loop_(loop), id_(loop->NewId()), request_(std::move(request)), handlers_(std::move(handlers)) {}

  void Start() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      started_ = true;
      if (cancelled_) {
        auto done = std::move(handlers_.on_done);
        loop_->Post([done = std::move(done)] {
          if (done) done(Status::Error(Status::Code::kCancelled, "stream cancelled"));
        });
        return;
      }
    }
    loop_->Open(id_, request_, std::move(handlers_));
  }
  void Pause() override { loop_->Pause(id_); }
  void Resume() override { loop_->Resume(id_); }
  void Poke(std::chrono::milliseconds after) override { loop_->Poke(id_, after); }
  void Cancel() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled_ = true;
      if (!started_) return;
    }
    loop_->Cancel(id_);
  }

 private:
  StreamLoop* loop_;
  const StreamLoop::Id id_;
  const HttpRequest request_;
  AsyncStreamHandlers handlers_;
  std::mutex mu_;
  bool started_ = false, cancelled_ = false;
};

class LoopStreamTransport final : public HttpTransport {
 public:
  LoopStreamTransport(std::unique_ptr<HttpTransport> rest, StreamLoop* loop) : rest_(std::move(rest)), loop_(loop) {}

  Result<HttpResponse> Send(const HttpRequest& request) override { return rest_->Send(request); }
  Result<HttpResponse> Stream(const HttpRequest& request, const StreamHandlers& handlers, StreamCancel* cancel) override {
    return rest_->Stream(request, handlers, cancel);
  }
  std::shared_ptr<AsyncStream> NewStream(const HttpRequest& request, AsyncStreamHandlers handlers) override {
    return std::make_shared<LoopAsyncStream>(loop_, request, std::move(handlers));
  }

 private:
  std::unique_ptr<HttpTransport> rest_;
  StreamLoop* loop_;
};

}  // namespace
}  // namespace stream_loop_internal

using stream_loop_internal::EpollStreamLoop;
using stream_loop_internal::LoopStreamTransport;

Result<std::unique_ptr<StreamLoop>> StreamLoop::Start(const HttpTransportOptions& options) {
  if (Status ca = poco_net::CheckCaFile(options.ca_file); !ca.ok()) return ca;
  return std::unique_ptr<StreamLoop>(std::make_unique<EpollStreamLoop>(options));
}

std::unique_ptr<HttpTransport> NewLoopStreamTransport(std::unique_ptr<HttpTransport> rest, StreamLoop* loop) {
  return std::make_unique<LoopStreamTransport>(std::move(rest), loop);
}

}  // namespace sflow
