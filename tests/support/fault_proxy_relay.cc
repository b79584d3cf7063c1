#include "tests/support/fault_proxy_relay.h"

#include <algorithm>
#include <utility>

#include "tests/support/fault_proxy_io.h"

namespace sflow {

FaultRelay::FaultRelay(int client, const FaultDecision& decision, bool chunked, Hooks hooks)
    : client_(client), d_(decision), chunked_(chunked), hooks_(std::move(hooks)) {
  const bool cuts = d_.kind == FaultKind::kReset || d_.kind == FaultKind::kTruncate;
  point_ = cuts || (d_.kind == FaultKind::kStall && d_.after >= 0) ? d_.after : -1;
}

bool FaultRelay::Body(std::string_view data) {
  while (!data.empty()) {
    if (Pending() && sent_ == point_ && !Fire()) return false;
    size_t take = data.size();
    if (d_.kind == FaultKind::kDrip) take = std::min<size_t>(take, static_cast<size_t>(d_.bytes));
    if (Pending() && sent_ + static_cast<int64_t>(take) > point_) {
      const size_t part = static_cast<size_t>(point_ - sent_);
      if (d_.kind == FaultKind::kStall) {
        take = part;  // up to the stall point; the rest after it
      } else {        // a cut inside this piece: a chunk announced whole, sent in part
        if (chunked_ && !Send(proxy_io::ChunkHeader(take))) return false;
        if (!Send(data.substr(0, part))) return false;
        sent_ += static_cast<int64_t>(part);
        return Fire();
      }
    }
    // The drip pauses between pieces, never after the last: a client that has the whole body
    // may go away at once.
    if (d_.kind == FaultKind::kDrip && sent_ > 0 && !hooks_.wait(d_.ms)) return false;
    if (chunked_ && !Send(proxy_io::ChunkHeader(take))) return false;
    if (!Send(data.substr(0, take)) || (chunked_ && !Send("\r\n"))) return false;
    sent_ += static_cast<int64_t>(take);
    data.remove_prefix(take);
  }
  return true;
}

bool FaultRelay::End() {
  if (Pending() && sent_ == point_ && chunked_ && !Fire()) return false;
  if (Pending()) hooks_.count(/*missed=*/true);
  return !chunked_ || Send("0\r\n\r\n");
}

bool FaultRelay::Send(std::string_view bytes) { return proxy_io::SendAll(client_, bytes); }

// Carries out the cut or the stall; false when the connection is to end.
bool FaultRelay::Fire() {
  fired_ = true;
  hooks_.count(/*missed=*/false);
  if (d_.kind == FaultKind::kStall) return hooks_.wait(d_.ms);
  reset_ = d_.kind == FaultKind::kReset;
  return false;
}

}  // namespace sflow
