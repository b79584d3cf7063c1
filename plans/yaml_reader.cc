// Implementation details: a YAML::EventHandler (Builder) keeps a stack of open containers. A
// mapping frame alternates between expecting a key and expecting a value; the key's text and
// position wait in the frame until the value arrives. Anything a plan must not contain throws
// Refusal, which unwinds yaml-cpp's parser at once and becomes a diagnostic.
#include "plans/yaml_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <vector>

#include <yaml-cpp/anchor.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

namespace sflow {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

SourceLoc LocOf(const YAML::Mark& mark) {
  if (mark.is_null()) return {};
  return SourceLoc{mark.line + 1, mark.column + 1};
}

// Line and column (1-based, in bytes) of a byte offset.
SourceLoc LocOfOffset(std::string_view text, size_t offset) {
  SourceLoc loc{1, 1};
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++loc.line;
      loc.column = 1;
    } else {
      ++loc.column;
    }
  }
  return loc;
}

// True when the 1-based line's leading whitespace contains a tab.
bool LineIndentedWithTab(std::string_view text, int line) {
  size_t pos = 0;
  for (int l = 1; l < line && pos != std::string_view::npos; ++l) {
    pos = text.find('\n', pos);
    if (pos != std::string_view::npos) ++pos;
  }
  if (pos == std::string_view::npos) return false;
  for (; pos < text.size() && (text[pos] == ' ' || text[pos] == '\t'); ++pos)
    if (text[pos] == '\t') return true;
  return false;
}

struct Refusal {
  SourceLoc loc;
  std::string code;
  std::string message;
  std::string hint;
};

// Hand-written rather than std::regex: these run once per scalar, and a 10,000-step plan has
// hundreds of thousands of scalars.
bool IsDecimalInt(const std::string& s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool IsFloat(const std::string& s) {
  size_t i = 0, n = s.size();
  auto digits = [&] {
    size_t start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
    return i - start;
  };
  if (i < n && (s[i] == '-' || s[i] == '+')) ++i;
  if (i < n && s[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  } else {
    if (digits() == 0) return false;
    if (i < n && s[i] == '.') {
      ++i;
      digits();
    }
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '-' || s[i] == '+')) ++i;
    if (digits() == 0) return false;
  }
  return i == n;
}

bool IsBool(const std::string& s, bool* b) {
  if (s == "true" || s == "True" || s == "TRUE") return *b = true, true;
  if (s == "false" || s == "False" || s == "FALSE") return *b = false, true;
  return false;
}

bool IsNullWord(const std::string& s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

bool IsSpecialFloat(const std::string& s) {
  std::string_view v(s);
  if (!v.empty() && (v[0] == '-' || v[0] == '+')) v.remove_prefix(1);
  return v == ".inf" || v == ".Inf" || v == ".INF" || s == ".nan" || s == ".NaN" || s == ".NAN";
}

// Types a scalar by the YAML 1.2 core schema. `plain` is false for quoted scalars.
Value TypeScalar(const std::string& text, bool plain, const std::string& tag, SourceLoc loc) {
  std::string want;  // "" = resolve by content
  if (tag == "tag:yaml.org,2002:str") want = "str";
  else if (tag == "tag:yaml.org,2002:int") want = "int";
  else if (tag == "tag:yaml.org,2002:float") want = "float";
  else if (tag == "tag:yaml.org,2002:bool") want = "bool";
  else if (tag == "tag:yaml.org,2002:null") want = "null";
  else if (tag != "?" && tag != "!" && !tag.empty())
    throw Refusal{loc, "yaml", "YAML tag '" + tag + "' is not supported", "remove the tag"};

  if (want == "str" || (want.empty() && !plain)) return Value::String(text, loc);
  bool b = false;
  if (want == "null" || (want.empty() && IsNullWord(text))) {
    if (!IsNullWord(text)) throw Refusal{loc, "yaml", "'" + text + "' is not a null", ""};
    return Value::Null(loc);
  }
  if (want == "bool" || (want.empty() && IsBool(text, &b))) {
    if (!IsBool(text, &b)) throw Refusal{loc, "yaml", "'" + text + "' is not a boolean", ""};
    return Value::Bool(b, loc);
  }
  bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'o');
  if (want == "int" || (want.empty() && (IsDecimalInt(text) || hex))) {
    errno = 0;
    char* end = nullptr;
    long long v = hex ? std::strtoll(text.c_str() + 2, &end, text[1] == 'x' ? 16 : 8)
                      : std::strtoll(text.c_str(), &end, 10);
    if (end == text.c_str() || *end != '\0') {
      if (want == "int") throw Refusal{loc, "yaml", "'" + text + "' is not an integer", ""};
      return Value::String(text, loc);  // e.g. "0xZZ": not a number after all
    }
    if (errno == ERANGE)
      throw Refusal{loc, "yaml", "integer " + text + " is out of range",
                    "integers must fit in 64 bits; quote the value if it is text"};
    return Value::Int(v, loc);
  }
  if (IsSpecialFloat(text))
    throw Refusal{loc, "yaml", "'" + text + "' cannot be represented in JSON", "use a finite number"};
  if (want == "float" || (want.empty() && IsFloat(text))) {
    char* end = nullptr;
    errno = 0;
    double d = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || *end != '\0')
      throw Refusal{loc, "yaml", "'" + text + "' is not a number", ""};
    if (!std::isfinite(d) || errno == ERANGE)
      throw Refusal{loc, "yaml", "number " + text + " is out of range", "use a finite number"};
    return Value::Double(d, loc);
  }
  return Value::String(text, loc);
}

