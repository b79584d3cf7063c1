// Value: a JSON-shaped tree that remembers where each node came from.
//
// Plans are YAML, the wire is JSON, and tool arguments are checked against JSON Schemas; Value is
// the one model all three share. Every node carries the 1-based line and column of its source
// (0 when it was made by the program), and object members keep their insertion order and the
// position of their key, so a diagnostic can point at the key or at the value.
//
// Integers and doubles are distinct kinds: `5` and `5.0` differ, as they do in JSON Schema's
// "integer". Value is a plain value type: copying copies the tree.
#ifndef SFLOW_ENGINE_VALUE_H_
#define SFLOW_ENGINE_VALUE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sflow {

struct SourceLoc {
  int line = 0;    // 1-based; 0 means unknown
  int column = 0;  // 1-based
  bool known() const { return line > 0; }
  friend bool operator==(const SourceLoc&, const SourceLoc&) = default;
  friend bool operator<(const SourceLoc& a, const SourceLoc& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  }
};

class Value {
 public:
  enum class Kind { kNull, kBool, kInt, kDouble, kString, kArray, kObject };
  struct Member;

  Value() = default;  // null
  static Value Bool(bool b, SourceLoc loc = {});
  static Value Int(int64_t i, SourceLoc loc = {});
  static Value Double(double d, SourceLoc loc = {});
  static Value String(std::string s, SourceLoc loc = {});
  static Value Array(SourceLoc loc = {});
  static Value Object(SourceLoc loc = {});
  static Value Null(SourceLoc loc = {});

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kDouble; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_array() const { return kind_ == Kind::kArray; }
  bool is_object() const { return kind_ == Kind::kObject; }

  // Accessors assert the kind; as_number() accepts both integer and double.
  bool as_bool() const;
  int64_t as_int() const;
  double as_number() const;
  const std::string& as_string() const;

  const std::vector<Value>& items() const { return items_; }
  std::vector<Value>& items() { return items_; }
  const std::vector<Member>& members() const { return members_; }
  std::vector<Member>& members() { return members_; }
  size_t size() const;

  // Object lookup by key; nullptr when absent or when this is not an object.
  const Value* Find(std::string_view key) const;
  Value* Find(std::string_view key);
  // The string member `key`; "" when absent, not a string, or when this is not an object.
  std::string StringAt(std::string_view key) const;
  const Member* FindMember(std::string_view key) const;
  // Sets key (replacing an existing member in place, else appending). Requires an object.
  void Set(std::string key, Value value, SourceLoc key_loc = {});
  bool Erase(std::string_view key);
  void Append(Value value);

  SourceLoc loc() const { return loc_; }
  void set_loc(SourceLoc loc) { loc_ = loc; }

  // Compact JSON. Members in insertion order; with sort_keys, in byte order (for digests).
  std::string ToJson(bool sort_keys = false) const;
  // A short rendering for messages: strings quoted, containers abbreviated.
  std::string Brief() const;
  static const char* KindName(Kind kind);
  // For messages: "a mapping", "a list", "a string", "an integer", "a number", "a boolean", "empty".
  static const char* KindPhrase(Kind kind);

  // Structural equality; positions are ignored, and 1 == 1.0 is false.
  friend bool operator==(const Value& a, const Value& b);

 private:
  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  int64_t int_ = 0;
  double double_ = 0;
  std::string string_;
  std::vector<Value> items_;
  std::vector<Member> members_;
  SourceLoc loc_;
};

struct Value::Member {
  std::string key;
  SourceLoc key_loc;
  Value value;
};

// Appends s to out as a JSON string literal (quotes included). The result is always valid JSON
// and valid UTF-8: well-formed UTF-8 is copied as is, control characters are escaped, and each
// byte that is not part of a well-formed UTF-8 sequence (a file name in another encoding, a
// truncated character) is written as \ufffd, the replacement character. ToJson and every
// --json line go through here.
void AppendJsonString(std::string* out, std::string_view s);

// True when s is well-formed UTF-8 (RFC 3629).
bool IsValidUtf8(std::string_view s);

// s made safe to print on a terminal: C0 controls (newline and tab included), DEL and bytes that
// are not well-formed UTF-8 become \xNN, C1 controls (U+0080..U+009F) become \u{80}..\u{9f}, and a
// backslash stays a backslash. Plan text (a tool name, an argument name, a step id) can hold an
// escape sequence that recolours or rewrites the user's terminal; diagnostics print through here.
std::string TerminalText(std::string_view s);

}  // namespace sflow

#endif  // SFLOW_ENGINE_VALUE_H_
