// The Poco-free parts of http_transport.h: header lookup and StreamCancel. The Poco
// implementation is in poco_http_transport.cc.
#include "api/http_transport.h"

#include <openssl/crypto.h>
#include <sys/socket.h>

#include <strings.h>

#include <atomic>
#include <condition_variable>
#include <thread>

namespace sflow {

const std::string* FindHeader(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), name.size()) == 0) return &v;
  }
  return nullptr;
}

namespace {
std::atomic<int> api_waits{0};
}  // namespace

int ApiWaitsInFlight() { return api_waits.load(std::memory_order_relaxed); }
ApiWait::ApiWait() { api_waits.fetch_add(1, std::memory_order_relaxed); }
ApiWait::~ApiWait() { api_waits.fetch_sub(1, std::memory_order_relaxed); }

bool SendableHeader(const std::string& name, const std::string& value) {
  if (name.empty()) return false;
  for (char c : name)
    if (c <= 0x20 || c == ':' || c == 0x7f) return false;
  for (char c : value)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

std::string HttpResponse::Header(std::string_view name) const {
  const std::string* v = FindHeader(headers, name);
  return v ? *v : std::string();
}

void StreamCancel::Cancel() {
  std::function<void()> hook;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_) return;
    cancelled_ = true;
    // shutdown(2), not close(2): the fd stays owned by the reading thread, whose blocked read
    // returns at once. Safe against TLS too: OpenSSL only sees the socket end.
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
    hook = std::move(hook_);
    hook_ = nullptr;
  }
  if (hook) hook();
}

void StreamCancel::SetHook(std::function<void()> hook) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!cancelled_) {
      hook_ = std::move(hook);
      return;
    }
  }
  if (hook) hook();
}

void StreamCancel::ClearHook() {
  std::lock_guard<std::mutex> lock(mu_);
  hook_ = nullptr;
}

bool StreamCancel::cancelled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

void StreamCancel::Attach(int fd) {
  std::lock_guard<std::mutex> lock(mu_);
  fd_ = fd;
  if (cancelled_ && fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

void StreamCancel::Detach() {
  std::lock_guard<std::mutex> lock(mu_);
  fd_ = -1;
}

namespace {

// NewStream's default: Stream() on a thread of its own; Pause blocks that thread after the
// on_chunk that asked for it, until Resume or Cancel.
class ThreadAsyncStream final : public AsyncStream, public std::enable_shared_from_this<ThreadAsyncStream> {
 public:
  ThreadAsyncStream(HttpTransport* transport, HttpRequest request, AsyncStreamHandlers handlers)
      : transport_(transport), request_(std::move(request)), handlers_(std::move(handlers)) {}

  void Start() override {
    std::thread([self = shared_from_this()] { self->Run(); }).detach();
  }
  void Pause() override {
    std::lock_guard<std::mutex> lock(mu_);
    paused_ = true;
  }
  void Resume() override {
    std::lock_guard<std::mutex> lock(mu_);
    paused_ = false;
    cv_.notify_all();
  }
  void Cancel() override {
    cancel_.Cancel();
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
  }

 private:
  void Run() {
    StreamHandlers h;
    h.on_head = handlers_.on_head;
    h.on_chunk = [this](std::string_view bytes) {
      if (handlers_.on_chunk && !handlers_.on_chunk(bytes)) return false;
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return !paused_ || cancel_.cancelled(); });
      return !cancel_.cancelled();
    };
    Result<HttpResponse> r = transport_->Stream(request_, h, &cancel_);
    // The thread is detached: its OpenSSL state (the per-thread error queue) is freed here, before
    // its caller learns the stream ended and may exit, not by a thread-exit handler that a process
    // ending first never runs (LeakSanitizer saw it as a leak, now and then, under load).
    OPENSSL_thread_stop();
    auto done = std::move(handlers_.on_done);
    handlers_ = AsyncStreamHandlers();
    if (done) done(std::move(r));
  }

  HttpTransport* transport_;
  const HttpRequest request_;
  AsyncStreamHandlers handlers_;
  StreamCancel cancel_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool paused_ = false;
};

}  // namespace

std::shared_ptr<AsyncStream> HttpTransport::NewStream(const HttpRequest& request, AsyncStreamHandlers handlers) {
  return std::make_shared<ThreadAsyncStream>(this, request, std::move(handlers));
}

}  // namespace sflow
