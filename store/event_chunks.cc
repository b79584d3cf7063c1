#include "store/event_chunks.h"

#include <charconv>

#include "engine/json.h"
#include "engine/value.h"

namespace sflow {

namespace {

// One decimal field of a header, then the separator `end`: no sign, no leading zero (but "0"),
// a value that fits int64.
bool Field(std::string_view line, size_t* pos, char end, int64_t* out) {
  size_t start = *pos, i = start;
  while (i < line.size() && line[i] >= '0' && line[i] <= '9') ++i;
  const size_t digits = i - start;
  if (digits == 0 || digits > 19 || (digits > 1 && line[start] == '0')) return false;
  if (i >= line.size() || line[i] != end) return false;
  if (std::from_chars(line.data() + start, line.data() + i, *out).ec != std::errc()) return false;
  *pos = i + 1;
  return true;
}

Status Bad(const std::string& what) { return Status::InvalidPlan(what); }

}  // namespace

void AppendToChunk(const EventRecord& e, int64_t received_at, std::string* body) {
  auto number = [&](int64_t v, char sep) {
    char digits[24];
    std::to_chars_result r = std::to_chars(digits, digits + sizeof digits, v < 0 ? 0 : v);
    body->append(digits, r.ptr);
    body->push_back(sep);
  };
  number(e.sequence, ' ');
  number(static_cast<int64_t>(e.type.size()), ' ');
  number(static_cast<int64_t>(e.status.size()), ' ');
  number(static_cast<int64_t>(e.json.size()), ' ');
  number(received_at, '\n');
  body->append(e.type);
  body->append(e.status);
  body->append(e.json);
}

Status DecodeChunk(std::string_view body, int64_t first, int64_t last, int64_t count, int64_t after,
                   std::vector<EventRecord>* out) {
  size_t pos = 0;
  int64_t n = 0, previous = -1;
  while (pos < body.size()) {
    const std::string which = "event " + std::to_string(n + 1);
    int64_t seq = 0, type_len = 0, status_len = 0, json_len = 0, received_at = 0;
    if (!Field(body, &pos, ' ', &seq) || !Field(body, &pos, ' ', &type_len) || !Field(body, &pos, ' ', &status_len) ||
        !Field(body, &pos, ' ', &json_len) || !Field(body, &pos, '\n', &received_at))
      return Bad(which + ": its header is not five numbers");
    const uint64_t need = static_cast<uint64_t>(type_len) + static_cast<uint64_t>(status_len) + static_cast<uint64_t>(json_len);
    if (need > body.size() - pos) return Bad(which + ": the body ends inside it");
    if (seq <= previous) return Bad(which + ": sequence " + std::to_string(seq) + " does not ascend");
    if (n == 0 && seq != first)
      return Bad(which + ": sequence " + std::to_string(seq) + " is not the row's first_sequence " + std::to_string(first));
    if (seq < first || seq > last)
      return Bad(which + ": sequence " + std::to_string(seq) + " is outside the row's " + std::to_string(first) + ".." +
                 std::to_string(last));
    std::string_view type = body.substr(pos, type_len), status = body.substr(pos + type_len, status_len);
    std::string_view json = body.substr(pos + type_len + status_len, json_len);
    pos += need;
    if (!IsValidUtf8(type) || !IsValidUtf8(status))
      return Bad(which + " (sequence " + std::to_string(seq) + "): its type or status is not valid UTF-8");
    if (Status j = SkimJsonObject(json, {}, {}); !j.ok())
      return Bad(which + " (sequence " + std::to_string(seq) + "): json is not a JSON object (" + j.message() + ")");
    if (seq > after)
      out->push_back(EventRecord{.sequence = seq, .type = std::string(type), .status = std::string(status),
                                 .json = std::string(json), .received_at = received_at});
    previous = seq;
    ++n;
  }
  if (n != count) return Bad(std::to_string(n) + " events, the row says " + std::to_string(count));
  if (n == 0 || previous != last) return Bad("the last event is not the row's last_sequence " + std::to_string(last));
  return Status::OK();
}

}  // namespace sflow
