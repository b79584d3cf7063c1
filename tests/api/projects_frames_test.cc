// The projects socket's frame codec against frames as the SDK writes them and frames a hostile
// server could send: bad base64, not JSON, too large, too deep, non-text payloads.
#include "api/projects_frames.h"

#include <gtest/gtest.h>

#include "engine/json.h"

namespace sflow {
namespace {

Value Json(const std::string& text) {
  Result<Value> v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? std::move(v).value() : Value();
}

// The frame text with `data` as given (not encoded).
std::string Raw(const std::string& type, const std::string& data) {
  return R"({"type":")" + type + R"(","data":")" + data + R"("})";
}

TEST(Base64, MatchesBtoaForEveryTailLength) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("\xff\xfe\xfd"), "//79");
  std::string out;
  for (const char* s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    ASSERT_TRUE(Base64Decode(Base64Encode(s), &out)) << s;
    EXPECT_EQ(out, s);
  }
}

TEST(Base64, RefusesWhatIsNotStrictBase64) {
  std::string out;
  EXPECT_TRUE(Base64Decode("Zm8", &out)) << "padding may be left out, as atob allows";
  EXPECT_EQ(out, "fo");
  EXPECT_FALSE(Base64Decode("Zm8==", &out)) << "too much padding";
  EXPECT_FALSE(Base64Decode("Z===", &out));
  EXPECT_FALSE(Base64Decode("Zg=", &out)) << "padding that does not complete the group";
  EXPECT_FALSE(Base64Decode("Zh==", &out)) << "bits left over that are not zero";
  EXPECT_FALSE(Base64Decode("Z", &out)) << "six bits cannot end a byte";
  EXPECT_FALSE(Base64Decode("Zm 9v", &out)) << "whitespace";
  EXPECT_FALSE(Base64Decode("Zm9v\n", &out));
  EXPECT_FALSE(Base64Decode("Zm-_", &out)) << "the URL-safe alphabet is not the SDK's";
  EXPECT_FALSE(Base64Decode("Zg==Zg==", &out)) << "data after padding";
  EXPECT_FALSE(Base64Decode(std::string("Zm\0v", 4), &out));
}

TEST(ProjectFrames, RoundTripsAsTheSdkEncodes) {
  Value data = Json(R"({"jobID":"A1","text":"caf\u00e9 \u2603","n":[1,2.5,null,true]})");
  std::string text = EncodeProjectFrame("jobRequest", data);
  // JSON.stringify, then TextEncoder (UTF-8), then btoa.
  EXPECT_EQ(text, R"({"type":"jobRequest","data":")" + Base64Encode(data.ToJson()) + R"("})");
  Result<ProjectFrame> f = DecodeProjectFrame(text);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->type, "jobRequest");
  EXPECT_EQ(f->data, data);
}

TEST(ProjectFrames, UpperCasesJobAndImageIdsAsTheSdkDoes) {
  Result<ProjectFrame> f = DecodeProjectFrame(
      EncodeProjectFrame("jobResult", Json(R"({"jobID":"ab-cd","imgID":"ef01","other":"xy"})")));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->data.Find("jobID")->as_string(), "AB-CD");
  EXPECT_EQ(f->data.Find("imgID")->as_string(), "EF01");
  EXPECT_EQ(f->data.Find("other")->as_string(), "xy");
  // A number where an id should be stays as it is (the SDK would throw; routing ignores it).
  f = DecodeProjectFrame(EncodeProjectFrame("jobState", Json(R"({"jobID":5})")));
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->data.Find("jobID")->is_int());
}

TEST(ProjectFrames, MissingOrEmptyDataIsNull) {
  for (const char* text : {R"({"type":"ping"})", R"({"type":"ping","data":""})", R"({"type":"ping","data":null})"}) {
    Result<ProjectFrame> f = DecodeProjectFrame(text);
    ASSERT_TRUE(f.ok()) << text << ": " << f.status().ToString();
    EXPECT_TRUE(f->data.is_null());
  }
  // Payloads need not be objects (swarmModels is, but nothing says every type is).
  Result<ProjectFrame> f = DecodeProjectFrame(EncodeProjectFrame("x", Value::Int(3)));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->data, Value::Int(3));
}

TEST(ProjectFrames, RefusesHostileFrames) {
  const std::string big(kMaxProjectFrameBytes + 1, ' ');
  struct Case {
    std::string text;
    std::string says;
  } cases[] = {
      {"", "not JSON"},
      {"not json", "not JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"data":"e30="})", "no string \"type\""},
      {R"({"type":"","data":"e30="})", "no string \"type\""},
      {R"({"type":7,"data":"e30="})", "no string \"type\""},
      {R"({"type":"a b","data":"e30="})", "printable ASCII"},
      {R"({"type":")" + std::string(200, 'a') + R"("})", "printable ASCII"},
      {R"({"type":"jobResult","data":{"jobID":"x"}})", "\"data\" is a mapping, not base64"},
      {Raw("jobResult", "e30=!"), "frame \"jobResult\": \"data\" is not valid base64"},
      {Raw("jobResult", Base64Encode("{\"jobID\":")), "the decoded data is not JSON"},
      {Raw("jobResult", Base64Encode("\xc3\x28")), "the decoded data is not JSON"},
      {Raw("jobResult", Base64Encode(std::string(1000, '[') + std::string(1000, ']'))), "the decoded data is not JSON"},
      {R"({"type":"a","data":"e30="})" + std::string("x"), "not JSON"},
      {big, "larger than the limit"},
  };
  for (const Case& c : cases) {
    Result<ProjectFrame> f = DecodeProjectFrame(c.text);
    ASSERT_FALSE(f.ok()) << c.text.substr(0, 80);
    EXPECT_EQ(f.status().code(), Status::Code::kInternal);
    EXPECT_NE(f.status().message().find(c.says), std::string::npos) << f.status().message();
    EXPECT_LT(f.status().message().size(), 400u) << "the payload is never quoted";
  }
}

TEST(ProjectFrames, ALargeFrameWithinTheLimitDecodes) {
  // An authenticated frame listing many recovered projects is large but legitimate.
  Value list = Value::Array();
  for (int i = 0; i < 2000; ++i) {
    Value p = Value::Object();
    p.Set("id", Value::String("P" + std::to_string(i)));
    p.Set("clientRequestData", Value::String(std::string(1000, 'A')));
    list.Append(p);
  }
  Value data = Value::Object();
  data.Set("activeProjects", list);
  std::string text = EncodeProjectFrame("authenticated", data);
  ASSERT_LT(text.size(), kMaxProjectFrameBytes);
  Result<ProjectFrame> f = DecodeProjectFrame(text);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->data.Find("activeProjects")->items().size(), 2000u);
}

}  // namespace
}  // namespace sflow
