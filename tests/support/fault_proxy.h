// FaultProxy: a loopback HTTP/1.1 proxy that sits between sogni-flow and the sandbox and
// misbehaves on purpose, by a script (tests/support/fault_proxy_script.h), reproducibly from a
// seed. The runner is pointed at url() (--api-url); every request is forwarded to the upstream
// sandbox on a connection of its own, and its answer relayed, re-framed the way it came (sized
// or chunked), except where the script says otherwise: an answer of the proxy's own (503 with
// Retry-After), a reset or an orderly close in the middle of a body, a stall, a slow drip, or an
// answer held back until the workflow has ended (so the runner sees things out of order).
//
// Artifact URLs in workflow records (and every other JSON answer except the event log routes,
// whose records are compared byte for byte with the sandbox's log) have the upstream's base URL
// replaced by the proxy's, so downloads come through the proxy too. Media signatures do not
// cover the host, so the rewritten URLs stay valid.
//
// GET /_proxy/stats answers what the proxy did, as JSON:
//   {"requests": {route: n}, "faults": {"route:action": n}, "missed": {"route:action": n}}
// where `faults` counts faults carried out and `missed` those decided but not reached (a cut
// after N bytes of a body shorter than N). Neither it nor /_sandbox/... (other than media) is
// counted or faulted.
//
// One thread per client connection; client keep-alive is honoured, upstream connections are
// one per request. Stop() (and the destructor) ends every connection and wait at once.
#ifndef SFLOW_TESTS_SUPPORT_FAULT_PROXY_H_
#define SFLOW_TESTS_SUPPORT_FAULT_PROXY_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/status.h"
#include "tests/support/fault_proxy_script.h"

namespace sflow {

struct FaultProxyOptions {
  std::string upstream;  // http://127.0.0.1:PORT (loopback only)
  FaultScript script;
  uint64_t seed = 1;
  int port = 0;  // 0 = any free port
  // The longest hold (until=ended) or upstream silence before the proxy gives up on a request.
  std::chrono::milliseconds hold_limit{120000};
};

class FaultProxy {
 public:
  // Listens on 127.0.0.1 and serves on threads of its own until Stop().
  static Result<std::unique_ptr<FaultProxy>> Start(FaultProxyOptions options);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  void Stop();
  const std::string& url() const { return url_; }
  std::string StatsJson() const;
  // faults["route:action"] (carried out), e.g. Fired("stream:status").
  int64_t Fired(const std::string& key) const;
  int64_t Requests(ProxyRoute route) const;

 private:
  struct Request;
  enum class Outcome { kKeep, kClose, kReset };  // of one request, for its client connection
  explicit FaultProxy(FaultProxyOptions options);
  void AcceptLoop();
  void Serve(int client);
  Outcome Handle(int client, const Request& req);
  Outcome Forward(int client, const Request& req);
  std::string UpstreamStatus(const std::string& workflow_id) const;
  bool WaitFor(std::chrono::milliseconds ms, int client) const;
  bool WaitUntilEnded(const std::string& workflow_id, int client) const;
  void Count(const char* table, ProxyRoute route, FaultKind kind);

  FaultProxyOptions options_;
  std::string upstream_host_;
  int upstream_port_ = 0;
  std::string url_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};  // written once by Stop(): every poll() also waits on wake_[0]
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<std::thread> workers_;
  std::vector<int> clients_;
  std::map<std::string, int64_t> requests_, faults_, missed_;
  std::map<ProxyRoute, int64_t> counters_;
};

}  // namespace sflow

#endif  // SFLOW_TESTS_SUPPORT_FAULT_PROXY_H_
