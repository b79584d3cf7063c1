#include "engine/value.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sflow {

Value Value::Null(SourceLoc loc) { Value v; v.loc_ = loc; return v; }
Value Value::Bool(bool b, SourceLoc loc) { Value v; v.kind_ = Kind::kBool; v.bool_ = b; v.loc_ = loc; return v; }
Value Value::Int(int64_t i, SourceLoc loc) { Value v; v.kind_ = Kind::kInt; v.int_ = i; v.loc_ = loc; return v; }
Value Value::Double(double d, SourceLoc loc) { Value v; v.kind_ = Kind::kDouble; v.double_ = d; v.loc_ = loc; return v; }
Value Value::String(std::string s, SourceLoc loc) {
  Value v; v.kind_ = Kind::kString; v.string_ = std::move(s); v.loc_ = loc; return v;
}
Value Value::Array(SourceLoc loc) { Value v; v.kind_ = Kind::kArray; v.loc_ = loc; return v; }
Value Value::Object(SourceLoc loc) { Value v; v.kind_ = Kind::kObject; v.loc_ = loc; return v; }

bool Value::as_bool() const { assert(is_bool()); return bool_; }
int64_t Value::as_int() const { assert(is_int()); return int_; }
double Value::as_number() const {
  assert(is_number());
  return kind_ == Kind::kInt ? static_cast<double>(int_) : double_;
}
const std::string& Value::as_string() const { assert(is_string()); return string_; }

size_t Value::size() const {
  if (is_array()) return items_.size();
  if (is_object()) return members_.size();
  return 0;
}

const Value::Member* Value::FindMember(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const Member& m : members_)
    if (m.key == key) return &m;
  return nullptr;
}

const Value* Value::Find(std::string_view key) const {
  const Member* m = FindMember(key);
  return m ? &m->value : nullptr;
}

Value* Value::Find(std::string_view key) {
  return const_cast<Value*>(static_cast<const Value*>(this)->Find(key));
}

std::string Value::StringAt(std::string_view key) const {
  const Value* f = Find(key);
  return f && f->is_string() ? f->as_string() : std::string();
}

void Value::Set(std::string key, Value value, SourceLoc key_loc) {
  assert(is_object());
  for (Member& m : members_) {
    if (m.key == key) {
      m.value = std::move(value);
      return;
    }
  }
  members_.push_back(Member{std::move(key), key_loc, std::move(value)});
}

bool Value::Erase(std::string_view key) {
  auto it = std::find_if(members_.begin(), members_.end(), [&](const Member& m) { return m.key == key; });
  if (it == members_.end()) return false;
  members_.erase(it);
  return true;
}

void Value::Append(Value value) {
  assert(is_array());
  items_.push_back(std::move(value));
}

const char* Value::KindName(Kind kind) {
  switch (kind) {
    case Kind::kNull: return "null";
    case Kind::kBool: return "boolean";
    case Kind::kInt: return "integer";
    case Kind::kDouble: return "number";
    case Kind::kString: return "string";
    case Kind::kArray: return "array";
    case Kind::kObject: return "object";
  }
  return "?";
}

const char* Value::KindPhrase(Kind kind) {
  switch (kind) {
    case Kind::kNull: return "empty";
    case Kind::kBool: return "a boolean";
    case Kind::kInt: return "an integer";
    case Kind::kDouble: return "a number";
    case Kind::kString: return "a string";
    case Kind::kArray: return "a list";
    case Kind::kObject: return "a mapping";
  }
  return "?";
}

