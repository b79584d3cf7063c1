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

// A value as it may be printed: an endpoint with its user information and query hidden (a URL
// may carry a secret), a path as the terminal can show it.
std::string Shown(SettingKey key, const Setting& s) {
  if (key == SettingKey::kJobs && s.value.empty()) return "1";  // run's and resume's own default
  if (key == SettingKey::kApiUrl) {
    Result<HttpUrl> url = ParseHttpUrl(s.value);
    if (!url.ok()) return "(not a URL that can be used: " + url.status().message() + ")";
    // As written, unless it holds user information or a query: then without them.
    const size_t authority = s.value.find("://") + 3;
    const std::string_view rest = std::string_view(s.value).substr(authority);
    if (rest.find_first_of("@?#") == std::string_view::npos) return TerminalText(s.value);
    return url->Redacted();
  }
  return TerminalText(s.value);
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
                 "file's folder. A project file may point api_url only at the default endpoint or at\n"
                 "loopback: the key goes wherever api_url says. A problem in a file (file:line:col) stops\n"
                 "every command until it is fixed. With KEY, prints only that value (for scripts).");
  cl.Flag("show-origin", "", "say where each value came from: a variable, FILE:LINE:COL, or default", &show_origin);
  cl.Flag("json", "", "one JSON object per setting {key, value, origin, variable}, then one naming the files read", &json);
  cl.Epilog("exit codes: 0 shown, 2 an unknown KEY or a settings file with problems\n\n"
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
      o.Set("value", Value::String(Shown(k, v)));
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
  if (!rest.empty() && !show_origin) return ctx.out << Shown(keys[0], settings.Get(keys[0])) << "\n", kExitOk;
  for (SettingKey k : keys) {
    const Setting& v = settings.Get(k);
    std::string name = Settings::Name(k);
    name.resize(10, ' ');
    std::string value = Shown(k, v);
    if (show_origin && value.size() < 40) value.resize(40, ' ');
    ctx.out << name << value;
    if (show_origin) ctx.out << "  " << TerminalText(v.origin);
    ctx.out << "\n";
  }
  if (show_origin && rest.empty()) {
    ctx.out << "\nproject file: " << (settings.project_file().empty() ? "none found upward from here" : TerminalText(settings.project_file()))
            << "\nuser file:    " << (settings.user_file().empty() ? "none" : TerminalText(settings.user_file())) << "\n";
  }
  return kExitOk;
}

}  // namespace sflow
