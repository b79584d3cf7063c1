// Helpers shared by the tests: status assertions, temporary directories, running the CLI in-process.
#ifndef SFLOW_TESTS_SUPPORT_TEST_UTIL_H_
#define SFLOW_TESTS_SUPPORT_TEST_UTIL_H_

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/diagnostics.h"
#include "engine/status.h"

#define ASSERT_OK(expr)                                  \
  do {                                                   \
    const ::sflow::Status& _s = (expr);                  \
    ASSERT_TRUE(_s.ok()) << _s.ToString();               \
  } while (0)
#define EXPECT_OK(expr)                                  \
  do {                                                   \
    const ::sflow::Status& _s = (expr);                  \
    EXPECT_TRUE(_s.ok()) << _s.ToString();               \
  } while (0)

namespace sflow {

// A fresh directory under $TMPDIR, removed (recursively) by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes content to path()/name (creating parent directories) and returns the full path.
  std::string Write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

struct CliResult {
  int exit_code = 0;
  std::string out, err;
};

// Runs `sogni-flow args...` in-process with an empty environment.
CliResult RunCliForTest(const std::vector<std::string>& args);

// Every diagnostic formatted, one per line, sorted, without the file name prefix.
std::string FormatAll(const DiagnosticList& diags);

// The repository's root directory.
std::string SourceDir();

// Reads a whole file; "" if it cannot.
std::string ReadFile(const std::string& path);

}  // namespace sflow

#endif  // SFLOW_TESTS_SUPPORT_TEST_UTIL_H_