namespace {

// The length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0 when the bytes there are not one.
size_t Utf8Length(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  size_t len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (len == 0 || i + len > s.size()) return 0;
  unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
  // The second byte's range is narrower after E0, ED, F0 and F4.
  unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
  unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
  if (c1 < lo || c1 > hi) return 0;
  for (size_t k = 2; k < len; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  return len;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8Length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string TerminalText(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  char buf[8];
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = Utf8Length(s, i);
    if (n == 0 || (n == 1 && (c < 0x20 || c == 0x7F))) {
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
      ++i;
    } else if (n == 2 && c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0) {
      std::snprintf(buf, sizeof buf, "\\u{%02x}", static_cast<unsigned char>(s[i + 1]));
      out += buf;
      i += 2;
    } else {
      out.append(s.data() + i, n);
      i += n;
    }
  }
  return out;
}

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = Utf8Length(s, i);
      if (n == 0) {
        out->append("\\ufffd");  // one replacement character per byte that is not UTF-8
        ++i;
      } else {
        out->append(s.data() + i, n);
        i += n;
      }
      continue;
    }
    ++i;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

namespace {

void AppendDouble(std::string* out, double d) {
  if (!std::isfinite(d)) {  // JSON has no infinities; the loader rejects them, this is a backstop
    out->append("null");
    return;
  }
  char buf[32];
  // Whole numbers print as integers, as JavaScript prints them below 1e21.
  if (d == std::floor(d) && std::fabs(d) < 1e21) {
    std::snprintf(buf, sizeof buf, "%.0f", d);
    out->append(std::strcmp(buf, "-0") == 0 ? "0" : buf);
    return;
  }
  std::snprintf(buf, sizeof buf, "%.17g", d);
  // Otherwise the shortest form that round-trips.
  for (int prec = 1; prec <= 17; ++prec) {
    char shorter[32];
    std::snprintf(shorter, sizeof shorter, "%.*g", prec, d);
    if (std::strtod(shorter, nullptr) == d) {
      std::snprintf(buf, sizeof buf, "%s", shorter);
      break;
    }
  }
  // Like JavaScript's JSON.stringify, a double with no fraction prints as "5": the wire bodies
  // sogni-flow sends must equal the official SDK's byte for byte where it can.
  out->append(buf);
}

void Write(const Value& v, bool sort_keys, std::string* out) {
  switch (v.kind()) {
    case Value::Kind::kNull: out->append("null"); break;
    case Value::Kind::kBool: out->append(v.as_bool() ? "true" : "false"); break;
    case Value::Kind::kInt: out->append(std::to_string(v.as_int())); break;
    case Value::Kind::kDouble: AppendDouble(out, v.as_number()); break;
    case Value::Kind::kString: AppendJsonString(out, v.as_string()); break;
    case Value::Kind::kArray: {
      out->push_back('[');
      bool first = true;
      for (const Value& item : v.items()) {
        if (!first) out->push_back(',');
        first = false;
        Write(item, sort_keys, out);
      }
      out->push_back(']');
      break;
    }
    case Value::Kind::kObject: {
      std::vector<const Value::Member*> members;
      members.reserve(v.members().size());
      for (const Value::Member& m : v.members()) members.push_back(&m);
      if (sort_keys)
        std::sort(members.begin(), members.end(),
                  [](const Value::Member* a, const Value::Member* b) { return a->key < b->key; });
      out->push_back('{');
      bool first = true;
      for (const Value::Member* m : members) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(out, m->key);
        out->push_back(':');
        Write(m->value, sort_keys, out);
      }
      out->push_back('}');
      break;
    }
  }
}

}  // namespace

std::string Value::ToJson(bool sort_keys) const {
  std::string out;
  Write(*this, sort_keys, &out);
  return out;
}

std::string Value::Brief() const {
  if (is_array()) return "an array";
  if (is_object()) return "an object";
  std::string s = ToJson();
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

bool operator==(const Value& a, const Value& b) {
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case Value::Kind::kNull: return true;
    case Value::Kind::kBool: return a.bool_ == b.bool_;
    case Value::Kind::kInt: return a.int_ == b.int_;
    case Value::Kind::kDouble: return a.double_ == b.double_;
    case Value::Kind::kString: return a.string_ == b.string_;
    case Value::Kind::kArray: return a.items_ == b.items_;
    case Value::Kind::kObject: {
      if (a.members_.size() != b.members_.size()) return false;
      for (size_t i = 0; i < a.members_.size(); ++i)
        if (a.members_[i].key != b.members_[i].key || !(a.members_[i].value == b.members_[i].value))
          return false;
      return true;
    }
  }
  return false;
}

}  // namespace sflow
