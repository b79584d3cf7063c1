// A scriptable HTTP(S) server on loopback for the transport and client tests (Poco's own testing
// idea: a real server, not a mocked session). Each request goes to a handler that answers through
// a ReplyWriter; with cert/key files the server speaks TLS (Poco SecureServerSocket).
#ifndef SFLOW_TESTS_API_LOOPBACK_SERVER_H_
#define SFLOW_TESTS_API_LOOPBACK_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "api/http_transport.h"

namespace sflow {

// Stream handlers that only take the body.
inline StreamHandlers Chunks(std::function<bool(std::string_view)> f) {
  StreamHandlers h;
  h.on_chunk = std::move(f);
  return h;
}

struct ServedRequest {
  std::string method;
  std::string target;  // path and query
  HttpHeaders headers;
  std::string body;
};

class ReplyWriter {
 public:
  virtual ~ReplyWriter() = default;
  // The whole answer with a Content-Length.
  virtual void Send(int status, const std::string& body, const HttpHeaders& headers = {}) = 0;
  // A chunked answer: the head, then pieces, each flushed at once. False once the peer is gone.
  virtual void Begin(int status, const HttpHeaders& headers = {}) = 0;
  virtual bool Write(std::string_view bytes) = 0;
  // Declares `declared` bytes, sends `body` (shorter), and closes the connection.
  virtual void SendShort(int status, size_t declared, const std::string& body) = 0;
};

using ServedHandler = std::function<void(const ServedRequest&, ReplyWriter&)>;

class LoopbackServer {
 public:
  struct Options {
    std::string bind = "127.0.0.1";
    std::string cert_file;  // PEM; with key_file: TLS
    std::string key_file;
    bool tls_1_1_only = false;  // the server refuses TLS 1.2 and newer
  };
  static std::unique_ptr<LoopbackServer> Start(ServedHandler handler, const Options& options);
  static std::unique_ptr<LoopbackServer> Start(ServedHandler handler) { return Start(std::move(handler), Options()); }
  ~LoopbackServer();

  int port() const;
  // "http(s)://<host>:<port><path>" with host "127.0.0.1" unless given.
  std::string Url(const std::string& path, const std::string& host = "127.0.0.1") const;
  int connections() const;  // TCP connections accepted so far
  int requests() const;     // requests handled so far

 private:
  struct Impl;
  explicit LoopbackServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sflow

#endif  // SFLOW_TESTS_API_LOOPBACK_SERVER_H_
