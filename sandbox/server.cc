// Implementation details: Poco's HTTPServer with one request handler that routes by method and
// path. Every exchange is counted in the stats by route pattern and status. Faults that act on a
// whole answer (http_5xx, http_429, slow_ms) are applied here, before routing; stream and media
// faults where those bodies are written (sse.cc, below). Two background threads: the executor,
// which advances workflows when their tick is due, and the saver, which writes the --data-dir
// snapshot when something changed. The projects hub (projects.h) runs its own scheduler thread.
#include "sandbox/sandbox.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include <Poco/DigestEngine.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/MessageHeader.h>
#include <Poco/Net/MultipartReader.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/SHA2Engine.h>
#include <Poco/StreamCopier.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>

#include "engine/json.h"
#include "sandbox/project_wire.h"
#include "sandbox/projects.h"
#include "sandbox/routes.h"
#include "schemas/protocol_catalog.h"

namespace sflow {

using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

namespace {

std::string Fingerprint(const std::string& key) {
  Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
  sha.update(key);
  return "acct_" + Poco::DigestEngine::digestToHex(sha.digest()).substr(0, 16);
}

}  // namespace

struct Sandbox::Impl {
  SandboxOptions options;
  std::unique_ptr<ProtocolCatalog> catalog;
  std::unique_ptr<Faults> faults;
  std::unique_ptr<World> world;
  std::unique_ptr<ProjectsHub> projects;  // after the World: it is destroyed first
  std::unique_ptr<Poco::ThreadPool> pool;
  std::unique_ptr<Poco::Net::HTTPServer> server;
  std::atomic<bool> stopping{false};
  std::thread executor, saver;
  int port = 0;
  bool stopped = false;

  void RunExecutor() {
    while (!stopping) {
      auto next = world->AdvanceDue();
      // Any change (a new workflow, a confirm-cost) wakes this early; AdvanceDue then looks again.
      std::unique_lock<std::mutex> lock(world->mu());
      if (!stopping) world->changed().wait_until(lock, next);
    }
  }

  void Save() {
    if (options.data_dir.empty()) return;
    // Projects first: an artifact a project names was registered with the World before, so the
    // World's later snapshot has it.
    Value hub = projects->Snapshot();
    Value snap = world->Snapshot();
    snap.Set("projects", std::move(hub));
    std::string path = options.data_dir + "/sandbox.json", tmp = path + ".tmp";
    std::string text = snap.ToJson();
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return;
    size_t off = 0;
    while (off < text.size()) {
      ssize_t n = ::write(fd, text.data() + off, text.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    ::fsync(fd);
    ::close(fd);
    ::rename(tmp.c_str(), path.c_str());
  }

  void RunSaver() {
    while (!stopping) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      bool dirty;
      {
        std::lock_guard<std::mutex> lock(world->mu());
        dirty = world->dirty();
        world->clear_dirty();
      }
      if (projects->TakeDirty()) dirty = true;
      if (dirty) Save();
    }
  }
};

namespace {

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  Handler(World* world, ProjectsHub* projects, const std::vector<std::string>* keys, std::atomic<bool>* stopping)
      : world_(world), projects_(projects), keys_(keys), stopping_(stopping) {}

  void handleRequest(HTTPServerRequest& req, HTTPServerResponse& resp) override {
    RouteContext ctx(*world_, req, resp, *stopping_);
    ctx.projects = projects_;
    Poco::URI uri(req.getURI());
    ctx.path = uri.getPath();
    for (const auto& [k, v] : uri.getQueryParameters()) ctx.query[k] = v;
    ctx.method = req.getMethod();
    bool admin = ctx.path.rfind("/_sandbox/", 0) == 0;
    try {
      // A body framed by anything but chunked alone cannot be read (RFC 9112 6.1: 400, then
      // close): read as no body, its bytes would be taken for the next request.
      if (req.has("Transfer-Encoding") && !req.getChunkedTransferEncoding()) {
        ctx.route = "(bad framing)";
        resp.setKeepAlive(false);
        SendJson(ctx, 400, hub::ErrorBody(400, "Transfer-Encoding other than chunked is not accepted"));
      } else if (std::string refusal; !CheckBody(ctx, &refusal)) {
        // Framing that cannot be read, or a body over the limit: 400 or 413, then close (its
        // bytes, unread, would be taken for the next request).
        ctx.route = "(bad body)";
        resp.setKeepAlive(false);
        ctx.SetBody("");  // nothing more is read of it
        SendJson(ctx, ctx.status, hub::ErrorBody(ctx.status, refusal));
      } else {
        if (!admin) {
          if (double ms = world_->faults().Value("slow_ms"); ms > 0)
            std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(ms)));
        }
        Authenticate(ctx);
        Dispatch(ctx, admin);
      }
    } catch (const Poco::Exception&) {
      // The client went away mid-answer; nothing more to do for this exchange.
    } catch (const std::exception&) {
    }
    world_->CountRequest(ctx.method + " " + (ctx.route.empty() ? std::string("(unrouted)") : ctx.route), ctx.status);
  }

