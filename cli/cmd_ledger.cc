// sogni-flow ledger : what the state directory's runs cost (engine/ledger.h), per day, per batch
// and in total, for a month or for all time. Reads only; sends nothing.
#include <cstdio>
#include <ctime>
#include <map>
#include <string>
#include <vector>

#include "cli/columns.h"
#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/state_access.h"
#include "engine/ledger.h"
#include "engine/run_store.h"
#include "engine/value.h"
#include "store/state_dir.h"

namespace sflow {

namespace {

// What a group of ledger rows counts.
struct Sum {
  int64_t runs = 0, open = 0;
  LedgerAmount amount{};
  void Add(const LedgerRow& r) {
    ++runs;
    if (!r.actual) ++open;
    amount += r.Counted();
  }
};

bool IsMonth(const std::string& m) {
  if (m.size() != 7 || m[4] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6})
    if (m[i] < '0' || m[i] > '9') return false;
  const int month = (m[5] - '0') * 10 + (m[6] - '0');
  return month >= 1 && month <= 12;
}

std::string Dollars(double usd) { return "$" + LedgerFigure(usd); }

Value AmountJson(const LedgerAmount& a) {
  Value o = Value::Object();
  o.Set("units", Value::Double(a.units));
  o.Set("usd", Value::Double(a.usd));
  return o;
}

Value SumJson(const std::string& key, const std::string& value, const Sum& s) {
  Value o = Value::Object();
  if (!key.empty()) o.Set(key, Value::String(value));
  o.Set("runs", Value::Int(s.runs));
  o.Set("open", Value::Int(s.open));
  o.Set("units", Value::Double(s.amount.units));
  o.Set("usd", Value::Double(s.amount.usd));
  return o;
}

std::vector<std::string> SumCells(const std::string& label, const Sum& s) {
  return {label, std::to_string(s.runs), std::to_string(s.open), LedgerFigure(s.amount.units), Dollars(s.amount.usd)};
}

}  // namespace

