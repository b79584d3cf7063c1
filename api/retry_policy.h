// When and how long to wait before sending a failed request again.
//
// Rules (docs/api-contract.md section 9):
//  * Only requests that are safe to repeat are retried: GET, HEAD, OPTIONS, or any request that
//    carries an Idempotency-Key header (the server deduplicates on it). An unkeyed POST is sent
//    once, whatever happens.
//  * Only transient failures are retried: a transport kUnavailable (network, timeout), HTTP 408,
//    429 and 5xx. Any other 4xx, kSecurity and kCancelled end the loop at once.
//  * The wait is the server's hint when there is one: the error body's `retryAfter` (seconds)
//    first, else the Retry-After header (delta-seconds, or an HTTP-date measured against the
//    answer's Date header; a past date is 0), clamped to max_retry_after. Otherwise full-jitter
//    exponential backoff: uniform in [0, min(max_delay, base_delay * 2^(n-1))] before retry n.
//  * A 429 is never retried at once: a zero or missing hint waits at least base_delay.
//  * At most max_attempts sends, and no wait that would end past the time budget.
// Time comes from a RetryClock, so tests neither sleep nor depend on the wall clock.
#ifndef SFLOW_API_RETRY_POLICY_H_
#define SFLOW_API_RETRY_POLICY_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "api/http_transport.h"
#include "engine/status.h"

namespace sflow {

// The clock and the sleeper the retry loop uses (the seam tests replace).
// The process's stop (Ctrl-C or --timeout, raised by the drive pool): while it is raised, the
// real clock's waits end at once (SleepFor returns false, the retry loop kCancelled), so that a
// run retrying against an unreachable API stops when the runs are stopped, not at the end of its
// retry budget. Lowered again before work that must still reach the API (the cancels of
// --cancel-on-interrupt).
void SetRetryWaitsInterrupted(bool interrupted);
// Whether it is raised: loops of requests (one quote per step) stop between requests too.
bool RetryWaitsInterrupted();

class RetryClock {
 public:
  virtual ~RetryClock() = default;
  virtual std::chrono::steady_clock::time_point Now() = 0;      // budgets and elapsed time
  virtual std::chrono::system_clock::time_point WallNow() = 0;  // HTTP-dates without a Date header
  // Waits `d`; false when the wait was interrupted (the loop then stops with kCancelled).
  virtual bool SleepFor(std::chrono::milliseconds d) = 0;
  // The process's real clock (std::this_thread::sleep_for). Never null, never freed.
  static RetryClock* Real();
};

// What a retry loop tells its observer before it waits: a person watching a 20-second outage
// should see "API unavailable, retrying" rather than nothing.
struct RetryNotice {
  std::string request;       // "GET /v1/creative-agent/workflows" (never a query string)
  std::string why;           // "HTTP 503", or the transport's message
  int attempt = 0;           // the send that failed (1 = the first)
  int max_attempts = 0;
  std::chrono::milliseconds delay{0};  // the wait before the next send
  // "API unavailable (GET /v1/...: HTTP 503); retrying, next try in 4s (attempt 2 of 5)"
  std::string Describe() const;
};

struct RetryOptions {
  int max_attempts = 5;                             // sends in all, the first included
  std::chrono::milliseconds base_delay{500};        // backoff before the first retry (upper bound)
  std::chrono::milliseconds max_delay{20000};       // cap of one backoff
  std::chrono::milliseconds time_budget{600000};    // from the first send to the last retry
  std::chrono::milliseconds max_retry_after{900000};  // server hints are clamped to this (15 min)
  std::optional<uint64_t> seed;                     // jitter seed; none: RandomU64()
  // Called before each wait for a retry; may be empty. Called on the thread of the request, so
  // it must be thread-safe when one client serves several threads.
  std::function<void(const RetryNotice&)> on_retry;
};

// Seconds to wait from a Retry-After header value: delta-seconds (digits only) or an HTTP-date
// (IMF-fixdate, RFC 850 or asctime form), measured against `date_header` (the answer's Date)
// when that parses, else against `now`. A date in the past is 0. nullopt when unparsable.
std::optional<double> ParseRetryAfter(std::string_view value, std::string_view date_header,
                                      std::chrono::system_clock::time_point now);

// Seconds since the epoch of an HTTP-date in any of the three forms of RFC 9110 5.6.7.
std::optional<int64_t> ParseHttpDate(std::string_view value);

// One attempt, as the policy sees it: either a transport failure or an HTTP answer.
struct AttemptResult {
  Status transport;   // not OK when no answer arrived
  int http_status = 0;
  std::optional<double> body_retry_after;  // the error body's retryAfter, seconds
  std::string retry_after_header;
  std::string date_header;

  static AttemptResult FromResponse(const Result<HttpResponse>& r);
};

class RetryPolicy {
 public:
  explicit RetryPolicy(RetryOptions options = RetryOptions(), RetryClock* clock = RetryClock::Real());

  // GET/HEAD/OPTIONS, or a request with an Idempotency-Key.
  static bool SafeToRepeat(std::string_view method, bool has_idempotency_key);
  static bool SafeToRepeat(const HttpRequest& request);
  // Network failures and 408, 429, 5xx. TLS, refused URLs and cancellation are not transient.
  static bool Transient(const AttemptResult& attempt);

  // The full-jitter backoff before retry `n` (1 = the first retry). Advances the RNG.
  std::chrono::milliseconds Backoff(int n);
  // The server's hint in seconds (body first, then header), clamped; nullopt when none.
  std::optional<std::chrono::milliseconds> ServerHint(const AttemptResult& attempt) const;
  // The wait before retry `n` after `attempt` failed transiently (hint, else backoff; a 429
  // waits at least base_delay).
  std::chrono::milliseconds DelayBefore(int n, const AttemptResult& attempt);

  // Sends `request` through `transport` until it succeeds, fails for good, or the attempts or
  // the budget run out. Returns the last HTTP answer whatever its status (the caller maps
  // statuses), or the last transport Status; `attempts` (optional) receives the number of sends.
  // Only kUnavailable transport failures are rewritten: "... (after N attempts)".
  Result<HttpResponse> Execute(HttpTransport& transport, const HttpRequest& request, int* attempts = nullptr);

  const RetryOptions& options() const { return options_; }

 private:
  RetryOptions options_;
  RetryClock* clock_;
  std::mt19937_64 rng_;
};

}  // namespace sflow

#endif  // SFLOW_API_RETRY_POLICY_H_
