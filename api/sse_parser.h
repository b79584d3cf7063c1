// SseParser: text/event-stream bytes to events, by the WHATWG HTML "event stream interpretation"
// (html.spec.whatwg.org/multipage/server-sent-events.html, section 9.2.6).
//
// Pure: no I/O, no clock, no threads. Feed it the body of one HTTP response in chunks split
// anywhere (inside a UTF-8 sequence, between CR and LF); it calls back once per complete event,
// exactly as if the body had arrived in one piece. The rules it keeps:
//   * Lines end in CRLF, LF or a lone CR. A CR that ends one chunk and an LF that starts the next
//     are one line break; the line is processed at the CR, without waiting for the next chunk.
//   * One UTF-8 byte order mark is skipped at the start of the body, nowhere else.
//   * A line starting with ':' is a comment (a keepalive): counted, passed to the comment
//     handler, otherwise ignored.
//   * `name: value` with exactly one leading space of the value removed; a line without a colon is
//     a field name with an empty value; unknown fields are ignored.
//   * `event` sets the type, `data` appends a line, `id` sets the last event id unless the value
//     contains U+0000 (then the field is ignored), `retry` sets the reconnection time only when the
//     value is all ASCII digits (and fits in int64).
//   * A blank line dispatches: the last event id is committed first (so an `id:`-only block moves
//     it), then an event goes out only if some `data` line was seen. The last event id is never
//     reset: an event without an `id` field carries the previous one.
//   * End of body (Finish) drops an unterminated event and a partial line.
// Bytes are passed through, not decoded: invalid UTF-8 is not replaced with U+FFFD (the JSON layer
// rejects it), and CR/LF never occur inside a multi-byte sequence, so splits there are harmless.
//
// Cost: lines are found with memchr; a line that lies inside one chunk is processed in place, and
// the buffers are reused, so the steady state allocates nothing per byte or per event.
#ifndef SFLOW_API_SSE_PARSER_H_
#define SFLOW_API_SSE_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"

namespace sflow {

struct SseEvent {
  std::string id;        // the last event id at dispatch (inherited when this block had no `id`)
  bool own_id = false;   // this block carried a valid `id` field itself
  std::string type = "message";  // the `event` field, or "message"
  std::string data;      // the `data` lines joined with "\n"
  std::optional<int64_t> retry_ms;  // a valid `retry` field in this block, if any

  friend bool operator==(const SseEvent&, const SseEvent&) = default;
};

class SseParser {
 public:
  struct Limits {
    // Bytes one event may hold (its pending line plus its data). Past it, Feed fails: a server
    // that never sends a line break must not grow memory without bound.
    size_t max_event_bytes = 4u << 20;
  };
  using EventHandler = std::function<void(const SseEvent&)>;
  using CommentHandler = std::function<void(std::string_view text)>;  // text after the ':'

  SseParser();
  explicit SseParser(Limits limits);

  // Parses the next bytes of the body; on_event sees each event completed by them, in order (the
  // reference is valid only during the call). Fails (kUnavailable) only when an event outgrows
  // Limits; the parser then refuses input until Finish() or Reset(), and the caller reconnects.
  Status Feed(std::string_view bytes, const EventHandler& on_event);
  // The same, appending the events to *out.
  Status Feed(std::string_view bytes, std::vector<SseEvent>* out);

  // End of the body. Drops an incomplete event or line (the spec's rule) and readies the parser
  // for the next response, as Reset() does. Returns true if anything was dropped.
  bool Finish();
  // Readies the parser for a new response: in-flight state is dropped and the BOM is allowed
  // again. The last event id (as committed by a blank line) and the reconnection time are kept:
  // they belong to the event source, not to one response.
  void Reset();

  // The value to send as Last-Event-ID when reconnecting ("" when none).
  const std::string& last_event_id() const { return last_event_id_; }
  // The reconnection time from the latest valid `retry` field, dispatched or not.
  std::optional<int64_t> retry_ms() const { return retry_ms_; }
  // Comment lines seen since construction (keepalives).
  int64_t comments() const { return comments_; }
  void set_comment_handler(CommentHandler handler) { on_comment_ = std::move(handler); }

 private:
  void ProcessLine(std::string_view line, const EventHandler& on_event);
  void ProcessField(std::string_view field, std::string_view value);
  void Dispatch(const EventHandler& on_event);
  void ClearBlock();
  Status TooBig();

  Limits limits_;
  CommentHandler on_comment_;
  std::string line_;         // a line split across chunks, so far
  SseEvent event_;           // the block being read: data, type ("" = none yet), own_id, retry_ms
  std::string id_buffer_;    // the spec's "last event ID buffer"
  std::string last_event_id_;  // committed at each blank line
  std::optional<int64_t> retry_ms_;
  int64_t comments_ = 0;
  int bom_matched_ = 0;      // BOM bytes matched at the start of the body; 3 once decided
  bool block_open_ = false;  // a field line was seen since the last blank line
  bool skip_lf_ = false;     // the previous chunk ended in CR: an LF next is part of that break
  bool failed_ = false;
};

}  // namespace sflow

#endif  // SFLOW_API_SSE_PARSER_H_
