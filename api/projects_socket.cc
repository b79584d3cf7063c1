// The Poco implementation of ProjectsConnection (projects_socket.h).
//
// Poco's WebSocket is not safe for a send and a receive at once (its TLS socket is one OpenSSL
// object), so one mutex covers every frame read or written. The reader waits for data with
// poll() WITHOUT the mutex, and takes it only to read a frame that has begun to arrive, so a
// send waits at most for one frame in flight (bounded by frame_timeout).
#include "api/projects_socket.h"

#include <poll.h>
#include <sys/socket.h>

#include <mutex>

#include <Poco/Buffer.h>
#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/WebSocket.h>

#include "api/api_envelope.h"
#include "api/deadline_watch.h"
#include "api/http_url.h"
#include "api/poco_sessions.h"
#include "api/projects_frames.h"

namespace sflow {

namespace {

using Poco::Net::WebSocket;
using Clock = std::chrono::steady_clock;

constexpr char kClosePrefix[] = "ws_close:";
constexpr int kFin = WebSocket::FRAME_FLAG_FIN;

// application/x-www-form-urlencoded, as URLSearchParams writes query values.
std::string FormEncode(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '*' || c == '-' || c == '.' || c == '_') {
      out.push_back(ch);
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

bool VisibleAscii(std::string_view s) {
  for (char c : s)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

// The ws(s):// URL as http(s)://, parsed with the transport's address policy.
Result<HttpUrl> ParseSocketUrl(const std::string& socket_url) {
  std::string u = socket_url;
  if (u.rfind("wss://", 0) == 0) u = "https://" + u.substr(6);
  else if (u.rfind("ws://", 0) == 0) u = "http://" + u.substr(5);
  else if (u.rfind("https://", 0) != 0 && u.rfind("http://", 0) != 0)
    return Status::InvalidPlan("the projects socket URL must start with wss:// (or ws:// for the local sandbox)");
  if (u.find_first_of("?#") != std::string::npos)
    return Status::InvalidPlan("the projects socket URL must not have a query or fragment");
  return ParseHttpUrl(u);
}

std::string Redacted(std::string text, const std::string& key) {
  if (!key.empty())
    for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + 3)) text.replace(at, key.size(), "***");
  return text;
}

class PocoProjectsConnection final : public ProjectsConnection {
 public:
  PocoProjectsConnection(HttpUrl url, std::string api_key, std::unique_ptr<Poco::Net::HTTPClientSession> session,
                         std::unique_ptr<WebSocket> ws)
      : url_(std::move(url)), key_(std::move(api_key)), session_(std::move(session)), ws_(std::move(ws)),
        fd_(ws_->impl()->sockfd()) {}

  ~PocoProjectsConnection() override { Close(); }

  Status SendText(const std::string& text) override { return SendFrame(text, WebSocket::FRAME_TEXT); }
  Status Ping() override { return SendFrame("", kFin | WebSocket::FRAME_OP_PING); }

  Result<std::optional<std::string>> ReceiveText(std::chrono::milliseconds wait) override {
    const Clock::time_point deadline = Clock::now() + wait;
    for (;;) {
      bool ready = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!closed_.ok()) return closed_;
        try {
          ready = ws_->available() > 0;
        } catch (const Poco::Exception& e) {
          return Broken(e);
        }
      }
      if (!ready) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return std::optional<std::string>();
        pollfd p{fd_, POLLIN, 0};
        int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
        if (n <= 0) continue;  // timeout or EINTR: check the deadline again
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (!closed_.ok()) return closed_;
      Result<std::optional<std::string>> got = ReadOneFrame();
      if (!got.ok() || got->has_value()) return got;
    }
  }

  void Close() override {
    bool send_close = false;
    {
      std::lock_guard<std::mutex> lock(state_mu_);
      if (shut_) return;
      shut_ = true;
    }
    // The reader may hold mu_ in a blocking read: never wait for it here.
    if (mu_.try_lock()) {
      std::lock_guard<std::mutex> lock(mu_, std::adopt_lock);
      send_close = closed_.ok();
      if (send_close) {
        try {
          ws_->setSendTimeout(poco_net::Span(std::chrono::milliseconds(1000)));
          ws_->shutdown(WebSocket::WS_NORMAL_CLOSE, "Client disconnected");
        } catch (const Poco::Exception&) {
        }
        closed_ = ClosedStatus(1000, "closed by sogni-flow");
      }
    }
    ::shutdown(fd_, SHUT_RDWR);  // wakes a reader blocked in poll() or a read
  }

