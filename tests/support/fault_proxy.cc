// Implementation notes: plain POSIX sockets, because the faults live below what an HTTP library
// lets one do (a reset after N body bytes, a chunked body without its last chunk). Every wait is
// a poll() that also watches the wake pipe (Stop) and, while an answer is prepared, the client
// (a client that went away ends the request).
#include "tests/support/fault_proxy.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "engine/json.h"
#include "engine/value.h"
#include "tests/support/fault_proxy_io.h"
#include "tests/support/fault_proxy_relay.h"

namespace sflow {

using proxy_io::Conn;
using proxy_io::Head;

struct FaultProxy::Request {
  Head head;
  std::string body;
  bool keep_alive = true;
  ProxyRoute route = ProxyRoute::kOther;
  int64_t n = 0;
  FaultDecision decision;
};

namespace {

std::string WorkflowIdOf(const std::string& target) {
  static const std::string kPrefix = "/v1/creative-agent/workflows/";
  if (target.compare(0, kPrefix.size(), kPrefix) != 0) return "";
  std::string id = target.substr(kPrefix.size());
  return id.substr(0, id.find_first_of("/?"));
}

bool Ended(const std::string& status) {
  return status == "completed" || status == "failed" || status == "cancelled" || status == "canceled" ||
         status == "partial_failure" || status == "waiting_for_user";
}

void ReplaceAll(std::string* s, const std::string& from, const std::string& to) {
  for (size_t at = s->find(from); at != std::string::npos; at = s->find(from, at + to.size()))
    s->replace(at, from.size(), to);
}

}  // namespace

FaultProxy::FaultProxy(FaultProxyOptions options) : options_(std::move(options)) {}

FaultProxy::~FaultProxy() { Stop(); }

Result<std::unique_ptr<FaultProxy>> FaultProxy::Start(FaultProxyOptions options) {
  std::unique_ptr<FaultProxy> p(new FaultProxy(std::move(options)));
  const std::string& up = p->options_.upstream;
  static const std::string kPrefix = "http://127.0.0.1:";
  if (up.compare(0, kPrefix.size(), kPrefix) != 0)
    return Status::InvalidPlan("the upstream must be http://127.0.0.1:PORT, not " + up);
  p->upstream_host_ = "127.0.0.1";
  p->upstream_port_ = std::atoi(up.c_str() + kPrefix.size());
  if (p->upstream_port_ <= 0 || p->upstream_port_ > 65535) return Status::InvalidPlan("bad upstream port in " + up);
  if (::pipe2(p->wake_, O_CLOEXEC) != 0) return Status::IOError("pipe: " + std::string(std::strerror(errno)));
  Result<int> fd = proxy_io::Listen(p->options_.port);
  if (!fd.ok()) return fd.status();
  p->listen_fd_ = *fd;
  p->url_ = "http://127.0.0.1:" + std::to_string(proxy_io::LocalPort(*fd));
  p->acceptor_ = std::thread([raw = p.get()] { raw->AcceptLoop(); });
  return p;
}

void FaultProxy::Stop() {
  if (stopping_.exchange(true)) return;
  if (wake_[1] >= 0) (void)!::write(wake_[1], "x", 1);
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : clients_) ::shutdown(fd, SHUT_RDWR);
  }
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers.swap(workers_);
  }
  for (std::thread& t : workers) t.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  for (int fd : wake_)
    if (fd >= 0) ::close(fd);
  listen_fd_ = wake_[0] = wake_[1] = -1;
}

void FaultProxy::AcceptLoop() {
  while (!stopping_) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    int one = 1;
    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      ::close(client);
      return;
    }
    clients_.push_back(client);
    workers_.emplace_back([this, client] { Serve(client); });
  }
}

