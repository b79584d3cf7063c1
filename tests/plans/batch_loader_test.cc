// Batch files (plans/batch_loader.h): expansion and names, rows from CSV and YAML, and every
// hostile shape refused at its position.
#include "plans/batch_loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/support/test_util.h"

namespace sflow {
namespace {

class BatchLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_.Write("plans/shot.yaml", "version: 1\nname: shot\nsteps: [{id: a, toolName: generate_image, arguments: {prompt: p}}]\n");
    tmp_.Write("plans/teaser.yaml", "version: 1\nname: teaser\nsteps: [{id: a, toolName: generate_image, arguments: {prompt: p}}]\n");
  }
  Result<Batch> Load(const std::string& text, std::string* problems = nullptr) {
    const std::string path = tmp_.Write("b.yaml", text);
    DiagnosticList d;
    Result<Batch> b = LoadBatch(path, &d);
    if (problems) {
      problems->clear();
      for (const Diagnostic& x : d.Sorted()) *problems += FormatDiagnostic(x) + "\n";
    }
    return b;
  }
  std::vector<std::string> Names(const Batch& b) {
    std::vector<std::string> out;
    for (const BatchEntry& e : b.entries)
      for (const BatchRun& r : e.runs) out.push_back(r.name);
    return out;
  }
  std::string Header() { return "version: 1\nkind: batch\nname: nightly\nentries:\n"; }
  TempDir tmp_;
};

TEST_F(BatchLoaderTest, ExpandsTheMatrixInOrderWithTheLastKeyFastest) {
  Result<Batch> b = Load(Header() + "  - plan: plans/shot.yaml\n    params: {style: studio}\n"
                                    "    matrix: {product: [kettle, toaster], size: [square, wide]}\n");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->name, "nightly");
  EXPECT_EQ(b->entries[0].plan_path, tmp_.path() + "/plans/shot.yaml");
  EXPECT_EQ(Names(*b), (std::vector<std::string>{
                           "shot[product=kettle,size=square,style=studio]", "shot[product=kettle,size=wide,style=studio]",
                           "shot[product=toaster,size=square,style=studio]", "shot[product=toaster,size=wide,style=studio]"}));
  const BatchRun& last = b->entries[0].runs[3];
  EXPECT_EQ(last.params, (std::vector<std::pair<std::string, std::string>>{
                             {"style", "studio"}, {"product", "toaster"}, {"size", "wide"}}));
}

TEST_F(BatchLoaderTest, RowsFromCsvYamlAndInlineTimesTheMatrix) {
  tmp_.Write("rows.csv", "product,label\r\nkettle,\"Kettle, 1.7 l\"\r\n\r\ntoaster,\"say \"\"hi\"\"\"\r\n");
  tmp_.Write("rows.yaml", "- {product: lamp, n: 2}\n- {product: fan, n: true}\n");
  Result<Batch> b = Load(Header() + "  - plan: plans/shot.yaml\n    rows: rows.csv\n    matrix: {size: [s, w]}\n"
                                    "  - plan: plans/teaser.yaml\n    rows: rows.yaml\n"
                                    "  - plan: plans/teaser.yaml\n    rows: [{product: \"a=b]\"}]\n");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(Names(*b), (std::vector<std::string>{
                           "shot[label=Kettle%2C 1.7 l,product=kettle,size=s]", "shot[label=Kettle%2C 1.7 l,product=kettle,size=w]",
                           "shot[label=say \"hi\",product=toaster,size=s]", "shot[label=say \"hi\",product=toaster,size=w]",
                           "teaser[n=2,product=lamp]", "teaser[n=true,product=fan]", "teaser[product=a%3Db%5D]"}));
  EXPECT_EQ(b->entries[0].runs[0].params[2], (std::pair<std::string, std::string>{"label", "Kettle, 1.7 l"}));
  EXPECT_EQ(b->run_count(), 7u);
}

TEST_F(BatchLoaderTest, AnEntryWithoutMatrixOrRowsIsOneRunNamedByItsPlan) {
  Result<Batch> b = Load(Header() + "  - plan: plans/shot.yaml\n  - {plan: plans/teaser.yaml, params: {a: 1}}\n");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(Names(*b), (std::vector<std::string>{"shot", "teaser[a=1]"}));
}

