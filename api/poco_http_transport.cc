// The Poco implementation of HttpTransport (http_transport.h).
//
// Why it looks the way it does (docs/architecture.md, library pitfalls: Poco):
//  * Each session overrides connect(): plain sessions check that the resolved address is loopback
//    (so a name that resolves elsewhere is refused at connect time too), TLS sessions refuse an
//    internal resolved address (engine/url.h) unless the name is the sandbox's exact loopback
//    name, then connect TCP themselves so that the handshake runs under the receive timeout, then
//    attach TLS with the host name to verify. The phase reached tells a certificate problem (kSecurity) from a
//    network one (kUnavailable).
//  * SSLManager's process-wide handler is replaced once by one that rejects and records the
//    reason, so no code path can reach ConsoleCertificateHandler, even under Util::Application.
//  * A session that threw is dropped, never pooled again (HTTPClientSession::reset()'s contract).
#include <sys/stat.h>

#include <map>
#include <memory>
#include <mutex>

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/InvalidCertificateHandler.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/VerificationErrorArgs.h>
#include <Poco/Timespan.h>

#include "api/deadline_watch.h"
#include "api/http_transport.h"
#include "api/http_url.h"

namespace sflow {

namespace {

constexpr char kSystemCaBundle[] = "/etc/ssl/certs/ca-certificates.crt";
constexpr size_t kMaxStreamErrorBody = 64 * 1024;

enum class Phase { kIdle, kConnect, kHandshake, kExchange };

// What a session's connect() leaves behind for the error mapping.
struct ConnState {
  Phase phase = Phase::kIdle;
  bool refused_address = false;  // plain http resolved to a non-loopback address
  std::string internal_address;  // https to a public name that resolved to this internal address
  std::string verify_error;      // the first certificate problem OpenSSL reported
  StreamCancel* cancel = nullptr;
};

// The handshake in progress on this thread, for the certificate handler (OpenSSL calls it
// synchronously from inside the handshake).
thread_local ConnState* t_handshake = nullptr;

class RejectingCertificateHandler : public Poco::Net::InvalidCertificateHandler {
 public:
  RejectingCertificateHandler() : InvalidCertificateHandler(/*handleErrorsOnServerSide=*/false) {}
  void onInvalidCertificate(const void*, Poco::Net::VerificationErrorArgs& args) override {
    args.setIgnoreError(false);
    if (t_handshake && t_handshake->verify_error.empty())
      t_handshake->verify_error = args.errorMessage() + " (certificate \"" + args.certificate().commonName() + "\")";
  }
};

Poco::Timespan Span(std::chrono::milliseconds ms) { return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(ms.count()) * 1000); }

bool Readable(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// VERIFY_STRICT (peer certificate required and checked, and no loopback exemption from the
// host-name check), extended host-name verification, TLS >= 1.2, only the given CA file.
Poco::Net::Context::Ptr MakeStrictContext(const std::string& ca_file) {
  Poco::Net::Context::Params p;
  p.caLocation = ca_file;
  p.verificationMode = Poco::Net::Context::VERIFY_STRICT;
  p.verificationDepth = 9;
  p.loadDefaultCAs = false;
  p.cipherList = "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES";
  Poco::Net::Context::Ptr ctx = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, p);
  ctx->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
  ctx->enableExtendedCertificateVerification(true);
  return ctx;
}

}  // namespace

void InstallStrictTlsDefaults() {
  static std::once_flag once;
  std::call_once(once, [] {
    Poco::Net::initializeSSL();
    Poco::Net::Context::Ptr fallback;  // for code that asks SSLManager for a default context
    try {
      if (Readable(kSystemCaBundle)) fallback = MakeStrictContext(kSystemCaBundle);
    } catch (const Poco::Exception&) {
    }
    Poco::Net::SSLManager::instance().initializeClient(Poco::Net::SSLManager::PrivateKeyPassphraseHandlerPtr(),
                                                       new RejectingCertificateHandler, fallback);
  });
}