 private:
  Status SendFrame(const std::string& payload, int flags) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closed_.ok()) return closed_;
    try {
      int n = ws_->sendFrame(payload.data(), static_cast<int>(payload.size()), flags);
      if (n < 0) return Broken(Poco::IOException("short write"));
      return Status::OK();
    } catch (const Poco::Exception& e) {
      return Broken(e);
    }
  }

  // One frame, under mu_: a complete text message, nullopt for a control frame or part of a
  // fragmented message, or the error that ends the connection.
  Result<std::optional<std::string>> ReadOneFrame() {
    try {
      Poco::Buffer<char> buf(0);
      int flags = 0;
      int n = ws_->receiveFrame(buf, flags);
      if (n == 0 && flags == 0) return End(1006, "connection lost without a close frame");
      std::string payload(buf.begin(), static_cast<size_t>(n));
      switch (flags & WebSocket::FRAME_OP_BITMASK) {
        case WebSocket::FRAME_OP_CLOSE: {
          int code = payload.size() >= 2 ? (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]) : 1005;
          try {
            ws_->sendFrame(payload.data(), static_cast<int>(std::min<size_t>(payload.size(), 2)), kFin | WebSocket::FRAME_OP_CLOSE);
          } catch (const Poco::Exception&) {
          }
          return End(code, payload.size() > 2 ? payload.substr(2) : "");
        }
        case WebSocket::FRAME_OP_PING:
          ws_->sendFrame(payload.data(), n, kFin | WebSocket::FRAME_OP_PONG);
          return std::optional<std::string>();
        case WebSocket::FRAME_OP_TEXT:
        case WebSocket::FRAME_OP_CONT:
        case WebSocket::FRAME_OP_BINARY: {
          int op = flags & WebSocket::FRAME_OP_BITMASK;
          if (op != WebSocket::FRAME_OP_CONT) {
            partial_.clear();
            partial_text_ = op == WebSocket::FRAME_OP_TEXT;
          }
          if (partial_.size() + payload.size() > kMaxProjectFrameBytes)
            return Refuse(1009, "the server sent a message larger than " + std::to_string(kMaxProjectFrameBytes) + " bytes");
          partial_ += payload;
          if (!(flags & kFin)) return std::optional<std::string>();
          std::string whole = std::move(partial_);
          partial_.clear();
          if (!partial_text_) return std::optional<std::string>();  // binary: not part of the protocol
          return std::optional<std::string>(std::move(whole));
        }
        default:  // pongs
          return std::optional<std::string>();
      }
    } catch (const Poco::Net::WebSocketException& e) {
      if (e.code() == WebSocket::WS_ERR_PAYLOAD_TOO_BIG)
        return Refuse(1009, "the server sent a frame larger than " + std::to_string(kMaxProjectFrameBytes) + " bytes");
      return Broken(e);
    } catch (const Poco::Exception& e) {
      return Broken(e);
    }
  }

  Status End(int code, const std::string& reason) {
    if (ShutByUs()) code = 1000;  // Close() on another thread cut the connection
    closed_ = ClosedStatus(code, TerminalText(CollapseWhitespace(Redacted(reason, key_), 200)));
    return closed_;
  }

  bool ShutByUs() {
    std::lock_guard<std::mutex> lock(state_mu_);
    return shut_;
  }

  // Closes with `code` because the server broke a rule.
  Status Refuse(int code, const std::string& why) {
    try {
      ws_->shutdown(static_cast<Poco::UInt16>(code), "");
    } catch (const Poco::Exception&) {
    }
    closed_ = Status::Error(Status::Code::kUnavailable, "projects socket " + url_.Authority() + ": " + why)
                  .WithHttp(0, kClosePrefix + std::to_string(code));
    return closed_;
  }

  Status Broken(const Poco::Exception& e) {
    if (ShutByUs()) {
      closed_ = ClosedStatus(1000, "closed by sogni-flow");
      return closed_;
    }
    std::string why = dynamic_cast<const Poco::TimeoutException*>(&e) ? "a frame stalled mid-way" : e.displayText();
    closed_ = Status::Error(Status::Code::kUnavailable,
                            "projects socket " + url_.Authority() + ": connection lost (" + Redacted(why, key_) + ")")
                  .WithHttp(0, std::string(kClosePrefix) + "1006");
    return closed_;
  }

  HttpUrl url_;
  std::string key_;
  std::unique_ptr<Poco::Net::HTTPClientSession> session_;  // keeps what the socket came from
  std::unique_ptr<WebSocket> ws_;
  const int fd_;
  std::mutex mu_;          // every frame in or out, and closed_
  Status closed_;          // guarded by mu_: not OK once the connection ended
  std::string partial_;    // guarded by mu_: a fragmented message so far
  bool partial_text_ = false;
  std::mutex state_mu_;
  bool shut_ = false;      // guarded by state_mu_: Close() was called
};

}  // namespace

Status ClosedStatus(int code, const std::string& reason) {
  Status::Code c = Status::Code::kUnavailable;
  std::string what;
  switch (code) {
    case 4021: c = Status::Code::kPermission; what = "authentication refused: check the API key"; break;
    case 4010: c = Status::Code::kPermission; what = "this appId is blocked"; break;
    case 4015: c = Status::Code::kConflict; what = "another connection with the same appId took over"; break;
    case 1000: what = "closed"; break;
    case 1001: what = "the server is going away (restarting)"; break;
    case 1006: what = "connection lost"; break;
    default: what = code >= 4000 && code < 5000 ? "refused by the server" : "closed by the server"; break;
  }
  std::string m = "projects socket closed with code " + std::to_string(code) + " (" + what + ")";
  if (!reason.empty()) m += ": " + reason;
  return Status::Error(c, m).WithHttp(0, kClosePrefix + std::to_string(code));
}

