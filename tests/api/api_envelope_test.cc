#include "api/api_envelope.h"

#include <gtest/gtest.h>

namespace sflow {
namespace {

HttpResponse Answer(int status, std::string body, std::string reason = "", HttpHeaders headers = {}) {
  HttpResponse r;
  r.status = status;
  r.reason = std::move(reason);
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

TEST(ApiEnvelopeTest, SuccessNeedsTheKeyTheRoutePromises) {
  Result<Value> ok = ParseSuccessEnvelope(Answer(200, R"({"status":"success","data":{"workflow":{"workflowId":"wf_1"}}})"),
                                          "workflow", Value::Kind::kObject);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->Find("workflow")->Find("workflowId")->as_string(), "wf_1");

  Result<Value> missing = ParseSuccessEnvelope(Answer(200, R"({"status":"success","data":{}})"), "workflow",
                                               Value::Kind::kObject);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(missing.status().message(), "malformed answer (HTTP 200): the response did not include data.workflow (a mapping)");

  Result<Value> wrong_kind = ParseSuccessEnvelope(Answer(200, R"({"status":"success","data":{"events":{}}})"), "events",
                                                  Value::Kind::kArray);
  EXPECT_FALSE(wrong_kind.ok());
}

TEST(ApiEnvelopeTest, RefusesWhatIsNotASuccessEnvelope) {
  for (const char* body : {"", "not json", "[]", R"({"status":"error","data":{"workflow":{}}})",
                           R"({"status":"success"})", R"({"status":"success","data":[]})", R"({"workflow":{}})"}) {
    Result<Value> r = ParseSuccessEnvelope(Answer(200, body), "workflow", Value::Kind::kObject);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), Status::Code::kUnavailable) << body;
    EXPECT_EQ(r.status().reason(), "malformed_answer") << body;
  }
}

TEST(ApiEnvelopeTest, TemplatesMayAnswerWithoutTheEnvelope) {
  Result<Value> bare = ParseSuccessEnvelope(Answer(200, R"({"template":{"id":"t","name":"T"}})"), "template",
                                            Value::Kind::kObject, /*allow_bare=*/true);
  ASSERT_TRUE(bare.ok()) << bare.status().ToString();
  EXPECT_EQ(bare->Find("template")->Find("id")->as_string(), "t");
}

TEST(ApiEnvelopeTest, ReadsTheErrorEnvelope) {
  ApiError e = ParseErrorAnswer(Answer(
      409, R"({"status":"error","message":"Too many active workflows","errorCode":409,"retryAfter":3,"details":{"activeWorkflows":16,"limit":16}})",
      "Conflict"));
  EXPECT_EQ(e.http_status, 409);
  EXPECT_EQ(e.message, "Too many active workflows");
  EXPECT_EQ(e.error_code, 409);
  EXPECT_EQ(e.retry_after, 3.0);
  EXPECT_EQ(e.details.Find("activeWorkflows")->as_int(), 16);
}

TEST(ApiEnvelopeTest, FallsBackAsTheSdkDoes) {
  ApiError no_message = ParseErrorAnswer(Answer(503, R"({"status":"error"})", "Service Unavailable"));
  EXPECT_EQ(no_message.message, "Service Unavailable");
  EXPECT_EQ(no_message.error_code, 0);

  ApiError in_data = ParseErrorAnswer(Answer(400, R"({"data":{"message":"bad step","errorCode":4001}})", "Bad Request"));
  EXPECT_EQ(in_data.message, "bad step");
  EXPECT_EQ(in_data.error_code, 4001);

  ApiError openai = ParseErrorAnswer(Answer(402, R"({"error":{"message":"Premium Spark required","type":"billing"}})"));
  EXPECT_EQ(openai.message, "Premium Spark required");
}

TEST(ApiEnvelopeTest, NonJsonBodiesAreCollapsedAndCut) {
  ApiError text = ParseErrorAnswer(Answer(502, "upstream\n\n   timed\tout  ", "Bad Gateway"));
  EXPECT_EQ(text.message, "upstream timed out");

  ApiError longer = ParseErrorAnswer(Answer(500, std::string(800, 'x'), "Internal Server Error"));
  EXPECT_EQ(longer.message.size(), 500u);

  std::string page = "<!DOCTYPE html>\n<html><body>" + std::string(400, 'y') + "</body></html>";
  ApiError html = ParseErrorAnswer(Answer(502, page, "Bad Gateway", {{"Content-Type", "text/html"}}));
  EXPECT_EQ(html.message.rfind("Bad Gateway: <!DOCTYPE html> <html><body>yyy", 0), 0u) << html.message;
  EXPECT_EQ(html.message.size(), std::string("Bad Gateway: ").size() + 200);

  ApiError empty = ParseErrorAnswer(Answer(504, "", "Gateway Timeout"));
  EXPECT_EQ(empty.message, "Gateway Timeout");
}

TEST(ApiEnvelopeTest, CollapsingNeverSplitsAUtf8Sequence) {
  std::string s = std::string(499, 'a') + "\xc3\xa9";  // 'é' straddles byte 500
  EXPECT_EQ(CollapseWhitespace(s, 500), std::string(499, 'a'));
}

TEST(ApiEnvelopeTest, MapsHttpStatusesToCodes) {
  using C = Status::Code;
  EXPECT_EQ(CodeForHttpStatus(400), C::kInvalidPlan);
  EXPECT_EQ(CodeForHttpStatus(422), C::kInvalidPlan);
  EXPECT_EQ(CodeForHttpStatus(401), C::kPermission);
  EXPECT_EQ(CodeForHttpStatus(402), C::kPermission);
  EXPECT_EQ(CodeForHttpStatus(403), C::kPermission);
  EXPECT_EQ(CodeForHttpStatus(404), C::kNotFound);
  EXPECT_EQ(CodeForHttpStatus(409), C::kConflict);
  EXPECT_EQ(CodeForHttpStatus(408), C::kUnavailable);
  EXPECT_EQ(CodeForHttpStatus(429), C::kUnavailable);
  EXPECT_EQ(CodeForHttpStatus(500), C::kUnavailable);
  EXPECT_EQ(CodeForHttpStatus(503), C::kUnavailable);
  EXPECT_EQ(CodeForHttpStatus(302), C::kInternal);
  EXPECT_EQ(CodeForHttpStatus(405), C::kInternal);
}

}  // namespace
}  // namespace sflow