namespace {

class PlainSession : public Poco::Net::HTTPClientSession {
 public:
  PlainSession(const HttpUrl& url, ConnState* state)
      : HTTPClientSession(url.host, static_cast<Poco::UInt16>(url.port)), state_(state) {}

 protected:
  void connect(const Poco::Net::SocketAddress& address) override {
    state_->phase = Phase::kConnect;
    if (!address.host().isLoopback()) {
      state_->refused_address = true;
      throw Poco::Net::NetException("refused");
    }
    HTTPClientSession::connect(address);
    socket().setNoDelay(true);
    if (state_->cancel) state_->cancel->Attach(socket().impl()->sockfd());
    state_->phase = Phase::kExchange;
  }

 private:
  ConnState* state_;
};

class TlsSession : public Poco::Net::HTTPSClientSession {
 public:
  TlsSession(const HttpUrl& url, Poco::Net::Context::Ptr ctx, ConnState* state, const HttpTransportOptions& o,
             std::chrono::milliseconds receive_timeout)
      : HTTPSClientSession(url.host, static_cast<Poco::UInt16>(url.port), ctx),
        host_(url.host),
        ctx_(ctx),
        state_(state),
        connect_timeout_(Span(o.connect_timeout)),
        send_timeout_(Span(o.send_timeout)),
        receive_timeout_(Span(receive_timeout)) {}

 protected:
  void connect(const Poco::Net::SocketAddress& address) override {
    state_->phase = Phase::kConnect;
    // A name checked as public may still resolve to this machine or the local network (DNS
    // rebinding, a poisoned resolver): the address itself is checked before connecting. Only the
    // local sandbox's exact names (http_url.h) may reach loopback.
    if (!ResolvedAddressRefusal(host_, address.host().toString()).empty()) {
      state_->internal_address = address.host().toString();
      throw Poco::Net::NetException("refused");
    }
    Poco::Net::StreamSocket tcp;
    tcp.connect(address, connect_timeout_);
    tcp.setNoDelay(true);
    tcp.setReceiveTimeout(receive_timeout_);  // bounds a stalled handshake too
    tcp.setSendTimeout(send_timeout_);
    if (state_->cancel) state_->cancel->Attach(tcp.impl()->sockfd());
    state_->phase = Phase::kHandshake;
    state_->verify_error.clear();
    t_handshake = state_;
    struct Clear {
      ~Clear() { t_handshake = nullptr; }
    } clear;
    // attach() runs the handshake and then checks the certificate against host_ (VERIFY_STRICT:
    // no exemption for names that resolve to loopback).
    Poco::Net::SecureStreamSocket tls = Poco::Net::SecureStreamSocket::attach(tcp, host_, ctx_);
    attachSocket(tls);
    state_->phase = Phase::kExchange;
  }

