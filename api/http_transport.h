// HttpTransport: the one seam between sogni-flow and the network. Everything above it (the REST
// client, the event follower, downloads) speaks HttpRequest/HttpResponse and Status; everything
// below it is Poco and OpenSSL, which never cross this header.
//
// The implementation (NewHttpTransport) is strict by construction:
//  * https:// uses an explicit TLS context made per transport: peer verification (VERIFY_STRICT),
//    host-name verification, TLS 1.2 or newer, the system CA bundle or options.ca_file, and a
//    certificate handler that rejects. No console prompt ever, inside Poco::Util::Application too.
//  * http:// is allowed only to the loopback hosts of IsLoopbackHostName() (the local sandbox),
//    and only when the name resolves to loopback; anything else is kSecurity before any
//    connection is made.
//  * Redirects are never followed: a 3xx is returned as it is.
//  * No retries happen here (see retry_policy.h): one Send is at most one request on the wire.
//
// Failure codes (messages name the host and the reason, never a header value or a query string):
//   kSecurity     refused URL, TLS handshake or certificate failure (untrusted issuer, wrong host
//                 name, protocol), unreadable CA file. Never retried.
//   kUnavailable  DNS, connect, send or receive failure or timeout. The request may or may not
//                 have reached the server.
//   kCancelled    Stream() was cancelled.
//   kInternal     the answer broke the rules (body over options.max_body_bytes, bad framing).
#ifndef SFLOW_API_HTTP_TRANSPORT_H_
#define SFLOW_API_HTTP_TRANSPORT_H_

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/status.h"

namespace sflow {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive lookup of the first header called `name`; nullptr when absent.
const std::string* FindHeader(const HttpHeaders& headers, std::string_view name);

// Whether a request header may be sent: a name of visible characters without ':', a value
// without CR, LF or NUL (neither may start a new header or request line).
bool SendableHeader(const std::string& name, const std::string& value);

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // absolute http(s) URL (http_url.h)
  HttpHeaders headers;
  std::string body;  // sent with Content-Length when SendsBody()
};

// Whether `request` is sent with a body and its Content-Length: when the body is not empty, and
// always for POST, PUT and PATCH (an empty body then says Content-Length: 0).
inline bool SendsBody(const HttpRequest& request) {
  return !request.body.empty() || request.method == "POST" || request.method == "PUT" || request.method == "PATCH";
}

struct HttpResponse {
  int status = 0;
  std::string reason;
  HttpHeaders headers;
  std::string body;

  // The first header called `name` (any case), or "" when absent.
  std::string Header(std::string_view name) const;
};

struct HttpTransportOptions {
  // PEM file of trusted CAs. Empty: the system bundle /etc/ssl/certs/ca-certificates.crt.
  std::string ca_file;
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds send_timeout{30000};
  std::chrono::milliseconds receive_timeout{30000};
  // Stream(): the longest silence (not even a keepalive comment) before the stream fails
  // kUnavailable. Keep it above twice the server's heartbeat interval.
  std::chrono::milliseconds stream_idle_timeout{45000};
  // Send(): the longest a whole exchange may take, head and body: a server that drips an answer
  // a byte at a time never trips receive_timeout, but trips this (kUnavailable).
  std::chrono::milliseconds request_deadline{90000};
  // Send(): bodies above this fail kInternal (Stream() bodies are not buffered).
  size_t max_body_bytes = size_t{64} << 20;
  std::string user_agent = "sogni-flow";
};

// Cancels a Stream() from any thread: it sets a flag and shuts the stream's socket down, so a
// blocked read returns at once. Once cancelled it stays cancelled; one StreamCancel may be shared
// by the successive connections of one event follower.
class StreamCancel {
 public:
  void Cancel();
  bool cancelled() const;

  // For transports: the socket of the stream in progress (-1 for none). Attaching to a cancelled
  // StreamCancel shuts the socket down at once. Detach before the socket is closed.
  void Attach(int fd);
  void Detach();
  // For transports without a socket of their own to shut down (api/stream_loop.h): `hook` is
  // called once on Cancel(), on the cancelling thread, outside the lock; at once when already
  // cancelled. ClearHook before what the hook refers to goes away.
  void SetHook(std::function<void()> hook);
  void ClearHook();

 private:
  mutable std::mutex mu_;
  bool cancelled_ = false;
  int fd_ = -1;
  std::function<void()> hook_;
};

