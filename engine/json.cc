#include "engine/json.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

namespace sflow {

namespace {

class Parser {
 public:
  Parser(std::string_view s, const JsonLimits& limits) : s_(s), limits_(limits) {}

  Result<Value> Run() {
    SkipSpace();
    Value v;
    if (!ParseValue(&v, 0)) return Fail();
    SkipSpace();
    if (pos_ != s_.size()) {
      error_ = "trailing characters";
      return Fail();
    }
    return v;
  }

 private:
  Status Fail() const { return Status::InvalidPlan("JSON: " + error_ + " at byte " + std::to_string(pos_)); }

  void SkipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }

  bool Expect(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) {
      error_ = "unexpected character";
      return false;
    }
    pos_ += word.size();
    return true;
  }

  bool ParseValue(Value* out, int depth) {
    if (depth > limits_.max_depth) {
      error_ = "nesting too deep";
      return false;
    }
    if (pos_ >= s_.size()) {
      error_ = "unexpected end";
      return false;
    }
    switch (s_[pos_]) {
      case '{': return ParseObject(out, depth);
      case '[': return ParseArray(out, depth);
      case '"': {
        std::string str;
        if (!ParseString(&str)) return false;
        *out = Value::String(std::move(str));
        return true;
      }
      case 't': return Expect("true") && (*out = Value::Bool(true), true);
      case 'f': return Expect("false") && (*out = Value::Bool(false), true);
      case 'n': return Expect("null") && (*out = Value(), true);
      default: return ParseNumber(out);
    }
  }

  bool ParseObject(Value* out, int depth) {
    ++pos_;  // {
    *out = Value::Object();
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') return ++pos_, true;
    while (true) {
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"') {
        error_ = "expected a string key";
        return false;
      }
      std::string key;
      if (!ParseString(&key)) return false;
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') {
        error_ = "expected ':'";
        return false;
      }
      ++pos_;
      SkipSpace();
      Value v;
      if (!ParseValue(&v, depth + 1)) return false;
      if (Value* existing = out->Find(key)) *existing = std::move(v);
      else out->members().push_back(Value::Member{std::move(key), {}, std::move(v)});
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '}') return ++pos_, true;
      error_ = "expected ',' or '}'";
      return false;
    }
  }

  bool ParseArray(Value* out, int depth) {
    ++pos_;  // [
    *out = Value::Array();
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') return ++pos_, true;
    while (true) {
      SkipSpace();
      Value v;
      if (!ParseValue(&v, depth + 1)) return false;
      out->items().push_back(std::move(v));
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ']') return ++pos_, true;
      error_ = "expected ',' or ']'";
      return false;
    }
  }

  static void AppendUtf8(std::string* out, uint32_t cp) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  bool Hex4(uint32_t* cp) {
    if (pos_ + 4 > s_.size()) return error_ = "truncated \\u escape", false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else return error_ = "bad \\u escape", false;
    }
    *cp = v;
    return true;
  }

  bool ParseString(std::string* out) {
    ++pos_;  // opening quote
    while (true) {
      // Copy the plain run in one go.
      size_t start = pos_;
      while (pos_ < s_.size()) {
        unsigned char c = static_cast<unsigned char>(s_[pos_]);
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
        ++pos_;
      }
      out->append(s_.data() + start, pos_ - start);
      if (pos_ >= s_.size()) return error_ = "unterminated string", false;
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') return ++pos_, true;
      if (c < 0x20) return error_ = "control character in string", false;
      if (c >= 0x80) {
        if (!CopyUtf8(out)) return false;
        continue;
      }
      ++pos_;  // backslash
      if (pos_ >= s_.size()) return error_ = "unterminated string", false;
      char e = s_[pos_++];
      switch (e) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          uint32_t cp;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo;
            if (s_.substr(pos_, 2) != "\\u") return error_ = "lone surrogate", false;
            pos_ += 2;
            if (!Hex4(&lo)) return false;
            if (lo < 0xDC00 || lo > 0xDFFF) return error_ = "lone surrogate", false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return error_ = "lone surrogate", false;
          }
          AppendUtf8(out, cp);
          break;
        }
        default: return error_ = "bad escape", false;
      }
    }
  }

  // Copies one multi-byte UTF-8 sequence, checking it.
  bool CopyUtf8(std::string* out) {
    unsigned char c = static_cast<unsigned char>(s_[pos_]);
    size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || pos_ + len > s_.size()) return error_ = "invalid UTF-8", false;
    uint32_t cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s_[pos_ + k]);
      if ((cc & 0xC0) != 0x80) return error_ = "invalid UTF-8", false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return error_ = "invalid UTF-8", false;
    out->append(s_.data() + pos_, len);
    pos_ += len;
    return true;
  }

  bool ParseNumber(Value* out) {
    size_t start = pos_;
    bool integer = true;
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    if (pos_ >= s_.size() || !isdigit(static_cast<unsigned char>(s_[pos_]))) return error_ = "unexpected character", false;
    if (s_[pos_] == '0') {
      ++pos_;
    } else {
      while (pos_ < s_.size() && isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      integer = false;
      ++pos_;
      if (pos_ >= s_.size() || !isdigit(static_cast<unsigned char>(s_[pos_]))) return error_ = "bad number", false;
      while (pos_ < s_.size() && isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      integer = false;
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (pos_ >= s_.size() || !isdigit(static_cast<unsigned char>(s_[pos_]))) return error_ = "bad number", false;
      while (pos_ < s_.size() && isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    // std::from_chars: no allocation, no locale, and correctly rounded like strtod.
    const char* first = s_.data() + start;
    const char* last = s_.data() + pos_;
    if (integer) {
      long long v = 0;
      if (auto r = std::from_chars(first, last, v); r.ec == std::errc() && r.ptr == last) {
        *out = Value::Int(v);
        return true;
      }
    }
    double d = 0;
    auto r = std::from_chars(first, last, d);
    if (r.ec == std::errc::result_out_of_range) d = std::strtod(std::string(first, last).c_str(), nullptr);  // 1e-400 is 0
    else if (r.ec != std::errc() || r.ptr != last) return error_ = "bad number", false;
    if (!std::isfinite(d)) return error_ = "number out of range", false;
    *out = Value::Double(d);
    return true;
  }

  std::string_view s_;
  const JsonLimits& limits_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace

Result<Value> ParseJson(std::string_view text, const JsonLimits& limits) { return Parser(text, limits).Run(); }

}  // namespace sflow
