// What every subcommand gets from main: its streams and environment. Commands write data to
// `out` (stdout: tables, --json lines) and human progress and diagnostics to `err` (stderr), and
// never touch std::cout/std::cerr directly, so tests can run them in-process.
#ifndef SFLOW_CLI_CONTEXT_H_
#define SFLOW_CLI_CONTEXT_H_

#include <ostream>
#include <string>
#include <vector>

namespace sflow {

class Settings;

struct Context {
  std::ostream& out;
  std::ostream& err;
  char** environ = nullptr;  // nullptr-terminated, as in main's envp
  bool err_is_terminal = false;  // stderr is a terminal that can redraw lines (live progress)
  // The settings files and variables as RunCli read them (cli/settings.h); nullptr: the
  // environment and the defaults only.
  const Settings* settings = nullptr;
};

// A subcommand: `sogni-flow NAME ARGS...`.
struct CommandSpec {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>& args, Context& ctx);
};

// The subcommand table, in the order `sogni-flow --help` lists it.
const std::vector<CommandSpec>& Commands();

// Runs `sogni-flow` with argv[1..] as args; returns the exit code (cli/exit_codes.h).
int RunCli(const std::vector<std::string>& args, Context& ctx);

// The value of NAME in an environ-style array (Context::environ); "" when absent.
std::string EnvValue(char** environ, const std::string& name);

}  // namespace sflow

#endif  // SFLOW_CLI_CONTEXT_H_
