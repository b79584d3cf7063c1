#include "tests/support/fault_proxy_io.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sflow::proxy_io {

namespace {

constexpr size_t kMaxHead = 64 * 1024;

using Clock = std::chrono::steady_clock;

// Milliseconds to the deadline, rounded up: poll() may wake a little before its timeout, and a
// stall of N ms must last at least N ms (a test measures it).
int Remaining(Clock::time_point deadline, int timeout_ms) {
  if (timeout_ms < 0) return -1;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Waits for `fd` to be readable (fd >= 0), or only for time to pass (fd < 0). 1 readable or the
// time passed with fd < 0; 0 timeout; -1 wake or hang-up of `watch`.
int WaitReadable(int fd, int wake, int watch, int timeout_ms) {
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
  while (true) {
    pollfd fds[3];
    nfds_t n = 0;
    fds[n++] = {wake, POLLIN, 0};
    if (watch >= 0) fds[n++] = {watch, POLLRDHUP, 0};
    const nfds_t own = n;
    if (fd >= 0) fds[n++] = {fd, POLLIN, 0};
    int rc = ::poll(fds, n, Remaining(deadline, timeout_ms));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return -1;
    if (fds[0].revents) return -1;
    if (watch >= 0 && (fds[1].revents & (POLLRDHUP | POLLHUP | POLLERR))) return -1;
    if (fd >= 0 && fds[own].revents) return 1;
    if (rc == 0 && timeout_ms >= 0 && Clock::now() < deadline) continue;  // woke early
    if (rc == 0) return fd >= 0 ? 0 : 1;
  }
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool ParseHead(std::string_view text, bool response, Head* head) {
  size_t eol = text.find("\r\n");
  std::string_view first = text.substr(0, eol);
  size_t sp1 = first.find(' ');
  if (sp1 == std::string_view::npos) return false;
  size_t sp2 = first.find(' ', sp1 + 1);
  if (response) {
    head->version = std::string(first.substr(0, sp1));
    head->status = std::atoi(std::string(first.substr(sp1 + 1, sp2 - sp1 - 1)).c_str());
    head->reason = sp2 == std::string_view::npos ? "" : std::string(first.substr(sp2 + 1));
    if (head->status < 100 || head->status > 999) return false;
  } else {
    if (sp2 == std::string_view::npos) return false;
    head->method = std::string(first.substr(0, sp1));
    head->target = std::string(first.substr(sp1 + 1, sp2 - sp1 - 1));
    head->version = std::string(first.substr(sp2 + 1));
  }
  size_t at = eol + 2;
  while (at < text.size()) {
    size_t end = text.find("\r\n", at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    at = end + 2;
    if (line.empty()) break;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return false;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    head->headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  return true;
}

}  // namespace

bool EqualsNoCase(std::string_view a, std::string_view b) { return a.size() == b.size() && Lower(a) == Lower(b); }

const std::string* Head::Find(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (EqualsNoCase(k, name)) return &v;
  return nullptr;
}

bool Conn::Fill(int timeout_ms) {
  if (pos_ > 0 && pos_ == buf_.size()) buf_.clear(), pos_ = 0;
  if (WaitReadable(fd_, wake_, watch_, timeout_ms) != 1) return false;
  char tmp[65536];
  ssize_t n;
  do n = ::recv(fd_, tmp, sizeof tmp, 0);
  while (n < 0 && errno == EINTR);
  if (n <= 0) return false;
  buf_.append(tmp, static_cast<size_t>(n));
  return true;
}

bool Conn::ReadHead(Head* head, bool response, int timeout_ms) {
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
  size_t end;
  while ((end = buf_.find("\r\n\r\n", pos_)) == std::string::npos) {
    if (buf_.size() - pos_ > kMaxHead || !Fill(Remaining(deadline, timeout_ms))) return false;
  }
  bool ok = ParseHead(std::string_view(buf_).substr(pos_, end + 2 - pos_), response, head);
  pos_ = end + 4;
  return ok;
}

bool Conn::ReadExact(size_t n, std::string* out, int timeout_ms) {
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
  out->clear();
  while (out->size() < n) {
    if (pos_ == buf_.size() && !Fill(Remaining(deadline, timeout_ms))) return false;
    size_t take = std::min(n - out->size(), buf_.size() - pos_);
    out->append(buf_, pos_, take);
    pos_ += take;
  }
  return true;
}

bool Conn::ReadSome(size_t max, std::string* out, int timeout_ms) {
  if (pos_ == buf_.size() && !Fill(timeout_ms)) return false;
  size_t take = std::min(max, buf_.size() - pos_);
  out->assign(buf_, pos_, take);
  pos_ += take;
  return true;
}

bool Conn::ReadLine(std::string* line, int timeout_ms) {
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
  size_t end;
  while ((end = buf_.find("\r\n", pos_)) == std::string::npos) {
    if (buf_.size() - pos_ > kMaxHead || !Fill(Remaining(deadline, timeout_ms))) return false;
  }
  line->assign(buf_, pos_, end - pos_);
  pos_ = end + 2;
  return true;
}

bool Sleep(int64_t ms, int wake, int watch) {
  return WaitReadable(-1, wake, watch, ms < 0 ? -1 : static_cast<int>(ms)) == 1;
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string ChunkHeader(size_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%zx\r\n", n);
  return buf;
}

std::string Answer(int status, std::string_view reason, std::string_view content_type, std::string_view body,
                   const std::vector<std::pair<std::string, std::string>>& extra, bool keep_alive) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  out += "Content-Type: " + std::string(content_type) + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& [k, v] : extra) out += k + ": " + v + "\r\n";
  out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  out += body;
  return out;
}

Result<int> Listen(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IOError("socket: " + std::string(std::strerror(errno)));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 64) != 0) {
    std::string why = std::strerror(errno);
    ::close(fd);
    return Status::IOError("cannot listen on 127.0.0.1:" + std::to_string(port) + ": " + why);
  }
  return fd;
}

int LocalPort(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

Result<int> Connect(const std::string& host, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IOError("socket: " + std::string(std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::string why = std::strerror(errno);
    ::close(fd);
    return Status::Error(Status::Code::kUnavailable, "cannot connect to " + host + ":" + std::to_string(port) + ": " + why);
  }
  return fd;
}

void ResetOnClose(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace sflow::proxy_io
