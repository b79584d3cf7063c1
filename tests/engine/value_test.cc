#include "engine/value.h"

#include "engine/json.h"

#include <gtest/gtest.h>

namespace sflow {
namespace {

TEST(ValueTest, ScalarsSerializeAsJson) {
  EXPECT_EQ(Value().ToJson(), "null");
  EXPECT_EQ(Value::Bool(true).ToJson(), "true");
  EXPECT_EQ(Value::Int(-42).ToJson(), "-42");
  EXPECT_EQ(Value::Double(0.5).ToJson(), "0.5");
  EXPECT_EQ(Value::Double(5.0).ToJson(), "5");  // as JavaScript prints it
  EXPECT_EQ(Value::Double(0.1).ToJson(), "0.1");
  EXPECT_EQ(Value::Double(1e21).ToJson(), "1e+21");
  EXPECT_EQ(Value::String("a\"b\\c\n\x01").ToJson(), R"("a\"b\\c\n\u0001")");
}

// The JSON writer never emits invalid UTF-8 (a --json line with a file name in Latin-1 used to
// carry the raw byte): each byte that is not well-formed UTF-8 becomes \ufffd; the rest is kept.
TEST(ValueTest, JsonIsAlwaysValidUtf8) {
  EXPECT_EQ(Value::String("plan-\xff.yaml").ToJson(), R"("plan-\ufffd.yaml")");
  EXPECT_EQ(Value::String("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xac").ToJson(),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xac\"");  // kept as is
  for (const char* bad : {"\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80",
                          "\x80", "\xe2\x82"}) {
    std::string json = Value::String(bad).ToJson();
    EXPECT_TRUE(IsValidUtf8(json)) << json;
    EXPECT_TRUE(ParseJson(json).ok()) << json;
    EXPECT_EQ(json.find('\x80'), std::string::npos) << json;
  }
  EXPECT_EQ(Value::String("\xe2\x82x").ToJson(), R"("\ufffd\ufffdx")");
  Value obj = Value::Object();
  obj.Set("k\xfe", Value::String("v"));
  EXPECT_EQ(obj.ToJson(), R"({"k\ufffd":"v"})");
  EXPECT_TRUE(IsValidUtf8("plain \xc3\xa9"));
  EXPECT_FALSE(IsValidUtf8("\xed\xbf\xbf"));
}

TEST(ValueTest, ObjectsKeepInsertionOrderUnlessSorted) {
  Value v = Value::Object();
  v.Set("b", Value::Int(1));
  v.Set("a", Value::Int(2));
  v.Set("b", Value::Int(3));  // replaces in place
  EXPECT_EQ(v.ToJson(), R"({"b":3,"a":2})");
  EXPECT_EQ(v.ToJson(/*sort_keys=*/true), R"({"a":2,"b":3})");
  EXPECT_TRUE(v.Erase("b"));
  EXPECT_FALSE(v.Erase("b"));
  EXPECT_EQ(v.ToJson(), R"({"a":2})");
}

TEST(ValueTest, FindReturnsNullForMissingKeysAndNonObjects) {
  Value v = Value::Object();
  v.Set("x", Value::String("y"));
  ASSERT_NE(v.Find("x"), nullptr);
  EXPECT_EQ(v.Find("x")->as_string(), "y");
  EXPECT_EQ(v.Find("z"), nullptr);
  EXPECT_EQ(Value::Int(1).Find("x"), nullptr);
}

TEST(ValueTest, EqualityIsStructuralAndIgnoresPositions) {
  Value a = Value::Array({1, 1});
  a.Append(Value::Int(1, {2, 2}));
  Value b = Value::Array();
  b.Append(Value::Int(1));
  EXPECT_EQ(a, b);
  EXPECT_FALSE(Value::Int(1) == Value::Double(1.0));
  EXPECT_FALSE(Value::String("1") == Value::Int(1));
}

TEST(ValueTest, BriefAbbreviatesLongValues) {
  EXPECT_EQ(Value::String("short").Brief(), "\"short\"");
  EXPECT_EQ(Value::String(std::string(100, 'x')).Brief().size(), 40u);
  EXPECT_EQ(Value::Array().Brief(), "an array");
}

}  // namespace
}  // namespace sflow
