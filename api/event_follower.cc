// Implementation notes: the common case (the next sequence, in order) never touches held_; only
// out-of-order records pay for the ordered map. Reconcile sorts its batch first so that a long
// reply in any order is taken lowest first and nothing deliverable is trimmed away.
#include "api/event_follower.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "engine/json.h"

namespace sflow {

namespace {

// A non-negative decimal integer that fits in int64, or nullopt.
std::optional<int64_t> ParseSequence(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

const std::string* StringAt(const Value& object, std::string_view key) {
  const Value* v = object.Find(key);
  return v && v->is_string() ? &v->as_string() : nullptr;
}

}  // namespace

bool FollowOutcome::terminal() const { return status && EventFollower::IsTerminal(*status); }
bool FollowOutcome::waiting_for_user() const { return status && *status == "waiting_for_user"; }

EventFollower::EventFollower(Options options) : options_(std::move(options)), cursor_(options_.cursor) {}

FollowOutcome EventFollower::Offer(const SseEvent& frame) {
  FollowOutcome out;
  Offer(frame, &out);
  return out;
}

void EventFollower::Offer(const SseEvent& frame, FollowOutcome* out) {
  out->deliver.clear();
  out->gap.reset();
  out->status.reset();
  out->duplicates = out->ignored = 0;
  // The members read, by the same rules as for a parsed record (SequenceOf, Foreign, StatusOf).
  static constexpr std::string_view kKeys[] = {"sequence", "workflowId", "status", "workflow", "data", "type"};
  std::string_view v[std::size(kKeys)];
  if (!SkimJsonObject(frame.data, kKeys, v).ok()) {
    ++out->ignored;
    NoteGap(out);
    return;
  }
  const auto& [sequence_text, workflow_id, status, workflow, data, type] = v;
  std::optional<int64_t> sequence;
  if (!sequence_text.empty()) {
    if (std::optional<int64_t> n = JsonIntToken(sequence_text)) sequence = n;
    else if (std::optional<std::string> s = JsonStringToken(sequence_text)) sequence = ParseSequence(*s);
  } else if (frame.own_id) {
    sequence = ParseSequence(frame.id);
  }
  if (Foreign(workflow_id)) {
    ++out->ignored;
  } else if (sequence) {
    FollowedEvent e{.sequence = *sequence, .json = frame.data};
    if (std::optional<std::string> t = JsonStringToken(type)) e.type = std::move(*t);
    // The record's own status is also the one it reports (StatusOf's first rule): decoded once.
    if (std::optional<std::string> s = JsonStringToken(status)) {
      e.status = std::move(*s);
      e.reported = e.status;
    } else {
      e.reported = StatusOf(status, workflow, data).value_or("");
    }
    after_duplicate_ = Take(std::move(e), out) == Fate::kDuplicate;
  } else if (after_duplicate_) {
    ++out->duplicates;  // the status that went with a replayed event: stale
  } else if (std::optional<std::string> s = StatusOf(status, workflow, data)) {
    out->status = std::move(s);
  } else {
    ++out->ignored;
  }
  NoteGap(out);
}

FollowOutcome EventFollower::Reconcile(std::vector<Value> records) {
  FollowOutcome out;
  std::vector<std::pair<int64_t, size_t>> order;  // (sequence, index), taken lowest first
  order.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const Value& r = records[i];
    std::optional<int64_t> sequence;
    if (r.is_object() && !Foreign(r)) sequence = SequenceOf(r, nullptr);
    if (sequence) order.emplace_back(*sequence, i);
    else ++out.ignored;
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [sequence, index] : order) {
    const Value& r = records[index];
    FollowedEvent e{.sequence = sequence, .json = r.ToJson()};
    if (const std::string* t = StringAt(r, "type")) e.type = *t;
    if (const std::string* s = StringAt(r, "status")) e.status = *s;
    e.reported = StatusOf(r).value_or("");
    Take(std::move(e), &out);
  }
  NoteGap(&out);
  return out;
}

FollowOutcome EventFollower::SkipGap() {
  FollowOutcome out;
  if (!held_.empty()) {
    cursor_ = held_.begin()->first - 1;
    Drain(&out);
  }
  NoteGap(&out);
  return out;
}

std::optional<SequenceRange> EventFollower::gap() const {
  if (held_.empty()) return std::nullopt;
  return SequenceRange{cursor_ + 1, held_.begin()->first - 1};
}

std::optional<std::string> EventFollower::StatusOf(const Value& data) {
  if (!data.is_object()) return std::nullopt;
  if (const std::string* s = StringAt(data, "status")) return *s;
  for (std::string_view outer : {"workflow", "data"}) {
    const Value* v = data.Find(outer);
    if (v && v->is_object()) {
      if (const std::string* s = StringAt(*v, "status")) return *s;
    }
  }
  return std::nullopt;
}

std::optional<std::string> EventFollower::StatusOf(std::string_view status, std::string_view workflow,
                                                   std::string_view data) {
  if (std::optional<std::string> s = JsonStringToken(status)) return s;
  for (std::string_view outer : {workflow, data}) {
    if (outer.empty() || outer.front() != '{') continue;
    static constexpr std::string_view kStatus[] = {"status"};
    std::string_view inner[1];
    if (SkimJsonObject(outer, kStatus, inner).ok())
      if (std::optional<std::string> s = JsonStringToken(inner[0])) return s;
  }
  return std::nullopt;
}

bool EventFollower::IsTerminal(std::string_view status) {
  return status == "completed" || status == "failed" || status == "cancelled" || status == "canceled" ||
         status == "partial_failure";
}

std::optional<int64_t> EventFollower::SequenceOf(const Value& data, const SseEvent* frame) const {
  if (const Value* s = data.Find("sequence")) {
    if (s->is_int()) return s->as_int();
    if (s->is_string()) return ParseSequence(s->as_string());
    return std::nullopt;
  }
  if (frame && frame->own_id) return ParseSequence(frame->id);
  return std::nullopt;
}

bool EventFollower::Foreign(const Value& data) const {
  if (options_.workflow_id.empty()) return false;
  const std::string* id = StringAt(data, "workflowId");
  return id && *id != options_.workflow_id;
}

// The same rule on a skimmed token: a string naming another workflow. Every stream event names
// the followed one, so its token is compared as it stands when it is plain (quoted, no escape);
// only an escaped one is decoded.
bool EventFollower::Foreign(std::string_view token) const {
  if (options_.workflow_id.empty() || token.empty()) return false;
  const std::string& mine = options_.workflow_id;
  // (An id holding a quote or a backslash would read differently escaped: it takes the decoder.)
  if (token.size() == mine.size() + 2 && token.front() == '"' && token.back() == '"' &&
      token.compare(1, mine.size(), mine) == 0 && mine.find_first_of("\"\\") == std::string::npos)
    return false;
  std::optional<std::string> id = JsonStringToken(token);
  return id && *id != mine;
}

EventFollower::Fate EventFollower::Take(FollowedEvent event, FollowOutcome* out) {
  const int64_t sequence = event.sequence;
  if (sequence <= cursor_ || held_.count(sequence)) {
    ++out->duplicates;
    return Fate::kDuplicate;
  }
  if (sequence == cursor_ + 1) {
    Deliver(std::move(event), out);
    Drain(out);
    return Fate::kDelivered;
  }
  held_.emplace(sequence, std::move(event));
  Trim();
  return Fate::kHeld;
}

void EventFollower::Drain(FollowOutcome* out) {
  while (!held_.empty() && held_.begin()->first == cursor_ + 1) {
    auto node = held_.extract(held_.begin());
    Deliver(std::move(node.mapped()), out);
  }
}

void EventFollower::Trim() {
  while (held_.size() > options_.max_held) held_.erase(std::prev(held_.end()));
}

void EventFollower::Deliver(FollowedEvent event, FollowOutcome* out) {
  if (!event.reported.empty()) out->status = event.reported;
  cursor_ = event.sequence;
  out->deliver.push_back(std::move(event));
}

}  // namespace sflow
