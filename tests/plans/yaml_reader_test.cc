#include "plans/yaml_reader.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/support/test_util.h"

namespace sflow {
namespace {

struct Parsed {
  bool ok;
  Value value;
  std::string diags;
};

Parsed Parse(const std::string& text, YamlLimits limits = YamlLimits()) {
  DiagnosticList d("p.yaml");
  Result<Value> r = ParseYaml(text, limits, &d);
  return {r.ok(), r.ok() ? r.value() : Value(), FormatAll(d)};
}

TEST(YamlReaderTest, TypesPlainScalarsByTheCoreSchema) {
  Parsed p = Parse("a: 1\nb: -2.5\nc: true\nd: ~\ne: hello\nf: '1'\ng: 0x1F\nh: 1e3\ni: \"true\"\nj:\nk: 0o17\n");
  ASSERT_TRUE(p.ok) << p.diags;
  EXPECT_EQ(p.value.ToJson(),
            R"({"a":1,"b":-2.5,"c":true,"d":null,"e":"hello","f":"1","g":31,"h":1000,"i":"true","j":null,"k":15})");
  EXPECT_TRUE(p.value.Find("h")->kind() == Value::Kind::kDouble);
}

TEST(YamlReaderTest, KeepsOneBasedPositionsOfKeysAndValues) {
  Parsed p = Parse("steps:\n  - id: a\n    args: {x: [1, 2]}\n");
  ASSERT_TRUE(p.ok);
  const Value& step = p.value.Find("steps")->items()[0];
  EXPECT_EQ(step.loc(), (SourceLoc{2, 5}));
  EXPECT_EQ(step.FindMember("id")->key_loc, (SourceLoc{2, 5}));
  EXPECT_EQ(step.Find("id")->loc(), (SourceLoc{2, 9}));
  EXPECT_EQ(step.Find("args")->Find("x")->items()[1].loc(), (SourceLoc{3, 19}));
}

TEST(YamlReaderTest, RefusesAnchorsAndAliasesAtOnce) {
  EXPECT_EQ(Parse("a: &x 1\nb: *x\n").diags,
            "1:4: error: YAML anchors and aliases are not supported\n"
            "  hint: write the value out in full; plans must be plain trees\n");
  EXPECT_EQ(Parse("&x [*x]").diags,
            "1:1: error: YAML anchors and aliases are not supported\n"
            "  hint: write the value out in full; plans must be plain trees\n");
  // A billion-laughs bomb is refused at its first anchor, before any expansion.
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'i'; ++c)
    bomb += std::string(1, c) + ": &" + c + " [*" + char(c - 1) + ", *" + char(c - 1) + ", *" + char(c - 1) + "]\n";
  Parsed p = Parse(bomb);
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.diags.substr(0, 5), "1:4: ");
}

TEST(YamlReaderTest, RefusesDuplicateKeysAtTheSecondKey) {
  EXPECT_EQ(Parse("name: a\nsteps: []\nname: b\n").diags,
            "3:1: error: duplicate key 'name' (first defined at line 1)\n");
  EXPECT_EQ(Parse("x: {a: 1, b: 2, a: 3}\n").diags, "1:17: error: duplicate key 'a' (first defined at line 1)\n");
}

TEST(YamlReaderTest, CapsNesting) {
  std::string deep = std::string(65, '[') + std::string(65, ']');
  EXPECT_EQ(Parse(deep).diags,
            "1:65: error: nesting deeper than 64 levels\n"
            "  hint: plans are shallow; this looks like a generated or hostile file\n");
  std::string ok = std::string(64, '[') + std::string(64, ']');
  EXPECT_TRUE(Parse(ok).ok);
  std::string huge = std::string(100000, '[');
  EXPECT_FALSE(Parse(huge).ok);
}

