// Fuzz target: HttpAnswerReader (api/http_answer_reader.h), the HTTP/1.1 answer reader of the
// stream loop, which reads whatever a server (or anything on the path) sends.
//
// Input: byte 0 holds flags, the next (flags & 7) bytes place split points and pauses, the rest
// is the bytes of an answer. Checked:
//   1. Differentially: fed whole, then fed in the pieces the split points make with the sink
//      pausing where they say (the rest fed again, as the loop feeds its stash), the reader ends
//      the same way: the same verdict (whole, failed, still reading), the same message, the same
//      head (status, reason, fields) and the same body bytes.
//   2. What it hands over is bounded by what it was given: the body is never longer than the
//      input, Feed never takes more than it is given, a head is handed over at most once, and
//      after End() it has decided (whole or failed) unless the sink stopped it.
//   3. With flags & 8 the sink stops at the head (an event stream refusing a login page): whole,
//      no body.
// Built with libFuzzer (tests/fuzz/CMakeLists.txt) and replayed deterministically in every test
// run (tests/fuzz_smoke/).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_answer_reader.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using sflow::HttpAnswerReader;
using sflow::HttpResponse;
using sflow::fuzz::Check;

struct Outcome {
  bool done = false, failed = false, in_head = false;
  std::string error;
  int heads = 0;
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> fields;
  std::string body;
};

class Recorder final : public HttpAnswerReader::Sink {
 public:
  Recorder(Outcome* out, bool stop_at_head, std::vector<size_t> pauses)
      : out_(out), stop_at_head_(stop_at_head), pauses_(std::move(pauses)) {}
  HttpAnswerReader::Action OnHead(const HttpResponse& head) override {
    ++out_->heads;
    out_->status = head.status;
    out_->reason = head.reason;
    out_->fields = head.headers;
    Check(head.body.empty(), "a head handed over with a body");
    return stop_at_head_ ? HttpAnswerReader::Action::kStop : HttpAnswerReader::Action::kContinue;
  }
  HttpAnswerReader::Action OnBody(std::string_view bytes) override {
    Check(!bytes.empty(), "an empty piece of body");
    out_->body.append(bytes);
    // Pause once the body has passed each pause point (the loop's sink pausing its stream).
    if (next_ < pauses_.size() && out_->body.size() >= pauses_[next_]) {
      ++next_;
      return HttpAnswerReader::Action::kPause;
    }
    return HttpAnswerReader::Action::kContinue;
  }

 private:
  Outcome* out_;
  bool stop_at_head_;
  std::vector<size_t> pauses_;
  size_t next_ = 0;
};

Outcome Read(std::string_view answer, const std::vector<size_t>& cuts, const std::vector<size_t>& pauses,
             bool stop_at_head) {
  Outcome out;
  HttpAnswerReader reader("host.test:443");
  Recorder sink(&out, stop_at_head, pauses);
  size_t from = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(answer.size());
  for (size_t end : ends) {
    if (end < from || end > answer.size()) continue;
    std::string_view piece = answer.substr(from, end - from);
    from = end;
    // As the loop does: what a paused Feed did not take is fed again (after the resume).
    for (int guard = 0; !piece.empty(); ++guard) {
      Check(guard < 100000, "Feed takes nothing, again and again");
      const size_t taken = reader.Feed(piece, sink);
      Check(taken <= piece.size(), "Feed took more than it was given");
      if (reader.done() || reader.failed()) {
        Check(taken == piece.size(), "an ended answer left bytes untaken");
        piece = {};
        break;
      }
      piece.remove_prefix(taken);
    }
  }
  reader.End();
  out.done = reader.done();
  out.failed = reader.failed();
  out.in_head = reader.in_head();
  if (out.failed) out.error = reader.error().message();
  Check(out.done || out.failed, "End() left the answer undecided");
  Check(out.heads <= 1, "a head handed over twice");
  Check(out.body.size() <= answer.size(), "more body than input");
  Check(!out.failed || !out.error.empty(), "a failure without a message");
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  const size_t nsplits = flags & 7;
  if (size < 1 + nsplits) return 0;
  std::string_view answer(reinterpret_cast<const char*>(data) + 1 + nsplits, size - 1 - nsplits);
  std::vector<size_t> cuts, pauses;
  for (size_t i = 0; i < nsplits; ++i) {
    const size_t at = answer.empty() ? 0 : data[1 + i] % (answer.size() + 1);
    (i % 2 == 0 ? cuts : pauses).push_back(at);
  }
  std::sort(cuts.begin(), cuts.end());
  std::sort(pauses.begin(), pauses.end());
  const bool stop_at_head = flags & 8;

  const Outcome whole = Read(answer, {}, {}, stop_at_head);
  const Outcome split = Read(answer, cuts, pauses, stop_at_head);
  Check(whole.done == split.done && whole.failed == split.failed, "the verdict depends on the cuts");
  Check(whole.error == split.error, "the message depends on the cuts");
  Check(whole.heads == split.heads && whole.status == split.status && whole.reason == split.reason &&
            whole.fields == split.fields,
        "the head depends on the cuts");
  Check(whole.body == split.body, "the body depends on the cuts");
  if (stop_at_head && whole.heads == 1) Check(whole.body.empty() && whole.done, "a stop at the head read on");
  return 0;
}
