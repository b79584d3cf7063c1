// The Poco-free parts of http_transport.h: header lookup and StreamCancel. The Poco
// implementation is in poco_http_transport.cc.
#include "api/http_transport.h"

#include <sys/socket.h>

#include <strings.h>

namespace sflow {

const std::string* FindHeader(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), name.size()) == 0) return &v;
  }
  return nullptr;
}

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

}  // namespace sflow
