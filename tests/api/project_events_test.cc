#include "api/project_events.h"

#include <gtest/gtest.h>

#include "engine/json.h"

namespace sflow {
namespace {

Result<std::vector<ProjectEvent>> ParseEvents(const std::string& type, const std::string& json) {
  Result<Value> v = ParseJson(json);
  EXPECT_TRUE(v.ok()) << json;
  return ParseProjectFrame(ProjectFrame{type, v.ok() ? *v : Value()});
}

ProjectEvent One(const std::string& type, const std::string& json) {
  Result<std::vector<ProjectEvent>> r = ParseEvents(type, json);
  EXPECT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.ok() ? r->size() : 0u, 1u);
  return r.ok() && !r->empty() ? (*r)[0] : ProjectEvent{};
}

TEST(ProjectEventsTest, JobStates) {
  ProjectEvent q = One("jobState", R"({"type":"queued","jobID":"P","queuePosition":3,"estimatedStartSeconds":12.5})");
  EXPECT_EQ(q.kind, ProjectEventKind::kQueued);
  EXPECT_EQ(q.project_id, "P");
  EXPECT_EQ(q.queue_position, 3);
  EXPECT_EQ(q.eta_seconds, 12.5);
  EXPECT_EQ(One("jobState", R"({"type":"queued","jobID":"P","queuePosition":1,"estimatedStartSeconds":-4})").eta_seconds, -1);
  EXPECT_EQ(One("jobState", R"({"type":"assigned","jobID":"P","workerName":"w"})").kind, ProjectEventKind::kAssigned);
  ProjectEvent s = One("jobState", R"({"type":"jobStarted","jobID":"P","imgID":"J","workerName":"w","jobIndex":1})");
  EXPECT_EQ(s.kind, ProjectEventKind::kStarted);
  EXPECT_EQ(s.job_id, "J");
  EXPECT_EQ(s.job_index, 1);
  EXPECT_EQ(One("jobState", R"({"type":"initiatingModel","jobID":"P","imgID":"J"})").kind, ProjectEventKind::kInitiating);
  EXPECT_EQ(One("jobState", R"({"type":"jobCompleted","jobID":"P"})").kind, ProjectEventKind::kCompleted);
  EXPECT_EQ(One("jobState", R"({"type":"somethingNew","jobID":"P"})").kind, ProjectEventKind::kOther);
}

TEST(ProjectEventsTest, ProgressEtaResult) {
  ProjectEvent p = One("jobProgress", R"({"jobID":"P","imgID":"J","step":5,"stepCount":20})");
  EXPECT_EQ(p.kind, ProjectEventKind::kProgress);
  EXPECT_DOUBLE_EQ(p.progress, 0.25);
  EXPECT_EQ(One("jobProgress", R"({"jobID":"P","imgID":"J","progress":0.5,"step":1,"stepCount":20})").progress, 0.5);
  EXPECT_EQ(One("jobProgress", R"({"jobID":"P","imgID":"J","step":50,"stepCount":20})").progress, 1.0);
  EXPECT_EQ(One("jobETA", R"({"jobID":"P","etaSeconds":7})").eta_seconds, 7);
  ProjectEvent r = One("jobResult", R"({"jobID":"P","imgID":"J","resultUrl":"https://x/y.png","outputFormat":"png",
                                        "triggeredNSFWFilter":true,"userCanceled":false,"lastFrameUrl":7})");
  EXPECT_EQ(r.kind, ProjectEventKind::kResult);
  EXPECT_EQ(r.result_url, "https://x/y.png");
  EXPECT_TRUE(r.nsfw_filtered);
  EXPECT_EQ(r.last_frame_url, "") << "a field of the wrong type is absent";
}

TEST(ProjectEventsTest, ErrorsRetriesCancel) {
  ProjectEvent e = One("jobError", R"({"jobID":"P","error":"artistCanceled","error_message":"artistCanceled"})");
  EXPECT_EQ(e.kind, ProjectEventKind::kJobError);
  EXPECT_EQ(e.job_id, "");
  EXPECT_EQ(e.error_code, "artistCanceled");
  EXPECT_EQ(One("jobError", R"({"jobID":"P","imgID":"J","error":4007,"error_message":"x"})").error_code, "4007");
  ProjectEvent r = One("jobRetry", R"({"jobID":"P","imgID":"K","jobIndex":0,"attempt":2,"maxAttempts":3,"error":1})");
  EXPECT_EQ(r.kind, ProjectEventKind::kRetry);
  EXPECT_EQ(r.job_id, "K");
  EXPECT_EQ(r.job_index, 0);
  EXPECT_EQ(r.attempt, 2);
  EXPECT_TRUE(One("artistCancelConfirmation", R"({"jobID":"P","didCancel":true})").did_cancel);
}

TEST(ProjectEventsTest, AuthenticatedListsProjects) {
  Result<std::vector<ProjectEvent>> r = ParseEvents("authenticated", R"({"id":"me","activeProjects":[{"id":"A"}],
      "unclaimedCompletedProjects":[{"id":"B"},{"id":"C"}]})");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].project_id, "A");
  EXPECT_FALSE((*r)[0].unclaimed);
  EXPECT_TRUE((*r)[2].unclaimed);
  r = ParseEvents("authenticated", R"({"id":"me","activeProjects":[]})");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].project_id, "");
}

TEST(ProjectEventsTest, UnknownTypesAreKeptAndHostileShapesRefused) {
  ProjectEvent o = One("swarmModels", R"({"flux":3})");
  EXPECT_EQ(o.kind, ProjectEventKind::kOther);
  EXPECT_EQ(o.type, "swarmModels");
  EXPECT_EQ(One("brandNewFrame", "[1,2]").kind, ProjectEventKind::kOther);
  EXPECT_EQ(One("balanceUpdate", R"({"spark":{"net":"1"}})").kind, ProjectEventKind::kBalanceUpdate);
  for (auto [type, json] : std::vector<std::pair<std::string, std::string>>{
           {"jobState", "[]"}, {"jobState", R"("queued")"}, {"jobState", R"({"type":"queued"})"},
           {"jobProgress", R"({"jobID":7})"}, {"jobResult", R"({"jobID":"P"})"}, {"jobRetry", R"({"jobID":"P"})"},
           {"authenticated", R"({"activeProjects":{"id":"A"}})"}, {"authenticated", R"({"activeProjects":[{}]})"},
           {"balanceUpdate", "null"}, {"jobError", R"({"jobID":""})"}}) {
    Result<std::vector<ProjectEvent>> r = ParseEvents(type, json);
    EXPECT_FALSE(r.ok()) << type << " " << json;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find(type), std::string::npos) << r.status().message();
    }
  }
  // Huge numbers and deep junk in fields the parser does not read are kept, not fatal.
  std::string deep = "0";
  for (int i = 0; i < 100; ++i) deep = "{\"a\":" + deep + "}";
  ProjectEvent q = One("jobState", R"({"type":"queued","jobID":"P","queuePosition":1e300,"x":)" + deep + "}");
  EXPECT_EQ(q.queue_position, -1);
}

}  // namespace
}  // namespace sflow