void FaultProxy::Serve(int client) {
  Conn conn(client, wake_[0], -1);
  Outcome outcome = Outcome::kKeep;
  while (outcome == Outcome::kKeep && !stopping_) {
    Request req;
    if (!conn.ReadHead(&req.head, /*response=*/false, /*timeout_ms=*/-1)) break;
    if (const std::string* cl = req.head.Find("content-length");
        cl && !conn.ReadExact(static_cast<size_t>(std::atoll(cl->c_str())), &req.body, 30000))
      break;
    const std::string* connection = req.head.Find("connection");
    req.keep_alive = req.head.version == "HTTP/1.1" && !(connection && proxy_io::EqualsNoCase(*connection, "close"));
    req.route = ClassifyProxyRoute(req.head.method, req.head.target);
    if (req.route != ProxyRoute::kAdmin) {
      std::lock_guard<std::mutex> lock(mu_);
      req.n = ++counters_[req.route];
      ++requests_[ProxyRouteName(req.route)];
    }
    req.decision = options_.script.Decide(options_.seed, req.route, req.n);
    outcome = Handle(client, req);
    if (outcome == Outcome::kKeep && !req.keep_alive) outcome = Outcome::kClose;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    clients_.erase(std::remove(clients_.begin(), clients_.end(), client), clients_.end());
  }
  if (outcome == Outcome::kReset) proxy_io::ResetOnClose(client);
  ::close(client);
}

FaultProxy::Outcome FaultProxy::Handle(int client, const Request& req) {
  const FaultDecision& d = req.decision;
  auto answer = [&](int status, std::string_view reason, const std::string& body,
                    const std::vector<std::pair<std::string, std::string>>& extra) {
    return proxy_io::SendAll(client, proxy_io::Answer(status, reason, "application/json", body, extra, req.keep_alive))
               ? Outcome::kKeep : Outcome::kClose;
  };
  if (req.route == ProxyRoute::kAdmin && req.head.target.rfind("/_proxy/stats", 0) == 0)
    return answer(200, "OK", StatsJson(), {});
  if (d.kind == FaultKind::kStatus) {
    Count("faults", req.route, d.kind);
    std::string body = "{\"status\":\"error\",\"message\":\"injected by the fault proxy\",\"errorCode\":" +
                       std::to_string(d.status);
    std::vector<std::pair<std::string, std::string>> extra;
    if (d.retry_after_digits > 0) {
      extra.emplace_back("Retry-After", std::string(static_cast<size_t>(d.retry_after_digits), '9'));
    } else if (d.retry_after >= 0) {
      body += ",\"retryAfter\":" + std::to_string(d.retry_after);
      extra.emplace_back("Retry-After", std::to_string(d.retry_after));
    }
    return answer(d.status, d.status == 503 ? "Service Unavailable" : "Injected", body + "}", extra);
  }
  if (d.kind == FaultKind::kDrop && !d.forward) {
    Count("faults", req.route, d.kind);
    return Outcome::kReset;
  }
  if (d.kind == FaultKind::kHold) {
    Count("faults", req.route, d.kind);
    bool alive = d.until_ended ? WaitUntilEnded(WorkflowIdOf(req.head.target), client)
                               : WaitFor(std::chrono::milliseconds(d.ms), client);
    if (!alive) return Outcome::kClose;
  }
  return Forward(client, req);
}

