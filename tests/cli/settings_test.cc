// Settings (cli/settings.h): precedence, where files are found, paths relative to their file, and
// hostile files refused at their position.
#include "cli/settings.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/test_util.h"

namespace sflow {
namespace {

class SettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sflow-settings-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    ASSERT_EQ(::mkdir((root_ + "/home").c_str(), 0700), 0);
    ASSERT_EQ(::mkdir((root_ + "/home/.config").c_str(), 0700), 0);
    ASSERT_EQ(::mkdir((root_ + "/home/.config/sogni-flow").c_str(), 0700), 0);
    ASSERT_EQ(::mkdir((root_ + "/repo").c_str(), 0700), 0);
    ASSERT_EQ(::mkdir((root_ + "/repo/plans").c_str(), 0700), 0);
    ASSERT_EQ(::mkdir((root_ + "/repo/plans/night").c_str(), 0700), 0);
    env_ = {"HOME=" + root_ + "/home"};
  }
  void TearDown() override { std::system(("rm -rf '" + root_ + "'").c_str()); }

  void Write(const std::string& path, const std::string& text) {
    {
      std::ofstream f(root_ + "/" + path, std::ios::binary);
      f << text;
    }
    ::chmod((root_ + "/" + path).c_str(), 0644);  // whatever the umask
  }
  std::string UserFile() const { return "home/.config/sogni-flow/config.yaml"; }

  // Loads from `cwd` (under root_) with env_; the diagnostics, formatted, into *problems.
  Result<Settings> Load(const std::string& cwd, std::string* problems = nullptr) {
    std::vector<char*> env;
    for (std::string& e : env_) env.push_back(e.data());
    env.push_back(nullptr);
    DiagnosticList diags;
    Result<Settings> s = Settings::Load(env.data(), root_ + "/" + cwd, &diags);
    if (problems) {
      problems->clear();
      for (const Diagnostic& d : diags.Sorted()) *problems += FormatDiagnostic(d) + "\n";
    }
    return s;
  }

  std::string root_;
  std::vector<std::string> env_;
};

TEST_F(SettingsTest, DefaultsWithoutFilesOrVariables) {
  Result<Settings> s = Load("repo/plans");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->Get(SettingKey::kStateDir).value, ".sogni-flow");
  EXPECT_EQ(s->Get(SettingKey::kOutDir).value, "sogni-out");
  EXPECT_EQ(s->Get(SettingKey::kApiUrl).value, "https://api.sogni.ai");
  EXPECT_EQ(s->Get(SettingKey::kJobs).value, "");
  for (SettingKey k : Settings::Keys()) EXPECT_TRUE(s->Get(k).is_default()) << Settings::Name(k);
  EXPECT_EQ(s->project_file(), "");
  EXPECT_EQ(s->user_file(), "");
}

TEST_F(SettingsTest, VariableBeatsProjectBeatsUserBeatsDefault) {
  Write(UserFile(), "state_dir: /var/user-state\njobs: 2\napi_url: https://staging.example.com\n");
  Write("repo/sogni-flow.yaml", "version: 1\nstate_dir: .state\n");
  env_.push_back("SOGNI_FLOW_JOBS=7");
  Result<Settings> s = Load("repo/plans/night");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->Get(SettingKey::kStateDir).value, root_ + "/repo/.state");  // the project's, beside its file
  EXPECT_EQ(s->Get(SettingKey::kStateDir).origin, root_ + "/repo/sogni-flow.yaml:2:12");
  EXPECT_EQ(s->Get(SettingKey::kJobs).value, "7");
  EXPECT_EQ(s->Get(SettingKey::kJobs).origin, "SOGNI_FLOW_JOBS");
  EXPECT_EQ(s->Get(SettingKey::kApiUrl).value, "https://staging.example.com");  // the user's may be any
  EXPECT_EQ(s->Get(SettingKey::kApiUrl).origin, root_ + "/home/.config/sogni-flow/config.yaml:3:10");
  EXPECT_TRUE(s->Get(SettingKey::kOutDir).is_default());
  EXPECT_EQ(s->project_file(), root_ + "/repo/sogni-flow.yaml");
  EXPECT_EQ(s->user_file(), root_ + "/home/.config/sogni-flow/config.yaml");
}

