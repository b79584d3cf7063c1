// The fault proxy's body writer (tests/support/fault_proxy.h): writes one answer's body to the
// client, re-framed sized or chunked, carrying out the decision's body faults: a cut (reset or
// truncate) or a stall after `after` bytes, and the drip.
#ifndef SFLOW_TESTS_SUPPORT_FAULT_PROXY_RELAY_H_
#define SFLOW_TESTS_SUPPORT_FAULT_PROXY_RELAY_H_

#include <cstdint>
#include <functional>
#include <string_view>

#include "tests/support/fault_proxy_script.h"

namespace sflow {

class FaultRelay {
 public:
  struct Hooks {
    std::function<void(bool missed)> count;  // the fault was carried out (false) or not reached (true)
    std::function<bool(int64_t ms)> wait;    // false: stop (the proxy stops or the client went away)
  };
  FaultRelay(int client, const FaultDecision& decision, bool chunked, Hooks hooks);

  // The next body bytes. False when the connection is to end: a cut, or the client went away.
  bool Body(std::string_view data);
  // The end of the body. A cut or stall due exactly here still happens in a chunked body (before
  // its last chunk); one due further on, or at the end of a sized body, is counted as missed.
  bool End();
  // The connection is to end with a reset (RST) rather than an orderly close.
  bool reset() const { return reset_; }

 private:
  bool Pending() const { return point_ >= 0 && !fired_; }
  bool Send(std::string_view bytes);
  bool Fire();

  int client_;
  const FaultDecision& d_;
  bool chunked_;
  Hooks hooks_;
  int64_t point_ = -1, sent_ = 0;
  bool fired_ = false, reset_ = false;
};

}  // namespace sflow

#endif  // SFLOW_TESTS_SUPPORT_FAULT_PROXY_RELAY_H_
