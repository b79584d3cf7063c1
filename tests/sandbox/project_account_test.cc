// Balances (sandbox/project_accounts.cc): GET /v4/account/balance, authenticated.tokens,
// balanceUpdate, a project's quote held at admission and paid when it ends, insufficient funds,
// and POST /_sandbox/balance.
#include <cstdlib>

#include "tests/sandbox/projects_fixture.h"

namespace sflow {
namespace projects_test {
namespace {

double Amount(const Value& balances, const char* token, const char* field) {
  const Value* t = balances.Find(token);
  const Value* f = t ? t->Find(field) : nullptr;
  EXPECT_TRUE(f && f->is_string()) << token << "." << field << " in " << balances.ToJson();
  return f && f->is_string() ? std::strtod(f->as_string().c_str(), nullptr) : -1;
}

class AccountTest : public ProjectsTest {
 protected:
  Value RestBalance(const std::string& key = "k1") {
    HttpResult r = HttpTestClient(sandbox_->port(), key).Get("/v4/account/balance");
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json.Find("status")->as_string(), "success");
    return *r.json.Find("data");
  }
  double Quote(const std::string& path) {
    HttpResult r = client().Get(path);
    return std::strtod(r.json.Find("quote")->Find("project")->Find("costInToken")->as_string().c_str(), nullptr);
  }
};

TEST_F(AccountTest, TheBalanceRouteAndTheSocketAgree) {
  Value rest = RestBalance();
  for (const char* token : {"sogni", "spark"})
    for (const char* f : {"settled", "credit", "debit", "net", "relaxedUnclaimed", "fastUnclaimed"})
      EXPECT_GE(Amount(rest, token, f), 0) << token << "." << f;
  EXPECT_EQ(Amount(rest, "spark", "premiumCredit"), 0);
  EXPECT_EQ(Amount(rest, "spark", "net"), 1000);
  Value auth;
  auto c = ConnectReady(&auth);
  EXPECT_EQ(Amount(*auth.Find("tokens"), "spark", "net"), 1000);
  EXPECT_EQ(Amount(*auth.Find("tokens"), "sogni", "settled"), 1000);
  EXPECT_EQ(HttpTestClient(sandbox_->port()).Get("/v4/account/balance").status, 401);
}

TEST_F(AccountTest, AProjectHoldsItsQuoteThenPaysIt) {
  const double quote = Quote("/api/v2/job/estimate/spark/fast/flux1-schnell-fp8/2/3/0/0/0/1024/1024");
  ASSERT_GT(quote, 0);
  auto c = ConnectReady();
  const std::string id = ProjectId(50);
  c->Send("jobRequest", JobRequest(id, "flux1-schnell-fp8", 2, R"(,"steps":3,"width":1024,"height":1024)", "png"));
  std::optional<Msg> held = c->NextOf("balanceUpdate");
  ASSERT_TRUE(held.has_value());
  EXPECT_DOUBLE_EQ(Amount(held->data, "spark", "debit"), quote);
  EXPECT_DOUBLE_EQ(Amount(held->data, "spark", "net"), 1000 - quote);
  EXPECT_DOUBLE_EQ(Amount(held->data, "spark", "settled"), 1000);
  std::vector<Msg> seen;
  ASSERT_TRUE(c->NextOf("jobState", "jobCompleted", 10000, &seen).has_value());
  std::optional<Msg> paid = c->NextOf("balanceUpdate");
  ASSERT_TRUE(paid.has_value());
  EXPECT_DOUBLE_EQ(Amount(paid->data, "spark", "debit"), 0);
  EXPECT_NEAR(Amount(paid->data, "spark", "settled"), 1000 - quote, 1e-6);
  EXPECT_NEAR(Amount(RestBalance(), "spark", "net"), 1000 - quote, 1e-6);
  EXPECT_EQ(Amount(RestBalance(), "sogni", "net"), 1000);  // the other token is untouched
  EXPECT_EQ(Amount(RestBalance("k2"), "spark", "net"), 1000);  // and so is the other account
}

TEST_F(AccountTest, ShortFundsRefuseTheRequestWithAProjectLevelJobError) {
  HttpResult set = client().Post("/_sandbox/balance", R"({"spark": 0.05})");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_DOUBLE_EQ(Amount(set.json, "spark", "net"), 0.05);
  auto c = ConnectReady();
  const std::string id = ProjectId(51);  // 1 x 4 steps at 1 MP: 0.08 spark
  c->Send("jobRequest", JobRequest(id, "flux1-schnell-fp8", 1, R"(,"steps":4,"width":1024,"height":1024)", "png"));
  std::optional<Msg> e = c->Next();
  ASSERT_TRUE(e.has_value());
  ASSERT_EQ(e->type, "jobError") << e->data.ToJson();
  EXPECT_EQ(e->data.Find("jobID")->as_string(), id);
  EXPECT_FALSE(e->data.Find("imgID"));
  EXPECT_EQ(e->data.Find("error")->as_string(), "insufficientFunds");
  EXPECT_FALSE(e->data.Find("isFromWorker")->as_bool());
  EXPECT_NE(e->data.Find("error_message")->as_string().find("Insufficient funds"), std::string::npos);
  EXPECT_FALSE(c->Next(300).has_value());  // nothing queued, nothing held
  EXPECT_EQ(client().Get("/v2/projects/" + id).status, 404);
  EXPECT_DOUBLE_EQ(Amount(RestBalance(), "spark", "debit"), 0);
  // Paid in sogni, the same request is affordable.
  c->Send("jobRequest", Parse(R"({"jobID":")" + ProjectId(52) + R"(","numberOfImages":1,"tokenType":"sogni",)"
                              R"("keyFrames":[{"modelID":"flux1-schnell-fp8","steps":1}]})"));
  ASSERT_TRUE(c->NextOf("jobState", "queued").has_value());
  // The admin route needs the account's key, and a sane amount.
  EXPECT_EQ(HttpTestClient(sandbox_->port()).Post("/_sandbox/balance", R"({"spark": 1})").status, 400);
  EXPECT_EQ(client().Post("/_sandbox/balance", R"({"spark": -1})").status, 400);
  EXPECT_EQ(client().Post("/_sandbox/balance", R"([1])").status, 400);
}

TEST_F(AccountTest, ACancelledProjectPaysNothingForJobsThatDidNotFinish) {
  auto c = ConnectReady();
  const std::string id = ProjectId(53);
  c->Send("jobRequest", JobRequest(id, "z-turbo", 1, R"(,"steps":200)", "png"));
  ASSERT_TRUE(c->NextOf("jobProgress").has_value());
  c->Send("jobError", Parse(R"({"jobID":")" + id + R"(","error":"artistCanceled"})"));
  ASSERT_TRUE(c->NextOf("artistCancelConfirmation").has_value());
  Value after = RestBalance();
  EXPECT_EQ(Amount(after, "spark", "debit"), 0);
  EXPECT_EQ(Amount(after, "spark", "settled"), 1000);
}

TEST_F(AccountTest, TheStartingBalanceIsAnOption) {
  sandbox_.reset();
  SandboxOptions o = DefaultOptions();
  o.balance = 2.5;
  Start(o);
  EXPECT_EQ(Amount(RestBalance(), "sogni", "settled"), 2.5);
}

}  // namespace
}  // namespace projects_test
}  // namespace sflow