TEST_F(SettingsTest, TheNearestProjectFileWinsAndPathsAreRelativeToTheirFile) {
  Write("repo/sogni-flow.yaml", "out_dir: outer\n");
  Write("repo/plans/sogni-flow.yaml", "out_dir: renders\nstate_dir: ~/state\n");
  Result<Settings> s = Load("repo/plans/night");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->project_file(), root_ + "/repo/plans/sogni-flow.yaml");
  EXPECT_EQ(s->Get(SettingKey::kOutDir).value, root_ + "/repo/plans/renders");
  EXPECT_EQ(s->Get(SettingKey::kStateDir).value, root_ + "/home/state");
  EXPECT_EQ(FindProjectFile(root_ + "/repo/plans/night/"), root_ + "/repo/plans/sogni-flow.yaml");
  EXPECT_EQ(FindProjectFile("relative/dir"), "");
}

TEST_F(SettingsTest, XdgConfigHomeWhenAbsoluteElseHome) {
  ASSERT_EQ(::mkdir((root_ + "/xdg").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((root_ + "/xdg/sogni-flow").c_str(), 0700), 0);
  Write("xdg/sogni-flow/config.yaml", "jobs: 3\n");
  Write(UserFile(), "jobs: 5\n");
  env_.push_back("XDG_CONFIG_HOME=" + root_ + "/xdg");
  Result<Settings> s = Load("repo");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->Get(SettingKey::kJobs).value, "3");
  env_.back() = "XDG_CONFIG_HOME=xdg";  // relative: invalid by the XDG rule, ignored
  s = Load("repo");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->Get(SettingKey::kJobs).value, "5");
}

TEST_F(SettingsTest, EmptyAndCommentOnlyFilesSetNothing) {
  Write("repo/sogni-flow.yaml", "");
  Write(UserFile(), "# nothing yet\n\n   # really\n");
  Result<Settings> s = Load("repo");
  ASSERT_TRUE(s.ok()) << s.status().message();
  for (SettingKey k : Settings::Keys()) EXPECT_TRUE(s->Get(k).is_default());
  EXPECT_EQ(s->project_file(), root_ + "/repo/sogni-flow.yaml");
}

TEST_F(SettingsTest, EveryProblemOfAFileIsReportedAtItsPosition) {
  Write("repo/sogni-flow.yaml",
        "stat_dir: x\njobs: 0\nversion: 2\nout_dir: \"\"\nstate_dir: [a]\napi_url: https://api.sogni.ai\n");
  std::string problems;
  Result<Settings> s = Load("repo/plans", &problems);
  EXPECT_FALSE(s.ok());
  const std::string f = root_ + "/repo/sogni-flow.yaml";
  EXPECT_NE(problems.find(f + ":1:1: error: unknown setting 'stat_dir'\n  hint: did you mean 'state_dir'?"), std::string::npos) << problems;
  EXPECT_NE(problems.find(f + ":2:7: error: jobs must be a whole number from 1 to 10000, not 0"), std::string::npos) << problems;
  EXPECT_NE(problems.find(f + ":3:10: error: version must be 1"), std::string::npos) << problems;
  EXPECT_NE(problems.find(f + ":4:10: error: out_dir must be a non-empty string"), std::string::npos) << problems;
  EXPECT_NE(problems.find(f + ":5:12: error: state_dir must be a non-empty string"), std::string::npos) << problems;
  EXPECT_NE(problems.find(f + ":6:10: error: a project file may not set api_url"), std::string::npos) << problems;
}

// The key goes wherever api_url says: a project file (perhaps a stranger's repository) may not
// name an endpoint at all, not even loopback (any local user may listen there).
TEST_F(SettingsTest, AProjectFileMayNotPointTheKeyAnywhere) {
  for (const char* url : {"https://api.sogni.ai", "http://127.0.0.1:8080", "https://evil.example", "not a url"}) {
    Write("repo/sogni-flow.yaml", std::string("api_url: \"") + url + "\"\n");
    std::string problems;
    EXPECT_FALSE(Load("repo", &problems).ok()) << url;
    EXPECT_NE(problems.find("sogni-flow.yaml:1:10: error: a project file may not set api_url"), std::string::npos)
        << url << problems;
    EXPECT_NE(problems.find("hint: set the endpoint in your user file, SOGNI_API_BASE_URL or --api-url"), std::string::npos);
  }
  ::unlink((root_ + "/repo/sogni-flow.yaml").c_str());
  Write(UserFile(), "api_url: https://staging.example.com\n");  // the user's own file may
  Result<Settings> s = Load("repo");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->Get(SettingKey::kApiUrl).value, "https://staging.example.com");
}

