#include "engine/json.h"

#include <gtest/gtest.h>

namespace sflow {
namespace {

std::string RoundTrip(std::string_view text) {
  Result<Value> v = ParseJson(text);
  return v.ok() ? v->ToJson() : v.status().message();
}

TEST(JsonTest, ParsesEveryKind) {
  EXPECT_EQ(RoundTrip(R"( {"a":[1,-2,3.5,1e2,true,false,null],"b":{"c":"d"}} )"),
            R"({"a":[1,-2,3.5,100,true,false,null],"b":{"c":"d"}})");
  EXPECT_TRUE(ParseJson("12")->is_int());
  EXPECT_TRUE(ParseJson("12.0")->kind() == Value::Kind::kDouble);
  EXPECT_TRUE(ParseJson("99999999999999999999")->kind() == Value::Kind::kDouble);  // past int64
  EXPECT_EQ(ParseJson("-9223372036854775808")->as_int(), INT64_MIN);
  EXPECT_DOUBLE_EQ(ParseJson("0.1")->as_number(), 0.1);  // correctly rounded
  EXPECT_DOUBLE_EQ(ParseJson("-2.5E-3")->as_number(), -0.0025);
  EXPECT_EQ(ParseJson("1e-400")->as_number(), 0.0) << "underflow reads as 0, as strtod does";
}

TEST(JsonTest, DecodesEscapesAndUtf8) {
  EXPECT_EQ(ParseJson(R"("a\"b\\c\/\n\t\u00e9\ud83c\udfac")")->as_string(), "a\"b\\c/\n\t\xC3\xA9\xF0\x9F\x8E\xAC");
  EXPECT_EQ(ParseJson("\"caf\xC3\xA9\"")->as_string(), "caf\xC3\xA9");
}

TEST(JsonTest, LastDuplicateKeyWins) { EXPECT_EQ(RoundTrip(R"({"a":1,"a":2})"), R"({"a":2})"); }

TEST(JsonTest, RefusesMalformedInputWithAnOffset) {
  EXPECT_EQ(RoundTrip("{\"a\":}"), "JSON: unexpected character at byte 5");
  EXPECT_EQ(RoundTrip("[1,]"), "JSON: unexpected character at byte 3");
  EXPECT_EQ(RoundTrip("[1 2]"), "JSON: expected ',' or ']' at byte 3");
  EXPECT_EQ(RoundTrip("\"abc"), "JSON: unterminated string at byte 4");
  EXPECT_EQ(RoundTrip("\"a\x01\""), "JSON: control character in string at byte 2");
  EXPECT_EQ(RoundTrip("\"\\ud800\""), "JSON: lone surrogate at byte 7");
  EXPECT_EQ(RoundTrip("\"\xC0\xAF\""), "JSON: invalid UTF-8 at byte 1");
  EXPECT_EQ(RoundTrip("01"), "JSON: trailing characters at byte 1");
  EXPECT_EQ(RoundTrip("1e999"), "JSON: number out of range at byte 5");
  EXPECT_EQ(RoundTrip("nul"), "JSON: unexpected character at byte 0");
  EXPECT_EQ(RoundTrip(""), "JSON: unexpected end at byte 0");
  EXPECT_EQ(RoundTrip("{} x"), "JSON: trailing characters at byte 3");
  EXPECT_EQ(RoundTrip(std::string(200, '[')), "JSON: nesting too deep at byte 129");
}

TEST(JsonTest, WriterOutputParsesBackToTheSameValue) {
  Value v = Value::Object();
  v.Set("s", Value::String(std::string("x\0y\x1f\"\\", 6)));
  v.Set("d", Value::Double(0.1));
  v.Set("i", Value::Int(-9007199254740993));
  Result<Value> back = ParseJson(v.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, v);
}

// SkimJsonObject: the members wanted, by their text, with the same checks as ParseJson.
std::vector<std::string> Skim(std::string_view text, std::vector<std::string_view> keys) {
  std::vector<std::string_view> values(keys.size());
  Status s = SkimJsonObject(text, keys, values);
  if (!s.ok()) return {s.message()};
  return std::vector<std::string>(values.begin(), values.end());
}

TEST(JsonTest, SkimReadsTheOutermostMembersAsText) {
  EXPECT_EQ(Skim(R"( {"sequence": 12 , "type":"step_started","data":{"status":"inner","sequence":9},"status":"running"} )",
                 {"sequence", "status", "data", "absent"}),
            (std::vector<std::string>{"12", R"("running")", R"({"status":"inner","sequence":9})", ""}));
  // An escaped key is the same key; a repeated key gives its last value, as ParseJson keeps.
  EXPECT_EQ(Skim(R"({"st\u0061tus":"a","status":"b","status":[1,{"x":2}]})", {"status"}),
            (std::vector<std::string>{R"([1,{"x":2}])"}));
  EXPECT_EQ(Skim(R"({"a\"b":1})", {"a\"b"}), (std::vector<std::string>{"1"}));
  EXPECT_EQ(Skim("{}", {"a"}), (std::vector<std::string>{""}));
  EXPECT_EQ(Skim(R"({"a":"x"})", {}), (std::vector<std::string>{}));
}

TEST(JsonTest, SkimRefusesWhatParseRefusesWithTheSameMessage) {
  for (std::string bad : {std::string("{\"a\":}"), std::string("{\"a\":\"\x01\"}"), std::string("{\"a\":\"\\ud800\"}"),
                          std::string("{\"a\":\"\xC0\xAF\"}"), std::string("{\"a\":1e999}"), std::string("{\"a\":01}"),
                          std::string("{\"a\":1} x"), std::string("{\"a\":[1,]}"), std::string("{\"a\"") ,
                          std::string("{\"a\":") + std::string(200, '[')}) {
    Result<Value> parsed = ParseJson(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(Skim(bad, {"a"}), (std::vector<std::string>{parsed.status().message()})) << bad;
  }
  EXPECT_EQ(Skim("[1]", {"a"}), (std::vector<std::string>{"JSON: not an object at byte 0"}));
  EXPECT_EQ(Skim("", {"a"}), (std::vector<std::string>{"JSON: not an object at byte 0"}));
  std::vector<std::string_view> keys = {"a"}, none;
  EXPECT_EQ(SkimJsonObject("{}", keys, none).code(), Status::Code::kInternal);
}

TEST(JsonTest, TokensOfSkimmedValues) {
  EXPECT_EQ(JsonStringToken(R"("a\nb")"), "a\nb");
  EXPECT_EQ(JsonStringToken("12"), std::nullopt);
  EXPECT_EQ(JsonStringToken(R"("a" "b")"), std::nullopt);
  EXPECT_EQ(JsonStringToken(""), std::nullopt);
  EXPECT_EQ(JsonIntToken("-42"), -42);
  EXPECT_EQ(JsonIntToken("4.0"), std::nullopt);
  EXPECT_EQ(JsonIntToken("1e3"), std::nullopt);
  EXPECT_EQ(JsonIntToken("99999999999999999999"), std::nullopt);
  EXPECT_EQ(JsonIntToken(R"("7")"), std::nullopt);
  EXPECT_EQ(JsonIntToken(""), std::nullopt);
}

}  // namespace
}  // namespace sflow
