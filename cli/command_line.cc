#include "cli/command_line.h"

#include <sstream>

#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionException.h>
#include <Poco/Util/OptionProcessor.h>
#include <Poco/Util/OptionSet.h>

#include "engine/spell.h"

namespace sflow {

struct CommandLine::Binding {
  std::string name, short_name, arg, help;
  bool* flag = nullptr;
  std::string* value = nullptr;
  std::vector<std::string>* values = nullptr;
};

CommandLine::CommandLine(std::string usage, std::string description)
    : usage_(std::move(usage)), description_(std::move(description)) {
  Flag("help", "h", "show this help and exit", &help_);
}

CommandLine::~CommandLine() = default;

void CommandLine::Flag(const std::string& name, const std::string& s, const std::string& help, bool* target) {
  auto b = std::make_unique<Binding>();
  *b = Binding{name, s, "", help, target, nullptr, nullptr};
  bindings_.push_back(std::move(b));
}

void CommandLine::Value(const std::string& name, const std::string& s, const std::string& arg,
                        const std::string& help, std::string* target) {
  auto b = std::make_unique<Binding>();
  *b = Binding{name, s, arg, help, nullptr, target, nullptr};
  bindings_.push_back(std::move(b));
}

void CommandLine::Repeated(const std::string& name, const std::string& s, const std::string& arg,
                           const std::string& help, std::vector<std::string>* target) {
  auto b = std::make_unique<Binding>();
  *b = Binding{name, s, arg, help, nullptr, nullptr, target};
  bindings_.push_back(std::move(b));
}


Status CommandLine::Parse(const std::vector<std::string>& args, std::vector<std::string>* positional) {
  Poco::Util::OptionSet set;
  for (const auto& b : bindings_) {
    Poco::Util::Option o(b->name, b->short_name, b->help, false);
    if (!b->flag) o.argument(b->arg.empty() ? "VALUE" : b->arg, true);
    if (b->values) o.repeatable(true);
    set.addOption(o);
  }
  std::vector<std::string> names;
  for (const auto& b : bindings_) names.push_back("--" + b->name);
  Poco::Util::OptionProcessor processor(set);
  processor.setUnixStyle(true);
  bool only_positional = false;
  bool awaiting_value = false;  // the previous word was an option whose value is this word
  std::string current;           // the word being processed, for messages
  try {
    for (const std::string& a : args) {
      current = a.substr(0, a.find('='));
      if (!awaiting_value && (only_positional || a == "-" || a.empty() || a[0] != '-')) {
        // "--" ends options; a lone "-" is a positional too (stdin, where a command allows it).
        positional->push_back(a);
        continue;
      }
      if (a == "--" && !awaiting_value) {
        only_positional = true;
        continue;
      }
      std::string name, value;
      if (!processor.process(a, name, value)) {
        positional->push_back(a);
        continue;
      }
      awaiting_value = name.empty();
      if (awaiting_value) continue;
      for (const auto& b : bindings_) {
        if (b->name != name) continue;
        if (b->flag) *b->flag = true;
        if (b->value) *b->value = value;
        if (b->values) b->values->push_back(value);
      }
    }
    if (awaiting_value) return Status::InvalidPlan("option '" + args.back() + "' needs a value");
    processor.checkRequired();
  } catch (const Poco::Util::UnknownOptionException&) {
    std::string hint = DidYouMean(current, names);
    return Status::InvalidPlan("unknown option '" + current + "'" + (hint.empty() ? "" : "; " + hint));
  } catch (const Poco::Util::AmbiguousOptionException&) {
    return Status::InvalidPlan("ambiguous option '" + current + "'");
  } catch (const Poco::Util::MissingArgumentException&) {
    return Status::InvalidPlan("option '" + current + "' needs a value");
  } catch (const Poco::Util::UnexpectedArgumentException&) {
    return Status::InvalidPlan("option '" + current + "' takes no value");
  } catch (const Poco::Util::OptionException& e) {
    return Status::InvalidPlan(e.displayText());
  }
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
    out << left << b->help << "\n";
  }
  if (!epilog_.empty()) out << "\n" << epilog_;
  return out.str();
}

}  // namespace sflow