// A file another user may write is never read: it would decide where this user's state and files go.
TEST_F(SettingsTest, AFileOthersMayWriteIsRefused) {
  Write("repo/sogni-flow.yaml", "jobs: 2\n");
  ASSERT_EQ(::chmod((root_ + "/repo/sogni-flow.yaml").c_str(), 0666), 0);
  std::string problems;
  EXPECT_FALSE(Load("repo", &problems).ok());
  EXPECT_NE(problems.find("settings file refused: other users may write it (chmod go-w)"), std::string::npos) << problems;
  ASSERT_EQ(::chmod((root_ + "/repo/sogni-flow.yaml").c_str(), 0664), 0);  // the user's own group (umask 002)
  EXPECT_TRUE(Load("repo").ok());
  Write(UserFile(), "jobs: 3\n");
  ASSERT_EQ(::chown((root_ + "/" + UserFile()).c_str(), -1, ::getegid() + 1), ::geteuid() == 0 ? 0 : -1);
  if (::geteuid() == 0) {  // group write by a group that is not the user's: refused
    ASSERT_EQ(::chmod((root_ + "/" + UserFile()).c_str(), 0620), 0);
    EXPECT_FALSE(Load("repo", &problems).ok());
    EXPECT_NE(problems.find("config.yaml: error: settings file refused"), std::string::npos) << problems;
  }
  ASSERT_EQ(::chmod((root_ + "/" + UserFile()).c_str(), 0602), 0);  // anyone may write: refused
  EXPECT_FALSE(Load("repo", &problems).ok());
  EXPECT_NE(problems.find("config.yaml: error: settings file refused"), std::string::npos) << problems;
  if (::geteuid() == 0) {  // as root: a file of another uid
    ASSERT_EQ(::chmod((root_ + "/" + UserFile()).c_str(), 0600), 0);
    ASSERT_EQ(::chown((root_ + "/repo/sogni-flow.yaml").c_str(), 65534, 65534), 0);
    EXPECT_FALSE(Load("repo", &problems).ok());
    EXPECT_NE(problems.find("settings file refused: it belongs to another user (uid 65534)"), std::string::npos) << problems;
  }
}

// A name that is there but cannot be read is an error, never "no file" (which would quietly take
// the settings of a folder further up, or none).
TEST_F(SettingsTest, ADanglingLinkIsAnErrorNotAbsence) {
  Write("repo/sogni-flow.yaml", "state_dir: outer\n");
  ASSERT_EQ(::symlink((root_ + "/nowhere.yaml").c_str(), (root_ + "/repo/plans/sogni-flow.yaml").c_str()), 0);
  std::string problems;
  EXPECT_FALSE(Load("repo/plans/night", &problems).ok());
  EXPECT_NE(problems.find(root_ + "/repo/plans/sogni-flow.yaml"), std::string::npos) << problems;
  EXPECT_EQ(FindProjectFile(root_ + "/repo/plans/night"), root_ + "/repo/plans/sogni-flow.yaml");
}

TEST_F(SettingsTest, HostileFilesAreRefusedBeforeAnythingIsUsed) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a: &x 1\nb: *x\n", "anchors and aliases"},
      {"jobs: 2\njobs: 3\n", "duplicate key 'jobs'"},
      {"- state_dir\n", "a settings file is a mapping, not a list"},
      {"just text\n", "a settings file is a mapping, not a string"},
      {std::string("state_dir: \"a\xff\"\n"), "UTF-8"},
      {"jobs: {a: {b: {c: {d: {e: 1}}}}}\n", "nesting"},
      {"state_dir: " + std::string(5000, 'x') + "\n", "longer than 4096 bytes"},
      {"jobs: 99999999999999999999\n", "out of range"},
      {"jobs: 2.5\n", "jobs must be"},
      {"jobs: \"4\"\n", "jobs must be"},
      {std::string(70000, '#'), "settings file too large"},
  };
  for (const auto& [text, expected] : cases) {
    Write("repo/sogni-flow.yaml", text);
    std::string problems;
    Result<Settings> s = Load("repo", &problems);
    EXPECT_FALSE(s.ok()) << expected;
    EXPECT_NE(problems.find(expected), std::string::npos) << expected << " not in: " << problems;
  }
  ::unlink((root_ + "/repo/sogni-flow.yaml").c_str());
  ASSERT_EQ(::mkdir((root_ + "/repo/sogni-flow.yaml").c_str(), 0700), 0);  // a folder of that name
  std::string problems;
  EXPECT_FALSE(Load("repo", &problems).ok());
  EXPECT_NE(problems.find("not a regular file"), std::string::npos) << problems;
}

TEST_F(SettingsTest, TildeWithoutHomeIsAnError) {
  Write("repo/sogni-flow.yaml", "state_dir: ~/s\n");
  env_.clear();
  std::string problems;
  EXPECT_FALSE(Load("repo", &problems).ok());
  EXPECT_NE(problems.find("state_dir starts with ~ and HOME is not set"), std::string::npos) << problems;
}

}  // namespace
}  // namespace sflow
