// A scripted WebSocket server on loopback, plain or TLS, for the projects connection tests: each
// upgrade runs the test's script on the server's thread with a WsPeer to read and write raw
// frames (pings, fragments, oversized frames, close codes), and the request it came with. A
// script may also refuse the upgrade with an HTTP status.
#ifndef SFLOW_TESTS_API_LOOPBACK_WS_SERVER_H_
#define SFLOW_TESTS_API_LOOPBACK_WS_SERVER_H_

#include <functional>
#include <memory>
#include <string>

#include "api/http_transport.h"

namespace sflow {

class WsPeer {
 public:
  virtual ~WsPeer() = default;
  virtual const std::string& target() const = 0;   // path and query of the upgrade
  virtual const HttpHeaders& headers() const = 0;  // of the upgrade request
  // One frame with these flags (FIN and opcode, as Poco's WebSocket::FrameFlags). False on error.
  virtual bool SendFrame(const std::string& payload, int flags) = 0;
  virtual bool SendText(const std::string& text) = 0;
  // The next frame: false when the peer is gone. `flags` as Poco gives them.
  virtual bool Receive(std::string* payload, int* flags) = 0;
  // A close frame with `code`, then waits (briefly) for the client's answer.
  virtual void Close(int code, const std::string& reason) = 0;
};

struct WsScript {
  // 0: upgrade and run `run`; otherwise answer this HTTP status and do not upgrade.
  std::function<int(const std::string& target, const HttpHeaders& headers)> refuse;
  std::function<void(WsPeer&)> run;
};

class LoopbackWsServer {
 public:
  struct Options {
    std::string cert_file;  // PEM; with key_file: TLS
    std::string key_file;
  };
  static std::unique_ptr<LoopbackWsServer> Start(WsScript script, const Options& options = Options());
  ~LoopbackWsServer();
  int port() const;
  // "ws(s)://<host>:<port>" with host "127.0.0.1" unless given.
  std::string Url(const std::string& host = "127.0.0.1") const;
  int upgrades() const;  // upgrades answered 101 so far

 private:
  struct Impl;
  explicit LoopbackWsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sflow

#endif  // SFLOW_TESTS_API_LOOPBACK_WS_SERVER_H_
