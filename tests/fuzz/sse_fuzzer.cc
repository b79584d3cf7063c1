// Fuzz target: the SSE parser and the event follower, together.
//
// Input: byte 0 holds flags, the next (flags & 7) bytes place split points, the rest is an event
// stream body. Checked:
//   1. Differentially: the body fed to SseParser in the chunks the split points make gives the
//      same events (and the same failure on an oversized event), the same last event id and the
//      same reconnection time as a small reference parser written line by line from the WHATWG
//      text (below) given the whole body.
//   2. The events, offered frame by frame to an EventFollower (with reconciling GETs and gap
//      skips in between, as the flags say), against a model of its contract: the cursor never
//      decreases; what is delivered runs consecutively from the cursor and no sequence is ever
//      delivered twice; a duplicate is counted exactly when the sequence is at or below the
//      cursor or already held; the held count and the reported gap match the model.
// Built with libFuzzer (tests/fuzz/CMakeLists.txt) and replayed deterministically in every test
// run (tests/fuzz_smoke/).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <iterator>
#include <vector>

#include "api/event_follower.h"
#include "api/sse_parser.h"
#include "engine/json.h"

namespace {

using sflow::EventFollower;
using sflow::FollowOutcome;
using sflow::SseEvent;
using sflow::Value;

void Check(bool ok) {
  if (!ok) std::abort();
}

// ---- The reference: html.spec.whatwg.org, "Interpreting an event stream", one whole body. ----
struct Reference {
  std::vector<SseEvent> events;
  std::string last_event_id;
  std::optional<int64_t> retry_ms;
  bool failed = false;  // an event outgrew the limit (SseParser's own rule, see sse_parser.h)
};

// "the field value consists of only ASCII digits": a reconnection time; SseParser also refuses a
// value beyond int64, and so does the reference.
std::optional<int64_t> SpecRetry(std::string_view v) {
  if (v.empty()) return std::nullopt;
  int64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, c - '0', &n)) return std::nullopt;
  }
  return n;
}

Reference SpecParse(std::string_view body, size_t max_event_bytes) {
  Reference r;
  if (body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);
  std::string data, type, id_buffer;
  bool own_id = false;
  std::optional<int64_t> block_retry;
  size_t i = 0;
  while (true) {
    size_t eol = body.find_first_of("\r\n", i);
    if (eol == std::string_view::npos) {  // the unterminated rest is never a line
      if (body.size() - i + data.size() > max_event_bytes) r.failed = true;
      return r;
    }
    std::string_view line = body.substr(i, eol - i);
    i = eol + 1;
    if (body[eol] == '\r' && i < body.size() && body[i] == '\n') ++i;
    if (line.size() + data.size() > max_event_bytes) {
      r.failed = true;
      return r;
    }
    if (line.empty()) {  // dispatch
      r.last_event_id = id_buffer;
      if (!data.empty()) {
        data.pop_back();
        SseEvent e;
        e.id = r.last_event_id;
        e.own_id = own_id;
        e.type = type.empty() ? "message" : type;
        e.data = data;
        e.retry_ms = block_retry;
        r.events.push_back(e);
      }
      data.clear(), type.clear(), own_id = false, block_retry.reset();
      continue;
    }
    if (line[0] == ':') continue;
    size_t colon = line.find(':');
    std::string_view field = line.substr(0, colon), value;
    if (colon != std::string_view::npos) {
      value = line.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    }
    if (field == "event") {
      type = value;
    } else if (field == "data") {
      data.append(value);
      data.push_back('\n');
    } else if (field == "id") {
      if (value.find('\0') == std::string_view::npos) id_buffer = value, own_id = true;
    } else if (field == "retry") {
      if (std::optional<int64_t> ms = SpecRetry(value)) r.retry_ms = block_retry = ms;
    }
  }
}

// ---- The follower's contract as a model. ----
std::optional<int64_t> ModelSequence(std::string_view s) {
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  return std::strtoll(std::string(s).c_str(), nullptr, 10);
}

// The sequence the follower must find in a record (and frame), or nullopt; `foreign` when the
// record names another workflow.
std::optional<int64_t> SequenceOf(const Value& data, const SseEvent* frame, bool* foreign) {
  const Value* wid = data.Find("workflowId");
  *foreign = wid && wid->is_string() && wid->as_string() != "wf";
  if (const Value* s = data.Find("sequence")) {
    if (s->is_int()) return s->as_int();
    if (s->is_string()) return ModelSequence(s->as_string());
    return std::nullopt;
  }
  if (frame && frame->own_id) return ModelSequence(frame->id);
  return std::nullopt;
}

class Model {
 public:
  Model(EventFollower* f, int64_t cursor, size_t max_held) : f_(f), cursor_(cursor), max_held_(max_held) {}

  // Records what taking `sequence` must do; returns whether it is a duplicate.
  bool Take(int64_t sequence) {
    if (sequence <= cursor_ || held_.count(sequence)) return true;
    if (sequence == cursor_ + 1) {
      cursor_ = sequence;
      Drain();
    } else {
      held_.insert(sequence);
      while (held_.size() > max_held_) held_.erase(std::prev(held_.end()));  // the highest go
    }
    return false;
  }
  void SkipGap() {
    if (!held_.empty()) cursor_ = *held_.begin() - 1;
    Drain();
  }
  // The outcome of one operation that started at `before`, against the model.
  void Verify(int64_t before, const FollowOutcome& o, int expected_duplicates) {
    Check(f_->cursor() >= before);
    int64_t next = before + 1;
    for (const sflow::FollowedEvent& e : o.deliver) Check(e.sequence == next++);  // consecutive from the cursor
    Record(o);
    Check(f_->cursor() == cursor_);
    Check(o.duplicates == expected_duplicates);
    Check(f_->held() == held_.size());
    std::optional<sflow::SequenceRange> gap = f_->gap();
    Check(gap.has_value() == !held_.empty());
    if (gap) Check(gap->first == cursor_ + 1 && gap->last == *held_.begin() - 1 && gap->first <= gap->last);
    Check(o.gap == gap);
  }
  int64_t cursor() const { return cursor_; }
  void Record(const FollowOutcome& o) {
    for (const sflow::FollowedEvent& e : o.deliver) Check(delivered_.insert(e.sequence).second);  // never twice
  }