// What Stream() calls while a 2xx answer arrives. Either may be empty.
struct StreamHandlers {
  // Once, with the status and headers, before any body byte. Return false to end there without
  // reading the body (an event stream whose Content-Type is not text/event-stream, say).
  std::function<bool(const HttpResponse& head)> on_head;
  // Each piece of the body as it arrives. Return false to stop reading.
  std::function<bool(std::string_view bytes)> on_chunk;
};

// What an asynchronous stream (HttpTransport::NewStream) calls, one at a time, on a thread of the
// transport's. on_done comes last, exactly once, with what Stream() would have returned.
struct AsyncStreamHandlers {
  std::function<bool(const HttpResponse& head)> on_head;  // false: end there, body unread
  std::function<bool(std::string_view bytes)> on_chunk;   // false: stop reading (OK)
  std::function<void(Result<HttpResponse>)> on_done;
};

// A stream that does not hold its caller's thread. Made by NewStream, it does nothing until
// Start(). Pause(), from inside on_chunk, holds back every further on_chunk (the bytes wait)
// until Resume(), which may come from any thread. Cancel() from any thread ends it kCancelled
// unless it has ended.
class AsyncStream {
 public:
  virtual ~AsyncStream() = default;
  virtual void Start() = 0;
  virtual void Pause() = 0;
  virtual void Resume() = 0;
  virtual void Cancel() = 0;
  // Asks for one on_chunk with no bytes, on the stream's thread, `after` from now, unless by then
  // the stream has ended, is paused, or has not reached its body: how a reader that keeps work
  // for later (a batch waiting for a commit or its interval) gets to it while the stream is
  // quiet. From any thread. The default does nothing: such a stream's next bytes or its end
  // are the reader's next chance.
  virtual void Poke(std::chrono::milliseconds after) { (void)after; }
};

// Threads of this process waiting on the API right now: in a request of the Poco transport
// (Send or Stream) or in a retry's wait. How the drive pool tells workers held
// by a slow or unreachable API (more workers help the runs behind them) from workers busy with
// the disk (more would not): runner/executor.h. ApiWait marks such a wait.
int ApiWaitsInFlight();
class ApiWait {
 public:
  ApiWait();
  ~ApiWait();
  ApiWait(const ApiWait&) = delete;
  ApiWait& operator=(const ApiWait&) = delete;
};

// Replaces Poco's process-wide TLS defaults, once: SSLManager's invalid-certificate handler
// becomes one that rejects (never ConsoleCertificateHandler, whatever a Util::Application's
// configuration says) and its default client context a strict one over the system CA bundle.
// The transports call it before their first https connection (a process that talks plain http
// only never loads a CA bundle). Call it at startup as well when anything else might reach
// SSLManager first (a WebSocket or HTTPS session made without an explicit Context).
void InstallStrictTlsDefaults();

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;

  // Sends one request and reads the whole answer, whatever its status. Thread-safe. Keep-alive
  // connections are pooled per scheme/host/port (one idle session each), except for requests
  // that are unsafe to repeat (a POST, PUT, PATCH or DELETE without an Idempotency-Key header),
  // which go on a fresh connection so that a stale pooled one never makes their outcome unknown.
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;

  // Sends one request on a connection of its own (never pooled) and streams the answer: for a
  // 2xx, the head goes to handlers.on_head, the body to handlers.on_chunk piece by piece as it
  // arrives, and the head is returned (its body empty); for any other status, the body (at most
  // 64 KiB) is returned and no handler is called. Returns OK when the server ends the body or a
  // handler returns false. An end of body is not proof of completeness (Poco 1.11 reports a
  // truncated chunked body as a clean end), so callers decide "done" from the content. The
  // receive timeout is options.stream_idle_timeout. `cancel` may be null. While a 2xx body is
  // being handed over, the connection is set to reset (SO_LINGER 0) should the process die; once
  // Stream() returns it closes in order. So a server can tell a client that handled every byte
  // from one killed with bytes received but never handled.
  virtual Result<HttpResponse> Stream(const HttpRequest& request, const StreamHandlers& handlers,
                                      StreamCancel* cancel) = 0;

  // Stream() without holding the caller (AsyncStream above). This default runs Stream() on a
  // thread of its own per stream; a transport over a StreamLoop (api/stream_loop.h) reads every
  // stream on the loop's one thread. The transport must outlive the stream's on_done.
  virtual std::shared_ptr<AsyncStream> NewStream(const HttpRequest& request, AsyncStreamHandlers handlers);
};

// The Poco implementation described above. Fails kSecurity when the CA file cannot be loaded.
Result<std::unique_ptr<HttpTransport>> NewHttpTransport(const HttpTransportOptions& options);

}  // namespace sflow

#endif  // SFLOW_API_HTTP_TRANSPORT_H_
