// sogni-flow config : the settings every command takes when its flag does not give them
// (cli/settings.h), each with where it came from. Reads only.
#include <string>
#include <vector>

#include "api/http_url.h"
#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/settings.h"
#include "engine/spell.h"
#include "engine/value.h"

namespace sflow {

namespace {

// Why the api_url setting cannot be used (every command would refuse it), or "". The reason
// quotes at most a scheme and a host: the value may hold a secret (user information, a query).
std::string ApiUrlProblem(const std::string& value) {
  Result<HttpUrl> url = ParseHttpUrl(value);
  if (!url.ok()) return url.status().message();
  const std::string_view rest = std::string_view(value).substr(value.find("://") + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) return "it has a query or fragment; give the API's base URL";
  return "";
}

// A value as the command uses it: jobs left to the command says the command's own default.
std::string Effective(SettingKey key, const Setting& s) {
  if (key == SettingKey::kJobs && s.value.empty()) return "1";  // run's and resume's own default
  return s.value;
}

}  // namespace

int RunConfig(const std::vector<std::string>& args, Context& ctx) {
  bool json = false, show_origin = false;
  CommandLine cl("config [KEY] [--show-origin] [--json]",
                 "Shows the settings commands take when their flag does not give them: state_dir\n"
                 "(--state-dir), out_dir (each run's folder goes in it unless --out is given), api_url\n"
                 "(--api-url) and jobs (-j). Precedence, highest first: the flag, the variable\n"
                 "(SOGNI_FLOW_STATE_DIR, SOGNI_FLOW_OUT_DIR, SOGNI_API_BASE_URL, SOGNI_FLOW_JOBS), the\n"
                 "project file (the nearest sogni-flow.yaml found upward from the current folder), the user\n"
                 "file ($XDG_CONFIG_HOME/sogni-flow/config.yaml, else ~/.config/sogni-flow/config.yaml), the\n"
                 "default. Both files are YAML mappings of those keys; a path in a file is relative to the\n"
                 "file's folder. A file is read only when it is yours and only you may write it, and a\n"
                 "project file may not set api_url: the key goes wherever api_url says. A problem in a file\n"
                 "(file:line:col) stops every command until it is fixed. With KEY, prints only that value\n"
                 "(for scripts).");
  cl.Flag("show-origin", "", "say where each value came from: a variable, FILE:LINE:COL, or default", &show_origin);
  cl.Flag("json", "", "one JSON object per setting {key, value, origin, variable}, then one naming the files read", &json);
  cl.Epilog("exit codes: 0 shown, 2 an unknown KEY, a settings file with problems, or an api_url no command\n"
            "could use (said on stderr, not printed)\n\n"
            "examples:\n"
            "  sogni-flow config --show-origin\n"
            "  sogni-flow config state_dir\n"
            "  SOGNI_FLOW_JOBS=8 sogni-flow config jobs --show-origin\n\n"
            "a project file (sogni-flow.yaml at the top of a repository of plans):\n"
            "  state_dir: .sogni-flow\n"
            "  out_dir: renders\n"
            "  jobs: 4\n");
  std::vector<std::string> rest;
  Status s = cl.Parse(args, &rest);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow config: " << s.message() << "\n", kExitInvalid;
  if (rest.size() > 1) return ctx.err << "sogni-flow config: unexpected argument '" << CommandLine::Shown(rest[1]) << "'\n", kExitInvalid;
  const Settings settings = ctx.settings ? *ctx.settings : Settings::FromEnvironment(ctx.environ);

  std::vector<SettingKey> keys = Settings::Keys();
  if (!rest.empty()) {
    std::vector<std::string> names;
    for (SettingKey k : keys) names.push_back(Settings::Name(k));
    std::vector<SettingKey> one;
    for (SettingKey k : keys)
      if (rest[0] == Settings::Name(k)) one.push_back(k);
    if (one.empty()) {
      std::string hint = rest[0].size() <= 64 ? DidYouMean(rest[0], names) : "";
      return ctx.err << "sogni-flow config: unknown setting '" << CommandLine::Shown(rest[0]) << "'"
                     << (hint.empty() ? "; the settings are state_dir, out_dir, api_url and jobs" : "; " + hint) << "\n",
             kExitInvalid;
    }
    keys = one;
  }
  if (json) {
    for (SettingKey k : keys) {
      const Setting& v = settings.Get(k);
      Value o = Value::Object();
      o.Set("key", Value::String(Settings::Name(k)));
      // The true value (JSON escapes what a terminal could not show); an unusable endpoint is
      // not repeated (it may hold a secret), its problem is.
      const std::string problem = k == SettingKey::kApiUrl ? ApiUrlProblem(v.value) : "";
      o.Set("value", problem.empty() ? Value::String(Effective(k, v)) : Value::Null());
      if (!problem.empty()) o.Set("problem", Value::String(problem));
      o.Set("origin", Value::String(v.origin));
      o.Set("variable", Value::String(Settings::Variable(k)));
      ctx.out << o.ToJson() << "\n";
    }
    Value files = Value::Object();
    files.Set("projectFile", settings.project_file().empty() ? Value::Null() : Value::String(settings.project_file()));
    files.Set("userFile", settings.user_file().empty() ? Value::Null() : Value::String(settings.user_file()));
    ctx.out << files.ToJson() << "\n";
    return kExitOk;
  }
  // An endpoint every command would refuse is said on stderr (exit 2), never printed as a value.
  int code = kExitOk;
  for (SettingKey k : keys) {
    if (k != SettingKey::kApiUrl) continue;
    const Setting& v = settings.Get(k);
    if (std::string problem = ApiUrlProblem(v.value); !problem.empty()) {
      ctx.err << "sogni-flow config: api_url (" << TerminalText(v.origin) << ") cannot be used: " << problem << "\n";
      code = kExitInvalid;
    }
  }
  if (!rest.empty() && !show_origin) {
    if (code == kExitOk) ctx.out << TerminalText(Effective(keys[0], settings.Get(keys[0]))) << "\n";
    return code;
  }
  for (SettingKey k : keys) {
    const Setting& v = settings.Get(k);
    std::string name = Settings::Name(k);
    name.resize(10, ' ');
    std::string value = k == SettingKey::kApiUrl && !ApiUrlProblem(v.value).empty() ? "(cannot be used, see above)"
                                                                                     : TerminalText(Effective(k, v));
    if (show_origin && value.size() < 40) value.resize(40, ' ');
    ctx.out << name << value;
    if (show_origin) ctx.out << "  " << TerminalText(v.origin);
    ctx.out << "\n";
  }
  if (show_origin && rest.empty()) {
    ctx.out << "\nproject file: " << (settings.project_file().empty() ? "none found upward from here" : TerminalText(settings.project_file()))
            << "\nuser file:    " << (settings.user_file().empty() ? "none" : TerminalText(settings.user_file())) << "\n";
  }
  return code;
}

}  // namespace sflow
