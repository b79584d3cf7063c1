#include "engine/json.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <span>
#include <string>

namespace sflow {

namespace {

// One parser for both uses: building a Value (ParseJson), and skimming (SkimJsonObject), where
// every `out` is null and nothing is allocated, but every check is the same, so that the two
// accept exactly the same texts.
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

  Status Skim(std::span<const std::string_view> keys, std::span<std::string_view> values) {
    keys_ = keys;
    values_ = values;
    for (std::string_view& v : values) v = {};
    SkipSpace();
    if (pos_ >= s_.size() || s_[pos_] != '{') {
      error_ = "not an object";
      return Fail();
    }
    if (!ParseValue(nullptr, 0)) return Fail();
    SkipSpace();
    if (pos_ != s_.size()) {
      error_ = "trailing characters";
      return Fail();
    }
    return Status::OK();
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
        if (!out) return ParseString(nullptr);
        std::string str;
        if (!ParseString(&str)) return false;
        *out = Value::String(std::move(str));
        return true;
      }
      case 't': return Expect("true") && (out && (*out = Value::Bool(true), true), true);
      case 'f': return Expect("false") && (out && (*out = Value::Bool(false), true), true);
      case 'n': return Expect("null") && (out && (*out = Value(), true), true);
      default: return ParseNumber(out);
    }
  }

  bool ParseObject(Value* out, int depth) {
    ++pos_;  // {
    if (out) *out = Value::Object();
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') return ++pos_, true;
    // Skimming: the keys of the outermost object are read (into one reused string), the others
    // only checked.
    const bool wanted = !out && depth == 0 && !keys_.empty();
    while (true) {
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"') {
        error_ = "expected a string key";
        return false;
      }
      std::string key;
      if (out || wanted) {
        skim_key_.clear();
        if (!ParseString(out ? &key : &skim_key_)) return false;
      } else if (!ParseString(nullptr)) {
        return false;
      }
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') {
        error_ = "expected ':'";
        return false;
      }
      ++pos_;
      SkipSpace();
      if (!out) {
        const size_t start = pos_;
        if (!ParseValue(nullptr, depth + 1)) return false;
        if (wanted) {
          for (size_t i = 0; i < keys_.size(); ++i)
            if (keys_[i] == skim_key_) values_[i] = s_.substr(start, pos_ - start);  // the last one wins
        }
      } else {
        Value v;
        if (!ParseValue(&v, depth + 1)) return false;
        if (Value* existing = out->Find(key)) *existing = std::move(v);
        else out->members().push_back(Value::Member{std::move(key), {}, std::move(v)});
      }
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
    if (out) *out = Value::Array();
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') return ++pos_, true;
    while (true) {
      SkipSpace();
      if (!out) {
        if (!ParseValue(nullptr, depth + 1)) return false;
      } else {
        Value v;
        if (!ParseValue(&v, depth + 1)) return false;
        out->items().push_back(std::move(v));
      }
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

  // Appends the unescaped string to *out (checking it only when out is null).
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
      if (out) out->append(s_.data() + start, pos_ - start);
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
      char plain = 0;
      switch (e) {
        case '"': plain = '"'; break;
        case '\\': plain = '\\'; break;
        case '/': plain = '/'; break;
        case 'b': plain = '\b'; break;
        case 'f': plain = '\f'; break;
        case 'n': plain = '\n'; break;
        case 'r': plain = '\r'; break;
        case 't': plain = '\t'; break;
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
          if (out) AppendUtf8(out, cp);
          break;
        }
        default: return error_ = "bad escape", false;
      }
      if (plain && out) out->push_back(plain);
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
    if (out) out->append(s_.data() + pos_, len);
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
        if (out) *out = Value::Int(v);
        return true;
      }
    }
    double d = 0;
    auto r = std::from_chars(first, last, d);
    if (r.ec == std::errc::result_out_of_range) d = std::strtod(std::string(first, last).c_str(), nullptr);  // 1e-400 is 0
    else if (r.ec != std::errc() || r.ptr != last) return error_ = "bad number", false;
    if (!std::isfinite(d)) return error_ = "number out of range", false;
    if (out) *out = Value::Double(d);
    return true;
  }

  std::string_view s_;
  const JsonLimits& limits_;
  size_t pos_ = 0;
  std::string error_;
  std::span<const std::string_view> keys_;  // Skim: the outermost object's wanted keys
  std::span<std::string_view> values_;      // and where their values' text goes
  std::string skim_key_;
};

}  // namespace

Result<Value> ParseJson(std::string_view text, const JsonLimits& limits) { return Parser(text, limits).Run(); }

Status SkimJsonObject(std::string_view text, std::span<const std::string_view> keys, std::span<std::string_view> values,
                      const JsonLimits& limits) {
  if (values.size() != keys.size()) return Status::Internal("SkimJsonObject: one value per key");
  return Parser(text, limits).Skim(keys, values);
}

std::optional<std::string> JsonStringToken(std::string_view token) {
  if (token.size() < 2 || token.front() != '"') return std::nullopt;
  // A token SkimJsonObject returned is valid: with no escape and one closing quote, its inside
  // is the string. Anything else takes the full parser.
  std::string_view inside = token.substr(1, token.size() - 2);
  if (token.back() == '"' && inside.find_first_of("\\\"") == std::string_view::npos) {
    bool plain = true;
    for (char c : inside) plain = plain && static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x80;
    if (plain) return std::string(inside);
  }
  Result<Value> v = ParseJson(token);
  if (!v.ok() || !v->is_string()) return std::nullopt;
  return std::move(v).value().as_string();
}

std::optional<int64_t> JsonIntToken(std::string_view token) {
  // ParseJson's integers: -?(0|[1-9][0-9]*) with no fraction or exponent, fitting int64.
  size_t i = token.size() > 0 && token[0] == '-' ? 1 : 0;
  if (i >= token.size() || token.size() - i > 19) return std::nullopt;
  if (token[i] == '0' && token.size() - i > 1) return std::nullopt;
  for (size_t k = i; k < token.size(); ++k)
    if (token[k] < '0' || token[k] > '9') return std::nullopt;
  long long v = 0;
  auto r = std::from_chars(token.data(), token.data() + token.size(), v);
  if (r.ec != std::errc() || r.ptr != token.data() + token.size()) return std::nullopt;
  return v;
}

}  // namespace sflow
