// sogni-flow status [RUN] : the stored runs (read-only; takes no lock).
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/state_access.h"
#include "engine/json.h"
#include "runner/local/local_spec.h"
#include "store/run_rows.h"

namespace sflow {

namespace {

// The run's summary; a store error (a damaged row) fails it, never shows as zero.
Result<Value> RunSummary(StateDir& dir, const RunRecord& run) {
  RunStore& store = dir.store();
  Value v = Value::Object();
  v.Set("run", Value::String(run.id));
  v.Set("plan", Value::String(Printable(run.plan_path)));  // a path's bytes may not be UTF-8
  v.Set("status", Value::String(Name(run.status)));
  // Asked for and accepted by the server, but the run's end is not stored yet.
  v.Set("cancelRequested", Value::Bool(run.cancel_requested_at > 0 && !IsTerminal(run.status)));
  Value driver = Value();
  if (Result<std::optional<ProcessIdentity>> who = dir.RunDriver(run.id); who.ok() && *who) {
    driver = Value::Object();
    driver.Set("pid", Value::Int((*who)->pid));
    driver.Set("host", Value::String((*who)->host));
    driver.Set("since", Value::String((*who)->started));
  }
  v.Set("driver", driver);
  v.Set("workflowId", Value::String(run.workflow_id));
  Result<int64_t> events = store.CountEvents(run.id);
  if (!events.ok()) return events.status();
  v.Set("events", Value::Int(*events));
  v.Set("cursor", Value::Int(run.cursor));
  Result<std::vector<ArtifactRecord>> arts = store.ListArtifacts(run.id);
  if (!arts.ok()) return arts.status();
  int64_t done = 0, all = static_cast<int64_t>(arts->size());
  for (const ArtifactRecord& a : *arts) done += a.state == ArtifactState::kDone;
  v.Set("artifacts", Value::Int(all));
  v.Set("artifactsDone", Value::Int(done));
  v.Set("outDir", Value::String(Printable(run.out_dir)));
  return v;
}

std::string Text(const Value& v, std::string_view key) {
  const Value* f = v.is_object() ? v.Find(key) : nullptr;
  if (!f || f->is_null()) return "";
  return f->is_string() ? f->as_string() : f->ToJson();
}

// "CODE: MESSAGE (retryable)" for an error object as the contract shapes it ({code, message,
// classification, retryable, ...}); its JSON when it has neither code nor message.
std::string ErrorLine(const Value& error) {
  std::string code = Text(error, "code"), message = Text(error, "message");
  if (code.empty() && message.empty()) return error.ToJson();
  std::string line = code.empty() ? message : message.empty() ? code : code + ": " + message;
  for (char& c : line)  // the server's text: no control characters reach the terminal
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  const Value* retryable = error.Find("retryable");
  if (retryable && retryable->is_bool()) line += retryable->as_bool() ? " (retryable)" : " (not retryable)";
  return line;
}

// The error of each failed step: the one stored with the step, else the one in its stored
// step_failed event (data.error). Steps in plan order; a failed step without either gets null.
std::vector<std::pair<std::string, Value>> FailedSteps(RunStore& store, const RunRecord& run) {
  std::vector<std::pair<std::string, Value>> failed;
  bool need_events = false;
  for (const StepRecord& st : run.steps) {
    if (st.status != RunStatus::kFailed) continue;
    failed.emplace_back(st.step_id, st.error.is_object() ? st.error : Value());
    need_events |= !st.error.is_object();
  }
  if (!need_events) return failed;
  Result<std::vector<EventRecord>> events = store.ListEvents(run.id, 0, 0);
  if (!events.ok()) return failed;
  for (const EventRecord& e : *events) {
    if (e.type != "step_failed") continue;
    Result<Value> record = ParseJson(e.json);
    if (!record.ok()) continue;
    const Value* data = record->Find("data");
    if (!data || !data->is_object()) continue;
    const Value* error = data->Find("error");
    std::string step = Text(*data, "stepId");
    for (auto& [id, err] : failed)
      if (id == step && !err.is_object() && error && error->is_object()) err = *error;
  }
  return failed;
}

// A local run's steps with what each was quoted and charged: the step's newest project of this
// run (its quote and final charge), or, for a step taken from the step cache, the project it was
// copied from (charge 0) and the quote `run` stored in the spec. Totals by token type. A spec
// that cannot be read (damage) leaves the quotes null; a project row that cannot be, fails.
Result<Value> LocalSteps(RunStore& store, const RunRecord& run, Value* totals) {
  Result<std::vector<ProjectRecord>> projects = store.ListProjects(run.id);
  if (!projects.ok()) return projects.status();
  std::map<std::string, const ProjectRecord*> newest;
  for (const ProjectRecord& p : *projects) newest[p.step_id] = &p;
  Result<LocalSpec> spec = SpecFromValue(run.spec);
  auto number = [](std::optional<double> d) { return d ? Value::Double(*d) : Value(); };
  std::map<std::string, std::pair<double, double>> sums;  // token type -> quoted, charged
  double usd = 0;
  Value steps = Value::Array();
  for (const StepRecord& st : run.steps) {
    const SpecStep* ss = spec.ok() ? spec->Find(st.step_id) : nullptr;
    auto it = newest.find(st.step_id);
    const ProjectRecord* p = it == newest.end() ? nullptr : it->second;
    const bool cached = !p && !st.remote_id.empty() && st.status == RunStatus::kCompleted;
    std::optional<double> quote, quote_usd, charge;
    std::string token_type = ss ? ss->token_type : "";
    if (p && p->quote) quote = p->quote, quote_usd = p->quote_usd, token_type = p->token_type.empty() ? token_type : p->token_type;
    else if (ss && ss->quote_tokens >= 0) quote = ss->quote_tokens, quote_usd = ss->quote_usd;
    if (p) charge = p->charge;
    if (cached) charge = 0.0;
    Value v = Value::Object();
    v.Set("step", Value::String(st.step_id));
    v.Set("status", Value::String(Name(st.status)));
    v.Set("projectId", st.remote_id.empty() ? Value() : Value::String(st.remote_id));
    v.Set("projectState", p ? Value::String(Name(p->state)) : Value());
    v.Set("cached", Value::Bool(cached));
    v.Set("tokenType", token_type.empty() ? Value() : Value::String(token_type));
    v.Set("quoteTokens", number(quote));
    v.Set("quoteUsd", number(quote_usd));
    v.Set("chargeTokens", number(charge));
    steps.Append(std::move(v));
    if (quote && !token_type.empty()) sums[token_type].first += *quote;
    if (charge && !token_type.empty()) sums[token_type].second += *charge;
    usd += quote_usd.value_or(0);
  }
  *totals = Value::Object();
  for (const auto& [tt, sum] : sums) {
    Value t = Value::Object();
    t.Set("quoted", Value::Double(sum.first));
    t.Set("charged", Value::Double(sum.second));
    totals->Set(tt, t);
  }
  totals->Set("quoteUsd", Value::Double(usd));
  return steps;
}

std::string Figure(const Value* v, const char* format) {
  if (!v || !v->is_number()) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v->as_number());
  return buf;
}

// The per-step table of one local run, and its totals.
void PrintLocalSteps(const Value& steps, const Value& totals, std::ostream& out) {
  std::vector<std::vector<std::string>> rows = {{"STEP", "STATUS", "PROJECT", "QUOTE", "USD", "CHARGE"}};
  for (const Value& st : steps.items()) {
    const Value* tt = st.Find("tokenType");
    std::string unit = tt && tt->is_string() ? " " + tt->as_string() : "";
    const Value* project = st.Find("projectId");
    std::string charge = Figure(st.Find("chargeTokens"), "%.4f");
    if (st.Find("cached")->as_bool()) charge = "0 (cached)";
    else if (charge != "-") charge += unit;
    std::string quote = Figure(st.Find("quoteTokens"), "%.4f");
    rows.push_back({st.Find("step")->as_string(), st.Find("status")->as_string(),
                    project->is_string() ? project->as_string() : "-", quote == "-" ? quote : quote + unit,
                    Figure(st.Find("quoteUsd"), "$%.4f"), charge});
  }
  std::vector<size_t> width(6, 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) line += "  " + r[i] + (i + 1 < r.size() ? std::string(width[i] - r[i].size(), ' ') : "");
    out << line << "\n";
  }
  for (const Value::Member& m : totals.members()) {
    if (m.key == "quoteUsd") continue;
    out << "  total " << m.key << ": quoted " << Figure(m.value.Find("quoted"), "%.4f") << ", charged "
        << Figure(m.value.Find("charged"), "%.4f") << "\n";
  }
  out << "  total quoted: about " << Figure(totals.Find("quoteUsd"), "%.4f") << " USD\n";
}

}  // namespace

