// EventFollower: the logic of following one workflow's event log over SSE, without the sockets.
//
// The server promises neither exactly-once nor in-order delivery (a reconnection may replay, a
// proxy may reorder, a dropped stream may lose frames), so the follower turns whatever arrives into
// the log itself: every event once, in sequence order, with no holes. It keeps a cursor, the
// highest sequence delivered with every lower one delivered too:
//   * sequence <= cursor, or already held: a duplicate, dropped;
//   * sequence == cursor + 1: delivered, then any held events that now follow on;
//   * sequence > cursor + 1: held back, and the hole [cursor + 1, first held - 1] is reported as
//     a gap until filled. The caller fetches GET .../events?after=<cursor> and passes the records
//     to Reconcile(); a later frame may also fill it (a reorder), so the caller may wait briefly.
// The caller stores the delivered events and the new cursor in one transaction (docs/architecture.md,
// crash safety); if that fails it must rebuild the follower from the stored cursor.
//
// A frame's sequence is data.sequence, else its own numeric `id:` field. A frame with neither is a
// status frame (`event: workflow_status`, data {workflowId, status}). Status is read from
// data.status, data.workflow.status or data.data.status. An event record reports its status when it
// is delivered (so a terminal status never overtakes a hole); a status frame reports at once,
// unless it follows a duplicate on the same connection: a server replaying its log from the start
// must not revive an old waiting_for_user. Missing a status this way is safe, because the end of a
// stream is followed by a GET of the workflow anyway.
#ifndef SFLOW_API_EVENT_FOLLOWER_H_
#define SFLOW_API_EVENT_FOLLOWER_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/sse_parser.h"
#include "engine/value.h"

namespace sflow {

struct SequenceRange {
  int64_t first = 0;  // inclusive
  int64_t last = 0;   // inclusive
  friend bool operator==(const SequenceRange&, const SequenceRange&) = default;
};

// A delivered event record ({id, workflowId, sequence, type, status, data, ...}). The record is
// not built into a Value on the way (the stream's hot path reads only these members, with
// SkimJsonObject); whoever needs more parses `json`.
struct FollowedEvent {
  int64_t sequence = 0;
  // The record's JSON text: exactly as it arrived in the SSE frame's data (stored byte for byte,
  // never re-serialized), or, for a record that came through Reconcile(), its serialization.
  std::string json{};
  std::string type{};      // the record's "type" when a string, else ""
  std::string status{};    // the record's own "status" when a string, else ""
  std::string reported{};  // the status the record reports by the rule above (StatusOf), else ""
};

struct FollowOutcome {
  std::vector<FollowedEvent> deliver;  // new events, in sequence order, each exactly once
  std::optional<SequenceRange> gap;    // the first hole, while events are held behind it
  std::optional<std::string> status;   // the latest workflow status learned from this input
  int duplicates = 0;                  // records dropped as already delivered or held
  int ignored = 0;                     // data not a JSON object, no sequence, another workflow

  bool terminal() const;          // status is completed, failed, cancelled/canceled, partial_failure
  bool waiting_for_user() const;  // status is waiting_for_user
  // The server closes the stream after either; the caller then GETs the workflow and reconciles.
  bool stops() const { return terminal() || waiting_for_user(); }
};

class EventFollower {
 public:
  struct Options {
    std::string workflow_id;  // when set, records naming another workflowId are ignored
    int64_t cursor = 0;       // the stored cursor; 0 = nothing yet (sequences start at 1)
    size_t max_held = 10000;  // events held behind a hole; beyond it the highest are dropped
  };

  explicit EventFollower(Options options);

  // One frame from the stream (the parser's event). Its data must be JSON; other frames are
  // counted as ignored.
  FollowOutcome Offer(const SseEvent& frame);
  // The same into *out, which is cleared first (its deliver vector keeps its capacity): the
  // streaming loop reuses one outcome instead of allocating one per frame.
  void Offer(const SseEvent& frame, FollowOutcome* out);
  // Event records fetched with GET .../events (any order, any overlap with what was delivered or
  // held; a server that ignores ?after= is fine). Delivers what now follows on from the cursor.
  FollowOutcome Reconcile(std::vector<Value> records);
  // Gives up on the first hole (the server has confirmed those sequences do not exist): the
  // cursor moves past it and the held events that follow are delivered.
  FollowOutcome SkipGap();
  // Call at each new connection, before its first frame.
  void StreamStarted() { after_duplicate_ = false; }

  int64_t cursor() const { return cursor_; }
  // For the reconnection: Last-Event-ID and ?after= are both the cursor.
  std::string LastEventId() const { return std::to_string(cursor_); }
  std::optional<SequenceRange> gap() const;
  size_t held() const { return held_.size(); }

  // The status a record or frame data reports, by the rule above; nullopt if none.
  static std::optional<std::string> StatusOf(const Value& data);
  // The same from the skimmed members of the record: the texts of its "status", "workflow" and
  // "data" values (SkimJsonObject).
  static std::optional<std::string> StatusOf(std::string_view status, std::string_view workflow, std::string_view data);
  static bool IsTerminal(std::string_view status);

 private:
  enum class Fate { kDelivered, kHeld, kDuplicate };
  std::optional<int64_t> SequenceOf(const Value& data, const SseEvent* frame) const;
  bool Foreign(const Value& data) const;
  bool Foreign(std::string_view workflow_id_token) const;  // the skimmed JSON token of "workflowId"
  Fate Take(FollowedEvent event, FollowOutcome* out);
  void Drain(FollowOutcome* out);
  void Trim();
  void Deliver(FollowedEvent event, FollowOutcome* out);
  void NoteGap(FollowOutcome* out) const { out->gap = gap(); }

  Options options_;
  int64_t cursor_;
  std::map<int64_t, FollowedEvent> held_;  // sequence > cursor_ + 1, waiting for the hole to fill
  bool after_duplicate_ = false;   // the last sequenced frame on this connection was a duplicate
};

}  // namespace sflow

#endif  // SFLOW_API_EVENT_FOLLOWER_H_