 private:
  // The body's framing and size, before any route reads it: a Content-Length must be a decimal
  // number within the limit (kMaxApiBodyBytes, or kMaxUploadBodyBytes for a presigned upload);
  // a chunked body is read here, up to the limit, and served from that copy. False with
  // ctx.status (400 or 413) and *why set otherwise.
  static bool CheckBody(RouteContext& ctx, std::string* why) {
    const size_t limit = IsPresignedRoute(ctx.path) ? kMaxUploadBodyBytes : kMaxApiBodyBytes;
    const std::string too_large = "the request body is larger than the sandbox reads (" +
                                  std::to_string(limit >> 20) + " MiB)";
    if (ctx.req.has("Content-Length")) {
      const std::string& length = ctx.req.get("Content-Length");
      if (length.empty() || length.size() > 18 || length.find_first_not_of("0123456789") != std::string::npos) {
        ctx.status = 400;
        *why = "Content-Length is not a decimal number";
        return false;
      }
      if (std::stoull(length) > limit) {
        ctx.status = 413;
        *why = too_large;
        return false;
      }
      return true;
    }
    if (!ctx.req.getChunkedTransferEncoding()) return true;
    std::string bytes;
    try {
      std::istream& in = ctx.req.stream();
      char buf[65536];
      while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        bytes.append(buf, static_cast<size_t>(in.gcount()));
        if (bytes.size() > limit) {
          ctx.status = 413;
          *why = too_large;
          return false;
        }
      }
    } catch (const Poco::Exception&) {
      ctx.status = 400;
      *why = "the chunked body cannot be read";
      return false;
    }
    ctx.SetBody(std::move(bytes));
    return true;
  }

  void Authenticate(RouteContext& ctx) {
    std::string key;
    if (ctx.req.has("Authorization")) {
      const std::string& h = ctx.req.get("Authorization");
      if (h.rfind("Bearer ", 0) == 0) key = h.substr(7);
    }
    if (key.empty() && ctx.req.has("api-key")) key = ctx.req.get("api-key");
    for (const std::string& k : *keys_)
      if (!key.empty() && k == key) {
        ctx.caller.key = key;
        ctx.caller.owner = Fingerprint(key);
      }
  }

  void Dispatch(RouteContext& ctx, bool admin) {
    if (!admin && !IsPresignedRoute(ctx.path)) {
      // Whole-answer faults, before the route sees the request (so nothing is created or billed).
      if (world_->faults().Roll("http_5xx")) {
        ctx.route = "(fault)";
        int after = static_cast<int>(world_->faults().Value("retry_after", 1));
        Value body = Value::Object();
        body.Set("status", Value::String("error"));
        body.Set("message", Value::String("Service temporarily unavailable (sandbox fault)"));
        body.Set("errorCode", Value::Int(503));
        body.Set("retryAfter", Value::Int(after));
        return SendJson(ctx, 503, body, {{"Retry-After", std::to_string(after)}});
      }
      if (world_->faults().Roll("http_429")) {
        ctx.route = "(fault)";
        return SendRateLimited(ctx, static_cast<int>(world_->faults().Value("retry_after", 1)));
      }
      int retry = 0;
      if (!ctx.caller.owner.empty() && !world_->AllowRequest(ctx.caller.owner, &retry)) {
        ctx.route = "(rate limit)";
        return SendRateLimited(ctx, retry);
      }
    }
    RouteRequest(ctx);
  }

  World* world_;
  ProjectsHub* projects_;
  const std::vector<std::string>* keys_;
  std::atomic<bool>* stopping_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(World* world, ProjectsHub* projects, const std::vector<std::string>* keys, std::atomic<bool>* stopping)
      : world_(world), projects_(projects), keys_(keys), stopping_(stopping) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override {
    return new Handler(world_, projects_, keys_, stopping_);
  }

 private:
  World* world_;
  ProjectsHub* projects_;
  const std::vector<std::string>* keys_;
  std::atomic<bool>* stopping_;
};

}  // namespace