 private:
  std::string host_;
  Poco::Net::Context::Ptr ctx_;
  ConnState* state_;
  Poco::Timespan connect_timeout_, send_timeout_, receive_timeout_;
};

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

Status MapFailure(const Poco::Exception& e, const ConnState& st, const HttpUrl& url) {
  const std::string where = url.Authority();
  if (st.cancel && st.cancel->cancelled()) return Status::Error(Status::Code::kCancelled, "stream from " + where + " cancelled");
  if (st.refused_address)
    return Status::Security("refusing plain http:// to " + url.host + ": it does not resolve to a loopback address");
  if (!st.internal_address.empty())
    return Status::Security("refusing " + url.host + ": it resolves to the internal address " + st.internal_address);
  if (!st.verify_error.empty()) return Status::Security("TLS: cannot verify " + where + ": " + st.verify_error);
  if (st.phase == Phase::kHandshake) {
    if (dynamic_cast<const Poco::Net::CertificateValidationException*>(&e) ||
        dynamic_cast<const Poco::Net::InvalidCertificateException*>(&e))
      return Status::Security("TLS: the certificate of " + where + " is not valid for host name " + url.host);
    if (dynamic_cast<const Poco::Net::SSLException*>(&e) &&
        !dynamic_cast<const Poco::Net::SSLConnectionUnexpectedlyClosedException*>(&e))
      return Status::Security("TLS: handshake with " + where + " failed: " + e.message());
  }
  auto unavailable = [](std::string m) { return Status::Error(Status::Code::kUnavailable, std::move(m)); };
  if (dynamic_cast<const Poco::TimeoutException*>(&e))
    return unavailable(std::string(st.phase == Phase::kExchange ? "timed out waiting for " : "timed out connecting to ") + where);
  if (dynamic_cast<const Poco::Net::DNSException*>(&e)) return unavailable("cannot resolve host " + url.host);
  if (dynamic_cast<const Poco::Net::ConnectionRefusedException*>(&e)) return unavailable("connection refused by " + where);
  if (dynamic_cast<const Poco::Net::NoMessageException*>(&e)) return unavailable("no answer from " + where + " (connection closed)");
  return unavailable(std::string(st.phase == Phase::kExchange ? "connection to " : "cannot connect to ") + where +
                     " failed: " + e.displayText());
}

// Header names and values must not be able to start a new header or request line.
bool CleanHeader(const std::string& name, const std::string& value) {
  if (name.empty()) return false;
  for (char c : name)
    if (c <= 0x20 || c == ':' || c == 0x7f) return false;
  for (char c : value)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

class PocoHttpTransport final : public HttpTransport {
 public:
  PocoHttpTransport(HttpTransportOptions options, Poco::Net::Context::Ptr tls) : options_(std::move(options)), tls_(tls) {}

  Result<HttpResponse> Send(const HttpRequest& request) override {
    Result<HttpUrl> url = CheckUrl(request);
    if (!url.ok()) return url.status();
    const std::string key = url->scheme + "://" + url->Authority();
    bool pooled = !UnsafeToRepeat(request);
    std::unique_ptr<Conn> conn = pooled ? TakeIdle(key) : nullptr;
    if (!conn) conn = NewConn(*url, options_.receive_timeout, nullptr);
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
    Result<HttpUrl> url = CheckUrl(request);
    if (!url.ok()) return url.status();
    if (cancel && cancel->cancelled()) return Status::Error(Status::Code::kCancelled, "stream cancelled");
    std::unique_ptr<Conn> conn = NewConn(*url, options_.stream_idle_timeout, cancel);
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
  Result<HttpUrl> CheckUrl(const HttpRequest& request) {
    Result<HttpUrl> url = ParseHttpUrl(request.url);
    if (!url.ok()) return url.status();
    if (!url->secure() && !IsLoopbackHostName(url->host))
      return Status::Security("refusing plain http:// to " + url->host + ": only https is allowed beyond loopback");
    for (const auto& [k, v] : request.headers)
      if (!CleanHeader(k, v)) return Status::Internal("request header \"" + k + "\" has a forbidden character");
    return url;
  }

  std::unique_ptr<Conn> NewConn(const HttpUrl& url, std::chrono::milliseconds receive_timeout, StreamCancel* cancel) {
    auto conn = std::make_unique<Conn>();
    conn->state.cancel = cancel;
    if (url.secure()) {
      conn->session = std::make_unique<TlsSession>(url, tls_, &conn->state, options_, receive_timeout);
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
      bool has_body = !request.body.empty() || request.method == "POST" || request.method == "PUT" || request.method == "PATCH";
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
  Poco::Net::Context::Ptr tls_;
  DeadlineWatch watch_;  // Send()'s deadlines
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Conn>> idle_;
};

}  // namespace

Result<std::unique_ptr<HttpTransport>> NewHttpTransport(const HttpTransportOptions& options) {
  InstallStrictTlsDefaults();
  const std::string ca = options.ca_file.empty() ? kSystemCaBundle : options.ca_file;
  if (!Readable(ca)) return Status::Security("cannot read the CA file " + ca);
  try {
    Poco::Net::Context::Ptr ctx = MakeStrictContext(ca);
    return std::unique_ptr<HttpTransport>(std::make_unique<PocoHttpTransport>(options, ctx));
  } catch (const Poco::Exception& e) {
    return Status::Security("cannot load the CA file " + ca + ": " + e.message());
  }
}

}  // namespace sflow
