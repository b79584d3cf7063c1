// Implementation notes: the body is scanned for the next CR and the next LF with memchr, each
// remembered until passed, so a stream without CRs costs one failed CR scan per chunk, not one per
// line. A line wholly inside the chunk is handled as a view into it; only a line cut by the chunk
// end is copied into line_. The event being built lives in event_, whose strings keep their
// capacity from one event to the next.
#include "api/sse_parser.h"

#include <cstring>
#include <limits>

namespace sflow {

namespace {

constexpr char kBom[] = "\xEF\xBB\xBF";

// Index of the first c in base[from, n), or n.
size_t Find(const char* base, size_t from, size_t n, char c) {
  const void* hit = std::memchr(base + from, c, n - from);
  return hit ? static_cast<size_t>(static_cast<const char*>(hit) - base) : n;
}

// The spec's retry rule: only ASCII digits (and at least one); we also refuse what overflows.
std::optional<int64_t> ParseRetry(std::string_view value) {
  if (value.empty()) return std::nullopt;
  int64_t v = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    int d = c - '0';
    if (v > (std::numeric_limits<int64_t>::max() - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

}  // namespace

SseParser::SseParser() : SseParser(Limits()) {}

SseParser::SseParser(Limits limits) : limits_(limits) { ClearBlock(); }

Status SseParser::Feed(std::string_view bytes, const EventHandler& on_event) {
  if (failed_) return TooBig();
  const char* const base = bytes.data();
  const size_t n = bytes.size();
  size_t i = 0;
  // The BOM may itself be split across chunks; bytes that only looked like its start are data.
  while (bom_matched_ < 3 && i < n) {
    if (base[i] == kBom[bom_matched_]) {
      ++bom_matched_;
      ++i;
    } else {
      line_.append(kBom, static_cast<size_t>(bom_matched_));
      bom_matched_ = 3;
    }
  }
  if (skip_lf_ && i < n) {
    if (base[i] == '\n') ++i;
    skip_lf_ = false;
  }
  size_t lf = 0, cr = 0;
  bool lf_known = false, cr_known = false;  // lf/cr hold the next LF/CR at or after i (n: none)
  while (i < n) {
    if (!lf_known || lf < i) lf = Find(base, i, n, '\n'), lf_known = true;
    if (!cr_known || cr < i) cr = Find(base, i, n, '\r'), cr_known = true;
    const size_t eol = lf < cr ? lf : cr;
    if (eol == n) {  // the line goes on in the next chunk
      line_.append(base + i, n - i);
      if (line_.size() + event_.data.size() > limits_.max_event_bytes) return TooBig();
      break;
    }
    std::string_view line(base + i, eol - i);
    if (!line_.empty()) {
      line_.append(line);
      line = line_;
    }
    if (line.size() + event_.data.size() > limits_.max_event_bytes) return TooBig();
    ProcessLine(line, on_event);
    line_.clear();
    i = eol + 1;
    if (base[eol] == '\r') {
      if (i == n) skip_lf_ = true;
      else if (base[i] == '\n') ++i;
    }
  }
  return Status::OK();
}

Status SseParser::Feed(std::string_view bytes, std::vector<SseEvent>* out) {
  return Feed(bytes, [out](const SseEvent& e) { out->push_back(e); });
}

void SseParser::ProcessLine(std::string_view line, const EventHandler& on_event) {
  if (line.empty()) return Dispatch(on_event);
  if (line[0] == ':') {
    ++comments_;
    if (on_comment_) on_comment_(line.substr(1));
    return;
  }
  block_open_ = true;
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return ProcessField(line, std::string_view());
  std::string_view value = line.substr(colon + 1);
  if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  ProcessField(line.substr(0, colon), value);
}

void SseParser::ProcessField(std::string_view field, std::string_view value) {
  switch (field.size()) {
    case 2:
      if (field == "id" && value.find('\0') == std::string_view::npos) {
        id_buffer_.assign(value);
        event_.own_id = true;
      }
      break;
    case 4:
      if (field == "data") {
        event_.data.append(value);
        event_.data.push_back('\n');
      }
      break;
    case 5:
      if (field == "event") {
        event_.type.assign(value);
      } else if (field == "retry") {
        if (std::optional<int64_t> ms = ParseRetry(value)) retry_ms_ = event_.retry_ms = ms;
      }
      break;
    default:
      break;  // unknown fields are ignored
  }
}

void SseParser::Dispatch(const EventHandler& on_event) {
  last_event_id_ = id_buffer_;  // even when nothing is dispatched
  block_open_ = false;
  if (!event_.data.empty()) {
    event_.data.pop_back();  // the "\n" after the last data line
    if (event_.type.empty()) event_.type.assign("message");
    event_.id = last_event_id_;
    on_event(event_);
  }
  ClearBlock();
}

void SseParser::ClearBlock() {
  event_.data.clear();
  event_.type.clear();
  event_.own_id = false;
  event_.retry_ms.reset();
}

bool SseParser::Finish() {
  bool dropped = block_open_ || !line_.empty() || (bom_matched_ > 0 && bom_matched_ < 3);
  Reset();
  return dropped;
}

void SseParser::Reset() {
  line_.clear();
  ClearBlock();
  id_buffer_ = last_event_id_;  // an id inside a dropped block was never committed
  bom_matched_ = 0;
  block_open_ = false;
  skip_lf_ = false;
  failed_ = false;
}

Status SseParser::TooBig() {
  failed_ = true;
  line_.clear();
  ClearBlock();
  return Status::Error(Status::Code::kUnavailable,
                       "event stream: an event is larger than " + std::to_string(limits_.max_event_bytes) + " bytes");
}

}  // namespace sflow
