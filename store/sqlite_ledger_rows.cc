// The ledger half of SqliteRunStore (engine/ledger.h, engine/run_store.h): each run's row, written
// with the run in its creating transaction after its ceilings are checked in that same
// transaction, and settled (what it was charged) whenever an ended run's steps or projects change.
#include <algorithm>
#include <cmath>

#include "store/run_rows.h"
#include "store/sqlite_run_store.h"

namespace sflow {

namespace {

bool Finite(double v) { return std::isfinite(v) && v >= 0; }
bool Amount(double v) { return v >= 0 && v < 1e300; }  // what the ledger's CHECKs take (NaN fails)

// The days of `month` (YYYY-MM) as a range of YYYY-MM-DD keys.
std::pair<std::string, std::string> MonthRange(const std::string& month) { return {month + "-00", month + "-99"}; }

}  // namespace

Status SqliteRunStore::CheckLedgerEntry(const RunRecord& run) {
  for (const auto& [step, amount] : run.cost.steps)
    if (!Amount(amount.units) || !Amount(amount.usd))
      return InvalidCall("run " + run.id + ": the estimate of step '" + step + "' is not an amount from 0 to 1e300");
  if (const LedgerAmount total = run.cost.Total(); !Amount(total.units) || !Amount(total.usd))
    return InvalidCall("run " + run.id + ": its estimate is not an amount from 0 to 1e300");
  for (const LedgerCeiling& c : run.ceilings)
    if ((c.max_units && !Finite(*c.max_units)) || (c.max_usd && !Finite(*c.max_usd)))
      return InvalidCall("run " + run.id + ": a ceiling (" + c.origin + ") that is not a finite amount of 0 or more");
  return Status::OK();
}

Result<LedgerSpent> SqliteRunStore::SpentNow(LedgerScope scope, const std::string& batch, const LedgerPayer& payer,
                                             int64_t now) {
  LedgerSpent spent;
  std::string sql =
      // Each row's amount bounded to [0, 1e300]: a damaged row (CHECKs turned off, a hand edit) can
      // never lower what a scope has spent, and one past any ceiling blocks it rather than wrap.
      "SELECT COUNT(*), SUM(units_actual IS NULL), TOTAL(min(max(COALESCE(units_actual, units), 0), 1e300)), "
      "TOTAL(min(max(COALESCE(usd_actual, usd), 0), 1e300)) "
      "FROM ledger WHERE (?3 = '' OR account = ?3) AND (?4 = '' OR api_url = ?4) AND ";
  std::string a, b;
  switch (scope) {
    case LedgerScope::kBatch:
      spent.key = a = b = batch;
      sql += "batch = ?1 AND batch = ?2";
      break;
    case LedgerScope::kDay:
      spent.key = a = b = LedgerDay(now);
      sql += "day = ?1 AND day = ?2";
      break;
    case LedgerScope::kMonth:
      spent.key = LedgerMonth(LedgerDay(now));
      std::tie(a, b) = MonthRange(spent.key);
      sql += "day BETWEEN ?1 AND ?2";
      break;
  }
  Result<Stmt> q = db_->Prepare(sql);
  if (!q.ok()) return q.status();
  Result<bool> row = q->BindAll(a, b, payer.account, payer.api_url).Step();
  if (!row.ok()) return row.status();
  spent.runs = q->Int(0);
  spent.open = q->IsNull(1) ? 0 : q->Int(1);
  spent.amount = LedgerAmount{q->Double(2), q->Double(3)};
  return spent;
}

Status SqliteRunStore::CheckCeilingsNow(const std::string& batch, const LedgerPayer& payer, const LedgerAmount& cost,
                                        const std::vector<LedgerCeiling>& ceilings, int64_t now) {
  for (const LedgerCeiling& c : ceilings) {
    if (c.scope == LedgerScope::kBatch && batch.empty()) continue;  // a run of no batch
    Result<LedgerSpent> spent = SpentNow(c.scope, batch, payer, now);
    if (!spent.ok()) return spent.status();
    if (Status s = CheckCeiling(c, spent->key, spent->amount, cost); !s.ok()) return s;
  }
  return Status::OK();
}

Status SqliteRunStore::InsertLedgerRow(const RunRecord& run, int64_t now) {
  const LedgerAmount total = run.cost.Total();
  const LedgerPayer payer = LedgerPayer::Of(run.account, run.api_url);
  if (Status s = CheckCeilingsNow(run.batch, payer, total, run.ceilings, now); !s.ok()) return s;
  Result<Stmt> ins = db_->Prepare(
      "INSERT INTO ledger (run_id, batch, day, units, usd, steps, created_at, account, api_url) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  if (!ins.ok()) return ins.status();
  return ins->BindAll(run.id, run.batch, LedgerDay(now), total.units, total.usd, run.cost.ToJson(), now, payer.account,
                      payer.api_url)
      .Run();
}

Status SqliteRunStore::SettleLedger(const std::string& run_id) {
  Result<Stmt> row = db_->Prepare(
      "SELECT l.steps, r.execution FROM ledger l JOIN runs r ON r.id = l.run_id WHERE l.run_id = ?1");
  if (!row.ok()) return row.status();
  Result<bool> found = row->BindAll(run_id).Step();
  if (!found.ok()) return found.status();
  if (!*found) return Status::OK();  // a run stored without a row (a store written by hand)
  // A row whose estimate is damaged settles on what was charged alone: the ledger must never stop
  // a run's end from being stored (`sogni-flow check` names the damage).
  Result<LedgerEstimate> estimate = LedgerEstimate::FromJson(row->Text(0));
  const bool local = row->Text(1) == "local";  // its steps' units are tokens charged (runner/local)
  std::vector<StepRecord> steps;
  if (Status s = LoadSteps(run_id, &steps); !s.ok()) return s;
  std::vector<SettledStep> settled;
  for (const StepRecord& st : steps)
    settled.push_back(SettledStep{st.step_id, Name(st.status), local ? std::nullopt : st.units});
  std::vector<SettledProject> projects;
  Result<Stmt> p = db_->Prepare("SELECT step_id, quote, quote_usd, charge FROM projects WHERE run_id = ?1");
  if (!p.ok()) return p.status();
  p->BindAll(run_id);
  for (;;) {
    Result<bool> r = p->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    projects.push_back(SettledProject{p->Text(0), p->OptDouble(1), p->OptDouble(2), p->OptDouble(3)});
  }
  LedgerAmount actual = ActualCost(estimate.ok() ? *estimate : LedgerEstimate{}, settled, projects);
  // Damaged amounts must not break the CHECKs (the run's end would never be stored): bounded.
  actual.units = Finite(actual.units) ? std::min(actual.units, 1e299) : 0;
  actual.usd = Finite(actual.usd) ? std::min(actual.usd, 1e299) : 0;
  Result<Stmt> up = db_->Prepare("UPDATE ledger SET units_actual = ?2, usd_actual = ?3 WHERE run_id = ?1");
  if (!up.ok()) return up.status();
  return up->BindAll(run_id, actual.units, actual.usd).Run();
}

Status SqliteRunStore::SettleIfEnded(const std::string& run_id) {
  Result<Stmt> q = db_->Prepare("SELECT status FROM runs WHERE id = ?1");
  if (!q.ok()) return q.status();
  Result<bool> row = q->BindAll(run_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::OK();
  std::optional<RunStatus> st = ParseName<RunStatus>(kRunStatusNames, q->Text(0));
  return st && IsTerminal(*st) ? SettleLedger(run_id) : Status::OK();
}

Result<std::vector<LedgerRow>> SqliteRunStore::ListLedger(const LedgerQuery& query) {
  std::vector<LedgerRow> rows;
  Status s = Read([&]() -> Status {
    Result<Stmt> q = db_->Prepare(
        "SELECT l.run_id, l.batch, l.day, l.created_at, COALESCE(r.plan_name, ''), COALESCE(r.status, ''), l.steps, "
        "l.units_actual, l.usd_actual, COALESCE(b.entry, ''), l.account, l.api_url, l.units, l.usd FROM ledger l LEFT JOIN runs r ON r.id = l.run_id "
        "LEFT JOIN batch_runs b ON b.run_id = l.run_id "
        "WHERE (?1 = '' OR l.day >= ?1) AND (?2 = '' OR l.day <= ?2) AND (?3 = '' OR l.batch = ?3) "
        "AND (?4 = '' OR l.run_id = ?4) ORDER BY l.created_at, l.rowid");
    if (!q.ok()) return q.status();
    q->BindAll(query.from_day, query.to_day, query.batch, query.run_id);
    for (;;) {
      Result<bool> r = q->Step();
      if (!r.ok()) return r.status();
      if (!*r) return Status::OK();
      LedgerRow row{.run_id = q->Text(0), .batch = q->Text(1), .day = q->Text(2), .created_at = q->Int(3),
                    .plan_name = q->Text(4), .status = q->Text(5)};
      row.entry = q->Text(9);
      row.payer = LedgerPayer{q->Text(10), q->Text(11)};
      Result<LedgerEstimate> estimate = LedgerEstimate::FromJson(q->Text(6));
      if (!estimate.ok())
        return Status::IOError("the state database is damaged: the ledger row of run " + Printable(row.run_id) + " holds " +
                               estimate.status().message() + "; " + DamagedDatabaseHint(db_->path()));
      row.estimate = std::move(*estimate);
      std::optional<double> units = q->OptDouble(7), usd = q->OptDouble(8);
      if (units || usd) row.actual = LedgerAmount{units.value_or(0), usd.value_or(0)};
      const bool day_ok = row.day.size() == 10 && row.day.find_first_not_of("0123456789-") == std::string::npos;
      const bool amounts_ok = (!row.actual || (Amount(row.actual->units) && Amount(row.actual->usd))) &&
                              Amount(q->Double(12)) && Amount(q->Double(13));
      if (!day_ok || !amounts_ok)
        return Status::IOError("the state database is damaged: the ledger row of run " + Printable(row.run_id) + " holds " +
                               (day_ok ? "an amount that is negative or not finite" : "a day that is not YYYY-MM-DD") + "; " +
                               DamagedDatabaseHint(db_->path()));
      rows.push_back(std::move(row));
    }
  });
  if (!s.ok()) return s;
  return rows;
}

Result<LedgerSpent> SqliteRunStore::Spent(LedgerScope scope, const std::string& batch, const LedgerPayer& payer) {
  LedgerSpent spent;
  Status s = Read([&]() -> Status {
    Result<LedgerSpent> r = SpentNow(scope, batch, payer, now_ms_());
    if (!r.ok()) return r.status();
    spent = std::move(*r);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return spent;
}

Status SqliteRunStore::FitsCeilings(const std::string& batch, const LedgerPayer& payer, const LedgerAmount& cost,
                                    const std::vector<LedgerCeiling>& ceilings) {
  if (ceilings.empty()) return Status::OK();
  return Read([&]() -> Status { return CheckCeilingsNow(batch, payer, cost, ceilings, now_ms_()); });
}

}  // namespace sflow