class Builder : public YAML::EventHandler {
 public:
  explicit Builder(int max_depth) : max_depth_(max_depth) {}

  int documents() const { return documents_; }
  // A mapping key that was a sequence or mapping. Reported only if the document otherwise parses:
  // yaml-cpp also opens such a "complex key" for any unterminated '[' or '{', and then its own
  // syntax error says far better what is wrong.
  const std::optional<SourceLoc>& complex_key() const { return complex_key_; }
  SourceLoc second_document_loc() const { return second_document_loc_; }
  Value TakeRoot() { return std::move(root_); }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ == 2) second_document_loc_ = LocOf(mark);
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    RefuseAnchor(mark, anchor);
    Place(Value::Null(LocOf(mark)), mark, "");
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { RefuseAnchor(mark, 1); }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    RefuseAnchor(mark, anchor);
    SourceLoc loc = LocOf(mark);
    if (ExpectingKey()) {
      PlaceKey(value, loc);
      return;
    }
    Place(TypeScalar(value, tag == "?", tag, loc), mark, value);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(mark, tag, anchor, Value::Array(LocOf(mark)));
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(mark, tag, anchor, Value::Object(LocOf(mark)));
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Frame {
    Value container;
    bool has_key = false;
    std::string key;
    SourceLoc key_loc;
    std::unordered_map<std::string, SourceLoc> seen;  // keys of a mapping, for duplicates
    bool is_key = false;  // this container is a (refused) mapping key
  };

  bool ExpectingKey() const {
    return !stack_.empty() && stack_.back().container.is_object() && !stack_.back().has_key;
  }

  static void RefuseAnchor(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor)
      throw Refusal{LocOf(mark), "yaml", "YAML anchors and aliases are not supported",
                    "write the value out in full; plans must be plain trees"};
  }

  void PlaceKey(const std::string& key, SourceLoc loc) {
    Frame& f = stack_.back();
    auto [it, inserted] = f.seen.emplace(key, loc);
    if (!inserted)
      throw Refusal{loc, "duplicate-key",
                    "duplicate key '" + key + "' (first defined at line " +
                        std::to_string(it->second.line) + ")",
                    ""};
    f.has_key = true;
    f.key = key;
    f.key_loc = loc;
  }

  void Open(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor, Value v) {
    RefuseAnchor(mark, anchor);
    if (tag != "?" && tag != "!" && !tag.empty() && tag != "tag:yaml.org,2002:map" &&
        tag != "tag:yaml.org,2002:seq")
      throw Refusal{LocOf(mark), "yaml", "YAML tag '" + tag + "' is not supported", "remove the tag"};
    const bool as_key = ExpectingKey();
    if (as_key && !complex_key_) complex_key_ = LocOf(mark);
    // Containers opened as keys do not count: yaml-cpp wraps every unterminated '[' in such a
    // key, and the user wrote one level, not two.
    const size_t depth = stack_.size() - key_frames_ + (as_key ? 0 : 1);  // of the new container
    if (depth > static_cast<size_t>(max_depth_))
      throw Refusal{LocOf(mark), "yaml",
                    "nesting deeper than " + std::to_string(max_depth_) + " levels",
                    "plans are shallow; this looks like a generated or hostile file"};
    stack_.push_back(Frame{std::move(v), false, "", {}, {}, as_key});
    key_frames_ += as_key;
  }

  void Close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    key_frames_ -= f.is_key;
    if (f.is_key) {  // stands in as a key; complex_key_ reports it when the parse ends
      Frame& parent = stack_.back();
      parent.has_key = true;
      parent.key = "?";
      parent.key_loc = f.container.loc();
      return;
    }
    Deliver(std::move(f.container));
  }

  void Place(Value v, const YAML::Mark& mark, const std::string&) {
    if (ExpectingKey()) {  // a null key (e.g. "? " with nothing) or a non-string scalar as key
      throw Refusal{LocOf(mark), "yaml", "mapping keys must be plain strings", ""};
    }
    Deliver(std::move(v));
  }

  void Deliver(Value v) {
    if (stack_.empty()) {
      if (documents_ == 1) root_ = std::move(v);
      return;
    }
    Frame& f = stack_.back();
    if (f.container.is_array()) {
      f.container.Append(std::move(v));
    } else {
      f.container.members().push_back(Value::Member{std::move(f.key), f.key_loc, std::move(v)});
      f.has_key = false;
    }
  }

  int max_depth_;
  std::optional<SourceLoc> complex_key_;
  size_t key_frames_ = 0;
  int documents_ = 0;
  SourceLoc second_document_loc_;
  std::vector<Frame> stack_;
  Value root_;
};

}  // namespace

