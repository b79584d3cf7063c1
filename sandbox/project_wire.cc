#include "sandbox/project_wire.h"

#include <cctype>
#include <cstdio>

namespace sflow::hub {

Value Obj(std::initializer_list<std::pair<const char*, Value>> members) {
  Value v = Value::Object();
  for (const auto& [k, m] : members) v.Set(k, m);
  return v;
}

Value Money(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return Value::String(buf);
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

Value ErrorBody(int status, const std::string& message) {
  return Obj({{"status", Str("error")}, {"message", Str(message)}, {"errorCode", Int(status)}});
}

Value Envelope(Value data) { return Obj({{"status", Str("success")}, {"data", std::move(data)}}); }

namespace {

// The value of a base64 digit (standard or URL-safe alphabet), or -1.
int B64Digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

}  // namespace

bool LenientBase64Decode(std::string_view in, std::string* out) {
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  bool padded = false;
  for (char c : in) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      padded = true;
      continue;
    }
    int v = B64Digit(c);
    if (v < 0 || padded) return false;  // not base64, or data after the padding
    acc = acc << 6 | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return true;
}

uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
  return h;
}

std::string Frame(const std::string& type, const Value& payload) {
  return Obj({{"type", Str(type)}, {"data", Str(Base64Encode(payload.ToJson()))}}).ToJson();
}

double Num(const Value* v, double fallback) { return v && v->is_number() ? v->as_number() : fallback; }

std::string Username(const std::string& owner) { return "sandbox-" + owner.substr(5, 8); }
std::string WalletAddress(const std::string& owner) { return "0x" + std::string(24, '0') + owner.substr(5, 16); }

}  // namespace sflow::hub
