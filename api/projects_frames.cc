#include "api/projects_frames.h"

#include <cstdint>

#include "engine/json.h"

namespace sflow {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr size_t kMaxTypeBytes = 128;
constexpr int kMaxPayloadDepth = 64;

int Digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

Status Bad(std::string_view type, const std::string& why) {
  std::string m = "projects socket: ";
  if (!type.empty()) m += "frame \"" + std::string(type) + "\": ";
  return Status::Internal(m + why);
}

bool PrintableAscii(std::string_view s) {
  for (char c : s)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

void UpperCaseId(Value* payload, const char* key) {
  Value* v = payload->Find(key);
  if (!v || !v->is_string()) return;
  std::string s = v->as_string();
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  *v = Value::String(std::move(s), v->loc());
}

}  // namespace

std::string Base64Encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8 | uint8_t(in[i + 2]);
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i < in.size()) {
    uint32_t n = uint32_t(uint8_t(in[i])) << 16;
    if (i + 1 < in.size()) n |= uint32_t(uint8_t(in[i + 1])) << 8;
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

bool Base64Decode(std::string_view in, std::string* out) {
  out->clear();
  // Padding: absent, or exactly what completes the last group of four.
  size_t pad = 0;
  while (pad < 2 && pad < in.size() && in[in.size() - 1 - pad] == '=') ++pad;
  std::string_view body = in.substr(0, in.size() - pad);
  if (pad > 0 && in.size() % 4 != 0) return false;
  if (body.size() % 4 == 1) return false;  // 6 bits cannot end a byte
  if (pad > 0 && (body.size() % 4) + pad != 4) return false;
  out->reserve(body.size() / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : body) {
    int v = Digit(c);
    if (v < 0) return false;  // outside the alphabet: whitespace, '=' inside, '-', '_', ...
    acc = (acc << 6 | static_cast<uint32_t>(v)) & 0xFFFFFF;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  // The bits left over must be zero: otherwise two texts would decode to the same bytes.
  return bits == 0 || (acc & ((1u << bits) - 1)) == 0;
}

std::string EncodeProjectFrame(std::string_view type, const Value& data) {
  Value frame = Value::Object();
  frame.Set("type", Value::String(std::string(type)));
  frame.Set("data", Value::String(Base64Encode(data.ToJson())));
  return frame.ToJson();
}

Result<ProjectFrame> DecodeProjectFrame(std::string_view text) {
  if (text.size() > kMaxProjectFrameBytes)
    return Bad("", "a frame of " + std::to_string(text.size()) + " bytes is larger than the limit of " +
                       std::to_string(kMaxProjectFrameBytes));
  Result<Value> outer = ParseJson(text, JsonLimits{4});
  if (!outer.ok()) return Bad("", "the frame is not JSON (" + outer.status().message() + ")");
  if (!outer->is_object()) return Bad("", "the frame is not a JSON object");
  const Value* type = outer->Find("type");
  if (!type || !type->is_string() || type->as_string().empty()) return Bad("", "the frame has no string \"type\"");
  const std::string& t = type->as_string();
  if (t.size() > kMaxTypeBytes || !PrintableAscii(t))
    return Bad("", "the frame's type is not a short printable ASCII name");
  ProjectFrame frame;
  frame.type = t;
  const Value* data = outer->Find("data");
  if (!data || data->is_null()) return frame;
  if (!data->is_string()) return Bad(t, "\"data\" is " + std::string(Value::KindPhrase(data->kind())) + ", not base64 text");
  if (data->as_string().empty()) return frame;
  std::string json;
  if (!Base64Decode(data->as_string(), &json)) return Bad(t, "\"data\" is not valid base64");
  Result<Value> payload = ParseJson(json, JsonLimits{kMaxPayloadDepth});
  if (!payload.ok()) return Bad(t, "the decoded data is not JSON (" + payload.status().message() + ")");
  frame.data = std::move(payload).value();
  if (frame.data.is_object()) {
    UpperCaseId(&frame.data, "jobID");
    UpperCaseId(&frame.data, "imgID");
  }
  return frame;
}

}  // namespace sflow
