// Fault injection for the sandbox: `--faults name=value,...`, seeded, every firing counted.
//
//   http_5xx=P            answer a request with 503 (and retryAfter) with probability P
//   http_429=P            answer with 429, Retry-After and retryAfter, with probability P
//   retry_after=S         the seconds those two answers ask for (default 1)
//   sse_drop_after=N      close an event stream after N frames (half the time mid-frame)
//   sse_truncate=P        cut a frame short and close the stream
//   sse_duplicate=P       send a frame twice
//   sse_reorder=P         swap a frame with the next one
//   ignore_last_event_id=P  replay a stream from the start, ignoring its cursor
//   slow_ms=N             delay every answer by N ms
//   step_fail=P           a step fails and the workflow fails
//   partial_failure=P     a step fails and the workflow goes on, ending partial_failure
//   socket_drop_after=N   close a projects socket after N frames (no close frame)
//   socket_duplicate=P    send a projects socket frame twice
//   retry_storm=P         a job's worker drops it halfway: jobRetry, requeued under a new imgID
//                         (at most twice per job)
//   restart_refusal=P     refuse a new jobRequest with jobError 1001 and close the socket with
//                         1001 (once per jobID: the resend is admitted)
//   omit_result_url=P     a jobResult without resultUrl (the SDK mints it via downloadUrl)
//   queue_rounds=N        every project waits N rounds in the queue (repeated `queued`)
//   media_short_body=P    serve media with fewer bytes than its Content-Length, then close
// Thread-safe. Admin routes (/_sandbox/...) are never faulted.
#ifndef SFLOW_SANDBOX_FAULTS_H_
#define SFLOW_SANDBOX_FAULTS_H_

#include <map>
#include <mutex>
#include <random>
#include <string>

#include "engine/status.h"

namespace sflow {

class Faults {
 public:
  // Parses a spec; unknown names or bad values are a kInvalidPlan Status naming them.
  static Result<std::map<std::string, double>> Parse(const std::string& spec);

  Faults(std::map<std::string, double> settings, uint64_t seed);

  // True with the configured probability of `name` (false when not configured); counts firings.
  bool Roll(const std::string& name);
  // The configured value of `name`, or fallback.
  double Value(const std::string& name, double fallback = 0) const;
  bool Has(const std::string& name) const { return settings_.count(name) > 0; }
  // Records that a non-probabilistic fault (sse_drop_after, socket_drop_after) fired.
  void Count(const std::string& name);
  std::map<std::string, int64_t> Fired() const;
  void Reset();

 private:
  std::map<std::string, double> settings_;
  mutable std::mutex mu_;
  std::mt19937_64 rng_;
  uint64_t seed_;
  std::map<std::string, int64_t> fired_;
};

}  // namespace sflow

#endif  // SFLOW_SANDBOX_FAULTS_H_
