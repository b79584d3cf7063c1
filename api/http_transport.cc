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

std::string HttpResponse::Header(std::string_view name) const {
  const std::string* v = FindHeader(headers, name);
  return v ? *v : std::string();
}

void StreamCancel::Cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  // shutdown(2), not close(2): the fd stays owned by the reading thread, whose blocked read
  // returns at once. Safe against TLS too: OpenSSL only sees the socket end.
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
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