int RunStatusCommand(const std::vector<std::string>& args, Context& ctx) {
  bool json = false;
  std::string state_dir;
  CommandLine cl("status [RUN] [--state-dir DIR] [--json]",
                 "Lists stored runs (newest first) or one run: status, workflow id, events stored,\n"
                 "artifacts downloaded, whether a cancel was requested and which process drives the run now.\n"
                 "One run also shows why it failed: the run's error and each failed step's (code, message,\n"
                 "whether a retry may succeed). Reads the state store only: no lock, no network; works in a\n"
                 "read-only state directory.");
  cl.Flag("json", "", "one JSON object per run on stdout", &json);
  cl.Value("state-dir", "", "DIR", "the state directory (default: the state_dir setting, see config; ./.sogni-flow)", &state_dir);
  cl.Epilog("exit codes: 0 shown (also when there are no runs yet), 2 usage or unknown run, 6 the state store\n"
            "cannot be read, 7 the state directory is refused (writable by others, another user's)\n\n"
            "examples:\n"
            "  sogni-flow status\n"
            "  sogni-flow status r-20261123-101500-3f2a --json\n");
  std::vector<std::string> runs;
  Status s = cl.Parse(args, &runs);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow status: " << s.message() << "\n", kExitInvalid;
  if (runs.size() > 1) return ctx.err << "sogni-flow status: give at most one run id\n", kExitInvalid;
  Result<std::unique_ptr<StateDir>> dir = OpenState("status", state_dir, StateAccess::kRead, ctx);
  if (!dir.ok()) {
    if (dir.status().code() == Status::Code::kNotFound && runs.empty())
      return ctx.err << "no runs yet in " << StateDirPath(state_dir, ctx) << "\n", kExitOk;
    return ctx.err << "sogni-flow status: " << dir.status().message() << "\n", ExitCodeFor(dir.status());
  }
  RunStore& store = (*dir)->store();
  std::vector<RunRecord> list;
  if (!runs.empty()) {
    Result<RunRecord> r = store.GetRun(runs[0]);
    if (!r.ok()) return ctx.err << "sogni-flow status: " << r.status().message() << "\n", ExitCodeFor(r.status());
    list.push_back(std::move(*r));
  } else {
    Result<std::vector<RunRecord>> all = store.ListRuns({});
    if (!all.ok()) return ctx.err << "sogni-flow status: " << all.status().message() << "\n", ExitCodeFor(all.status());
    list = std::move(*all);
  }
  for (const RunRecord& run : list) {
    Result<Value> summary = RunSummary(**dir, run);
    if (!summary.ok()) return ctx.err << "sogni-flow status: " << summary.status().message() << "\n", ExitCodeFor(summary.status());
    Value v = *summary;
    // One run asked for by id: also why it failed (the run's error and each failed step's).
    std::vector<std::pair<std::string, Value>> failed;
    if (!runs.empty()) failed = FailedSteps(store, run);
    if (json) {
      if (!runs.empty()) {
        if (run.error.is_object()) v.Set("error", run.error);
        Value steps = Value::Array();
        for (const auto& [id, error] : failed) {
          Value step = Value::Object();
          step.Set("step", Value::String(id));
          step.Set("status", Value::String("failed"));
          step.Set("error", error);
          steps.Append(step);
        }
        v.Set("failedSteps", steps);
        if (run.execution == Execution::kLocal) {
          Value totals;
          Result<Value> local = LocalSteps(store, run, &totals);
          if (!local.ok()) return ctx.err << "sogni-flow status: " << local.status().message() << "\n", ExitCodeFor(local.status());
          v.Set("steps", *local);
          v.Set("totals", totals);
        }
      }
      ctx.out << v.ToJson() << "\n";
    } else {
      const Value* driver = v.Find("driver");
      ctx.out << run.id << "  " << Name(run.status) << (v.Find("cancelRequested")->as_bool() ? " (cancel requested)" : "")
              << "  " << (run.workflow_id.empty() ? "-" : run.workflow_id)
              << "  events " << v.Find("events")->as_int() << "  artifacts " << v.Find("artifactsDone")->as_int()
              << "/" << v.Find("artifacts")->as_int() << "  " << run.plan_path;
      if (driver->is_object())
        ctx.out << "  (driven by pid " << driver->Find("pid")->as_int() << " on host " << driver->Find("host")->as_string() << ")";
      ctx.out << "\n";
      if (!runs.empty() && run.error.is_object()) ctx.out << "  error: " << ErrorLine(run.error) << "\n";
      for (const auto& [id, error] : failed)
        ctx.out << "  step " << id << " failed: " << (error.is_object() ? ErrorLine(error) : "no error recorded")
                << "\n";
      if (!runs.empty() && run.execution == Execution::kLocal) {
        Value totals;
        Result<Value> local = LocalSteps(store, run, &totals);
        if (!local.ok()) return ctx.err << "sogni-flow status: " << local.status().message() << "\n", ExitCodeFor(local.status());
        PrintLocalSteps(*local, totals, ctx.out);
      }
    }
  }
  return kExitOk;
}

}  // namespace sflow
