// The small pieces every part of the projects hub speaks in: JSON builders, the REST envelopes,
// the socket's frame (`{"type":T,"data":base64(utf8(JSON))}`) with its base64, and the seeded
// hashes that make ids and seeds deterministic. Pure; no locks, no sockets.
#ifndef SFLOW_SANDBOX_PROJECT_WIRE_H_
#define SFLOW_SANDBOX_PROJECT_WIRE_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "api/projects_frames.h"
#include "engine/value.h"

namespace sflow::hub {

Value Obj(std::initializer_list<std::pair<const char*, Value>> members);
inline Value Str(std::string s) { return Value::String(std::move(s)); }
inline Value Int(int64_t i) { return Value::Int(i); }
// A decimal amount as the API spells money: a string with six decimals ("1.250000").
Value Money(double v);
std::string Upper(std::string s);
// The number `v` holds, or `fallback` when it is absent or not a number.
double Num(const Value* v, double fallback);

// {"status":"error","message":M,"errorCode":S} and {"status":"success","data":D}.
Value ErrorBody(int status, const std::string& message);
Value Envelope(Value data);

// Base64Encode is the client's (api/projects_frames.h): one encoder for both ends. The server
// decodes as a lenient server would: standard or URL-safe alphabet, padding optional,
// whitespace ignored. False on anything else. (A name of its own, so that it is never taken
// for the client's strict Base64Decode.)
bool LenientBase64Decode(std::string_view in, std::string* out);

// The frame every server message travels in.
std::string Frame(const std::string& type, const Value& payload);

// SplitMix64's finaliser and FNV-1a: deterministic ids and seeds.
uint64_t Mix(uint64_t x);
uint64_t Fnv1a(std::string_view s);

// As GET /v1/account/me spells the account (routes.cc).
std::string Username(const std::string& owner);
std::string WalletAddress(const std::string& owner);

}  // namespace sflow::hub

#endif  // SFLOW_SANDBOX_PROJECT_WIRE_H_
