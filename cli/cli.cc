// The subcommand table and top-level dispatch (ninja's kTools[] in spirit).
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/settings.h"
#include "engine/diagnostics.h"
#include "engine/spell.h"

#ifndef SFLOW_VERSION
#define SFLOW_VERSION "0.0.0"
#endif

namespace sflow {

std::string EnvValue(char** environ, const std::string& name) {
  if (!environ) return "";
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    if (kv.size() > name.size() && kv.substr(0, name.size()) == name && kv[name.size()] == '=')
      return std::string(kv.substr(name.size() + 1));
  }
  return "";
}

int RunValidate(const std::vector<std::string>& args, Context& ctx);
int RunEstimate(const std::vector<std::string>& args, Context& ctx);
int RunSandbox(const std::vector<std::string>& args, Context& ctx);
int RunRun(const std::vector<std::string>& args, Context& ctx);
int RunResume(const std::vector<std::string>& args, Context& ctx);
int RunStatusCommand(const std::vector<std::string>& args, Context& ctx);
int RunEvents(const std::vector<std::string>& args, Context& ctx);
int RunCancel(const std::vector<std::string>& args, Context& ctx);
int RunReseed(const std::vector<std::string>& args, Context& ctx);
int RunArtifacts(const std::vector<std::string>& args, Context& ctx);
int RunTemplates(const std::vector<std::string>& args, Context& ctx);
int RunApprove(const std::vector<std::string>& args, Context& ctx);
int RunCheck(const std::vector<std::string>& args, Context& ctx);
int RunRecover(const std::vector<std::string>& args, Context& ctx);
int RunForget(const std::vector<std::string>& args, Context& ctx);
int RunConfig(const std::vector<std::string>& args, Context& ctx);
int RunBatch(const std::vector<std::string>& args, Context& ctx);
int RunLedger(const std::vector<std::string>& args, Context& ctx);
int RunReport(const std::vector<std::string>& args, Context& ctx);

const std::vector<CommandSpec>& Commands() {
  static const std::vector<CommandSpec> kCommands = {
      {"validate", "check plans offline; exit 0 valid, 2 invalid", RunValidate},
      {"estimate", "capacity units per step and in total, against the budget", RunEstimate},
      {"run", "run a server plan as a durable workflow; follow it, download results", RunRun},
      {"resume", "continue a stored run from its intent and event cursor", RunResume},
      {"status", "stored runs: status, workflow id, events, artifacts", RunStatusCommand},
      {"events", "a run's stored workflow events", RunEvents},
      {"cancel", "cancel a run's workflow on the server; --wait follows it to the end", RunCancel},
      {"batch", "a batch file's plans over their param matrix: run what is not done yet, or say what that is", RunBatch},
      {"ledger", "what runs cost, per day, per batch and per month: estimates, then actual charges", RunLedger},
      {"report", "an HTML page of a run or a batch: contact sheet, steps, costs, provenance, the matrix", RunReport},
      {"reseed", "re-run a finished run as a new run with new seeds for chosen steps", RunReseed},
      {"artifacts", "a run's artifacts; downloads the ones still missing", RunArtifacts},
      {"templates", "saved templates on the API: list, show, push, pull, fork, delete", RunTemplates},
      {"approve", "approve a plan's cost (NAME.approval.json), or confirm a paused run's cost", RunApprove},
      {"check", "check the state directory fully: database, log, rows, cursors, downloaded files", RunCheck},
      {"recover", "get back runs the server knows but the state directory lost", RunRecover},
      {"forget", "remove runs from the state directory (downloaded files stay)", RunForget},
      {"config", "the settings commands default to, and where each came from", RunConfig},
      {"sandbox", "run the local simulator of the Sogni API on loopback", RunSandbox},
  };
  return kCommands;
}

namespace {

void PrintUsage(std::ostream& out) {
  out << "sogni-flow " SFLOW_VERSION ": run declarative creative-media workflows on the Sogni Supernet\n\n"
         "usage: sogni-flow COMMAND [ARGS...]\n\ncommands:\n";
  for (const CommandSpec& c : Commands()) {
    std::string name = c.name;
    name.resize(12, ' ');
    out << "  " << name << c.summary << "\n";
  }
  out << "\n'sogni-flow COMMAND --help' explains a command. Plans are YAML files: see docs/plan-language.md.\n";
}

// Whether a command's arguments ask for its help (before any `--`): help needs no settings, and
// must work while a settings file is broken.
bool AsksForHelp(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--") return false;
    if (a == "--help" || a == "-h") return true;
  }
  return false;
}

// The current directory, of any length; "" when it cannot be known (removed, unreadable).
std::string CurrentDirectory() {
  char* cwd = ::getcwd(nullptr, 0);
  if (!cwd) return "";
  std::string dir(cwd);
  std::free(cwd);
  return dir;
}

}  // namespace

int RunCli(const std::vector<std::string>& args, Context& ctx) {
  if (args.empty()) {
    PrintUsage(ctx.err);
    return kExitInvalid;
  }
  const std::string& name = args[0];
  if (name == "--help" || name == "-h" || name == "help") {
    if (args.size() > 1) return RunCli({args[1], "--help"}, ctx);
    PrintUsage(ctx.out);
    return kExitOk;
  }
  if (name == "--version" || name == "version") {
    ctx.out << "sogni-flow " SFLOW_VERSION "\n";
    return kExitOk;
  }
  for (const CommandSpec& c : Commands()) {
    if (name != c.name) continue;
    std::vector<std::string> rest(args.begin() + 1, args.end());
    // The settings files are read once, here, for every command that may use them (the
    // sandbox uses none). A broken one stops the command: a setting silently skipped would send
    // a nightly run to another state directory or endpoint. Only a request for help gets past
    // it, as the help alone: `--out -h` is a run whose --out is "-h", and it must not run
    // without the settings.
    std::optional<Settings> settings;
    const Settings* given = ctx.settings;
    if (!given && name != "sandbox") {
      DiagnosticList diags;
      const std::string cwd = CurrentDirectory();
      Result<Settings> loaded = cwd.empty() ? Result<Settings>(Status::InvalidPlan("no current directory"))
                                            : Settings::Load(ctx.environ, cwd, &diags);
      if (!loaded.ok()) {
        if (AsksForHelp(rest)) return c.run({"--help"}, ctx);
        for (const Diagnostic& d : diags.Sorted()) ctx.err << FormatDiagnostic(d) << "\n";
        if (cwd.empty())
          ctx.err << "sogni-flow " << name << ": the current directory cannot be read (was it removed?), so its "
                  << "settings file cannot be looked for; change to another directory\n";
        else
          ctx.err << "sogni-flow " << name << ": fix the settings file first ('sogni-flow config --help' explains them)\n";
        return kExitInvalid;
      }
      settings = std::move(*loaded);
      ctx.settings = &*settings;
    }
    const int code = c.run(rest, ctx);
    ctx.settings = given;
    return code;
  }
  std::vector<std::string> names;
  for (const CommandSpec& c : Commands()) names.push_back(c.name);
  std::string hint = name.size() <= 64 ? DidYouMean(name, names) : "";
  ctx.err << "sogni-flow: unknown command '" << CommandLine::Shown(name) << "'" << (hint.empty() ? "" : "; " + hint) << "\n"
          << "run 'sogni-flow --help' for the list\n";
  return kExitInvalid;
}

}  // namespace sflow