// A run is its plan and every param it gets: the same work has one name however the file says it
// (the matrix or rows, params, the order of keys or columns), and two runs that differ only in
// their fixed params have two names.
TEST_F(BatchLoaderTest, ARunsNameIsItsPlanAndEveryParamWhereverWritten) {
  tmp_.Write("ab.csv", "product,size\nkettle,wide\n");
  tmp_.Write("ba.csv", "size,product\nwide,kettle\n");
  Result<Batch> a = Load(Header() + "  - {plan: plans/shot.yaml, rows: ab.csv}\n");
  Result<Batch> b = Load(Header() + "  - {plan: plans/shot.yaml, rows: ba.csv}\n");
  Result<Batch> c = Load(Header() + "  - {plan: plans/shot.yaml, params: {size: wide}, matrix: {product: [kettle]}}\n");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(Names(*a), Names(*b));
  EXPECT_EQ(Names(*a), Names(*c));
  std::string p;
  EXPECT_FALSE(Load(Header() + "  - {plan: plans/shot.yaml, rows: [{product: kettle, x: \"1\"}, {x: 1, product: kettle}]}\n", &p).ok());
  EXPECT_NE(p.find("run 'shot[product=kettle,x=1]' is made twice"), std::string::npos) << p;
  EXPECT_FALSE(Load(Header() + "  - {plan: plans/shot.yaml, rows: [{x: 1}]}\n  - {plan: plans/shot.yaml, params: {x: 1}}\n", &p).ok());
  EXPECT_NE(p.find("is made twice"), std::string::npos) << p;
  Result<Batch> d = Load(Header() + "  - {plan: plans/shot.yaml, params: {x: 1}}\n  - {plan: plans/shot.yaml, params: {x: 2}}\n", &p);
  ASSERT_TRUE(d.ok()) << p;
  EXPECT_EQ(Names(*d), (std::vector<std::string>{"shot[x=1]", "shot[x=2]"}));
}

// Fixed params are in every run's name, so the name's cap bounds them too: a 900 KB value times
// 10,000 runs is refused at the first run, not expanded into 9 GB.
TEST_F(BatchLoaderTest, AHugeFixedParamIsRefusedNotCopiedIntoEveryRun) {
  std::string hundred = "[";
  for (int i = 0; i < 100; ++i) hundred += std::string(i ? "," : "") + std::to_string(i);
  hundred += "]";
  std::string p;
  EXPECT_FALSE(Load(Header() + "  - plan: plans/shot.yaml\n    params: {x: \"" + std::string(900000, 'q') + "\"}\n" +
                        "    matrix: {a: " + hundred + ", b: " + hundred + "}\n", &p).ok());
  EXPECT_NE(p.find("longer than 4096 bytes"), std::string::npos) << p.substr(0, 300);
}

// A batch file may come from anyone: the plans and rows files it names must be in its folder.
TEST_F(BatchLoaderTest, PlansAndRowsOutsideTheBatchFolderAreRefused) {
  TempDir outside;
  const std::string secret = outside.Write("keys.csv", "sk_live_SECRET\nhunter2\n");
  const std::string far_plan = outside.Write("p.yaml", "version: 1\nname: p\nsteps: [{id: a, toolName: generate_image, arguments: {prompt: p}}]\n");
  std::string p;
  EXPECT_FALSE(Load(Header() + "  - {plan: plans/shot.yaml, rows: " + secret + "}\n", &p).ok());
  EXPECT_NE(p.find("refused: it is outside the batch file's folder"), std::string::npos) << p;
  EXPECT_EQ(p.find("SECRET"), std::string::npos) << "the file was read: " << p;
  EXPECT_FALSE(Load(Header() + "  - {plan: " + far_plan + "}\n", &p).ok());
  EXPECT_NE(p.find("refused: it is outside the batch file's folder"), std::string::npos) << p;
  ASSERT_EQ(::symlink(secret.c_str(), (tmp_.path() + "/link.csv").c_str()), 0);
  EXPECT_FALSE(Load(Header() + "  - {plan: plans/shot.yaml, rows: link.csv}\n", &p).ok()) << "a link out of the folder";
  EXPECT_NE(p.find("refused: it is outside the batch file's folder"), std::string::npos) << p;
  EXPECT_FALSE(Load(Header() + "  - {plan: plans/../../" + far_plan.substr(far_plan.rfind('/', far_plan.rfind('/') - 1) + 1) + "}\n", &p).ok());
}