Sandbox::Sandbox(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Sandbox::~Sandbox() { Stop(); }

Result<std::unique_ptr<Sandbox>> Sandbox::Start(SandboxOptions options) {
  auto impl = std::make_unique<Impl>();
  Result<std::map<std::string, double>> faults = Faults::Parse(options.faults);
  if (!faults.ok()) return faults.status();
  Result<std::unique_ptr<ProtocolCatalog>> catalog = ProtocolCatalog::Load();
  if (!catalog.ok()) return catalog.status();
  impl->catalog = std::move(catalog).value();
  impl->faults = std::make_unique<Faults>(std::move(faults).value(), options.seed);
  if (options.api_keys.empty()) {
    // A fresh key per sandbox: 32 hex characters from the OS's randomness.
    std::ifstream urandom("/dev/urandom", std::ios::binary);
    unsigned char raw[16];
    urandom.read(reinterpret_cast<char*>(raw), sizeof raw);
    std::string key = "sk_sandbox_";
    for (unsigned char c : raw) {
      const char* hex = "0123456789abcdef";
      key += hex[c >> 4];
      key += hex[c & 15];
    }
    options.api_keys.push_back(key);
  }
  try {
    // A deep backlog: hundreds of clients may connect at once (one per event stream).
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress(options.host, static_cast<Poco::UInt16>(options.port)), 1024);
    impl->port = socket.address().port();
    // An IPv6 address goes in brackets (RFC 3986), or its colons would read as the port's.
    const std::string host = options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host;
    std::string url = "http://" + host + ":" + std::to_string(impl->port);
    SandboxConfig config;
    config.seed = options.seed;
    config.step_ms = options.step_ms;
    config.events_per_step = options.events_per_step;
    config.max_active_workflows = options.max_active_workflows;
    config.cost_approval = options.cost_approval;
    config.price_percent = options.price_percent;
    config.initial_balance = options.balance;
    config.keepalive_ms = options.keepalive_ms;
    config.rate_limit_per_second = options.rate_limit_per_second;
    impl->world = std::make_unique<World>(config, impl->faults.get(), impl->catalog.get(), url);
    Value hub_snapshot;  // the projects hub's part of the snapshot, restored once the hub exists
    if (!options.data_dir.empty()) {
      ::mkdir(options.data_dir.c_str(), 0700);
      std::ifstream in(options.data_dir + "/sandbox.json", std::ios::binary);
      if (in) {
        std::stringstream ss;
        ss << in.rdbuf();
        Result<Value> snap = ParseJson(ss.str(), JsonLimits{512});
        if (!snap.ok()) return Status::IOError("cannot read the sandbox snapshot in " + options.data_dir + ": " + snap.status().message());
        impl->world->Restore(*snap);
        if (const Value* hub = snap->Find("projects")) hub_snapshot = *hub;
      }
    }
    impl->options = options;
    impl->projects = std::make_unique<ProjectsHub>(impl->world.get());
    impl->projects->Restore(hub_snapshot);
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(options.max_threads);
    params->setMaxQueued(4096);
    params->setKeepAlive(true);
    params->setTimeout(Poco::Timespan(30, 0));
    impl->pool = std::make_unique<Poco::ThreadPool>(4, options.max_threads + 8, 60);
    impl->server = std::make_unique<Poco::Net::HTTPServer>(
        new Factory(impl->world.get(), impl->projects.get(), &impl->options.api_keys, &impl->stopping), *impl->pool,
        socket, params);
    impl->server->start();
  } catch (const Poco::Exception& e) {
    return Status::Error(Status::Code::kUnavailable, "sandbox cannot listen on " + options.host + ":" +
                                                         std::to_string(options.port) + ": " + e.displayText());
  }
  Impl* raw = impl.get();
  impl->executor = std::thread([raw] { raw->RunExecutor(); });
  impl->saver = std::thread([raw] { raw->RunSaver(); });
  return std::unique_ptr<Sandbox>(new Sandbox(std::move(impl)));
}

int Sandbox::port() const { return impl_->port; }
std::string Sandbox::url() const { return impl_->world->base_url(); }
const std::vector<std::string>& Sandbox::api_keys() const { return impl_->options.api_keys; }

void Sandbox::Stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->stopping = true;
  impl_->world->changed().notify_all();
  impl_->server->stopAll(/*abortCurrent=*/true);
  impl_->pool->joinAll();  // open projects sockets end on `stopping` within their poll interval
  impl_->projects->Stop();
  if (impl_->executor.joinable()) impl_->executor.join();
  if (impl_->saver.joinable()) impl_->saver.join();
  impl_->Save();
}

}  // namespace sflow
