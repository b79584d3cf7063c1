#include "cli/settings.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "cli/context.h"
#include "engine/spell.h"
#include "plans/yaml_reader.h"

namespace sflow {

namespace {

constexpr SettingKey kKeys[] = {SettingKey::kStateDir, SettingKey::kOutDir, SettingKey::kApiUrl, SettingKey::kJobs};
constexpr size_t kMaxValueBytes = 4096;

// A settings file is small: a few keys. The cap keeps a hostile one (a 1 GiB file named
// sogni-flow.yaml in a cloned repository) from costing anything.
YamlLimits FileLimits() {
  YamlLimits limits;
  limits.max_bytes = 64 << 10;
  limits.max_depth = 4;
  return limits;
}

// Whether anything has this name: a dangling link too, which reading then reports (a file that
// is there but cannot be read is never taken for no file).
bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// Why a settings file must not be trusted, or "": one another user owns or may write could set
// where the state goes and the runs' files (git refuses such a repository for the same reason).
std::string Untrusted(const std::string& file) {
  struct stat st;
  if (::stat(file.c_str(), &st) != 0) return "";  // reading it says why
  if (st.st_uid != ::geteuid() && st.st_uid != 0)
    return "it belongs to another user (uid " + std::to_string(st.st_uid) + ")";
  // Group write is the user's own when the group is theirs (a user's private group, umask 002).
  if ((st.st_mode & S_IWOTH) || ((st.st_mode & S_IWGRP) && st.st_gid != ::getegid()))
    return "other users may write it (chmod go-w)";
  return "";
}

std::string Folder(const std::string& file) {
  std::string folder = std::filesystem::path(file).parent_path().string();
  return folder.empty() ? "." : folder;
}

std::string Where(const std::string& file, SourceLoc loc) {
  return file + ":" + std::to_string(loc.line) + ":" + std::to_string(loc.column);
}

// Whether a file's text holds nothing but blank lines and comments (it sets nothing).
bool NothingSet(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    size_t first = line.find_first_not_of(" \t\r");
    if (first != std::string_view::npos && line[first] != '#') return false;
    pos = end + 1;
  }
  return true;
}

// Reads one file's settings into `values` (those the file sets, with their positions as origin);
// its problems go into `diags`, which names the file.
Status ReadSettings(const std::string& file, bool project, char** environ, std::array<Setting, kSettingCount>* values,
                    DiagnosticList* diags) {
  const YamlLimits limits = FileLimits();
  if (std::string why = Untrusted(file); !why.empty()) {
    diags->Error({}, "config", "settings file refused: " + why,
                 "a settings file is read only when it is yours and only you may write it");
    return Status::InvalidPlan("invalid settings file " + file);
  }
  struct stat st;
  if (::stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode) && static_cast<size_t>(st.st_size) > limits.max_bytes) {
    diags->Error({}, "config", "settings file too large: " + std::to_string(st.st_size) + " bytes (the limit is " +
                                  std::to_string(limits.max_bytes) + ")", "a settings file holds a few keys");
    return Status::InvalidPlan("invalid settings file " + file);
  }
  Result<std::string> text = ReadLimitedFile(file, limits, diags);
  if (!text.ok()) return text.status();
  if (NothingSet(*text)) return Status::OK();  // empty, or comments only: sets nothing
  Result<Value> root = ParseYaml(*text, limits, diags);
  if (!root.ok()) return root.status();
  if (root->is_null()) return Status::OK();
  std::vector<std::string> names = {"version"};
  for (SettingKey k : kKeys) names.push_back(Settings::Name(k));
  if (!root->is_object()) {
    diags->Error(root->loc(), "config", "a settings file is a mapping, not " + std::string(Value::KindPhrase(root->kind())),
                 "e.g. `state_dir: .sogni-flow` on a line of its own");
    return Status::InvalidPlan("invalid settings file " + file);
  }
  const std::string home = EnvValue(environ, "HOME");
  bool bad = false;
  auto error = [&](SourceLoc loc, std::string message, std::string hint = "") {
    diags->Error(loc, "config", std::move(message), std::move(hint));
    bad = true;
  };
  for (const Value::Member& m : root->members()) {
    const Value& v = m.value;
    if (m.key == "version") {
      if (!v.is_int() || v.as_int() != 1) error(v.loc(), "version must be 1");
      continue;
    }
    int index = -1;
    for (SettingKey k : kKeys)
      if (m.key == Settings::Name(k)) index = static_cast<int>(k);
    if (index < 0) {
      std::string hint = DidYouMean(m.key, names);
      error(m.key_loc, "unknown setting '" + TerminalText(m.key) + "'",
            hint.empty() ? "the settings are state_dir, out_dir, api_url and jobs" : hint);
      continue;
    }
    const auto key = static_cast<SettingKey>(index);
    Setting s;
    s.origin = Where(file, v.loc());
    if (key == SettingKey::kJobs) {
      if (!v.is_int() || v.as_int() < 1 || v.as_int() > kMaxJobs) {
        error(v.loc(), "jobs must be a whole number from 1 to " + std::to_string(kMaxJobs) + ", not " + v.Brief());
        continue;
      }
      s.value = std::to_string(v.as_int());
    } else {
      if (!v.is_string() || v.as_string().empty()) {
        error(v.loc(), m.key + " must be a non-empty string, not " + v.Brief());
        continue;
      }
      s.value = v.as_string();
      if (s.value.size() > kMaxValueBytes) {
        error(v.loc(), m.key + " is longer than " + std::to_string(kMaxValueBytes) + " bytes");
        continue;
      }
      if (key == SettingKey::kApiUrl) {
        if (project) {
          error(v.loc(), "a project file may not set api_url: the API key goes where api_url says, and a project file "
                         "may come from anyone",
                "set the endpoint in your user file, SOGNI_API_BASE_URL or --api-url");
          continue;
        }
      } else if (s.value == "~" || s.value.rfind("~/", 0) == 0) {
        if (home.empty()) {
          error(v.loc(), m.key + " starts with ~ and HOME is not set");
          continue;
        }
        s.value = home + s.value.substr(1);
      } else if (s.value.front() != '/') {
        s.value = Folder(file) + "/" + s.value;  // relative to the file, not to where it is used from
      }
    }
    (*values)[index] = std::move(s);
  }
  return bad ? Status::InvalidPlan("invalid settings file " + file) : Status::OK();
}

