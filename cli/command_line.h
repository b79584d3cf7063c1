// CommandLine: one subcommand's options, parsed by exact name only.
//
// Each subcommand declares its options on a CommandLine (binding each to a variable), calls
// Parse, and gets the positional arguments back. The rules, the same for every command:
//   * `--name`, `--name VALUE`, `--name=VALUE`, `-x`, `-x VALUE`, `-xVALUE`. A name must be
//     written in full: no abbreviations (a prefix such as `--api-key` is never taken for
//     `--api-key-file`), and no grouped short flags.
//   * A value is never empty, and an option with one value is given at most once (a repeated
//     flag is harmless and allowed; a Repeated() option collects every value).
//   * `--` ends the options; a lone `-` is a positional argument.
//   * Errors are usage errors (kInvalidPlan, exit 2) naming the option as written, never its
//     value. An option whose name says key, token, secret or password is a "secret option":
//     nothing of its value, nor of a file it names, is ever printed, by the parser or (by
//     contract) by the command. An unknown option naming a key, token or secret gets the hint that a key comes
//     from SOGNI_API_KEY or --api-key-file and never from a flag value.
//   * Arguments are shown at most 64 bytes long, with control and non-UTF-8 bytes as \xNN.
// --help is always available and sets help_requested(); Help() lists every option.
#ifndef SFLOW_CLI_COMMAND_LINE_H_
#define SFLOW_CLI_COMMAND_LINE_H_

#include <memory>
#include <string>
#include <string_view>
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

  // Whether an option of this name is a secret option: NameSaysSecret (engine/params.h), the
  // rule params follow too.
  static bool IsSecretName(std::string_view name);
  // `arg` as it may appear in a message: at most 64 bytes (longer ones cut, with their length),
  // control bytes and bytes that are not UTF-8 written as \xNN.
  static std::string Shown(std::string_view arg);
  // `word` as one word of a shell command a message suggests: as it is when it holds only
  // letters, digits and `_./=:@%+,-`, else in single quotes (a quote inside as '\'').
  static std::string ShellWord(std::string_view word);

 private:
  struct Binding;
  Binding* Find(std::string_view name, bool short_name) const;
  std::string usage_, description_, epilog_;
  std::vector<std::unique_ptr<Binding>> bindings_;
  bool help_ = false;
};

}  // namespace sflow

#endif  // SFLOW_CLI_COMMAND_LINE_H_
