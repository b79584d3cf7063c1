#include "tests/support/test_util.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/context.h"

namespace sflow {

TempDir::TempDir() {
  std::string base = std::filesystem::temp_directory_path() / "sflow-test-XXXXXX";
  std::vector<char> buf(base.begin(), base.end());
  buf.push_back('\0');
  const char* made = ::mkdtemp(buf.data());
  path_ = made ? made : "";
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

std::string TempDir::Write(const std::string& name, const std::string& content) const {
  std::filesystem::path p = std::filesystem::path(path_) / name;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
  return p.string();
}

CliResult RunCliForTest(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  char* empty_env[] = {nullptr};
  Context ctx{out, err, empty_env};
  CliResult r;
  r.exit_code = RunCli(args, ctx);
  r.out = out.str();
  r.err = err.str();
  return r;
}

std::string FormatAll(const DiagnosticList& diags) {
  std::string out;
  for (Diagnostic d : diags.Sorted()) {
    d.file.clear();
    std::string line = FormatDiagnostic(d);
    if (!line.empty() && line[0] == ':') line.erase(0, 1);
    if (!line.empty() && line[0] == ' ') line.erase(0, 1);
    out += line + "\n";
  }
  return out;
}

std::string SourceDir() { return SFLOW_SOURCE_DIR; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace sflow
