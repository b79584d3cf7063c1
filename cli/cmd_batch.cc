// sogni-flow batch run|resume|status|cancel FILE : a batch file's runs (plans/batch_loader.h).
// `run` starts what is not done yet and follows it; `resume` only finishes what a run started; `status` says, per run of the batch, what `run` would do;
// `cancel` cancels its unfinished runs.
//
// What is done: an entry whose newest run completed with the same plan and params (the run's
// digest) is skipped. One whose newest run has not ended (a batch run that was killed, a machine
// that rebooted) is resumed, never started again. Every other one (no run yet, a failed,
// cancelled or partial run, a plan or params changed since) gets a new run. A new run is stored
// with its batch entry in one transaction, so no run a batch started is ever unknown to it.
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/retry_policy.h"
#include "cli/backend.h"
#include "cli/batch_runs.h"
#include "cli/columns.h"
#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/drive_and_report.h"
#include "cli/exit_codes.h"
#include "cli/plan_check.h"
#include "cli/run_setup.h"
#include "cli/settings.h"
#include "cli/state_access.h"
#include "engine/ledger.h"
#include "engine/run_id.h"
#include "plans/batch_loader.h"
#include "runner/artifact_files.h"
#include "runner/interrupt.h"
#include "runner/local/session_project_service.h"
#include "runner/sha256.h"

