// Balances: GET /v4/account/balance, `authenticated.tokens`, `balanceUpdate`, the hold and the
// settlement of each project's quote, and POST /_sandbox/balance for tests.
//
// The wire has four amounts per token (Account/types.d.ts BalanceData) and documents none of
// them. The sandbox reads them as: `settled` what the account owns, `debit` the quotes held for
// its running projects, `credit` always 0, `net` = settled + credit - debit, the spendable
// amount a new project is checked against (INFERRED; docs/sandbox.md).
#include <Poco/StreamCopier.h>

#include "engine/json.h"
#include "sandbox/projects_impl.h"

namespace sflow {

using namespace hub;

ProjectsHub::Impl::Ledger& ProjectsHub::Impl::LedgerLocked(const std::string& owner) {
  auto [it, added] = ledgers.try_emplace(owner);
  if (added) it->second.settled_spark = it->second.settled_sogni = world->config().initial_balance;
  return it->second;
}

Value ProjectsHub::Impl::BalancesLocked(const std::string& owner, bool full) {
  const Ledger& l = LedgerLocked(owner);
  auto one = [&](double settled, double held, bool spark) {
    Value b = Obj({{"settled", Money(settled)}, {"credit", Money(0)}, {"debit", Money(held)}, {"net", Money(settled - held)}});
    if (full) {
      b.Set("relaxedUnclaimed", Money(0));
      b.Set("fastUnclaimed", Money(0));
    }
    if (spark && full) b.Set("premiumCredit", Money(0));
    return b;
  };
  return Obj({{"sogni", one(l.settled_sogni, l.held_sogni, false)}, {"spark", one(l.settled_spark, l.held_spark, true)}});
}

void ProjectsHub::Impl::SendBalanceLocked(const std::string& owner) {
  Value balances = BalancesLocked(owner, false);
  for (auto& [key, c] : conns)
    if (c->owner == owner) Send(*c, "balanceUpdate", balances);
}

bool ProjectsHub::Impl::HoldLocked(ProjectRun& p, std::string* why) {
  Ledger& l = LedgerLocked(p.owner);
  const bool sogni = p.token_type == "sogni";
  double& settled = sogni ? l.settled_sogni : l.settled_spark;
  double& held = sogni ? l.held_sogni : l.held_spark;
  const double price = p.quote.In(p.token_type);
  if (settled - held < price) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "Insufficient funds: the project costs %.6f %s and the account has %.6f available",
                  price, sogni ? "sogni" : "spark", settled - held);
    *why = buf;
    return false;
  }
  held += price;
  p.held = price;
  return true;
}

void ProjectsHub::Impl::SettleLocked(ProjectRun& p) {
  if (p.held <= 0) return;  // settled already, or never held (a project restored without a hold)
  Ledger& l = LedgerLocked(p.owner);
  const bool sogni = p.token_type == "sogni";
  size_t completed = 0;
  for (const JobRun& j : p.jobs) completed += j.status == "jobCompleted";
  p.charged = p.held * static_cast<double>(completed) / static_cast<double>(std::max<size_t>(1, p.jobs.size()));
  (sogni ? l.held_sogni : l.held_spark) -= p.held;
  (sogni ? l.settled_sogni : l.settled_spark) -= p.charged;
  p.held = 0;
  SendBalanceLocked(p.owner);
}

void ProjectsHub::Impl::Balance(RouteContext& ctx) {
  ctx.route = "/v4/account/balance";
  if (!RequireAuth(ctx)) return;
  Value balances;
  {
    std::lock_guard<std::mutex> lock(mu);
    balances = BalancesLocked(ctx.caller.owner, true);
  }
  SendJson(ctx, 200, Envelope(balances));
}

void ProjectsHub::Impl::AdminBalance(RouteContext& ctx) {
  ctx.route = "/_sandbox/balance";
  // An admin route, but about one account: the account of the api-key the request carries.
  if (ctx.caller.owner.empty())
    return SendJson(ctx, 400, ErrorBody(400, "name the account with its api-key header (or Authorization: Bearer)"));
  std::string text;
  Poco::StreamCopier::copyToString(ctx.body(), text);
  Result<Value> body = ParseJson(text);
  if (!body.ok() || !body->is_object())
    return SendJson(ctx, 400, ErrorBody(400, "the body is a JSON object {\"spark\": N, \"sogni\": N}"));
  double amounts[2] = {-1, -1};
  const char* names[2] = {"spark", "sogni"};
  for (int i = 0; i < 2; ++i) {
    const Value* v = body->Find(names[i]);
    if (!v) continue;
    double x = v->is_number() ? v->as_number() : v->is_string() ? std::strtod(v->as_string().c_str(), nullptr) : -1;
    if (!(x >= 0 && x <= 1e12))
      return SendJson(ctx, 400, ErrorBody(400, std::string(names[i]) + " must be an amount from 0 to 1e12"));
    amounts[i] = x;
  }
  Value balances;
  {
    std::lock_guard<std::mutex> lock(mu);
    Ledger& l = LedgerLocked(ctx.caller.owner);
    if (amounts[0] >= 0) l.settled_spark = amounts[0];
    if (amounts[1] >= 0) l.settled_sogni = amounts[1];
    dirty = true;
    SendBalanceLocked(ctx.caller.owner);
    balances = BalancesLocked(ctx.caller.owner, true);
  }
  SendJson(ctx, 200, balances);
}

}  // namespace sflow
