// Socket and HTTP/1.1 framing helpers of the fault proxy (tests/support/fault_proxy.h): just
// enough of the protocol to relay sogni-flow's requests and the sandbox's answers byte by byte.
#ifndef SFLOW_TESTS_SUPPORT_FAULT_PROXY_IO_H_
#define SFLOW_TESTS_SUPPORT_FAULT_PROXY_IO_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/status.h"

namespace sflow::proxy_io {

// A request line or status line with its headers.
struct Head {
  std::string method, target, version;  // a request's
  int status = 0;                       // a response's (version too)
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;
  const std::string* Find(std::string_view name) const;  // case-insensitive; nullptr if absent
};

bool EqualsNoCase(std::string_view a, std::string_view b);

// Buffered reads from one socket. Every wait also watches `wake` (readable = stop) and, when
// `watch` >= 0, that socket for a hang-up (the client went away). timeout_ms < 0: no limit.
// Each read fails (false) on end of stream, an error, a timeout, the wake or the hang-up.
class Conn {
 public:
  Conn(int fd, int wake, int watch) : fd_(fd), wake_(wake), watch_(watch) {}
  bool ReadHead(Head* head, bool response, int timeout_ms);
  bool ReadExact(size_t n, std::string* out, int timeout_ms);
  // At least one byte and at most `max`, replacing *out.
  bool ReadSome(size_t max, std::string* out, int timeout_ms);
  bool ReadLine(std::string* line, int timeout_ms);  // without its CRLF

 private:
  bool Fill(int timeout_ms);
  int fd_, wake_, watch_;
  std::string buf_;
  size_t pos_ = 0;
};

// Waits up to ms (< 0: without limit) for `wake` or a hang-up of `watch` (if >= 0). True when
// the time passed with neither.
bool Sleep(int64_t ms, int wake, int watch);

bool SendAll(int fd, std::string_view data);
std::string ChunkHeader(size_t n);
// A whole answer with a sized body.
std::string Answer(int status, std::string_view reason, std::string_view content_type, std::string_view body,
                   const std::vector<std::pair<std::string, std::string>>& extra, bool keep_alive);

Result<int> Listen(int port);  // 127.0.0.1; 0 = any free port
int LocalPort(int fd);
Result<int> Connect(const std::string& host, int port);
// Makes the next close() of fd send RST instead of FIN.
void ResetOnClose(int fd);

// Closes a file descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd();
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace sflow::proxy_io

#endif  // SFLOW_TESTS_SUPPORT_FAULT_PROXY_IO_H_
