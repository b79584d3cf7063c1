// Fuzz target: the REST envelopes (api/api_envelope.h) over any answer.
// Input: bytes 0-1 pick the HTTP status (100..599), byte 2 the flags (which data key is demanded
// and of what kind, bare bodies, an HTML content type), the rest is the body. Checked: a success
// envelope that is accepted holds what was demanded; an error answer always yields a non-empty
// message of bounded length (valid UTF-8 when the body is), the status it came with and a finite,
// non-negative retryAfter if any; CollapseWhitespace keeps its contract for every cut length.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/api_envelope.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using sflow::fuzz::Check;

// The uncut form: trimmed, single spaces, no other whitespace.
std::string CheckCollapsedWhole(std::string_view in) {
  std::string whole = sflow::CollapseWhitespace(in, SIZE_MAX);
  Check(whole.empty() || (whole.front() != ' ' && whole.back() != ' '), "CollapseWhitespace did not trim");
  Check(whole.find("  ") == std::string::npos, "CollapseWhitespace left two spaces");
  Check(whole.find_first_of("\t\n\r\f\v") == std::string::npos, "CollapseWhitespace left a control space");
  return whole;
}

// Cut: a prefix of the whole, at most max bytes, never inside a UTF-8 sequence (so for valid
// UTF-8 at most 3 bytes short of max).
void CheckCollapsedCut(std::string_view in, const std::string& whole, bool valid_utf8, size_t max) {
  const std::string out = sflow::CollapseWhitespace(in, max);
  Check(out.size() <= max && whole.compare(0, out.size(), out) == 0, "CollapseWhitespace cut is not a prefix");
  if (out.size() < whole.size() && valid_utf8) {
    Check(out.size() + 3 >= max, "CollapseWhitespace cut more than a UTF-8 sequence");
    Check(sflow::fuzz::ValidUtf8(out), "CollapseWhitespace cut inside a UTF-8 sequence");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  sflow::HttpResponse r;
  r.status = 100 + ((data[0] << 8) | data[1]) % 500;
  const uint8_t flags = data[2];
  r.reason = (flags & 0x40) ? "" : "Reason Phrase";
  if (flags & 0x80) r.headers.emplace_back("Content-Type", "text/html; charset=utf-8");
  r.body.assign(reinterpret_cast<const char*>(data) + 3, size - 3);

  static const char* const kKeys[] = {"", "workflow", "events", "templates"};
  const std::string_view key = kKeys[flags & 3];
  const sflow::Value::Kind kind = (flags & 4) ? sflow::Value::Kind::kArray : sflow::Value::Kind::kObject;
  sflow::Result<sflow::Value> ok = sflow::ParseSuccessEnvelope(r, key, kind, (flags & 8) != 0);
  if (ok.ok()) {
    Check(ok->is_object(), "success data is not an object");
    if (!key.empty()) Check(ok->Find(key) && ok->Find(key)->kind() == kind, "success data lacks the demanded key");
  } else {
    Check(ok.status().code() == sflow::Status::Code::kUnavailable && ok.status().reason() == "malformed_answer" &&
              !ok.status().message().empty(),
          "a refused envelope is not a malformed answer (kUnavailable) with a message");
  }

  const bool valid_utf8 = sflow::fuzz::ValidUtf8(r.body);
  sflow::ApiError e = sflow::ParseErrorAnswer(r);
  Check(e.http_status == r.status, "the error lost its HTTP status");
  Check(!e.message.empty(), "an error without a message");
  Check(e.message.size() <= 500 + r.reason.size() + 2, "an error message longer than 500 bytes");
  if (valid_utf8) Check(sflow::fuzz::ValidUtf8(e.message), "an error message with invalid UTF-8");
  if (e.retry_after) Check(std::isfinite(*e.retry_after) && *e.retry_after >= 0, "a bad retryAfter");
  (void)sflow::CodeForHttpStatus(static_cast<int>(static_cast<int8_t>(flags)) * 7);

  const std::string whole = CheckCollapsedWhole(r.body);
  CheckCollapsedCut(r.body, whole, valid_utf8, flags);
  CheckCollapsedCut(r.body, whole, valid_utf8, 500);
  return 0;
}