int RunLedger(const std::vector<std::string>& args, Context& ctx) {
  bool json = false, all = false, runs = false;
  std::string state_dir, month, batch;
  CommandLine cl("ledger [--month YYYY-MM | --all] [--batch NAME] [--runs] [--state-dir DIR] [--json]",
                 "Shows what the state directory's runs cost, per day and per batch, for this month (or\n"
                 "--month, or --all): in capacity units (server steps, estimated offline) and in US dollars\n"
                 "(local projects, quoted by the network). Every run is in it from the moment it is stored:\n"
                 "at its estimate until it ends, then at what it was charged (the units the server reported\n"
                 "for its steps, its projects' charges at their quote's rate). OPEN counts the runs still at\n"
                 "their estimate. Days and months are UTC. `batch run` refuses to start a run that would take a\n"
                 "batch, a day or a month over its ceiling (budget: in the batch file, --max-units,\n"
                 "--max-usd), counting only the runs of the same key at the same endpoint (ENDPOINT, KEY:\n"
                 "a fingerprint, never the key): the sandbox's runs never spend a real account's budget.\n"
                 "Runs that were forgotten stay in the ledger. Reads only; sends nothing.");
  cl.Value("month", "", "YYYY-MM", "the month to show (default: this month, UTC)", &month);
  cl.Flag("all", "", "every day the ledger holds", &all);
  cl.Value("batch", "", "NAME", "only the runs of this batch (its name: in the batch file)", &batch);
  cl.Flag("runs", "", "also list each run: its estimate, and what it was charged once it ended", &runs);
  cl.Value("state-dir", "", "DIR", "the state directory (default: the state_dir setting, see config; ./.sogni-flow)", &state_dir);
  cl.Flag("json", "", "one JSON object {month, batch, total, days[], batches[], payers[], runs[]}", &json);
  cl.Epilog("exit codes: 0 shown, 2 a bad option, 6 local state\n\n"
            "examples:\n"
            "  sogni-flow ledger\n"
            "  sogni-flow ledger --month 2026-11 --runs\n"
            "  sogni-flow ledger --all --batch nightly-products --json\n");
  std::vector<std::string> rest;
  Status s = cl.Parse(args, &rest);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow ledger: " << s.message() << "\n", kExitInvalid;
  if (!rest.empty())
    return ctx.err << "sogni-flow ledger: unexpected argument '" << CommandLine::Shown(rest[0]) << "' (see --help)\n", kExitInvalid;
  if (all && !month.empty()) return ctx.err << "sogni-flow ledger: give --month or --all, not both\n", kExitInvalid;
  if (!month.empty() && !IsMonth(month))
    return ctx.err << "sogni-flow ledger: --month wants a month as YYYY-MM, like 2026-12 (got '" << CommandLine::Shown(month)
                   << "')\n", kExitInvalid;
  if (month.empty() && !all) month = LedgerMonth(LedgerDay(static_cast<int64_t>(std::time(nullptr)) * 1000));

  std::vector<LedgerRow> rows;
  Result<std::unique_ptr<StateDir>> dir = OpenState("ledger", state_dir, StateAccess::kRead, ctx);
  if (!dir.ok() && dir.status().code() != Status::Code::kNotFound)
    return ctx.err << "sogni-flow ledger: " << dir.status().message() << "\n", ExitCodeFor(dir.status());
  if (dir.ok()) {
    LedgerQuery q{.batch = batch};
    if (!all) q.from_day = month + "-00", q.to_day = month + "-99";
    Result<std::vector<LedgerRow>> got = (*dir)->store().ListLedger(q);
    if (!got.ok()) return ctx.err << "sogni-flow ledger: " << got.status().message() << "\n", ExitCodeFor(got.status());
    rows = std::move(*got);
  }
  Sum total;
  std::map<std::string, Sum> days, batches;
  std::map<std::pair<std::string, std::string>, Sum> payers;  // (endpoint, key fingerprint)
  for (const LedgerRow& r : rows) {
    total.Add(r);
    days[r.day].Add(r);
    batches[r.batch].Add(r);
    payers[{r.payer.api_url, r.payer.account}].Add(r);
  }

  if (json) {
    Value o = Value::Object();
    o.Set("stateDir", Value::String(StateDirPath(state_dir, ctx)));
    o.Set("month", all ? Value::Null() : Value::String(month));
    o.Set("batch", batch.empty() ? Value::Null() : Value::String(batch));
    o.Set("total", SumJson("", "", total));
    Value d = Value::Array(), b = Value::Array(), list = Value::Array();
    for (const auto& [day, sum] : days) d.Append(SumJson("day", day, sum));
    for (const auto& [name, sum] : batches) {
      Value one = SumJson("batch", name, sum);
      if (name.empty()) one.Set("batch", Value::Null());
      b.Append(std::move(one));
    }
    for (const LedgerRow& r : rows) {
      Value one = Value::Object();
      one.Set("run", Value::String(r.run_id));
      one.Set("batch", r.batch.empty() ? Value::Null() : Value::String(r.batch));
      one.Set("day", Value::String(r.day));
      one.Set("apiUrl", Value::String(r.payer.api_url));
      one.Set("account", Value::String(r.payer.account));
      one.Set("entry", r.entry.empty() ? Value::Null() : Value::String(r.entry));
      one.Set("plan", r.plan_name.empty() ? Value::Null() : Value::String(r.plan_name));
      one.Set("status", r.status.empty() ? Value::Null() : Value::String(r.status));  // null: forgotten
      one.Set("estimate", AmountJson(r.estimate.Total()));
      one.Set("charged", r.actual ? AmountJson(*r.actual) : Value::Null());
      one.Set("counted", AmountJson(r.Counted()));
      list.Append(std::move(one));
    }
    Value pay = Value::Array();
    for (const auto& [who, sum] : payers) {
      Value one = SumJson("apiUrl", who.first, sum);
      one.Set("account", Value::String(who.second));
      pay.Append(std::move(one));
    }
    o.Set("days", std::move(d));
    o.Set("batches", std::move(b));
    o.Set("payers", std::move(pay));
    o.Set("runs", std::move(list));
    ctx.out << o.ToJson() << "\n";
    return kExitOk;
  }

  const std::string period = all ? "all time" : month;
  ctx.out << "ledger of " << TerminalText(StateDirPath(state_dir, ctx)) << ", " << period
          << (batch.empty() ? "" : ", batch " + TerminalText(batch))
          << " (days in UTC; a run counts its estimate until it ends, then what it was charged)\n\n";
  if (rows.empty()) {
    ctx.out << "no run was stored " << (all ? "yet" : "in " + month) << "\n";
    return kExitOk;
  }
  const std::vector<bool> right = {false, true, true, true, true};
  std::vector<std::vector<std::string>> table = {{"DAY", "RUNS", "OPEN", "UNITS", "USD"}};
  for (const auto& [day, sum] : days) table.push_back(SumCells(TerminalText(day), sum));
  table.push_back(SumCells("total", total));
  PrintColumns(table, right, ctx.out);
  table = {{"BATCH", "RUNS", "OPEN", "UNITS", "USD"}};
  for (const auto& [name, sum] : batches) table.push_back(SumCells(name.empty() ? "(none)" : TerminalText(name), sum));
  ctx.out << "\n";
  PrintColumns(table, right, ctx.out);
  table = {{"ENDPOINT", "KEY", "RUNS", "OPEN", "UNITS", "USD"}};
  for (const auto& [who, sum] : payers) {
    std::vector<std::string> cells = SumCells(TerminalText(who.first), sum);
    cells.insert(cells.begin() + 1, TerminalText(who.second));
    table.push_back(std::move(cells));
  }
  ctx.out << "\n";
  PrintColumns(table, {false, false, true, true, true, true}, ctx.out);
  if (runs) {
    table = {{"RUN", "DAY", "BATCH RUN OR PLAN", "STATUS", "EST. UNITS", "EST. USD", "UNITS", "USD"}};
    for (const LedgerRow& r : rows) {
      const LedgerAmount e = r.estimate.Total();
      const std::string what = !r.entry.empty() ? r.batch + ": " + r.entry : !r.plan_name.empty() ? r.plan_name : "-";
      table.push_back({TerminalText(r.run_id), TerminalText(r.day), TerminalText(what), r.status.empty() ? "(forgotten)" : r.status,
                       LedgerFigure(e.units), Dollars(e.usd), r.actual ? LedgerFigure(r.actual->units) : "-",
                       r.actual ? Dollars(r.actual->usd) : "-"});
    }
    ctx.out << "\n";
    PrintColumns(table, {false, false, false, false, true, true, true, true}, ctx.out);
  }
  return kExitOk;
}

}  // namespace sflow
