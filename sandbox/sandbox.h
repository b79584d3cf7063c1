// Sandbox: sogni-flow's faithful local simulator of the Sogni API, on loopback.
//
// One HTTP server answers the REST routes of api.sogni.ai (workflows, templates, uploads and
// downloads, account), the socket host's estimate routes (/api/...), the event streams (SSE), the
// media it serves with signed, expiring URLs, and the admin routes under /_sandbox/. The official
// SDK works against it unchanged (tests/conformance). It runs as `sogni-flow sandbox`, in-process
// for `--sandbox`, and in tests; `--faults` breaks it on purpose (faults.h). See docs/sandbox.md.
#ifndef SFLOW_SANDBOX_SANDBOX_H_
#define SFLOW_SANDBOX_SANDBOX_H_

#include <memory>
#include <string>
#include <vector>

#include "engine/status.h"

namespace sflow {

struct SandboxOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port
  uint64_t seed = 1;
  int step_ms = 200;
  int events_per_step = 3;
  std::string faults;                  // "name=value,..."
  std::string data_dir;                // "" = in memory only
  std::vector<std::string> api_keys;   // accepted keys; none = one is generated
  std::string cost_approval = "pause";  // or "reject"
  // The server's estimates (and bills) as a percentage of the offline cost model: above 100 a
  // price rise, so a plan's ceiling can be exceeded on the server (waiting_for_user).
  int price_percent = 100;
  // Each account's starting balance, in spark and in sogni tokens (projects debit it).
  double balance = 1000;
  int max_active_workflows = 16;
  int rate_limit_per_second = 0;
  int keepalive_ms = 5000;
  int max_threads = 512;  // concurrent connections (each event stream holds one)
};

class Sandbox {
 public:
  // Starts listening and running workflows. Fails on a bad fault spec, a port in use, or an
  // unreadable --data-dir snapshot.
  static Result<std::unique_ptr<Sandbox>> Start(SandboxOptions options);
  ~Sandbox();  // stops
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  int port() const;
  std::string url() const;  // "http://127.0.0.1:PORT"
  // The accepted API keys (the generated one, when none was given).
  const std::vector<std::string>& api_keys() const;
  // Stops accepting, ends open streams, writes the --data-dir snapshot. Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit Sandbox(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sflow

#endif  // SFLOW_SANDBOX_SANDBOX_H_