FaultProxy::Outcome FaultProxy::Forward(int client, const Request& req) {
  const FaultDecision& d = req.decision;
  const int limit = static_cast<int>(options_.hold_limit.count());
  auto bad_gateway = [&] {
    (void)proxy_io::SendAll(client, proxy_io::Answer(502, "Bad Gateway", "application/json",
                                                     "{\"status\":\"error\",\"message\":\"fault proxy: upstream failed\"}",
                                                     {}, false));
    return Outcome::kClose;
  };
  Result<int> fd = proxy_io::Connect(upstream_host_, upstream_port_);
  if (!fd.ok()) return bad_gateway();
  proxy_io::Fd up_fd(*fd);
  std::string out = req.head.method + " " + req.head.target + " HTTP/1.1\r\n";
  for (const auto& [k, v] : req.head.headers)
    if (!proxy_io::EqualsNoCase(k, "connection") && !proxy_io::EqualsNoCase(k, "keep-alive")) out += k + ": " + v + "\r\n";
  out += "Connection: close\r\n\r\n" + req.body;
  Conn up(up_fd.get(), wake_[0], client);
  proxy_io::Head rh;
  if (!proxy_io::SendAll(up_fd.get(), out) || !up.ReadHead(&rh, /*response=*/true, limit)) return bad_gateway();
  if (d.kind == FaultKind::kDrop) {  // the upstream has acted on the request; the client never learns how
    Count("faults", req.route, d.kind);
    proxy_io::ResetOnClose(up_fd.get());
    return Outcome::kReset;
  }
  const bool no_body = req.head.method == "HEAD" || rh.status / 100 == 1 || rh.status == 204 || rh.status == 304;
  const std::string* te = rh.Find("transfer-encoding");
  const std::string* cl = rh.Find("content-length");
  const bool chunked_in = !no_body && te && te->find("chunked") != std::string::npos;
  const bool sized = !no_body && !chunked_in && cl;
  const std::string* ct = rh.Find("content-type");
  const bool rewrite = sized && ct && ct->find("json") != std::string::npos && req.route != ProxyRoute::kStream &&
                       req.route != ProxyRoute::kEvents && req.route != ProxyRoute::kAdmin;
  std::string whole;
  const bool garble = d.kind == FaultKind::kGarble && rewrite;
  const bool buffered = sized && (rewrite || d.kind == FaultKind::kLate);
  if (buffered) {
    if (!up.ReadExact(static_cast<size_t>(std::atoll(cl->c_str())), &whole, limit)) return bad_gateway();
    if (rewrite) ReplaceAll(&whole, options_.upstream, url_);
    if (garble) {
      Count("faults", req.route, d.kind);
      whole = "<html><body>502 garbled by the fault proxy</body></html>";  // the upstream has acted
    }
  }
  if (d.kind == FaultKind::kLate || (d.kind == FaultKind::kStall && d.after < 0)) {
    Count("faults", req.route, d.kind);
    bool alive = d.until_ended ? WaitUntilEnded(WorkflowIdOf(req.head.target), client)
                               : WaitFor(std::chrono::milliseconds(d.ms), client);
    if (!alive) return Outcome::kClose;
  }
  const bool chunked_out = !no_body && !sized;  // chunked, or delimited by the close upstream
  std::string head = "HTTP/1.1 " + std::to_string(rh.status) + " " + rh.reason + "\r\n";
  for (const auto& [k, v] : rh.headers) {
    bool framing = proxy_io::EqualsNoCase(k, "transfer-encoding") || proxy_io::EqualsNoCase(k, "content-length");
    if (proxy_io::EqualsNoCase(k, "connection") || proxy_io::EqualsNoCase(k, "keep-alive") || (framing && !no_body))
      continue;
    head += k + ": " + v + "\r\n";
  }
  if (chunked_out) head += "Transfer-Encoding: chunked\r\n";
  if (sized) head += "Content-Length: " + (buffered ? std::to_string(whole.size()) : *cl) + "\r\n";
  head += req.keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  if (!proxy_io::SendAll(client, head)) return Outcome::kClose;
  if (no_body) return Outcome::kKeep;

  if (d.kind == FaultKind::kDrip) Count("faults", req.route, d.kind);
  FaultRelay relay(client, d, chunked_out,
                   {.count = [&](bool missed) { Count(missed ? "missed" : "faults", req.route, d.kind); },
                    .wait = [&](int64_t ms) { return WaitFor(std::chrono::milliseconds(ms), client); }});
  // The relay refused more (a cut, or the client went away): the upstream sees a reset too, as
  // from a client gone with bytes unread, so the sandbox never counts a body the client did not
  // get as delivered.
  auto ended = [&](bool relayed) {
    if (relayed) return Outcome::kKeep;
    proxy_io::ResetOnClose(up_fd.get());
    return relay.reset() ? Outcome::kReset : Outcome::kClose;
  };
  std::string piece;
  if (buffered) {
    if (!relay.Body(whole)) return ended(false);
  } else if (sized) {
    for (size_t left = static_cast<size_t>(std::atoll(cl->c_str())); left > 0; left -= piece.size()) {
      if (!up.ReadSome(std::min<size_t>(left, 65536), &piece, limit)) return Outcome::kClose;  // as upstream did
      if (!relay.Body(piece)) return ended(false);
    }
  } else if (chunked_in) {
    std::string line;
    while (true) {
      if (!up.ReadLine(&line, limit)) return Outcome::kClose;
      size_t size = std::strtoul(line.c_str(), nullptr, 16);
      if (size == 0) {
        while (up.ReadLine(&line, limit) && !line.empty()) {
        }
        break;
      }
      for (size_t left = size; left > 0; left -= piece.size()) {
        if (!up.ReadSome(left, &piece, limit)) return Outcome::kClose;
        if (!relay.Body(piece)) return ended(false);
      }
      if (!up.ReadLine(&line, limit)) return Outcome::kClose;
    }
  } else {
    while (up.ReadSome(65536, &piece, limit))
      if (!relay.Body(piece)) return ended(false);
  }
  return ended(relay.End());
}

