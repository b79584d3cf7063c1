#include "tests/api/loopback_server.h"

#include <atomic>

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/ThreadPool.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/StreamCopier.h>

namespace sflow {

namespace {

class Writer : public ReplyWriter {
 public:
  explicit Writer(Poco::Net::HTTPServerResponse& r) : r_(r) {}
  void Send(int status, const std::string& body, const HttpHeaders& headers) override {
    Head(status, headers);
    r_.setContentLength(static_cast<std::streamsize>(body.size()));
    r_.sendBuffer(body.data(), body.size());
  }
  void Begin(int status, const HttpHeaders& headers) override {
    Head(status, headers);
    r_.setChunkedTransferEncoding(true);
    out_ = &r_.send();
    out_->flush();
  }
  bool Write(std::string_view bytes) override {
    out_->write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out_->flush();
    return out_->good();
  }
  void SendShort(int status, size_t declared, const std::string& body) override {
    Head(status, {});
    r_.setKeepAlive(false);
    r_.setContentLength(static_cast<std::streamsize>(declared));
    std::ostream& o = r_.send();
    o.write(body.data(), static_cast<std::streamsize>(body.size()));
    o.flush();
  }

 private:
  void Head(int status, const HttpHeaders& headers) {
    r_.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
    for (const auto& [k, v] : headers) r_.set(k, v);
  }
  Poco::Net::HTTPServerResponse& r_;
  std::ostream* out_ = nullptr;
};

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  Handler(const ServedHandler& h, std::atomic<int>& count) : h_(h), count_(count) {}
  void handleRequest(Poco::Net::HTTPServerRequest& rq, Poco::Net::HTTPServerResponse& rs) override {
    ServedRequest req;
    req.method = rq.getMethod();
    req.target = rq.getURI();
    for (const auto& [k, v] : rq) req.headers.emplace_back(k, v);
    Poco::StreamCopier::copyToString(rq.stream(), req.body);
    ++count_;
    Writer w(rs);
    h_(req, w);
  }

 private:
  const ServedHandler& h_;
  std::atomic<int>& count_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(const ServedHandler& h, std::atomic<int>& count) : h_(h), count_(count) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Handler(h_, count_);
  }

 private:
  const ServedHandler& h_;
  std::atomic<int>& count_;
};

}  // namespace

struct LoopbackServer::Impl {
  ServedHandler handler;
  std::atomic<int> requests{0};
  bool tls = false;
  std::unique_ptr<Poco::Net::ServerSocket> socket;
  // Our own pool (declared before the server, so it outlives it): the destructor joins it, so no
  // handler thread is still running when the test process exits and its statics are destroyed.
  std::unique_ptr<Poco::ThreadPool> pool;
  std::unique_ptr<Poco::Net::HTTPServer> server;
};

std::unique_ptr<LoopbackServer> LoopbackServer::Start(ServedHandler handler, const Options& o) {
  auto impl = std::make_unique<Impl>();
  impl->handler = std::move(handler);
  Poco::Net::SocketAddress addr(o.bind, 0);
  if (!o.cert_file.empty()) {
    Poco::Net::initializeSSL();
    Poco::Net::Context::Ptr ctx = new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, o.key_file, o.cert_file, "",
                                                         Poco::Net::Context::VERIFY_NONE, 9, false,
                                                         "ALL:!ADH:!LOW:!EXP:!MD5:@STRENGTH");
    if (o.tls_1_1_only) ctx->disableProtocols(Poco::Net::Context::PROTO_TLSV1_2 | Poco::Net::Context::PROTO_TLSV1_3);
    impl->socket = std::make_unique<Poco::Net::SecureServerSocket>(addr, 64, ctx);
    impl->tls = true;
  } else {
    impl->socket = std::make_unique<Poco::Net::ServerSocket>(addr, 64);
  }
  Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(16);
  params->setKeepAlive(true);
  impl->pool = std::make_unique<Poco::ThreadPool>(2, 32);
  impl->server = std::make_unique<Poco::Net::HTTPServer>(new Factory(impl->handler, impl->requests), *impl->pool,
                                                         *impl->socket, params);
  impl->server->start();
  return std::unique_ptr<LoopbackServer>(new LoopbackServer(std::move(impl)));
}

LoopbackServer::LoopbackServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LoopbackServer::~LoopbackServer() {
  impl_->server->stopAll(true);
  impl_->pool->joinAll();
}

int LoopbackServer::port() const { return impl_->socket->address().port(); }

std::string LoopbackServer::Url(const std::string& path, const std::string& host) const {
  return std::string(impl_->tls ? "https" : "http") + "://" + host + ":" + std::to_string(port()) + path;
}

int LoopbackServer::connections() const { return impl_->server->totalConnections(); }

int LoopbackServer::requests() const { return impl_->requests.load(); }

}  // namespace sflow
