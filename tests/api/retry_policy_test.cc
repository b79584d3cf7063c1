// The retry rules on their own: backoff bounds, Retry-After parsing, which requests and answers
// may be retried. The loop itself runs against the sandbox in api_retry_test.cc.
#include "api/retry_policy.h"

#include <gtest/gtest.h>

#include "tests/api/fake_retry_clock.h"

namespace sflow {
namespace {

using std::chrono::milliseconds;

RetryOptions Seeded(uint64_t seed) {
  RetryOptions o;
  o.base_delay = milliseconds(100);
  o.max_delay = milliseconds(1000);
  o.seed = seed;
  return o;
}

TEST(RetryPolicyTest, BackoffStaysWithinFullJitterBounds) {
  RetryPolicy p(Seeded(42));
  for (int n = 1; n <= 8; ++n) {
    const int64_t upper = std::min<int64_t>(1000, 100LL << (n - 1));
    int64_t highest = 0;
    for (int i = 0; i < 400; ++i) {
      int64_t d = p.Backoff(n).count();
      ASSERT_GE(d, 0) << "retry " << n;
      ASSERT_LE(d, upper) << "retry " << n;
      highest = std::max(highest, d);
    }
    // Full jitter spreads over the whole range, not a fixed point near the start.
    EXPECT_GT(highest, upper * 8 / 10) << "retry " << n;
  }
  EXPECT_LE(p.Backoff(1000).count(), 1000);  // no overflow for absurd retry numbers
}

TEST(RetryPolicyTest, SameSeedSameDelaysOtherSeedOthers) {
  RetryPolicy a(Seeded(7)), b(Seeded(7)), c(Seeded(8));
  std::vector<int64_t> da, db, dc;
  for (int n = 1; n <= 6; ++n) {
    da.push_back(a.Backoff(n).count());
    db.push_back(b.Backoff(n).count());
    dc.push_back(c.Backoff(n).count());
  }
  EXPECT_EQ(da, db);
  EXPECT_NE(da, dc);
}

TEST(RetryPolicyTest, ParsesDeltaSeconds) {
  auto now = std::chrono::system_clock::now();
  EXPECT_EQ(ParseRetryAfter("120", "", now), 120.0);
  EXPECT_EQ(ParseRetryAfter(" 7 ", "", now), 7.0);
  EXPECT_EQ(ParseRetryAfter("0", "", now), 0.0);
  for (const char* bad : {"-1", "1.5", "abc", "", "5s", "0x10"}) EXPECT_FALSE(ParseRetryAfter(bad, "", now)) << bad;
}

TEST(RetryPolicyTest, ParsesTheThreeHttpDateForms) {
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
  EXPECT_EQ(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
  EXPECT_EQ(ParseHttpDate("Sun Nov  6 08:49:37 1994"), 784111777);
  for (const char* bad : {"06 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49 GMT",
                          "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 CET",
                          "1994-11-06T08:49:37Z", "Su, 06 Nov 1994 08:49:37 GMT"})
    EXPECT_FALSE(ParseHttpDate(bad)) << bad;
}

TEST(RetryPolicyTest, HttpDateIsMeasuredAgainstTheServersDate) {
  auto now = std::chrono::system_clock::time_point(std::chrono::seconds(FakeRetryClock::kWallStart));
  // 30 s after the server's Date, whatever our own clock says.
  EXPECT_EQ(ParseRetryAfter("Mon, 23 Nov 2026 00:00:30 GMT", "Sun, 06 Nov 1994 08:49:37 GMT", now),
            1795392030.0 - 784111777.0);
  EXPECT_EQ(ParseRetryAfter("Mon, 23 Nov 2026 00:00:30 GMT", "Mon, 23 Nov 2026 00:00:00 GMT", now), 30.0);
  // Without a Date header: against our clock.
  EXPECT_EQ(ParseRetryAfter("Mon, 23 Nov 2026 00:01:00 GMT", "", now), 60.0);
  // A past date means now.
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", "", now), 0.0);
  EXPECT_EQ(ParseRetryAfter("Mon, 23 Nov 2026 00:00:00 GMT", "Mon, 23 Nov 2026 00:00:05 GMT", now), 0.0);
}

TEST(RetryPolicyTest, BodyRetryAfterWinsOverTheHeader) {
  FakeRetryClock clock;
  RetryPolicy p(Seeded(1), &clock);
  AttemptResult a;
  a.http_status = 503;
  a.body_retry_after = 5;
  a.retry_after_header = "60";
  EXPECT_EQ(p.ServerHint(a), milliseconds(5000));
  a.body_retry_after.reset();
  EXPECT_EQ(p.ServerHint(a), milliseconds(60000));
  a.retry_after_header = "Mon, 23 Nov 2026 00:00:12 GMT";  // against the fake wall clock
  EXPECT_EQ(p.ServerHint(a), milliseconds(12000));
  a.retry_after_header = "soon";
  EXPECT_EQ(p.ServerHint(a), std::nullopt);
}

TEST(RetryPolicyTest, ServerHintsAreClamped) {
  RetryOptions o = Seeded(1);
  o.max_retry_after = milliseconds(900000);
  RetryPolicy p(o);
  AttemptResult a;
  a.http_status = 429;
  a.retry_after_header = "99999999999";
  EXPECT_EQ(p.ServerHint(a), milliseconds(900000));
}

TEST(RetryPolicyTest, A429IsNeverRetriedAtOnce) {
  for (uint64_t seed = 0; seed < 50; ++seed) {
    RetryPolicy p(Seeded(seed));
    AttemptResult no_hint;
    no_hint.http_status = 429;
    EXPECT_GE(p.DelayBefore(1, no_hint), milliseconds(100)) << seed;
    AttemptResult zero = no_hint;
    zero.body_retry_after = 0;
    EXPECT_GE(p.DelayBefore(1, zero), milliseconds(100)) << seed;
  }
  AttemptResult hinted;
  hinted.http_status = 429;
  hinted.body_retry_after = 3;
  RetryPolicy p(Seeded(1));
  EXPECT_EQ(p.DelayBefore(1, hinted), milliseconds(3000));
}

TEST(RetryPolicyTest, OnlyRequestsSafeToRepeatAreRetried) {
  EXPECT_TRUE(RetryPolicy::SafeToRepeat("GET", false));
  EXPECT_TRUE(RetryPolicy::SafeToRepeat("HEAD", false));
  EXPECT_FALSE(RetryPolicy::SafeToRepeat("POST", false));
  EXPECT_FALSE(RetryPolicy::SafeToRepeat("PATCH", false));
  EXPECT_FALSE(RetryPolicy::SafeToRepeat("DELETE", false));
  EXPECT_TRUE(RetryPolicy::SafeToRepeat("POST", true));
  HttpRequest post;
  post.method = "POST";
  EXPECT_FALSE(RetryPolicy::SafeToRepeat(post));
  post.headers.emplace_back("idempotency-key", "k-1");
  EXPECT_TRUE(RetryPolicy::SafeToRepeat(post));
  post.headers.back().second = "";
  EXPECT_FALSE(RetryPolicy::SafeToRepeat(post));
}

TEST(RetryPolicyTest, OnlyTransientFailuresAreRetried) {
  AttemptResult a;
  for (int s : {408, 429, 500, 502, 503, 504}) {
    a.http_status = s;
    EXPECT_TRUE(RetryPolicy::Transient(a)) << s;
  }
  for (int s : {200, 201, 301, 400, 401, 402, 403, 404, 409, 410, 422, 423}) {
    a.http_status = s;
    EXPECT_FALSE(RetryPolicy::Transient(a)) << s;
  }
  a.http_status = 0;
  a.transport = Status::Error(Status::Code::kUnavailable, "connection refused");
  EXPECT_TRUE(RetryPolicy::Transient(a));
  a.transport = Status::Security("TLS: cannot verify host");
  EXPECT_FALSE(RetryPolicy::Transient(a));
  a.transport = Status::Error(Status::Code::kCancelled, "stream cancelled");
  EXPECT_FALSE(RetryPolicy::Transient(a));
}

TEST(RetryPolicyTest, ReadsRetryAfterFromTheErrorBody) {
  HttpResponse r;
  r.status = 503;
  r.body = R"({"status":"error","message":"restarting","errorCode":503,"retryAfter":2})";
  r.headers = {{"Retry-After", "9"}, {"Date", "Mon, 23 Nov 2026 00:00:00 GMT"}};
  AttemptResult a = AttemptResult::FromResponse(Result<HttpResponse>(r));
  EXPECT_EQ(a.http_status, 503);
  EXPECT_EQ(a.body_retry_after, 2.0);
  EXPECT_EQ(a.retry_after_header, "9");
  EXPECT_EQ(a.date_header, "Mon, 23 Nov 2026 00:00:00 GMT");
  r.body = R"({"data":{"retryAfter":1.5}})";
  EXPECT_EQ(AttemptResult::FromResponse(Result<HttpResponse>(r)).body_retry_after, 1.5);
  r.body = "<html>busy</html>";
  EXPECT_FALSE(AttemptResult::FromResponse(Result<HttpResponse>(r)).body_retry_after);
  r.body = R"({"retryAfter":-3})";
  EXPECT_FALSE(AttemptResult::FromResponse(Result<HttpResponse>(r)).body_retry_after);
}

}  // namespace
}  // namespace sflow
