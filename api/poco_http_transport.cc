// The Poco implementation of HttpTransport (http_transport.h).
//
// Why it looks the way it does (docs/architecture.md, library pitfalls: Poco):
//  * Sessions are poco_sessions.h's: loopback-only plain http, strict TLS with the resolved
//    address checked, certificate problems told from network ones, no console prompt ever.
//  * A session that threw is dropped, never pooled again (HTTPClientSession::reset()'s contract).
#include <map>
#include <memory>
#include <mutex>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>

#include "api/deadline_watch.h"
#include "api/http_transport.h"
#include "api/http_url.h"
#include "api/poco_sessions.h"

namespace sflow {

namespace {

using poco_net::ConnState;
using poco_net::MapFailure;
using poco_net::PlainSession;
using poco_net::Span;
using poco_net::TlsSession;

constexpr size_t kMaxStreamErrorBody = 64 * 1024;

// One session and the state its connect() writes; heap-allocated so the pointer stays put.
struct Conn {
  ConnState state;
  std::unique_ptr<Poco::Net::HTTPClientSession> session;
};

// As RetryPolicy::SafeToRepeat: only these may share a pooled connection (see Send()).
bool UnsafeToRepeat(const HttpRequest& r) {
  bool idempotent_method = r.method == "GET" || r.method == "HEAD" || r.method == "OPTIONS";
  const std::string* key = FindHeader(r.headers, "Idempotency-Key");
  return !idempotent_method && (key == nullptr || key->empty());
}

class PocoHttpTransport final : public HttpTransport {
 public:
  explicit PocoHttpTransport(HttpTransportOptions options) : options_(std::move(options)), tls_(options_.ca_file) {}

  Result<HttpResponse> Send(const HttpRequest& request) override {
    ApiWait waiting;
    Result<HttpUrl> url = poco_net::CheckRequest(request);
    if (!url.ok()) return url.status();
    const std::string key = url->scheme + "://" + url->Authority();
    bool pooled = !UnsafeToRepeat(request);
    std::unique_ptr<Conn> conn = pooled ? TakeIdle(key) : nullptr;
    if (!conn) {
      Result<std::unique_ptr<Conn>> made = NewConn(*url, options_.receive_timeout, nullptr);
      if (!made.ok()) return made.status();
      conn = std::move(*made);
    }
    // The whole exchange under one deadline (DeadlineWatch): at it, the socket is shut down.
    StreamCancel deadline;
    conn->state.cancel = &deadline;
    if (conn->session->connected()) deadline.Attach(conn->session->socket().impl()->sockfd());
    watch_.Watch(&deadline, DeadlineWatch::Clock::now() + options_.request_deadline);
    bool keep = false;
    Result<HttpResponse> r = Exchange(*conn, *url, request, nullptr, &keep);
    watch_.Unwatch(&deadline);
    deadline.Detach();
    conn->state.cancel = nullptr;
    if (deadline.cancelled())
      return Status::Error(Status::Code::kUnavailable,
                           "answer from " + url->Authority() + " took longer than " +
                               (options_.request_deadline.count() % 1000 == 0
                                    ? std::to_string(options_.request_deadline.count() / 1000) + " s"
                                    : std::to_string(options_.request_deadline.count()) + " ms") +
                               " (a stalled or very slow server)");
    if (r.ok() && keep && pooled) PutIdle(key, std::move(conn));
    return r;
  }

  Result<HttpResponse> Stream(const HttpRequest& request, const StreamHandlers& handlers, StreamCancel* cancel) override {
    ApiWait waiting;  // a download's bytes come at the server's pace
    Result<HttpUrl> url = poco_net::CheckRequest(request);
    if (!url.ok()) return url.status();
    if (cancel && cancel->cancelled()) return Status::Error(Status::Code::kCancelled, "stream cancelled");
    Result<std::unique_ptr<Conn>> made = NewConn(*url, options_.stream_idle_timeout, cancel);
    if (!made.ok()) return made.status();
    std::unique_ptr<Conn> conn = std::move(*made);
    conn->session->setKeepAlive(false);
    bool keep = false;
    Result<HttpResponse> r = Exchange(*conn, *url, request, &handlers, &keep);
    if (cancel) cancel->Detach();  // before the session (and its socket) goes away
    // Every byte was handed to on_chunk (and has returned): an orderly close from here on.
    try {
      conn->session->socket().setLinger(false, 0);
    } catch (const Poco::Exception&) {
    }
    return r;
  }

 private:
  // kSecurity only when the CA file, loaded at the first https connection, cannot be.
  Result<std::unique_ptr<Conn>> NewConn(const HttpUrl& url, std::chrono::milliseconds receive_timeout,
                                        StreamCancel* cancel) {
    auto conn = std::make_unique<Conn>();
    conn->state.cancel = cancel;
    if (url.secure()) {
      Result<Poco::Net::Context::Ptr> tls = tls_.Get();
      if (!tls.ok()) return tls.status();
      poco_net::SessionTimeouts t{options_.connect_timeout, options_.send_timeout, receive_timeout};
      conn->session = std::make_unique<TlsSession>(url, *tls, &conn->state, t);
    } else {
      conn->session = std::make_unique<PlainSession>(url, &conn->state);
    }
    conn->session->setTimeout(Span(options_.connect_timeout), Span(options_.send_timeout), Span(receive_timeout));
    conn->session->setKeepAlive(true);
    return conn;
  }