int CloseCodeOf(const Status& status) {
  const std::string& r = status.reason();
  if (r.rfind(kClosePrefix, 0) != 0) return 0;
  try {
    return std::stoi(r.substr(sizeof(kClosePrefix) - 1));
  } catch (const std::exception&) {
    return 0;
  }
}

Result<std::string> ProjectsSocketUrl(const ProjectsSocketOptions& o) {
  Result<HttpUrl> url = ParseSocketUrl(o.socket_url);
  if (!url.ok()) return url.status();
  std::string target = url->target.empty() ? "/" : url->target;
  target += "?appId=" + FormEncode(o.app_id) + "&clientName=" + FormEncode(o.client_name) +
            "&clientType=artist&forceWorkerId=" + (o.network == "fast" ? "fast" : "");
  return std::string(url->secure() ? "wss://" : "ws://") + url->Authority() + target;
}

Result<std::unique_ptr<ProjectsConnection>> OpenProjectsConnection(const ProjectsSocketOptions& o) {
  if (o.app_id.empty() || o.app_id.size() > 128 || !VisibleAscii(o.app_id))
    return Status::InvalidPlan("the projects socket needs an appId of 1 to 128 visible ASCII characters");
  if (o.api_key.empty() || !VisibleAscii(o.api_key))
    return Status::Error(Status::Code::kPermission, "the projects socket needs an API key of visible ASCII characters");
  Result<HttpUrl> url = ParseSocketUrl(o.socket_url);
  if (!url.ok()) return url.status();
  if (Status plain = poco_net::CheckPlainAllowed(*url); !plain.ok()) return plain;
  Result<std::string> full = ProjectsSocketUrl(o);
  if (!full.ok()) return full.status();
  const std::string target = full->substr(full->find('/', full->find("//") + 2));

  poco_net::ConnState state;
  StreamCancel deadline;
  state.cancel = &deadline;
  std::unique_ptr<Poco::Net::HTTPClientSession> session;
  if (url->secure()) {
    Result<Poco::Net::Context::Ptr> ctx = poco_net::StrictTlsContext(o.ca_file);
    if (!ctx.ok()) return ctx.status();
    session = std::make_unique<poco_net::TlsSession>(*url, *ctx, &state,
                                                     poco_net::SessionTimeouts{o.connect_timeout, o.send_timeout, o.frame_timeout});
  } else {
    session = std::make_unique<poco_net::PlainSession>(*url, &state);
  }
  session->setTimeout(poco_net::Span(o.connect_timeout), poco_net::Span(o.send_timeout), poco_net::Span(o.frame_timeout));

  DeadlineWatch watch;
  watch.Watch(&deadline, DeadlineWatch::Clock::now() + o.handshake_deadline);
  Poco::Net::HTTPRequest rq(Poco::Net::HTTPRequest::HTTP_GET, target, Poco::Net::HTTPMessage::HTTP_1_1);
  rq.set("api-key", o.api_key);
  rq.set("User-Agent", o.client_name);
  Poco::Net::HTTPResponse rs;
  std::unique_ptr<WebSocket> ws;
  Status failed;
  try {
    ws = std::make_unique<WebSocket>(*session, rq, rs);
  } catch (const Poco::Net::WebSocketException& e) {
    int http = static_cast<int>(rs.getStatus());
    Status::Code c = http == 401 || http == 403 ? Status::Code::kPermission : Status::Code::kUnavailable;
    failed = Status::Error(c, "projects socket " + url->Authority() + ": the upgrade was refused (HTTP " +
                                  std::to_string(http) + " " + Redacted(rs.getReason(), o.api_key) + ")")
                 .WithHttp(http);
  } catch (const Poco::Exception& e) {
    failed = poco_net::MapFailure(e, state, *url);
  }
  watch.Unwatch(&deadline);
  deadline.Detach();
  if (deadline.cancelled()) {
    return Status::Error(Status::Code::kUnavailable, "projects socket " + url->Authority() + ": opening took longer than " +
                                                         std::to_string(o.handshake_deadline.count()) + " ms");
  }
  if (!failed.ok()) return Status::Error(failed.code(), Redacted(failed.message(), o.api_key)).WithHttp(failed.http_status());
  ws->setMaxPayloadSize(static_cast<int>(kMaxProjectFrameBytes));
  ws->setReceiveTimeout(poco_net::Span(o.frame_timeout));
  ws->setSendTimeout(poco_net::Span(o.send_timeout));
  return std::unique_ptr<ProjectsConnection>(
      std::make_unique<PocoProjectsConnection>(*url, o.api_key, std::move(session), std::move(ws)));
}

}  // namespace sflow
