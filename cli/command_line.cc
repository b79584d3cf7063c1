#include "cli/command_line.h"

#include <cstdio>
#include <sstream>

#include "engine/params.h"
#include "engine/spell.h"

namespace sflow {

struct CommandLine::Binding {
  std::string name, short_name, arg, help;
  bool* flag = nullptr;
  std::string* value = nullptr;
  std::vector<std::string>* values = nullptr;
  int seen = 0;  // times given in this Parse
};

CommandLine::CommandLine(std::string usage, std::string description)
    : usage_(std::move(usage)), description_(std::move(description)) {
  Flag("help", "h", "show this help and exit", &help_);
}

CommandLine::~CommandLine() = default;

void CommandLine::Flag(const std::string& name, const std::string& s, const std::string& help, bool* target) {
  bindings_.push_back(std::make_unique<Binding>(Binding{name, s, "", help, target, nullptr, nullptr}));
}

void CommandLine::Value(const std::string& name, const std::string& s, const std::string& arg,
                        const std::string& help, std::string* target) {
  bindings_.push_back(std::make_unique<Binding>(Binding{name, s, arg, help, nullptr, target, nullptr}));
}

void CommandLine::Repeated(const std::string& name, const std::string& s, const std::string& arg,
                           const std::string& help, std::vector<std::string>* target) {
  bindings_.push_back(std::make_unique<Binding>(Binding{name, s, arg, help, nullptr, nullptr, target}));
}

bool CommandLine::IsSecretName(std::string_view name) { return NameSaysSecret(name); }

namespace {

// The length of the well-formed UTF-8 sequence at s[i] (shortest form, no surrogates), or 0.
size_t Utf8Length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  if (n == 2 && c < 0xC2) return 0;                                  // overlong
  if (n == 3 && c == 0xE0 && b(i + 1) < 0xA0) return 0;              // overlong
  if (n == 3 && c == 0xED && b(i + 1) >= 0xA0) return 0;             // surrogate
  if (n == 4 && (c > 0xF4 || (c == 0xF0 && b(i + 1) < 0x90) || (c == 0xF4 && b(i + 1) >= 0x90))) return 0;
  return n;
}

}  // namespace

std::string CommandLine::ShellWord(std::string_view word) {
  bool plain = !word.empty();
  for (char c : word)
    plain = plain && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      std::string_view("_./=:@%+,-").find(c) != std::string_view::npos);
  if (plain) return std::string(word);
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string CommandLine::Shown(std::string_view arg) {
  constexpr size_t kMax = 64;
  std::string out;
  size_t i = 0;
  for (; i < arg.size() && i < kMax;) {
    size_t n = Utf8Length(arg, i);
    unsigned char c = static_cast<unsigned char>(arg[i]);
    if (n == 0 || (n == 1 && (c < 0x20 || c == 0x7F))) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
      ++i;
    } else {
      out.append(arg.substr(i, n));
      i += n;
    }
  }
  if (i < arg.size()) out += "... (" + std::to_string(arg.size()) + " bytes)";
  return out;
}

CommandLine::Binding* CommandLine::Find(std::string_view name, bool short_name) const {
  for (const auto& b : bindings_)
    if ((short_name ? b->short_name : b->name) == name && !name.empty()) return b.get();
  return nullptr;
}

Status CommandLine::Parse(const std::vector<std::string>& args, std::vector<std::string>* positional) {
  for (auto& b : bindings_) b->seen = 0;
  auto quoted = [](std::string_view word) { return "'" + Shown(word) + "'"; };
  auto unknown = [&](std::string_view word) {
    std::string hint;
    if (IsSecretName(word)) {
      hint = Find("api-key-file", false)
                 ? "the API key comes from SOGNI_API_KEY or --api-key-file FILE (mode 0600), never from a flag value"
                 : "this command takes no API key; a key comes from SOGNI_API_KEY or --api-key-file FILE, never "
                   "from a flag value";
    } else {
      std::vector<std::string> names;
      for (const auto& b : bindings_) names.push_back("--" + b->name);
      hint = word.size() <= 64 ? DidYouMean(word, names) : "";
    }
    return Status::InvalidPlan("unknown option " + quoted(word) + (hint.empty() ? "" : "; " + hint));
  };
  // Stores one value of `b` (written as `word`); the value itself never reaches a message.
  auto take = [&](Binding* b, const std::string& word, const std::string& value) -> Status {
    if (value.empty()) return Status::InvalidPlan("option " + quoted(word) + " needs a value, not an empty one");
    if (b->value && b->seen > 1)
      return Status::InvalidPlan("option " + quoted(word) + " is given more than once; give it once");
    if (b->value) *b->value = value;
    if (b->values) b->values->push_back(value);
    return Status::OK();
  };
  Binding* awaiting = nullptr;  // the option whose value is the next word
  std::string awaiting_word;
  bool only_positional = false;
  for (const std::string& a : args) {
    if (awaiting) {
      if (Status s = take(awaiting, awaiting_word, a); !s.ok()) return s;
      awaiting = nullptr;
      continue;
    }
    if (only_positional || a.empty() || a == "-" || a[0] != '-') {
      positional->push_back(a);
      continue;
    }
    if (a == "--") {
      only_positional = true;
      continue;
    }
    const bool is_long = a.size() > 1 && a[1] == '-';
    std::string word;           // the option as written, without a value
    std::string attached;       // a value in the same word
    bool has_attached = false;
    Binding* b = nullptr;
    if (is_long) {
      size_t eq = a.find('=');
      word = a.substr(0, eq);
      has_attached = eq != std::string::npos;
      if (has_attached) attached = a.substr(eq + 1);
      b = Find(std::string_view(word).substr(2), false);
    } else {
      word = a.substr(0, 2);
      b = Find(std::string_view(word).substr(1), true);
      has_attached = a.size() > 2;
      if (has_attached) attached = a.substr(2);
      // A flag with more letters ("-qv") is not a grouping: the whole word is unknown.
      if (b && b->flag && has_attached) return unknown(IsSecretName(a) ? word : a);
    }
    if (!b) return unknown(word);
    ++b->seen;
    if (b->flag) {
      if (has_attached) return Status::InvalidPlan("option " + quoted(word) + " takes no value");
      *b->flag = true;
      continue;
    }
    if (has_attached) {
      if (Status s = take(b, word, attached); !s.ok()) return s;
    } else {
      awaiting = b;
      awaiting_word = word;
    }
  }
  if (awaiting) return Status::InvalidPlan("option " + quoted(awaiting_word) + " needs a value");
  return Status::OK();
}

std::string CommandLine::Help() const {
  std::ostringstream out;
  out << "usage: sogni-flow " << usage_ << "\n\n" << description_ << "\n\noptions:\n";
  for (const auto& b : bindings_) {
    std::string left = "  ";
    left += b->short_name.empty() ? "    " : "-" + b->short_name + ", ";
    left += "--" + b->name;
    if (!b->flag) left += " " + (b->arg.empty() ? std::string("VALUE") : b->arg);
    if (left.size() < 30) left.resize(30, ' ');
    else left += "\n" + std::string(30, ' ');
    // A help text of several lines keeps to its column: each line after the first is indented.
    std::string help;
    for (char c : b->help) {
      help.push_back(c);
      if (c == '\n') help.append(30, ' ');
    }
    out << left << help << "\n";
  }
  if (!epilog_.empty()) out << "\n" << epilog_;
  return out.str();
}

}  // namespace sflow