  std::unique_ptr<Conn> TakeIdle(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = idle_.find(key);
    if (it == idle_.end()) return nullptr;
    std::unique_ptr<Conn> c = std::move(it->second);
    idle_.erase(it);
    return c;
  }

  void PutIdle(const std::string& key, std::unique_ptr<Conn> conn) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.count(key)) idle_[key] = std::move(conn);  // one idle session per host
  }

  // One request/response on `conn`. With `stream`, a 2xx body is streamed to its handlers.
  Result<HttpResponse> Exchange(Conn& conn, const HttpUrl& url, const HttpRequest& request,
                                const StreamHandlers* stream, bool* keep) {
    try {
      Poco::Net::HTTPRequest rq(request.method, url.target, Poco::Net::HTTPMessage::HTTP_1_1);
      for (const auto& [k, v] : request.headers) rq.add(k, v);
      if (!rq.has("User-Agent")) rq.set("User-Agent", options_.user_agent);
      const bool has_body = SendsBody(request);
      if (has_body) rq.setContentLength(static_cast<std::streamsize>(request.body.size()));
      std::ostream& out = conn.session->sendRequest(rq);
      if (has_body) out.write(request.body.data(), static_cast<std::streamsize>(request.body.size()));
      Poco::Net::HTTPResponse rs;
      std::istream& in = conn.session->receiveResponse(rs);
      in.exceptions(std::ios::badbit);  // rethrow the socket's exception instead of a silent bad()
      HttpResponse out_resp;
      out_resp.status = static_cast<int>(rs.getStatus());
      out_resp.reason = rs.getReason();
      for (const auto& [k, v] : rs) out_resp.headers.emplace_back(k, v);
      bool stream_body = stream && out_resp.status >= 200 && out_resp.status < 300;
      // Until the body has been handed over, a process that dies resets the connection instead of
      // closing it: the server can tell a client that consumed the stream (an orderly close) from
      // one killed with bytes received but never handled (the sandbox counts downloads so).
      if (stream_body) conn.session->socket().setLinger(true, 0);
      if (stream_body && stream->on_head && !stream->on_head(out_resp)) return out_resp;
      Status body = stream_body ? StreamBody(in, stream->on_chunk, conn.state.cancel)
                                : ReadBody(in, stream ? kMaxStreamErrorBody : options_.max_body_bytes, url, &out_resp.body);
      if (conn.state.cancel && conn.state.cancel->cancelled())
        return Status::Error(Status::Code::kCancelled, "stream from " + url.Authority() + " cancelled");
      if (!body.ok()) return body;
      if (!stream_body && rs.hasContentLength() && rs.getContentLength64() >= 0 &&
          static_cast<size_t>(rs.getContentLength64()) != out_resp.body.size() && request.method != "HEAD")
        return Status::Error(Status::Code::kUnavailable, "answer from " + url.Authority() + " was cut short");
      *keep = rs.getKeepAlive() && !stream;
      return out_resp;
    } catch (const Poco::Exception& e) {
      return MapFailure(e, conn.state, url);
    } catch (const std::exception& e) {
      return Status::Internal(std::string("HTTP exchange with ") + url.Authority() + " failed: " + e.what());
    }
  }

  Status ReadBody(std::istream& in, size_t max, const HttpUrl& url, std::string* body) {
    char buf[16384];
    while (in) {
      in.read(buf, sizeof buf);
      body->append(buf, static_cast<size_t>(in.gcount()));
      if (body->size() > max)
        return Status::Internal("answer from " + url.Authority() + " is larger than " + std::to_string(max) + " bytes");
    }
    return Status::OK();
  }

  // Hands the body over as it arrives: read(1) blocks for the next byte, then readsome() takes
  // whatever the stream buffer already holds, so a small event is not held back to fill `buf`.
  Status StreamBody(std::istream& in, const std::function<bool(std::string_view)>& on_chunk, StreamCancel* cancel) {
    char buf[16384];
    for (;;) {
      if (cancel && cancel->cancelled()) return Status::OK();
      in.read(buf, 1);
      if (in.gcount() == 0) return Status::OK();
      std::streamsize n = 1 + in.readsome(buf + 1, sizeof buf - 1);
      if (on_chunk && !on_chunk(std::string_view(buf, static_cast<size_t>(n)))) return Status::OK();
    }
  }

  HttpTransportOptions options_;
  poco_net::LazyTlsContext tls_;
  DeadlineWatch watch_;  // Send()'s deadlines
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Conn>> idle_;
};

}  // namespace

Result<std::unique_ptr<HttpTransport>> NewHttpTransport(const HttpTransportOptions& options) {
  if (Status ca = poco_net::CheckCaFile(options.ca_file); !ca.ok()) return ca;
  return std::unique_ptr<HttpTransport>(std::make_unique<PocoHttpTransport>(options));
}

}  // namespace sflow