TEST_F(BatchLoaderTest, ProblemsAreReportedAtTheirPositions) {
  std::string p;
  EXPECT_FALSE(Load("version: 2\nkind: batch\nname: bad name\nconcurency: 3\nentries: []\n", &p).ok());
  const std::string f = tmp_.path() + "/b.yaml";
  EXPECT_NE(p.find(f + ":1:10: error: 'version' must be 1"), std::string::npos) << p;
  EXPECT_NE(p.find(f + ":3:7: error: batch name \"bad name\" is not a slug"), std::string::npos) << p;
  EXPECT_NE(p.find(f + ":4:1: error: unknown key 'concurency' in batch\n  hint: did you mean 'concurrency'?"), std::string::npos) << p;
  EXPECT_NE(p.find(f + ":5:10: error: 'entries' must be a non-empty list"), std::string::npos) << p;
  EXPECT_FALSE(Load(Header() + "  - plan: plans/nope.yaml\n  - plan: plans/shot.yaml\n    matrx: {a: [1]}\n", &p).ok());
  EXPECT_NE(p.find(f + ":5:11: error: no plan file"), std::string::npos) << p;
  EXPECT_NE(p.find(f + ":7:5: error: unknown key 'matrx' in entry\n  hint: did you mean 'matrix'?"), std::string::npos) << p;
  EXPECT_FALSE(Load(Header() + "  - plan: plans/shot.yaml\n    params: {a: 1}\n    matrix: {a: [2, 3], b: []}\n", &p).ok());
  EXPECT_NE(p.find("param 'a' is set twice in this entry (first at line 6)"), std::string::npos) << p;
  EXPECT_NE(p.find("matrix param 'b' must be a non-empty list"), std::string::npos) << p;
}

TEST_F(BatchLoaderTest, TwoRunsOfOneNameAreRefused) {
  std::string p;
  EXPECT_FALSE(Load(Header() + "  - plan: plans/shot.yaml\n  - plan: plans/shot.yaml\n", &p).ok());
  EXPECT_NE(p.find("run 'shot' is made twice (first at line 5)"), std::string::npos) << p;
  EXPECT_FALSE(Load(Header() + "  - plan: plans/shot.yaml\n    matrix: {a: [1, \"1\"]}\n", &p).ok());
  EXPECT_NE(p.find("run 'shot[a=1]' is made twice"), std::string::npos) << p;
}

// A matrix of ten lists of ten values would be 10^10 runs: refused by counting, before expanding.
TEST_F(BatchLoaderTest, AMatrixTooLargeIsRefusedBeforeItIsExpanded) {
  std::string m = "{";
  for (int k = 0; k < 10; ++k) m += std::string(k ? ", " : "") + "k" + std::to_string(k) + ": [0,1,2,3,4,5,6,7,8,9]";
  m += "}";
  std::string p;
  EXPECT_FALSE(Load(Header() + "  - plan: plans/shot.yaml\n    matrix: " + m + "\n", &p).ok());
  EXPECT_NE(p.find("the batch makes more than 10000 runs"), std::string::npos) << p;
  // Just under and just over the cap, across entries.
  std::string hundred = "[";
  for (int i = 0; i < 100; ++i) hundred += std::string(i ? "," : "") + std::to_string(i);
  hundred += "]";
  Result<Batch> ok = Load(Header() + "  - plan: plans/shot.yaml\n    matrix: {a: " + hundred + ", b: " + hundred + "}\n", &p);
  ASSERT_TRUE(ok.ok()) << p;
  EXPECT_EQ(ok->run_count(), 10000u);
  EXPECT_FALSE(Load(Header() + "  - plan: plans/shot.yaml\n    matrix: {a: " + hundred + ", b: " + hundred +
                        "}\n  - plan: plans/teaser.yaml\n",
                    &p).ok());
  EXPECT_NE(p.find("the batch makes more than 10000 runs"), std::string::npos) << p;
}

