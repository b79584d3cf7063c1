// CommandLine: one subcommand's options, parsed with Poco::Util's OptionProcessor.
//
// Each subcommand declares its options on a CommandLine (binding each to a variable), calls
// Parse, and gets the positional arguments back. Unknown options come back as a usage Status with
// a "did you mean"; --help is always available and sets help_requested().
#ifndef SFLOW_CLI_COMMAND_LINE_H_
#define SFLOW_CLI_COMMAND_LINE_H_

#include <memory>
#include <string>
#include <vector>

#include "engine/status.h"

namespace sflow {

class CommandLine {
 public:
  // usage: e.g. "validate PLAN... [--json]"; description: a paragraph for --help.
  CommandLine(std::string usage, std::string description);
  ~CommandLine();

  void Flag(const std::string& name, const std::string& short_name, const std::string& help, bool* target);
  void Value(const std::string& name, const std::string& short_name, const std::string& arg,
             const std::string& help, std::string* target);
  void Repeated(const std::string& name, const std::string& short_name, const std::string& arg,
                const std::string& help, std::vector<std::string>* target);
  // Text appended to --help (examples, exit codes).
  void Epilog(std::string text) { epilog_ = std::move(text); }

  Status Parse(const std::vector<std::string>& args, std::vector<std::string>* positional);
  bool help_requested() const { return help_; }
  std::string Help() const;

 private:
  struct Binding;
  std::string usage_, description_, epilog_;
  std::vector<std::unique_ptr<Binding>> bindings_;
  bool help_ = false;
};

}  // namespace sflow

#endif  // SFLOW_CLI_COMMAND_LINE_H_
