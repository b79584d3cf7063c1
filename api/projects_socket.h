// ProjectsConnection: one WebSocket to the projects socket host (socket.sogni.ai, or the sandbox),
// as the official SDK opens it (ApiClient/WebSocketClient): the URL
//   wss://HOST[:PORT]/?appId=APP&clientName=...&clientType=artist&forceWorkerId=fast
// with the API key in the `api-key` header only (never in the URL, a message or a log).
//
// The interface is tiny so that the session (projects_session.h) is tested against a fake. The
// Poco implementation (OpenProjectsConnection) uses the REST transport's strict connection rules
// (poco_sessions.h): TLS with VERIFY_STRICT, host-name checks, TLS >= 1.2, the given CA file, the
// resolved address checked; ws:// only to the sandbox's loopback names. The whole opening
// handshake (TCP, TLS, HTTP upgrade) runs under one deadline.
//
// Close codes (the SDK's ErrorCode.js: every 4xxx close is not recoverable):
//   4021 AUTH_ERROR -> kPermission, 4010 APP_ID_BLOCKED -> kPermission,
//   4015 SWITCH_CONNECTION (another socket took this appId over) -> kConflict,
//   any other close or a dropped connection -> kUnavailable.
// The code travels in the message ("... closed with code 4021 ...") and as the Status reason
// "ws_close:4021" (CloseCodeOf reads it back); a connection lost without a close frame is 1006.
#ifndef SFLOW_API_PROJECTS_SOCKET_H_
#define SFLOW_API_PROJECTS_SOCKET_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "engine/status.h"

namespace sflow {

class ProjectsConnection {
 public:
  virtual ~ProjectsConnection() = default;
  // One text frame. Thread-safe against ReceiveText on another thread. An error once the
  // connection is closed or broken (as ReceiveText's).
  virtual Status SendText(const std::string& text) = 0;
  // The next text frame; nullopt when `wait` passed with none. Pings are answered, pongs and
  // binary frames skipped. An error when the connection closed (see the codes above) or a frame
  // broke the rules (larger than kMaxProjectFrameBytes, fragmented); the connection is then
  // unusable. Called by one thread at a time.
  virtual Result<std::optional<std::string>> ReceiveText(std::chrono::milliseconds wait) = 0;
  // A keepalive ping (the SDK pings every 15 s). Thread-safe as SendText.
  virtual Status Ping() = 0;
  // Sends a normal close (1000) when it can and shuts the connection down, so a ReceiveText
  // blocked on another thread returns at once. Idempotent; thread-safe.
  virtual void Close() = 0;
};

struct ProjectsSocketOptions {
  // "wss://socket.sogni.ai" (the SDK's default), or "ws://127.0.0.1:PORT" for the sandbox. An
  // http(s):// URL is taken as ws(s)://, as the SDK does. A path is kept; a query is refused.
  std::string socket_url;
  std::string app_id;          // required: 1..128 visible ASCII characters
  std::string api_key;         // the `api-key` header; required
  std::string client_name = "sogni-flow";  // the clientName query value
  std::string network = "fast";            // "fast": forceWorkerId=fast; anything else: empty
  // TLS and time limits: the REST transport's (http_transport.h).
  std::string ca_file;                                // "" = the system CA bundle
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds handshake_deadline{30000};  // TCP + TLS + upgrade, all together
  std::chrono::milliseconds send_timeout{30000};
  // A frame begun by the server must be complete within this.
  std::chrono::milliseconds frame_timeout{30000};
};

// Opens a connection. kInvalidPlan for bad options, kSecurity for refused URLs and TLS failures,
// kPermission / kUnavailable for a refused or failed upgrade, never the key in a message.
Result<std::unique_ptr<ProjectsConnection>> OpenProjectsConnection(const ProjectsSocketOptions& options);

// The socket URL of `options` as it is requested (for tests and messages; no secret in it).
Result<std::string> ProjectsSocketUrl(const ProjectsSocketOptions& options);

// The Status for a close with `code` (see above), and the code of such a Status (0 for none).
Status ClosedStatus(int code, const std::string& reason);
int CloseCodeOf(const Status& status);

}  // namespace sflow

#endif  // SFLOW_API_PROJECTS_SOCKET_H_
