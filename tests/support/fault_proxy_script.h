// The fault proxy's script (tests/support/fault_proxy.h): which request of which route meets
// which fault, decided from a seed.
//
// A script is a list of rules, one per line or separated by ';' (a line starting with '#' is a
// comment):
//     ROUTE[N-M] ACTION [key=VALUE ...] [p=PROBABILITY]
// ROUTE is one of the route names below or '*'. The optional [N], [N-M] or [N-] selects the
// route's Nth requests (1-based, counted per route in arrival order). p (default 1) is drawn per
// request. The first rule that matches a request decides what happens to it; no match is `pass`.
// A numeric VALUE may be a range A-B, drawn per request. Every draw is a hash of (seed, route,
// request number, rule, key): the same seed gives the same faults to the same requests of a
// route, whatever the other routes do meanwhile.
//
// Routes (what sogni-flow sends; admin paths /_sandbox/... other than media are never faulted):
//   start     POST /v1/creative-agent/workflows
//   post      other POSTs under /v1/creative-agent/workflows/ (cancel, reseed, resume, confirm-cost)
//   stream    GET .../workflows/{id}/events/stream
//   events    GET .../workflows/{id}/events
//   workflow  GET .../workflows/{id}
//   media     GET or HEAD /_sandbox/media/... (artifact downloads)
//   other     anything else
// Actions:
//   pass                       forwarded untouched
//   status CODE [retry_after=S]  answered by the proxy (JSON error envelope), never forwarded
//          [retry_after_digits=N]  with a Retry-After of N 9s (e.g. 309: more than a double holds)
//   drop [forward=0|1]         the connection is reset without an answer; with forward=1 (the
//                              default) only after the upstream answered, so the request took effect
//   reset after=N              the head and N body bytes go out, then the connection is reset (RST)
//   garble                     forwarded (the upstream acts on it), then a sized JSON answer's
//                              body is replaced by bytes that are not JSON, whole and well framed
//   truncate after=N           the head and N body bytes go out, then an orderly close: a chunked
//                              body lacks its last chunk, a sized one is short of Content-Length
//   stall ms=M [after=N]       M ms of silence before the head, or after N body bytes
//   drip bytes=K ms=M          the body goes out K bytes at a time, M ms apart
//   hold ms=M | until=ended    waits before forwarding: the answer reflects a later state
//   late ms=M | until=ended    forwards at once and delivers the answer later: a stale answer
// until=ended waits until the sandbox's log of the request's workflow reports a terminal status
// or waiting_for_user (GET /_sandbox/events/{id} upstream), bounded by the proxy's hold limit.
#ifndef SFLOW_TESTS_SUPPORT_FAULT_PROXY_SCRIPT_H_
#define SFLOW_TESTS_SUPPORT_FAULT_PROXY_SCRIPT_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"

namespace sflow {

enum class ProxyRoute { kStart, kPost, kStream, kEvents, kWorkflow, kMedia, kOther, kAdmin };
const char* ProxyRouteName(ProxyRoute route);
// The route of a request; kAdmin for /_sandbox/... except media, and for /_proxy/....
ProxyRoute ClassifyProxyRoute(std::string_view method, std::string_view path);

enum class FaultKind { kPass, kStatus, kDrop, kReset, kTruncate, kStall, kDrip, kHold, kLate, kGarble };
const char* FaultKindName(FaultKind kind);

// What happens to one request, all values drawn.
struct FaultDecision {
  FaultKind kind = FaultKind::kPass;
  int rule = -1;          // index of the deciding rule
  int status = 503;       // kStatus
  int retry_after = -1;   // kStatus: seconds for Retry-After; -1 = no header
  int retry_after_digits = 0;  // kStatus: a Retry-After of this many 9s instead (no number type holds it)
  bool forward = true;    // kDrop
  int64_t after = -1;     // kReset, kTruncate, kStall: body bytes first (-1: kStall before the head)
  int64_t ms = 0;         // kStall, kDrip, kHold, kLate
  int64_t bytes = 1;      // kDrip
  bool until_ended = false;  // kHold, kLate
};

class FaultScript {
 public:
  // kInvalidPlan naming the rule and the problem.
  static Result<FaultScript> Parse(std::string_view text);

  FaultDecision Decide(uint64_t seed, ProxyRoute route, int64_t n) const;
  bool empty() const { return rules_.empty(); }

 private:
  struct Range {
    int64_t lo = 0, hi = 0;
  };
  struct Rule {
    std::string route;  // a route name or "*"
    int64_t first = 1, last = INT64_MAX;
    double p = 1;
    FaultKind kind = FaultKind::kPass;
    std::map<std::string, Range> values;
  };
  static Result<Rule> ParseRule(std::string_view text);
  std::vector<Rule> rules_;
};

}  // namespace sflow

#endif  // SFLOW_TESTS_SUPPORT_FAULT_PROXY_SCRIPT_H_