Status ReadFile(const std::string& file, bool project, char** environ, std::array<Setting, kSettingCount>* values,
                DiagnosticList* diags) {
  DiagnosticList local(file);
  Status status = ReadSettings(file, project, environ, values, &local);
  diags->Append(local);
  return status;
}

}  // namespace

const char* Settings::Name(SettingKey key) {
  switch (key) {
    case SettingKey::kStateDir: return "state_dir";
    case SettingKey::kOutDir: return "out_dir";
    case SettingKey::kApiUrl: return "api_url";
    case SettingKey::kJobs: return "jobs";
  }
  return "";
}

const char* Settings::Variable(SettingKey key) {
  switch (key) {
    case SettingKey::kStateDir: return "SOGNI_FLOW_STATE_DIR";
    case SettingKey::kOutDir: return "SOGNI_FLOW_OUT_DIR";
    case SettingKey::kApiUrl: return "SOGNI_API_BASE_URL";
    case SettingKey::kJobs: return "SOGNI_FLOW_JOBS";
  }
  return "";
}

std::vector<SettingKey> Settings::Keys() { return {std::begin(kKeys), std::end(kKeys)}; }

Settings Settings::FromEnvironment(char** environ) {
  Settings s;
  s.values_[static_cast<int>(SettingKey::kStateDir)] = {".sogni-flow", "default"};
  s.values_[static_cast<int>(SettingKey::kOutDir)] = {"sogni-out", "default"};
  s.values_[static_cast<int>(SettingKey::kApiUrl)] = {kDefaultApiUrl, "default"};
  s.values_[static_cast<int>(SettingKey::kJobs)] = {"", "default"};
  for (SettingKey k : kKeys) {
    std::string v = EnvValue(environ, Variable(k));
    if (!v.empty()) s.values_[static_cast<int>(k)] = {std::move(v), Variable(k)};
  }
  return s;
}

Setting Configured(const Context& ctx, SettingKey key) {
  if (ctx.settings) return ctx.settings->Get(key);
  return Settings::FromEnvironment(ctx.environ).Get(key);
}

std::string FindProjectFile(const std::string& cwd) {
  if (cwd.empty() || cwd.front() != '/') return "";
  std::string dir = cwd;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  while (true) {
    const std::string candidate = (dir == "/" ? "" : dir) + "/" + kProjectFileName;
    if (Exists(candidate)) return candidate;
    if (dir == "/") return "";
    dir = Folder(dir);
  }
}

Result<Settings> Settings::Load(char** environ, const std::string& cwd, DiagnosticList* diags) {
  Settings s = FromEnvironment(environ);
  std::array<Setting, kSettingCount> from_files;  // origin "" = not set by a file
  std::string xdg = EnvValue(environ, "XDG_CONFIG_HOME");
  const std::string home = EnvValue(environ, "HOME");
  // The XDG rule: a relative XDG_CONFIG_HOME is invalid and ignored.
  std::string user_file = !xdg.empty() && xdg.front() == '/' ? xdg + "/sogni-flow/config.yaml"
                          : !home.empty()                    ? home + "/.config/sogni-flow/config.yaml"
                                                             : "";
  bool bad = false;
  if (!user_file.empty() && Exists(user_file)) {
    s.user_file_ = user_file;
    bad = !ReadFile(user_file, /*project=*/false, environ, &from_files, diags).ok();
  }
  s.project_file_ = FindProjectFile(cwd);
  if (!s.project_file_.empty())  // read after the user file: its settings win
    bad = !ReadFile(s.project_file_, /*project=*/true, environ, &from_files, diags).ok() || bad;
  if (bad) return Status::InvalidPlan("invalid settings file");
  for (SettingKey k : kKeys) {
    const int i = static_cast<int>(k);
    if (!from_files[i].origin.empty() && s.values_[i].is_default()) s.values_[i] = from_files[i];
  }
  return s;
}

}  // namespace sflow
