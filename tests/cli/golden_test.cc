// The invalid-plan corpus: each tests/data/invalid/*.yaml states, in its leading comments, the
// exact diagnostics `sogni-flow validate` must print for it (and optional extra arguments):
//
//   # args: -p seconds=50
//   # expect: 12:7: error: unknown step 'keyfrme' in dependsOn of step 'clip'
//   # expect:   hint: did you mean 'keyframe'?
//
// The file's own path is stripped from each printed line; diagnostics about other files (a
// param file) keep theirs. Adding a case means adding a file.
#include <algorithm>
#include <filesystem>
#include <sstream>

#include "tests/support/test_util.h"

namespace sflow {
namespace {

const char* kCorpus = "tests/data/invalid";

std::vector<std::string> ListInvalidPlans() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(SourceDir() + "/" + kCorpus))
    if (e.path().extension() == ".yaml") out.push_back(std::string(kCorpus) + "/" + e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> words;
  std::istringstream in(s);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

class InvalidPlanTest : public testing::TestWithParam<std::string> {};

TEST_P(InvalidPlanTest, ExitsTwoWithExactlyItsGoldenDiagnostics) {
  const std::string path = GetParam();
  std::istringstream text(ReadFile(SourceDir() + "/" + path));
  std::string expected;
  std::vector<std::string> args = {"validate", "--quiet"};
  for (std::string line; std::getline(text, line);) {
    if (line.rfind("# expect: ", 0) == 0) expected += line.substr(10) + "\n";
    else if (line.rfind("# args: ", 0) == 0)
      for (const std::string& w : Split(line.substr(8))) args.push_back(w);
  }
  ASSERT_FALSE(expected.empty()) << path << " states no '# expect:' lines";
  args.push_back(path);

  CliResult r = RunCliForTest(args);
  std::string actual;
  std::istringstream err(r.err);
  for (std::string line; std::getline(err, line);) {
    if (line.rfind(path + ":", 0) == 0) {
      line.erase(0, path.size() + 1);
      if (!line.empty() && line[0] == ' ') line.erase(0, 1);
    }
    actual += line + "\n";
  }
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(expected, actual);
  EXPECT_TRUE(r.out.empty());
}

std::string CaseName(const testing::TestParamInfo<std::string>& info) {
  std::string stem = std::filesystem::path(info.param).stem().string();
  for (char& c : stem)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return stem;
}

INSTANTIATE_TEST_SUITE_P(Corpus, InvalidPlanTest, testing::ValuesIn(ListInvalidPlans()), CaseName);

TEST(InvalidPlanCorpus, HasAtLeastFortyCases) { EXPECT_GE(ListInvalidPlans().size(), 40u); }

}  // namespace
}  // namespace sflow