TEST(YamlReaderTest, RefusesInvalidUtf8AndNulWithAPosition) {
  EXPECT_EQ(Parse("a: 1\nb: \"\xE9\xFF\xFE\"\n").diags,
            "2:5: error: invalid UTF-8 at byte offset 9\n  hint: plans must be UTF-8 text\n");
  EXPECT_EQ(Parse(std::string("a: x\0y\n", 7)).diags,
            "1:5: error: NUL byte at byte offset 4\n  hint: plans must be UTF-8 text\n");
  EXPECT_EQ(FindInvalidUtf8("\xC0\xAF"), 0u);          // overlong '/'
  EXPECT_EQ(FindInvalidUtf8("ok \xED\xA0\x80"), 3u);   // a UTF-16 surrogate
  EXPECT_EQ(FindInvalidUtf8("\xF4\x90\x80\x80"), 0u);  // past U+10FFFF
  EXPECT_EQ(FindInvalidUtf8("caf\xC3\xA9 \xF0\x9F\x8E\xAC"), std::string_view::npos);
}

TEST(YamlReaderTest, AcceptsALeadingBom) {
  Parsed p = Parse("\xEF\xBB\xBF" "a: 1\n");
  ASSERT_TRUE(p.ok) << p.diags;
  EXPECT_EQ(p.value.ToJson(), R"({"a":1})");
}

TEST(YamlReaderTest, OneDocumentOnly) {
  EXPECT_EQ(Parse("").diags,
            "1:1: error: empty plan\n  hint: a plan is a YAML mapping with at least 'version' and 'steps'\n");
  EXPECT_EQ(Parse("a: 1\n---\nb: 2\n").diags,
            "2:1: error: expected exactly one YAML document\n  hint: remove the '---' separator and what follows it\n");
}

TEST(YamlReaderTest, SyntaxErrorsKeepYamlCppsPosition) {
  EXPECT_EQ(Parse("a: [1, 2\n").diags, "2:1: error: YAML syntax: end of sequence flow not found\n");
  EXPECT_EQ(Parse("a:\n  b: 1\n\tc: 2\n").diags,
            "3:1: error: YAML syntax: tabs are not allowed for indentation\n  hint: indent with spaces\n");
  EXPECT_EQ(Parse("a:\n\t- 1\n").diags,
            "2:2: error: YAML syntax: illegal block entry\n"
            "  hint: this line is indented with a tab; YAML needs spaces\n");
}

TEST(YamlReaderTest, RefusesTagsKeysThatAreNotStringsAndNonFiniteNumbers) {
  EXPECT_EQ(Parse("a: !custom 1\n").diags, "1:4: error: YAML tag '!custom' is not supported\n  hint: remove the tag\n");
  EXPECT_TRUE(Parse("a: !!str 1\n").ok);
  EXPECT_EQ(Parse("a: !!str 1\n").value.ToJson(), R"({"a":"1"})");
  EXPECT_EQ(Parse("? [a]\n: 1\n").diags, "1:3: error: mapping keys must be plain strings\n");
  EXPECT_EQ(Parse("a: .inf\n").diags, "1:4: error: '.inf' cannot be represented in JSON\n  hint: use a finite number\n");
  EXPECT_EQ(Parse("a: 1e999\n").diags, "1:4: error: number 1e999 is out of range\n  hint: use a finite number\n");
  EXPECT_EQ(Parse("a: 99999999999999999999\n").diags,
            "1:4: error: integer 99999999999999999999 is out of range\n"
            "  hint: integers must fit in 64 bits; quote the value if it is text\n");
}

TEST(ReadLimitedFileTest, RefusesLargeFilesDirectoriesAndFifos) {
  TempDir dir;
  YamlLimits limits;
  limits.max_bytes = 10;
  DiagnosticList d("x");
  EXPECT_FALSE(ReadLimitedFile(dir.Write("big.yaml", std::string(11, 'a')), limits, &d).ok());
  EXPECT_TRUE(ReadLimitedFile(dir.Write("ok.yaml", std::string(10, 'a')), limits, &d).ok());
  EXPECT_FALSE(ReadLimitedFile(dir.path(), limits, &d).ok());
  std::string fifo = dir.path() + "/fifo.yaml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_FALSE(ReadLimitedFile(fifo, limits, &d).ok());  // and does not block
  EXPECT_FALSE(ReadLimitedFile(dir.path() + "/missing.yaml", limits, &d).ok());
  EXPECT_EQ(FormatAll(d),
            // Positionless diagnostics sort first.
            "error: not a regular file\n"
            "error: not a regular file\n"
            "error: cannot open: No such file or directory\n"
            "1:11: error: plan too large: 11 bytes (the limit is 10)\n"
            "  hint: split the plan, or move data into media files\n");
}

}  // namespace
}  // namespace sflow
