// Settings: the values a command takes when its flag does not give them, and where each came from.
//
// Precedence, highest first:
//   1. the command's flag (--state-dir, --out, --api-url, -j): not seen here, the command applies it;
//   2. the environment variable;
//   3. the project file: the nearest `sogni-flow.yaml` found upward from the current directory;
//   4. the user file: $XDG_CONFIG_HOME/sogni-flow/config.yaml, else ~/.config/sogni-flow/config.yaml;
//   5. the built-in default.
//
//   key        variable               default               meaning
//   state_dir  SOGNI_FLOW_STATE_DIR   .sogni-flow           the state directory
//   out_dir    SOGNI_FLOW_OUT_DIR     sogni-out             the folder each run's own folder goes in
//   api_url    SOGNI_API_BASE_URL     https://api.sogni.ai  the API
//   jobs       SOGNI_FLOW_JOBS        (run's own: 1)        runs followed at once, as -j
//
// Both files are YAML mappings of these keys (plus `version: 1`, optional), read by the plans'
// safe reader (no anchors, no duplicate keys, 64 KiB at most); a problem is reported at its
// file:line:col with a hint, and stops every command but --help (a setting silently ignored would
// send a nightly run somewhere else). A path in a file is taken relative to that file's folder
// (`~/` is the home folder), so a project file means the same from any folder below it. A name
// that exists but cannot be read (a dangling link, no permission) is an error, never "no file".
//
// Trust: a file is read only when it belongs to the user (or root) and no one else may write it,
// as git refuses a repository another user owns. And a project file comes with a repository,
// perhaps a stranger's: it may not set api_url at all, because the API key goes wherever api_url
// says (loopback is no boundary either: any local user may listen there). The endpoint is set in
// the user file, the variable or the flag.
#ifndef SFLOW_CLI_SETTINGS_H_
#define SFLOW_CLI_SETTINGS_H_

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "engine/diagnostics.h"
#include "engine/status.h"

namespace sflow {

enum class SettingKey { kStateDir, kOutDir, kApiUrl, kJobs };
inline constexpr int kSettingCount = 4;

struct Setting {
  std::string value;   // "" only for jobs left to the command's own default
  std::string origin;  // "SOGNI_FLOW_STATE_DIR", "/p/sogni-flow.yaml:3:12", or "default"
  bool is_default() const { return origin == "default"; }
};

inline constexpr const char* kDefaultApiUrl = "https://api.sogni.ai";
inline constexpr int kMaxJobs = 10000;  // -j and the jobs setting: runs followed at once, at most
inline constexpr const char* kProjectFileName = "sogni-flow.yaml";

class Settings {
 public:
  // The environment and the built-in defaults only (no file is read).
  static Settings FromEnvironment(char** environ);
  // The environment, the files as found from `cwd` and the environment's XDG_CONFIG_HOME or HOME,
  // and the defaults. A file's problems go into `diags` (with positions) and return kInvalidPlan.
  static Result<Settings> Load(char** environ, const std::string& cwd, DiagnosticList* diags);

  const Setting& Get(SettingKey key) const { return values_[static_cast<int>(key)]; }
  const std::string& project_file() const { return project_file_; }  // "" when none was found
  const std::string& user_file() const { return user_file_; }        // "" when none was read

  static const char* Name(SettingKey key);      // "state_dir"
  static const char* Variable(SettingKey key);  // "SOGNI_FLOW_STATE_DIR"
  static std::vector<SettingKey> Keys();

 private:
  std::array<Setting, kSettingCount> values_;
  std::string project_file_, user_file_;
};

struct Context;
// The setting as this command sees it: ctx.settings when RunCli loaded them, else the environment
// and the defaults (a command run in-process by a test).
Setting Configured(const Context& ctx, SettingKey key);

// The upward search alone: the first `dir/sogni-flow.yaml` that exists from `cwd` to `/`, or "".
std::string FindProjectFile(const std::string& cwd);

}  // namespace sflow

#endif  // SFLOW_CLI_SETTINGS_H_