bool FaultProxy::WaitFor(std::chrono::milliseconds ms, int client) const {
  return proxy_io::Sleep(ms.count(), wake_[0], client);
}

bool FaultProxy::WaitUntilEnded(const std::string& workflow_id, int client) const {
  if (workflow_id.empty()) return true;
  const auto deadline = std::chrono::steady_clock::now() + options_.hold_limit;
  while (!Ended(UpstreamStatus(workflow_id)) && std::chrono::steady_clock::now() < deadline)
    if (!WaitFor(std::chrono::milliseconds(20), client)) return false;
  return true;
}

std::string FaultProxy::UpstreamStatus(const std::string& workflow_id) const {
  Result<int> fd = proxy_io::Connect(upstream_host_, upstream_port_);
  if (!fd.ok()) return "";
  proxy_io::Fd up_fd(*fd);
  Conn up(up_fd.get(), wake_[0], -1);
  proxy_io::Head rh;
  std::string body;
  if (!proxy_io::SendAll(up_fd.get(), "GET /_sandbox/events/" + workflow_id + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                      "Connection: close\r\n\r\n") ||
      !up.ReadHead(&rh, true, 10000) || rh.status != 200 || !rh.Find("content-length") ||
      !up.ReadExact(static_cast<size_t>(std::atoll(rh.Find("content-length")->c_str())), &body, 10000))
    return "";
  Result<Value> v = ParseJson(body);
  const Value* status = v.ok() && v->is_object() ? v->Find("status") : nullptr;
  return status && status->is_string() ? status->as_string() : "";
}

void FaultProxy::Count(const char* table, ProxyRoute route, FaultKind kind) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& counts = std::strcmp(table, "missed") == 0 ? missed_ : faults_;
  ++counts[std::string(ProxyRouteName(route)) + ":" + FaultKindName(kind)];
}

std::string FaultProxy::StatsJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  auto table = [](const std::map<std::string, int64_t>& m) {
    Value v = Value::Object();
    for (const auto& [k, n] : m) v.Set(k, Value::Int(n));
    return v;
  };
  Value v = Value::Object();
  v.Set("requests", table(requests_));
  v.Set("faults", table(faults_));
  v.Set("missed", table(missed_));
  return v.ToJson();
}

int64_t FaultProxy::Fired(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = faults_.find(key);
  return it == faults_.end() ? 0 : it->second;
}

int64_t FaultProxy::Requests(ProxyRoute route) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = counters_.find(route);
  return it == counters_.end() ? 0 : it->second;
}

}  // namespace sflow
