#include "tests/api/loopback_ws_server.h"

#include <atomic>

#include <Poco/Buffer.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/WebSocket.h>
#include <Poco/ThreadPool.h>

namespace sflow {

namespace {

using Poco::Net::WebSocket;

class ScriptPeer : public WsPeer {
 public:
  ScriptPeer(WebSocket& ws, std::string target, HttpHeaders headers) : ws_(ws), target_(std::move(target)), headers_(std::move(headers)) {}
  const std::string& target() const override { return target_; }
  const HttpHeaders& headers() const override { return headers_; }
  bool SendFrame(const std::string& payload, int flags) override {
    try {
      ws_.sendFrame(payload.data(), static_cast<int>(payload.size()), flags);
      return true;
    } catch (const Poco::Exception&) {
      return false;
    }
  }
  bool SendText(const std::string& text) override { return SendFrame(text, WebSocket::FRAME_TEXT); }
  bool Receive(std::string* payload, int* flags) override {
    try {
      Poco::Buffer<char> buf(0);
      int n = ws_.receiveFrame(buf, *flags);
      if (n == 0 && *flags == 0) return false;
      payload->assign(buf.begin(), static_cast<size_t>(n));
      return true;
    } catch (const Poco::Exception&) {
      return false;
    }
  }
  void Close(int code, const std::string& reason) override {
    try {
      ws_.shutdown(static_cast<Poco::UInt16>(code), reason);
      std::string p;
      int f = 0;
      for (int i = 0; i < 10 && Receive(&p, &f); ++i)
        if ((f & WebSocket::FRAME_OP_BITMASK) == WebSocket::FRAME_OP_CLOSE) break;
    } catch (const Poco::Exception&) {
    }
  }

 private:
  WebSocket& ws_;
  std::string target_;
  HttpHeaders headers_;
};

class WsHandler : public Poco::Net::HTTPRequestHandler {
 public:
  WsHandler(const WsScript& s, std::atomic<int>& upgrades) : s_(s), upgrades_(upgrades) {}
  void handleRequest(Poco::Net::HTTPServerRequest& rq, Poco::Net::HTTPServerResponse& rs) override {
    HttpHeaders headers;
    for (const auto& [k, v] : rq) headers.emplace_back(k, v);
    int refuse = s_.refuse ? s_.refuse(rq.getURI(), headers) : 0;
    if (refuse != 0) {
      rs.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(refuse));
      rs.setContentLength(0);
      rs.send().flush();
      return;
    }
    try {
      WebSocket ws(rq, rs);
      ws.setReceiveTimeout(Poco::Timespan(10, 0));
      ++upgrades_;
      ScriptPeer peer(ws, rq.getURI(), headers);
      if (s_.run) s_.run(peer);
    } catch (const Poco::Exception&) {
    }
  }

 private:
  const WsScript& s_;
  std::atomic<int>& upgrades_;
};

class WsFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  WsFactory(const WsScript& s, std::atomic<int>& upgrades) : s_(s), upgrades_(upgrades) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new WsHandler(s_, upgrades_);
  }

 private:
  const WsScript& s_;
  std::atomic<int>& upgrades_;
};

}  // namespace

struct LoopbackWsServer::Impl {
  WsScript script;
  std::atomic<int> upgrades{0};
  bool tls = false;
  std::unique_ptr<Poco::Net::ServerSocket> socket;
  std::unique_ptr<Poco::ThreadPool> pool;  // before the server: it outlives it
  std::unique_ptr<Poco::Net::HTTPServer> server;
};

std::unique_ptr<LoopbackWsServer> LoopbackWsServer::Start(WsScript script, const Options& o) {
  auto impl = std::make_unique<Impl>();
  impl->script = std::move(script);
  Poco::Net::SocketAddress addr("127.0.0.1", 0);
  if (!o.cert_file.empty()) {
    Poco::Net::initializeSSL();
    Poco::Net::Context::Ptr ctx = new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, o.key_file, o.cert_file, "",
                                                         Poco::Net::Context::VERIFY_NONE, 9, false,
                                                         "ALL:!ADH:!LOW:!EXP:!MD5:@STRENGTH");
    impl->socket = std::make_unique<Poco::Net::SecureServerSocket>(addr, 64, ctx);
    impl->tls = true;
  } else {
    impl->socket = std::make_unique<Poco::Net::ServerSocket>(addr, 64);
  }
  Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(8);
  impl->pool = std::make_unique<Poco::ThreadPool>(2, 16);
  impl->server = std::make_unique<Poco::Net::HTTPServer>(new WsFactory(impl->script, impl->upgrades), *impl->pool,
                                                         *impl->socket, params);
  impl->server->start();
  return std::unique_ptr<LoopbackWsServer>(new LoopbackWsServer(std::move(impl)));
}

LoopbackWsServer::LoopbackWsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LoopbackWsServer::~LoopbackWsServer() {
  impl_->server->stopAll(true);
  impl_->pool->joinAll();
}

int LoopbackWsServer::port() const { return impl_->socket->address().port(); }

std::string LoopbackWsServer::Url(const std::string& host) const {
  return std::string(impl_->tls ? "wss" : "ws") + "://" + host + ":" + std::to_string(port());
}

int LoopbackWsServer::upgrades() const { return impl_->upgrades.load(); }

}  // namespace sflow