TEST_F(BatchLoaderTest, HostileCsvIsRefusedAtItsPosition) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a,b\n1\n", "rows.csv:2:1: error: this row has 1 fields, the header 2"},
      {"a,a\n1,2\n", "rows.csv:1:3: error: column 'a' appears twice"},
      {"a b\n1\n", "rows.csv:1:1: error: column 'a b' is not a param name"},
      {"a\n\"open\n", "rows.csv:2:1: error: a quoted field is not closed"},
      {"a\n\"x\"y\n", "rows.csv:2:4: error: characters after a closing quote"},
      {"a\nx\"y\n", "rows.csv:2:2: error: a quote inside an unquoted field"},
      {"a\nx\ry\n", "rows.csv:2:2: error: a carriage return not followed by a line feed"},
      {"a\n\xff\n", "rows.csv: error: invalid UTF-8"},
      {"", "rows.csv:1:1: error: no header line"},
  };
  for (const auto& [csv, expected] : cases) {
    tmp_.Write("rows.csv", csv);
    std::string p;
    EXPECT_FALSE(Load(Header() + "  - plan: plans/shot.yaml\n    rows: rows.csv\n", &p).ok()) << expected;
    EXPECT_NE(p.find(expected), std::string::npos) << expected << " not in: " << p;
  }
  tmp_.Write("rows.csv", "a\n");
  std::string p;
  EXPECT_FALSE(Load(Header() + "  - plan: plans/shot.yaml\n    rows: rows.csv\n", &p).ok());
  EXPECT_NE(p.find("'rows' holds no row"), std::string::npos) << p;
}

TEST_F(BatchLoaderTest, HostileRowsAndValuesAreRefused) {
  tmp_.Write("rows.yaml", "- {a: [1]}\n- 7\n");
  std::string p;
  EXPECT_FALSE(Load(Header() + "  - plan: plans/shot.yaml\n    rows: rows.yaml\n", &p).ok());
  EXPECT_NE(p.find("rows.yaml:1:7: error: param 'a' must be a scalar, not a list"), std::string::npos) << p;
  EXPECT_NE(p.find("rows.yaml:2:3: error: a row must be a mapping of params, not an integer"), std::string::npos) << p;
  EXPECT_FALSE(Load(Header() + "  - plan: plans/shot.yaml\n    rows: missing.csv\n", &p).ok());
  EXPECT_NE(p.find("missing.csv"), std::string::npos) << p;
  EXPECT_FALSE(Load(Header() + "  - plan: plans/shot.yaml\n    matrix: {a: [{x: 1}]}\n", &p).ok());
  EXPECT_NE(p.find("a matrix value must be a scalar, not a mapping"), std::string::npos) << p;
  EXPECT_FALSE(Load(Header() + "  - plan: plans/shot.yaml\n    matrix: {a: [&x 1]}\n", &p).ok());
  EXPECT_NE(p.find("anchors and aliases"), std::string::npos) << p;
  EXPECT_FALSE(Load(Header() + "  - plan: plans/shot.yaml\n    rows: [{a: 1}]\n    matrix: {a: [2]}\n", &p).ok());
  EXPECT_NE(p.find("param 'a' is set by 'rows' and above it"), std::string::npos) << p;
  const std::string control = std::string("  - plan: plans/shot.yaml\n    matrix: {a: [\"x\\u001b[2Jy\"]}\n");
  Result<Batch> b = Load(Header() + control, &p);
  ASSERT_TRUE(b.ok()) << p;
  EXPECT_EQ(Names(*b)[0], "shot[a=x%1B%5B2Jy]") << "a control byte in a name is written %XX";
}

// Names are printed, stored and land in CI logs: a param whose name says secret never shows.
TEST_F(BatchLoaderTest, ASecretParamsValueIsNotInTheName) {
  Result<Batch> b = Load(Header() + "  - {plan: plans/shot.yaml, params: {api_token: hunter2supersecret}, matrix: {p: [a]}}\n");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(Names(*b)[0], "shot[api_token=(secret),p=a]");
  EXPECT_EQ(b->entries[0].runs[0].params[0].second, "hunter2supersecret") << "the plan still gets it";
}

TEST_F(BatchLoaderTest, OnlyBatchFilesLookLikeOne) {
  EXPECT_TRUE(LooksLikeBatchFile(tmp_.Write("x.yaml", Header() + "  - plan: plans/shot.yaml\n")));
  EXPECT_FALSE(LooksLikeBatchFile(tmp_.path() + "/plans/shot.yaml"));
  EXPECT_FALSE(LooksLikeBatchFile(tmp_.Write("y.yaml", "kind: [batch]\n")));
  EXPECT_FALSE(LooksLikeBatchFile(tmp_.Write("z.yaml", "version: 1\nname: batch\nkind: workflow  # not a batch\nsteps: []\n")));
  EXPECT_TRUE(LooksLikeBatchFile(tmp_.Write("w.yaml", "kind: \"batch\"\nversion: 1\n")));
  EXPECT_FALSE(LooksLikeBatchFile(tmp_.path() + "/none.yaml"));
}

}  // namespace
}  // namespace sflow