 private:
  void Drain() {
    while (!held_.empty() && *held_.begin() == cursor_ + 1) {
      cursor_ = *held_.begin();
      held_.erase(held_.begin());
    }
  }
  EventFollower* f_;
  int64_t cursor_;
  size_t max_held_;
  std::set<int64_t> held_;
  std::set<int64_t> delivered_;
};

void FollowFrames(const std::vector<SseEvent>& frames, uint8_t flags) {
  const int64_t start = (flags & 0x10) ? 3 : 0;
  const size_t max_held = (flags & 0x20) ? 3 : 10000;
  EventFollower follower({.workflow_id = "wf", .cursor = start, .max_held = max_held});
  Model model(&follower, start, max_held);
  std::vector<Value> records;  // what a reconciling GET could return: the records seen so far
  bool after_duplicate = false;  // the follower's rule for status frames after a replayed event
  FollowOutcome o;
  for (size_t n = 0; n < frames.size(); ++n) {
    const SseEvent& frame = frames[n];
    if (n % 5 == 0) {
      follower.StreamStarted();
      after_duplicate = false;
    }
    const int64_t before = follower.cursor();
    follower.Offer(frame, &o);
    int dups = 0;
    bool taken = false;  // this frame carries a sequence the follower takes
    int64_t own = 0;
    sflow::Result<Value> data = sflow::ParseJson(frame.data);
    if (data.ok() && data->is_object()) {
      bool foreign = false;
      std::optional<int64_t> seq = SequenceOf(*data, &frame, &foreign);
      if (!foreign && seq) {
        taken = true;
        own = *seq;
        after_duplicate = model.Take(own);
        dups = after_duplicate ? 1 : 0;
        if (data->Find("sequence")) records.push_back(*data);
      } else if (!foreign && after_duplicate) {
        dups = 1;  // the status that went with a replayed event: stale
      }
    }
    model.Verify(before, o, dups);
    for (const sflow::FollowedEvent& e : o.deliver) {
      if (taken && e.sequence == own) Check(e.json == frame.data);  // stored byte for byte as received
      // What the follower read without parsing is what the parsed record says.
      sflow::Result<Value> record = sflow::ParseJson(e.json);
      Check(record.ok() && record->is_object());
      const Value* type = record->Find("type");
      const Value* status = record->Find("status");
      Check(e.type == (type && type->is_string() ? type->as_string() : std::string()));
      Check(e.status == (status && status->is_string() ? status->as_string() : std::string()));
      Check(e.reported == EventFollower::StatusOf(*record).value_or(""));
    }
    if ((flags & 0x40) && n % 3 == 2) {  // a reconciling GET of the last records seen, newest first
      std::vector<Value> reply(records.rbegin(), records.rbegin() + std::min<size_t>(records.size(), 8));
      std::vector<int64_t> order;
      for (const Value& r : reply) {
        bool f = false;
        if (std::optional<int64_t> seq = SequenceOf(r, nullptr, &f); seq && !f) order.push_back(*seq);
      }
      std::stable_sort(order.begin(), order.end());
      const int64_t b = follower.cursor();
      FollowOutcome r = follower.Reconcile(std::move(reply));
      int expected = 0;
      for (int64_t seq : order) expected += model.Take(seq) ? 1 : 0;
      model.Verify(b, r, expected);
    }
    if ((flags & 0x80) && n % 4 == 3) {  // the server confirmed the hole does not exist
      const int64_t b = follower.cursor();
      std::optional<sflow::SequenceRange> gap = follower.gap();
      FollowOutcome r = follower.SkipGap();
      model.SkipGap();
      model.Record(r);
      Check(follower.cursor() >= b && follower.cursor() == model.cursor());
      if (gap) Check(!r.deliver.empty() && r.deliver.front().sequence == gap->last + 1);
      for (size_t k = 1; k < r.deliver.size(); ++k) Check(r.deliver[k].sequence == r.deliver[k - 1].sequence + 1);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const size_t nsplits = std::min<size_t>(flags & 7, size - 1);
  std::string_view body(reinterpret_cast<const char*>(data) + 1 + nsplits, size - 1 - nsplits);
  std::vector<size_t> cuts;
  for (size_t k = 0; k < nsplits; ++k) cuts.push_back(body.empty() ? 0 : data[1 + k] * body.size() / 255);
  std::sort(cuts.begin(), cuts.end());
  cuts.push_back(body.size());

  const size_t limit = (flags & 8) ? 48 : (1u << 20);
  Reference ref = SpecParse(body, limit);
  sflow::SseParser parser(sflow::SseParser::Limits{.max_event_bytes = limit});
  std::vector<SseEvent> got;
  bool failed = false;
  size_t at = 0;
  for (size_t cut : cuts) {
    if (!parser.Feed(body.substr(at, cut - at), &got).ok()) {
      failed = true;
      break;
    }
    at = cut;
  }
  Check(failed == ref.failed);
  Check(got == ref.events);
  if (!failed) {
    Check(parser.last_event_id() == ref.last_event_id);
    Check(parser.retry_ms() == ref.retry_ms);
  }
  (void)parser.Finish();
  FollowFrames(got, flags);
  return 0;
}