size_t FindInvalidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c == 0) return i;
    if (c < 0x80) { ++i; continue; }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    else return i;
    if (i + len > n) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    // Overlong encodings, UTF-16 surrogates and code points past U+10FFFF are all invalid.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return i;
    i += len;
  }
  return std::string_view::npos;
}

Result<std::string> ReadLimitedFile(const std::string& path, const YamlLimits& limits,
                                    DiagnosticList* diags) {
  auto fail = [&](std::string message, std::string hint = "") -> Result<std::string> {
    diags->Error({}, "file", message, std::move(hint));
    return Status::InvalidPlan(message);
  };
  // O_NONBLOCK so that opening a FIFO does not wait for a writer; fstat then refuses it.
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return fail(std::string("cannot open: ") + std::strerror(errno));
  struct stat st{};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return fail(std::string("cannot stat: ") + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail("not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > limits.max_bytes) {
    // Point at where the limit is crossed: that line is where the file stops being a plan.
    std::string head(limits.max_bytes, '\0');
    ssize_t n = ::pread(fd, head.data(), head.size(), 0);
    ::close(fd);
    head.resize(n > 0 ? static_cast<size_t>(n) : 0);
    std::string message = "plan too large: " + std::to_string(st.st_size) + " bytes (the limit is " +
                          std::to_string(limits.max_bytes) + ")";
    diags->Error(LocOfOffset(head, head.size()), "file", message, "split the plan, or move data into media files");
    return Status::InvalidPlan(message);
  }
  std::string text;
  text.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  // Read at most one byte past the size fstat gave, so a file that grows is still capped.
  while (got < text.size()) {
    ssize_t r = ::read(fd, text.data() + got, text.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  char extra;
  bool grew = ::read(fd, &extra, 1) > 0;
  ::close(fd);
  text.resize(got);
  if (grew) return fail("plan changed while it was read");
  return text;
}

Result<Value> ParseYaml(std::string_view text, const YamlLimits& limits, DiagnosticList* diags) {
  size_t bad = FindInvalidUtf8(text);
  if (bad != std::string_view::npos) {
    std::string what = text[bad] == '\0' ? "NUL byte" : "invalid UTF-8";
    diags->Error(LocOfOffset(text, bad), "encoding",
                 what + " at byte offset " + std::to_string(bad), "plans must be UTF-8 text");
    return Status::InvalidPlan(what);
  }
  if (text.substr(0, kBom.size()) == kBom) text.remove_prefix(kBom.size());

  std::istringstream in{std::string(text)};
  Builder builder(limits.max_depth);
  try {
    YAML::Parser parser(in);
    if (!parser.HandleNextDocument(builder)) {
      diags->Error({1, 1}, "empty", "empty plan", "a plan is a YAML mapping with at least 'version' and 'steps'");
      return Status::InvalidPlan("empty plan");
    }
    if (builder.complex_key())
      throw Refusal{*builder.complex_key(), "yaml", "mapping keys must be plain strings", ""};
    if (parser.HandleNextDocument(builder) || builder.documents() > 1) {
      diags->Error(builder.second_document_loc(), "yaml", "expected exactly one YAML document",
                   "remove the '---' separator and what follows it");
      return Status::InvalidPlan("more than one document");
    }
  } catch (const Refusal& r) {
    diags->Error(r.loc, r.code, r.message, r.hint);
    return Status::InvalidPlan(r.message);
  } catch (const YAML::DeepRecursion& e) {
    diags->Error(LocOf(e.mark), "yaml", "nesting too deep", "");
    return Status::InvalidPlan("nesting too deep");
  } catch (const YAML::Exception& e) {
    std::string msg = e.msg.empty() ? "malformed YAML" : e.msg;
    SourceLoc loc = LocOf(e.mark);
    std::string hint;
    if (msg == "illegal tab when looking for indentation") {
      // yaml-cpp points just past the tab; the tab itself opens the line.
      msg = "tabs are not allowed for indentation";
      hint = "indent with spaces";
      loc.column = 1;
    } else if (LineIndentedWithTab(text, loc.line)) {
      hint = "this line is indented with a tab; YAML needs spaces";
    }
    diags->Error(loc, "yaml", "YAML syntax: " + msg, hint);
    return Status::InvalidPlan(msg);
  }
  return builder.TakeRoot();
}

Result<Value> LoadYamlFile(const std::string& path, const YamlLimits& limits, DiagnosticList* diags) {
  Result<std::string> text = ReadLimitedFile(path, limits, diags);
  if (!text.ok()) return text.status();
  return ParseYaml(*text, limits, diags);
}

}  // namespace sflow