namespace sflow {

int RunCancel(const std::vector<std::string>& args, Context& ctx);
int RunReport(const std::vector<std::string>& args, Context& ctx);

namespace {

enum class Decision { kNew, kResume, kSkip };

// One run of the batch file, and what `batch run` does with it.
struct Planned {
  const BatchRun* run = nullptr;
  const BatchEntry* entry = nullptr;
  std::string digest{};              // the plan's with these params; "" when the plan is invalid
  std::optional<RunRecord> newest{};  // the entry's newest stored run
  Decision decision = Decision::kNew;
  std::string why{};                 // "no run yet", "changed since r-...", "r-... failed", ...
};

// Decides, for each run of the batch, against the state directory's record of it.
// A run's work: its plan file and its digest (the start request and the typed params). Two plan
// files that happen to send the same request are two works: without seeds they make different
// results.
std::string WorkOf(const std::string& plan_path, const std::string& digest) { return plan_path + '\n' + digest; }

// Two runs of one batch file that are the same work (one plan, the same params once typed: a
// default written out, 1 and "01") would be paid twice: refused, naming both. Runs of an invalid
// plan (no digest) are left to the plan's own errors.
Status SameWorkTwice(const std::vector<Planned>& planned) {
  std::map<std::string, const Planned*> by_work;
  for (const Planned& p : planned) {
    if (p.digest.empty()) continue;
    auto [it, inserted] = by_work.emplace(WorkOf(p.entry->plan_path, p.digest), &p);
    if (!inserted)
      return Status::InvalidPlan("runs '" + TerminalText(it->second->run->name) + "' and '" + TerminalText(p.run->name) +
                                 "' are the same work (one plan with the same params once typed: a default written "
                                 "out, or a number spelled two ways); keep one of them");
  }
  return Status::OK();
}

// The newest stored run of each run name of a batch, by name (cli/batch_runs.h).
Result<std::map<std::string, RunRecord>> NewestRuns(RunStore& store, const std::string& batch) {
  Result<std::vector<std::pair<std::string, RunRecord>>> newest = NewestBatchRuns(store, batch);
  if (!newest.ok()) return newest.status();
  return std::map<std::string, RunRecord>(std::make_move_iterator(newest->begin()), std::make_move_iterator(newest->end()));
}

Status Decide(RunStore& store, const std::string& batch, std::vector<Planned>* planned) {
  Result<std::map<std::string, RunRecord>> newest = NewestRuns(store, batch);
  if (!newest.ok()) return newest.status();
  // The batch's completed runs by digest: the same work under another name (the batch file
  // rewritten, its params spelled otherwise) is done, not run again.
  std::map<std::string, std::string> completed;  // work -> run id
  for (const auto& [entry, run] : *newest)
    if (run.status == RunStatus::kCompleted) completed[WorkOf(run.plan_path, run.plan_digest)] = run.id;
  for (Planned& p : *planned) {
    auto it = newest->find(p.run->name);
    if (it == newest->end()) {
      if (auto done = completed.find(WorkOf(p.entry->plan_path, p.digest)); done != completed.end()) {
        p.decision = Decision::kSkip;
        p.why = done->second + " completed the same work (the same plan and params, written otherwise)";
        continue;
      }
      p.decision = Decision::kNew;
      p.why = "no run yet";
      continue;
    }
    p.newest = it->second;
    const RunRecord& r = *p.newest;
    // One batch name, two batch files (a copied file, a state_dir shared by two projects): their
    // runs would take each other's for changed and run again every night. Refused, with why.
    if (!r.plan_path.empty() && r.plan_path.front() == '/' && r.plan_path != p.entry->plan_path)
      return Status::InvalidPlan("batch '" + batch + "' of this state directory ran " + TerminalText(p.run->name) + " of " +
                                 TerminalText(r.plan_path) + " (run " + r.id + "), and this batch file's run of that name is of " +
                                 TerminalText(p.entry->plan_path) + ": two batch files share the name '" + batch +
                                 "'; give one of them another name");
    if (!IsTerminal(r.status) && r.api_url == kInProcessSandbox) {
      p.decision = Decision::kNew;  // nothing can resume it: the simulator ended with its process
      p.why = r.id + " was left unfinished in an in-process sandbox, which is gone";
    } else if (!IsTerminal(r.status)) {
      p.decision = Decision::kResume;
      p.why = r.id + " is " + Name(r.status) + ": resumed";
    } else if (r.plan_digest != p.digest) {
      p.decision = Decision::kNew;
      p.why = "plan or params changed since " + r.id;
    } else if (r.status == RunStatus::kCompleted) {
      p.decision = Decision::kSkip;
      p.why = r.id + " completed, unchanged";
    } else {
      p.decision = Decision::kNew;
      p.why = r.id + " " + Name(r.status);
    }
  }
  return Status::OK();
}

// One `batch run` of a batch at a time, in a state directory: the batch holds a lease of its own
// (store/run_lease.h: a kernel lock released however its holder dies, and a row naming the
// holder's pid, host, boot id and start time, so that a holder killed with SIGKILL, or one of an
// earlier boot, is found stale and taken over, with a notice). Two cron jobs that overlap: the
// second is refused with exit 6, naming the first, and starts nothing.
Result<std::unique_ptr<RunLease>> LeaseBatch(StateDir& dir, const std::string& batch, const std::string& me, Context& ctx) {
  Result<std::unique_ptr<RunLease>> lease = dir.AcquireRunLease("batch:" + batch);  // LeaseSubject: "batch 'NAME'"
  if (lease.ok() && !(*lease)->notice().empty()) ctx.err << me << (*lease)->notice() << "\n";
  return lease;
}

// --max-units / --max-usd VALUE: "N" (the batch's runs in all), "N/day" or "N/month" (every run of
// the state directory today, this month); N a number from 0 to 1e15.
Result<LedgerCeiling> ParseCeilingFlag(const std::string& flag, const std::string& value) {
  const size_t slash = value.find('/');
  const std::string number = value.substr(0, slash), scope = slash == std::string::npos ? "" : value.substr(slash + 1);
  std::optional<double> n = ParseDecimal(number);
  LedgerCeiling c{.origin = "--" + flag + " " + CommandLine::Shown(value)};  // the value is a number: nothing secret
  if (slash == std::string::npos || scope == "batch") c.scope = LedgerScope::kBatch;
  else if (scope == "day") c.scope = LedgerScope::kDay;
  else if (scope == "month") c.scope = LedgerScope::kMonth;
  if (!n || *n > 1e15 || (slash != std::string::npos && scope != "batch" && scope != "day" && scope != "month"))
    return Status::InvalidPlan("--" + flag + " wants N, N/day or N/month (N a number from 0 to 1e15), like 5000/day; got '" +
                               CommandLine::Shown(value) + "'");
  (flag == "max-units" ? c.max_units : c.max_usd) = *n;
  return c;
}

// The ceilings a batch run fits its new runs under: the batch file's budget, each one replaced by
// a flag of the same scope and measure. One ceiling per measure, so that a flag replaces only its own.
Result<std::vector<LedgerCeiling>> Ceilings(const Batch& batch, const std::vector<std::string>& max_units,
                                            const std::vector<std::string>& max_usd) {
  std::vector<LedgerCeiling> out;
  auto put = [&](const LedgerCeiling& c) {
    const bool units = c.max_units.has_value();
    std::erase_if(out, [&](const LedgerCeiling& o) { return o.scope == c.scope && o.max_units.has_value() == units; });
    out.push_back(c);
  };
  for (const LedgerCeiling& c : batch.ceilings) {
    if (c.max_units) put(LedgerCeiling{.scope = c.scope, .max_units = c.max_units, .origin = c.origin});
    if (c.max_usd) put(LedgerCeiling{.scope = c.scope, .max_usd = c.max_usd, .origin = c.origin});
  }
  for (const auto& [flag, values] : {std::pair{"max-units", &max_units}, std::pair{"max-usd", &max_usd}})
    for (const std::string& v : *values) {
      Result<LedgerCeiling> c = ParseCeilingFlag(flag, v);
      if (!c.ok()) return c.status();
      put(*c);
    }
  return out;
}

const char* DecisionName(Decision d) {
  switch (d) {
    case Decision::kNew: return "run";
    case Decision::kResume: return "resume";
    case Decision::kSkip: return "skip";
  }
  return "";
}

int BatchStatus(const std::vector<std::string>& args, Context& ctx) {
  bool json = false;
  std::string state_dir;
  CommandLine cl("batch status FILE [--state-dir DIR] [--json]",
                 "Says, for each run of a batch file, what `sogni-flow batch run FILE` would do with it and\n"
                 "why: run (no run yet, its newest run failed or was cancelled, or its plan or params\n"
                 "changed since), resume (its newest run has not ended), or skip (its newest run completed\n"
                 "with the same plan and params); and that run's status. Then each ceiling of the batch\n"
                 "file's budget with what its scope has spent so far (see sogni-flow ledger). Reads only;\n"
                 "sends nothing.");
  cl.Flag("json", "", "one JSON object per run of the batch {run, plan, decision, why, newestRun, status}", &json);
  cl.Value("state-dir", "", "DIR", "the state directory (default: the state_dir setting, see config; ./.sogni-flow)", &state_dir);
  cl.Epilog("exit codes: 0 shown, 2 the batch file or one of its plans is invalid, 6 local state\n\n"
            "examples:\n"
            "  sogni-flow batch status samples/nightly.batch.yaml --json\n");
  std::vector<std::string> rest;
  Status s = cl.Parse(args, &rest);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow batch status: " << s.message() << "\n", kExitInvalid;
  if (rest.size() != 1) return ctx.err << "sogni-flow batch status: give one batch file (see --help)\n", kExitInvalid;
  DiagnosticList diags;
  Result<Batch> batch = LoadBatch(rest[0], &diags);
  PrintDiagnostics(diags, ctx.err);
  if (!batch.ok()) return kExitInvalid;
  std::vector<Planned> planned;
  bool invalid = false;
  BatchEnvironment environment(ctx.environ);
  for (const BatchEntry& e : batch->entries) {
    for (const BatchRun& r : e.runs) {
      Planned p{.run = &r, .entry = &e};
      CheckedPlan c = CheckPlan(e.plan_path, DefaultCatalog(), ParamsOf(r), environment.get(), ValidateOptions());
      if (c.ok()) {
        Result<std::string> d = PlanDigest(c.plan, c.analysis);
        if (d.ok()) p.digest = *d;
      }
      if (p.digest.empty()) {
        PrintDiagnostics(c.diags, ctx.err);
        ctx.err << "sogni-flow batch status: run " << TerminalText(r.name) << " of " << rest[0] << " is invalid\n";
        invalid = true;
      }
      planned.push_back(std::move(p));
    }
  }
  if (invalid) return kExitInvalid;
  if (Status twice = SameWorkTwice(planned); !twice.ok())
    return ctx.err << "sogni-flow batch status: " << twice.message() << "\n", kExitInvalid;
  Result<std::unique_ptr<StateDir>> dir = OpenState("batch status", state_dir, StateAccess::kRead, ctx);
  if (!dir.ok() && dir.status().code() != Status::Code::kNotFound)
    return ctx.err << "sogni-flow batch status: " << dir.status().message() << "\n", ExitCodeFor(dir.status());
  if (dir.ok()) {
    if (Status d = Decide((*dir)->store(), batch->name, &planned); !d.ok())
      return ctx.err << "sogni-flow batch status: " << d.message() << "\n", ExitCodeFor(d);
  } else {
    for (Planned& p : planned) p.why = "no run yet";
  }
  for (const Planned& p : planned) {
    if (json) {
      Value o = Value::Object();
      o.Set("run", Value::String(p.run->name));
      o.Set("plan", Value::String(p.entry->plan_path));
      o.Set("decision", Value::String(DecisionName(p.decision)));
      o.Set("why", Value::String(p.why));
      o.Set("newestRun", p.newest ? Value::String(p.newest->id) : Value::Null());
      o.Set("status", p.newest ? Value::String(Name(p.newest->status)) : Value::Null());
      ctx.out << o.ToJson() << "\n";
    } else {
      std::string decision = DecisionName(p.decision);
      decision.resize(7, ' ');
      ctx.out << decision << " " << TerminalText(p.run->name) << "  (" << TerminalText(p.why) << ")\n";
    }
  }
  // The batch file's ceilings, and what their scopes have spent so far (text only: --json is one
  // object per run).
  // Of the runs against the configured endpoint, with SOGNI_API_KEY's account when it is set.
  const std::string key = EnvValue(ctx.environ, "SOGNI_API_KEY");
  const LedgerPayer payer{key.empty() ? "" : AccountFingerprint(key), Configured(ctx, SettingKey::kApiUrl).value};
  if (!json && dir.ok() && !batch->ceilings.empty())
    ctx.out << "the ledger, of the runs against " << TerminalText(payer.api_url) << (key.empty() ? " (every key)" : "") << ":\n";
  if (!json && dir.ok())
    for (const LedgerCeiling& c : batch->ceilings) {
      Result<LedgerSpent> spent = (*dir)->store().Spent(c.scope, batch->name, payer);
      if (!spent.ok()) continue;
      const std::string scope = c.scope == LedgerScope::kBatch ? "the batch" : std::string("the ") + Name(c.scope) + " " + spent->key;
      if (c.max_units)
        ctx.out << TerminalText(c.origin) << ": " << LedgerFigure(spent->amount.units) << " of " << LedgerFigure(*c.max_units)
                << " units spent by " << scope << "\n";
      if (c.max_usd)
        ctx.out << TerminalText(c.origin) << ": $" << LedgerFigure(spent->amount.usd) << " of $" << LedgerFigure(*c.max_usd)
                << " spent by " << scope << "\n";
    }
  return kExitOk;
}

// `batch run`, or with resume_only `batch resume`: the same, but no new run is started (what a
// killed batch run left unfinished is finished, and nothing else is paid for).
int BatchRun_(const std::vector<std::string>& args, Context& ctx, bool resume_only) {
  const std::string me = resume_only ? "sogni-flow batch resume: " : "sogni-flow batch run: ";
  BackendOptions backend_options;
  DriveFlags flags;
  DriveOptions& drive = flags.options;
  std::string state_dir, out_dir, max_tokens_text;
  std::vector<std::string> max_units_args, max_usd_args;
  CommandLine resume_cl("batch resume FILE [-j N] [--timeout D] [--cancel-on-interrupt] [-q] [--state-dir DIR]\n"
                        "    [--api-url URL] [--api-key-file FILE] [--json]",
                        "Finishes what `sogni-flow batch run FILE` started and did not end (a batch run killed,\n"
                        "a reboot): each run of the batch whose newest run has not ended is resumed, as `resume`\n"
                        "resumes a run. Nothing new is started and nothing is quoted: runs with no run yet, or\n"
                        "whose newest run failed or changed, are left to `batch run`, and said. One `batch run` or\n"
                        "`batch resume` of a batch at a time per state directory (another exits 6).");
  CommandLine run_cl("batch run FILE [-j N] [--detach] [--timeout D] [--cancel-on-interrupt] [-q] [--out DIR]\n"
                 "    [--state-dir DIR] [--sandbox | --api-url URL] [--api-key-file FILE] [--max-tokens N]\n"
                 "    [--max-units N[/day|/month]]... [--max-usd N[/day|/month]]... [--json]",
                 "Runs a batch file (kind: batch): every plan of it over its matrix of params, each\n"
                 "combination one run named PLAN[NAME=VALUE,...], as `sogni-flow run` runs a plan. Only\n"
                 "what is not done yet runs: a run whose newest run completed with the same plan and params\n"
                 "is skipped, one whose newest run has not ended is resumed (never started twice), the\n"
                 "others (none yet, failed, cancelled, changed) get a new run; each is said on stderr.\n"
                 "Every plan of the batch is checked first: nothing is sent if one is invalid or lacks its\n"
                 "approval. After a crash or a reboot, run the same command again. Runs at once: -j, else\n"
                 "the batch's concurrency, else the jobs setting, else 1. One `batch run` of a batch at a\n"
                 "time per state directory: another one exits 6 naming it (pid, host, since when); one that\n"
                 "was killed or belongs to an earlier boot is taken over, and that is said. A new run whose\n"
                 "estimate (a local run: its quote) would take spending over a ceiling of the ledger (the\n"
                 "batch file's budget, --max-units, --max-usd; see `sogni-flow ledger`) is not started: the\n"
                 "others go on, and the batch ends with exit 5 and a table of the runs left out.");
  CommandLine& cl = resume_only ? resume_cl : run_cl;
  cl.Flag("json", "", "one JSON object per workflow event on stdout, then a summary; then one per run left out\n"
          "{event: not_started} and {event: batch_summary, exitCode}", &drive.json);
  flags.Register(cl);
  if (!resume_only) cl.Flag("detach", "", "start the runs, store them and exit 0 without following", &drive.detach);
  if (!resume_only) cl.Value("max-tokens", "", "N", "local plans: refuse (exit 5) a plan quoted over N tokens", &max_tokens_text);
  if (!resume_only)
    cl.Repeated("max-units", "", "N[/day|/month]",
              "start no run that would take spending over N capacity units: the batch's runs in all, or\n"
              "with /day or /month every run of the state directory today or this month (UTC);\n"
              "replaces the batch file's budget of that scope", &max_units_args);
  if (!resume_only)
    cl.Repeated("max-usd", "", "N[/day|/month]", "the same in US dollars (what local runs are quoted)", &max_usd_args);
  if (!resume_only)
    cl.Value("out", "", "DIR", "where artifacts go: DIR/RUN (default OUT/RUN, OUT the out_dir setting: ./sogni-out)", &out_dir);
  cl.Value("state-dir", "", "DIR", "the state directory (default: the state_dir setting, see config; ./.sogni-flow)", &state_dir);
  if (!resume_only) cl.Flag("sandbox", "", "run against the local simulator, started in-process", &backend_options.sandbox);
  cl.Value("api-url", "", "URL", "the API (default: the api_url setting, see config; https://api.sogni.ai)", &backend_options.api_url);
  cl.Value("api-key-file", "", "FILE", "read the API key from FILE (mode 0600)", &backend_options.api_key_file);
  resume_cl.Epilog("exit codes: 0 every unfinished run completed (or none was left), 1 a run failed, 2 the batch\n"
                   "file or a plan is invalid, 3 auth, 4 unavailable (run it again), 6 local state (or another\n"
                   "batch run of this batch is running), 7 security, 8 --timeout expired, 130 interrupted\n\n"
                   "examples:\n"
                   "  SOGNI_API_KEY=... sogni-flow batch resume samples/nightly.batch.yaml -q\n");
  run_cl.Epilog("exit codes: 0 every run completed (or was already), 1 a run failed, 2 the batch file or a plan\n"
            "is invalid, 3 auth, 4 unavailable (run it again), 5 cost gate (nothing was started: a plan\n"
            "over its budget; or runs over a ceiling were left out and all else went well), 6 local state (or another\n"
            "batch run of this batch is running), 7 security, 8 --timeout expired, 130 interrupted (run\n"
            "it again)\n\n"
            "examples:\n"
            "  sogni-flow batch run samples/nightly.batch.yaml --sandbox\n"
            "  SOGNI_API_KEY=... sogni-flow batch run samples/nightly.batch.yaml -j 8 --timeout 6h\n"
            "  sogni-flow batch run samples/nightly.batch.yaml --sandbox --max-units 500/day --max-usd 2/month\n\n"
            "a batch file:\n"
            "  version: 1\n"
            "  kind: batch\n"
            "  name: nightly-products\n"
            "  concurrency: 4\n"
            "  budget: {day: {max_units: 5000}, month: {max_units: 60000, max_usd: 200}}\n"
            "  entries:\n"
            "    - plan: plans/product-shot.yaml\n"
            "      matrix: {product: [kettle, toaster], size: [square, wide]}\n"
            "    - plan: plans/teaser.yaml\n"
            "      rows: products.csv\n");
  std::vector<std::string> rest;
  Status s = cl.Parse(args, &rest);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << me << s.message() << "\n", kExitInvalid;
  if (rest.size() != 1) return ctx.err << "sogni-flow batch run: give one batch file (see --help)\n", kExitInvalid;
  if (drive.detach && backend_options.sandbox)
    return ctx.err << "sogni-flow batch run: --detach leaves the workflows to a server that outlives this command; "
                      "--sandbox runs the simulator inside it\n",
           kExitInvalid;
  std::optional<double> max_tokens;
  if (!max_tokens_text.empty()) {
    std::optional<double> v = ParseDecimal(max_tokens_text);
    if (!v || *v > 1e15)
      return ctx.err << "sogni-flow batch run: --max-tokens wants a number of tokens (0 or more); the value given is "
                        "not one\n", kExitInvalid;
    max_tokens = *v;
  }
  const std::string& file = rest[0];
  DiagnosticList diags;
  Result<Batch> batch = LoadBatch(file, &diags);
  PrintDiagnostics(diags, ctx.err);
  if (!batch.ok()) return ctx.err << me << file << " is invalid\n", kExitInvalid;
  // -j, else the batch's concurrency, else the jobs setting.
  Setting jobs = Configured(ctx, SettingKey::kJobs);
  if (batch->concurrency > 0) jobs = Setting{std::to_string(batch->concurrency), file + ": concurrency"};
  if (Status d = flags.Finish(jobs); !d.ok()) return ctx.err << me << d.message() << "\n", kExitInvalid;
  drive.hint_args = StateDirHint(state_dir);
  Result<std::vector<LedgerCeiling>> ceilings = Ceilings(*batch, max_units_args, max_usd_args);
  if (!ceilings.ok()) return ctx.err << me << ceilings.status().message() << "\n", kExitInvalid;

  // Every run's plan, checked and gated, before anything is stored or sent.
  std::vector<Planned> planned;
  std::vector<PreparedPlan> prepared(batch->run_count());
  int worst = kExitOk;
  size_t i = 0;
  BatchEnvironment environment(ctx.environ);
  Context checking = ctx;  // the same streams, the batch's environment
  checking.environ = environment.get();
  for (const BatchEntry& e : batch->entries) {
    for (const BatchRun& r : e.runs) {
      Planned p{.run = &r, .entry = &e};
      if (Status st = Prepare(e.plan_path, ParamsOf(r), checking, &prepared[i]); !st.ok()) {
        ctx.err << "sogni-flow batch run: run " << TerminalText(r.name) << ": " << TerminalText(st.message()) << "\n";
        worst = WorseExitCode(worst, ExitCodeFor(st));
      }
      p.digest = prepared[i].digest;
      planned.push_back(std::move(p));
      ++i;
    }
  }
  if (worst != kExitOk) return ctx.err << "sogni-flow batch run: nothing was started\n", worst;
  if (Status twice = SameWorkTwice(planned); !twice.ok())
    return ctx.err << me << twice.message() << "; nothing was started\n", kExitInvalid;

  Result<std::unique_ptr<StateDir>> dir = OpenState("batch run", state_dir, StateAccess::kWrite, ctx);
  if (!dir.ok()) return ctx.err << me << dir.status().message() << "\n", ExitCodeFor(dir.status());
  RunStore& store = (*dir)->store();
  Result<std::unique_ptr<RunLease>> batch_lease = LeaseBatch(**dir, batch->name, me, ctx);
  if (!batch_lease.ok())
    return ctx.err << me << batch_lease.status().message() << "\n", ExitCodeFor(batch_lease.status());
  if (Status d = Decide(store, batch->name, &planned); !d.ok())
    return ctx.err << me << d.message() << "\n", ExitCodeFor(d);
  size_t to_start = 0, to_resume = 0, skipped = 0;
  size_t left = 0;  // batch resume: runs it leaves to batch run
  for (Planned& p : planned) {
    if (resume_only && p.decision == Decision::kNew) {
      p.decision = Decision::kSkip;
      p.why += "; left to batch run: batch resume starts nothing new";
      ++left;
      if (!drive.quiet) ctx.err << batch->name << ": leave " << TerminalText(p.run->name) << " (" << TerminalText(p.why) << ")\n";
      continue;
    }
    if (!drive.quiet)
      ctx.err << batch->name << ": " << DecisionName(p.decision) << " " << TerminalText(p.run->name) << " ("
              << TerminalText(p.why) << ")\n";
    (p.decision == Decision::kNew ? to_start : p.decision == Decision::kResume ? to_resume : skipped)++;
  }
  if (to_start == 0 && to_resume == 0) {
    if (!drive.quiet && left == 0) ctx.err << batch->name << ": nothing to do: all " << skipped << " runs completed, unchanged\n";
    if (!drive.quiet && left > 0)
      ctx.err << batch->name << ": nothing to resume: no run of it is unfinished (" << left << " left to batch run)\n";
    return kExitOk;
  }
  const std::string out_root = out_dir.empty() ? Configured(ctx, SettingKey::kOutDir).value : out_dir;
  if (Status o = resume_only ? Status::OK() : CheckWritableDirectory(out_root); !o.ok())
    return ctx.err << "sogni-flow batch run: the artifacts could not be saved: " << o.message() << "\n", ExitCodeFor(o);
  Result<std::unique_ptr<Backend>> backend = OpenBackend(backend_options, ctx, &ctx.err);
  if (!backend.ok()) return ctx.err << me << backend.status().message() << "\n", ExitCodeFor(backend.status());
  // A run to resume belongs to its own endpoint and key: one of another is left to `resume`, and
  // nothing is sent for it (a state directory may come from elsewhere; see cmd_resume.cc).
  const std::string fingerprint = AccountFingerprint((*backend)->api_key);
  for (Planned& p : planned) {
    if (p.decision != Decision::kResume) continue;
    if (p.newest->account != fingerprint || p.newest->api_url != (*backend)->api_url) {
      ctx.err << "sogni-flow batch run: run " << p.newest->id << " (" << TerminalText(p.run->name)
              << ") belongs to another account or endpoint; resume it with: sogni-flow resume " << p.newest->id
              << drive.hint_args << "\n";
      worst = WorseExitCode(worst, kExitAuth);
      p.decision = Decision::kSkip;
      --to_resume;
    }
  }
  {
    // As in `run`: a Ctrl-C while the endpoint is checked or a local plan is quoted stops before
    // anything is stored or sent.
    struct Reset {
      ~Reset() { SetRetryWaitsInterrupted(false); }
    } reset;
    InterruptGuard guard([] { SetRetryWaitsInterrupted(true); });
    Status b = CheckBackend(**backend);
    if (guard.interrupted()) return ctx.err << "sogni-flow batch run: interrupted before anything new was stored or sent\n", kExitInterrupted;
    if (!b.ok()) return ctx.err << me << b.message() << "\n", ExitCodeFor(b);
    // Each local run is quoted and gated alone (its plan's budget), then the batch as a whole:
    // --max-tokens and the balance hold for every new local run together, before any is paid.
    std::map<std::string, double> batch_tokens;  // by token type
    for (size_t k = 0; k < planned.size(); ++k) {
      if (planned[k].decision != Decision::kNew || !prepared[k].local) continue;
      SpecQuoteTotals totals;
      Status q = QuoteAndGate(prepared[k], **backend, max_tokens, ctx, &totals, drive.quiet);
      if (guard.interrupted()) return ctx.err << "sogni-flow batch run: interrupted before anything new was stored or sent\n", kExitInterrupted;
      if (!q.ok()) return ctx.err << "sogni-flow batch run: run " << TerminalText(planned[k].run->name) << ": " << q.message()
                                  << "\n", ExitCodeFor(q);
      for (const auto& [tt, n] : totals.tokens) batch_tokens[tt] += n;
    }
    for (const auto& [tt, tokens] : batch_tokens) {
      char line[200];
      if (max_tokens && tokens > *max_tokens) {
        std::snprintf(line, sizeof line, "the batch's new local runs are quoted at %.4f %s tokens together, over --max-tokens %.4f",
                      tokens, tt.c_str(), *max_tokens);
        return ctx.err << me << line << "; nothing was sent\n", kExitCostGate;
      }
      Result<double> balance = AccountBalance(*(*backend)->client, tt);
      if (!balance.ok())
        return ctx.err << "sogni-flow batch run: the account balance could not be read: "
                       << (*backend)->client->Redact(balance.status().message()) << "\n", ExitCodeFor(balance.status());
      if (*balance < tokens) {
        std::snprintf(line, sizeof line, "the account holds %.4f %s tokens; the batch's new local runs are quoted at %.4f together",
                      *balance, tt.c_str(), tokens);
        return ctx.err << me << line << "; nothing was sent (top up the account first)\n", kExitAuth;
      }
    }
  }
  // A run another process drives (resume --all, say) is left to it: said, and the others go on.
  std::vector<std::string> run_ids;
  std::vector<std::unique_ptr<RunLease>> leases;
  for (const Planned& p : planned) {
    if (p.decision != Decision::kResume) continue;
    Result<std::unique_ptr<RunLease>> lease = (*dir)->AcquireRunLease(p.newest->id);
    if (!lease.ok()) {
      ctx.err << me << lease.status().message() << " (" << TerminalText(p.run->name) << " skipped)\n";
      worst = WorseExitCode(worst, ExitCodeFor(lease.status()));
      continue;
    }
    if (!(*lease)->notice().empty()) ctx.err << me << (*lease)->notice() << "\n";
    leases.push_back(std::move(*lease));
    run_ids.push_back(p.newest->id);
  }
  // New runs in the batch file's order; one that would cross a ceiling of the ledger is left out
  // (the store checks it in the transaction that would store it) and the others go on.
  struct LeftOut {
    const Planned* planned;
    LedgerAmount cost;
    std::string why;
  };
  std::vector<LeftOut> left_out;
  for (size_t k = 0; k < planned.size(); ++k) {
    if (planned[k].decision != Decision::kNew) continue;
    Result<std::string> id = CreateRun(prepared[k], **backend, **dir, &leases, out_root, /*per_run_dir=*/true,
                                       drive.no_cache, ctx, BatchMark{batch->name, planned[k].run->name, *ceilings});
    if (!id.ok() && id.status().code() == Status::Code::kCostGate) {
      left_out.push_back(LeftOut{&planned[k], CostOf(prepared[k]).Total(), id.status().message()});
      if (!drive.quiet)
        ctx.err << batch->name << ": not started " << TerminalText(planned[k].run->name) << ": " << id.status().message() << "\n";
      continue;
    }
    if (!id.ok()) {
      ctx.err << "sogni-flow batch run: run " << TerminalText(planned[k].run->name) << ": " << id.status().message() << "\n";
      ctx.err << "sogni-flow batch run: the runs stored so far are driven; run the batch again for the others\n";
      worst = WorseExitCode(worst, ExitCodeFor(id.status()));
      break;
    }
    run_ids.push_back(*id);
    if (!drive.quiet) ctx.err << "run " << *id << " (" << TerminalText(planned[k].run->name) << ")\n";
  }
  if (!run_ids.empty()) worst = WorseExitCode(worst, DriveAndReport(resume_only ? "batch resume" : "batch run", ctx, store, **backend, run_ids, drive));
  // A ceiling bounds what is started, at its estimate; a charge above its estimate can still take
  // a scope past it. Said (with -q too), never hidden: the next batch run counts the charges.
  const LedgerPayer payer = LedgerPayer::Of(fingerprint, (*backend)->api_url);
  for (const LedgerCeiling& c : *ceilings) {
    Result<LedgerSpent> spent = store.Spent(c.scope, batch->name, payer);
    if (!spent.ok()) continue;
    const std::string scope = LedgerScopeText(c.scope, spent->key);
    if (c.max_units && !WithinCeiling(spent->amount.units, *c.max_units))
      ctx.err << batch->name << ": warning: " << TerminalText(scope) << " now counts " << LedgerFigure(spent->amount.units)
              << " units, past its ceiling of " << LedgerFigure(*c.max_units) << " (" << TerminalText(c.origin)
              << "): charges came above their estimates\n";
    if (c.max_usd && !WithinCeiling(spent->amount.usd, *c.max_usd))
      ctx.err << batch->name << ": warning: " << TerminalText(scope) << " now counts $" << LedgerFigure(spent->amount.usd)
              << ", past its ceiling of $" << LedgerFigure(*c.max_usd) << " (" << TerminalText(c.origin)
              << "): charges came above their quotes\n";
  }
  if (!left_out.empty()) {
    // Said last, and with -q too: it is what the batch did not do.
    ctx.err << batch->name << ": " << left_out.size() << " run" << (left_out.size() == 1 ? " was" : "s were")
            << " not started: each would cross a ceiling of the ledger (see sogni-flow ledger" << drive.hint_args << ")\n";
    std::vector<std::vector<std::string>> table = {{"RUN", "UNITS", "USD", "WHY"}};
    for (const LeftOut& l : left_out)
      table.push_back({TerminalText(l.planned->run->name), LedgerFigure(l.cost.units), "$" + LedgerFigure(l.cost.usd),
                       TerminalText(l.why)});
    PrintColumns(table, {false, true, true, false}, ctx.err);
    // Exit 5 when everything else went well: a failure (1), an outage (4), a timeout (8) or an
    // interrupt (130) says more about what to do next (run again now) than runs waiting for budget.
    if (worst == kExitOk) worst = kExitCostGate;
  }
  if (drive.json && (!left_out.empty() || !run_ids.empty())) {
    for (const LeftOut& l : left_out) {
      Value o = Value::Object();
      o.Set("event", Value::String("not_started"));
      o.Set("run", Value::String(l.planned->run->name));
      o.Set("units", Value::Double(l.cost.units));
      o.Set("usd", Value::Double(l.cost.usd));
      o.Set("why", Value::String(l.why));
      ctx.out << o.ToJson() << "\n";
    }
    Value o = Value::Object();
    o.Set("event", Value::String("batch_summary"));
    o.Set("batch", Value::String(batch->name));
    o.Set("started", Value::Int(static_cast<int64_t>(run_ids.size())));
    o.Set("notStarted", Value::Int(static_cast<int64_t>(left_out.size())));
    o.Set("exitCode", Value::Int(worst));
    ctx.out << o.ToJson() << "\n";
  }
  return worst;
}

// Cancels the newest run of each run of the batch that has not ended, through `sogni-flow cancel`
// (its intent committed before the request, local runs' projects too), one after the other.
int BatchCancel(const std::vector<std::string>& args, Context& ctx) {
  std::string state_dir, api_url, api_key_file;
  CommandLine cl("batch cancel FILE [--state-dir DIR] [--api-url URL] [--api-key-file FILE]",
                 "Cancels every run of a batch file that has not ended (its newest run), as `sogni-flow\n"
                 "cancel RUN` cancels one: the cancel intent is committed before the request; a run that\n"
                 "another process drives is asked to stop by the server and ends in that process. Runs that\n"
                 "ended are left alone. A later `batch run` starts the cancelled runs again.");
  cl.Value("state-dir", "", "DIR", "the state directory (default: the state_dir setting, see config; ./.sogni-flow)", &state_dir);
  cl.Value("api-url", "", "URL", "the API, for runs that do not say theirs (default: each run's own)", &api_url);
  cl.Value("api-key-file", "", "FILE", "read the API key from FILE (mode 0600)", &api_key_file);
  cl.Epilog("exit codes: 0 every unfinished run was asked to cancel (or none was left), 2 the batch file is\n"
            "invalid, 3 auth, 4 unavailable, 6 local state; else the worst of the runs' cancels\n\n"
            "examples:\n"
            "  sogni-flow batch cancel samples/nightly.batch.yaml\n");
  std::vector<std::string> rest;
  Status s = cl.Parse(args, &rest);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow batch cancel: " << s.message() << "\n", kExitInvalid;
  if (rest.size() != 1) return ctx.err << "sogni-flow batch cancel: give one batch file (see --help)\n", kExitInvalid;
  DiagnosticList diags;
  Result<Batch> batch = LoadBatch(rest[0], &diags);
  PrintDiagnostics(diags, ctx.err);
  if (!batch.ok()) return kExitInvalid;
  std::vector<std::string> unfinished;
  {
    Result<std::unique_ptr<StateDir>> dir = OpenState("batch cancel", state_dir, StateAccess::kRead, ctx);
    if (!dir.ok() && dir.status().code() == Status::Code::kNotFound)
      return ctx.err << "sogni-flow batch cancel: nothing to cancel: " << dir.status().message() << "\n", kExitOk;
    if (!dir.ok()) return ctx.err << "sogni-flow batch cancel: " << dir.status().message() << "\n", ExitCodeFor(dir.status());
    Result<std::map<std::string, RunRecord>> newest = NewestRuns((*dir)->store(), batch->name);
    if (!newest.ok()) return ctx.err << "sogni-flow batch cancel: " << newest.status().message() << "\n", ExitCodeFor(newest.status());
    for (const auto& [entry, run] : *newest)
      if (!IsTerminal(run.status)) unfinished.push_back(run.id);
  }  // closed: each cancel below opens the state directory itself
  if (unfinished.empty()) return ctx.err << batch->name << ": nothing to cancel: no run of it is unfinished\n", kExitOk;
  int worst = kExitOk;
  for (const std::string& id : unfinished) {
    std::vector<std::string> cancel = {id};
    if (!state_dir.empty()) cancel.insert(cancel.end(), {"--state-dir", state_dir});
    if (!api_url.empty()) cancel.insert(cancel.end(), {"--api-url", api_url});
    if (!api_key_file.empty()) cancel.insert(cancel.end(), {"--api-key-file", api_key_file});
    worst = WorseExitCode(worst, RunCancel(cancel, ctx));
  }
  return worst;
}

}  // namespace

int RunBatch(const std::vector<std::string>& args, Context& ctx) {
  const std::string action = args.empty() ? "" : args[0];
  std::vector<std::string> rest(args.begin() + (args.empty() ? 0 : 1), args.end());
  if (action == "run") return BatchRun_(rest, ctx, /*resume_only=*/false);
  if (action == "resume") return BatchRun_(rest, ctx, /*resume_only=*/true);
  if (action == "status") return BatchStatus(rest, ctx);
  if (action == "cancel") return BatchCancel(rest, ctx);
  if (action == "report") return RunReport(rest, ctx);  // the batch file names its batch
  if (action == "--help" || action == "-h" || action.empty()) {
    (action.empty() ? ctx.err : ctx.out)
        << "usage: sogni-flow batch run|resume|status|cancel|report FILE [OPTIONS]\n\n"
           "A batch file (kind: batch) names plans, each over a matrix of params; 'batch run' runs what\n"
           "is not done yet, 'batch resume' only finishes what a batch run started, 'batch status' says\n"
           "what 'batch run' would do, 'batch cancel' cancels its unfinished runs, 'batch report' writes\n"
           "an HTML page of its runs (as 'sogni-flow report FILE').\n"
           "'sogni-flow batch run --help' explains.\n\n"
           "exit codes: 0 shown, 2 no action given\n\n"
           "examples:\n"
           "  sogni-flow batch status samples/nightly.batch.yaml\n";
    return action.empty() ? kExitInvalid : kExitOk;
  }
  if (!action.empty() && action[0] == '-')  // an option before the action: never echoed (it may hold a key)
    return ctx.err << "sogni-flow batch: give the action first: batch run|resume|status|cancel|report FILE [OPTIONS]\n", kExitInvalid;
  ctx.err << "sogni-flow batch: unknown action '" << CommandLine::Shown(action) << "' (run, resume, status, cancel, report)\n";
  return kExitInvalid;
}

}  // namespace sflow
