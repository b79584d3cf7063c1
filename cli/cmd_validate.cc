// sogni-flow validate PLAN... : offline checks, exit 0 when every plan is valid, 2 otherwise.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/plan_check.h"
#include "engine/json.h"
#include "runner/approval.h"
#include "plans/batch_loader.h"

namespace sflow {

namespace {

// A batch file (kind: batch): its own shape, then every run's plan with that run's params. A
// diagnostic that several runs share (the plan's own, whatever the params) is printed once, and
// each failing run is named with its place in the batch file. Returns whether all is valid.
bool ValidateBatch(const std::string& path, bool json, bool quiet, Context& ctx, int* warnings) {
  DiagnosticList diags(path);
  Result<Batch> batch = LoadBatch(path, &diags);
  std::vector<Diagnostic> all = diags.Sorted();
  std::set<std::string> printed;
  size_t runs = 0, invalid_runs = 0;
  PrintDiagnostics(diags, ctx.err);
  BatchEnvironment environment(ctx.environ);
  std::map<std::string, std::string> by_digest;  // the same work twice (a default written out): invalid
  if (batch.ok()) {
    for (const BatchEntry& e : batch->entries) {
      for (const BatchRun& r : e.runs) {
        ++runs;
        CheckedPlan c = CheckPlan(e.plan_path, DefaultCatalog(), ParamsOf(r), environment.get(), ValidateOptions());
        *warnings += c.diags.warning_count();
        for (const Diagnostic& d : c.diags.Sorted()) {
          if (printed.insert(FormatDiagnostic(d)).second) {
            ctx.err << FormatDiagnostic(d) << "\n";
            all.push_back(d);
          }
        }
        if (c.ok()) {
          Result<std::string> digest = PlanDigest(c.plan, c.analysis);
          if (digest.ok()) {
            auto [it, inserted] = by_digest.emplace(e.plan_path + '\n' + *digest, r.name);  // one plan file's work
            if (!inserted) {
              ++invalid_runs;
              ctx.err << path << ":" << r.loc.line << ":" << r.loc.column << ": error: run '" << TerminalText(r.name)
                      << "' is the same work as run '" << TerminalText(it->second)
                      << "' (one plan with the same params once typed: a default written out, or a number spelled two ways)\n";
            }
          }
        }
        if (!c.ok()) {
          ++invalid_runs;
          ctx.err << path << ":" << r.loc.line << ":" << r.loc.column << ": note: run '" << TerminalText(r.name)
                  << "' of this batch is invalid (its plan " << TerminalText(e.plan_path) << " with its params)\n";
        }
      }
    }
  }
  const bool ok = batch.ok() && invalid_runs == 0;
  if (json) {
    Value o = Value::Object();
    o.Set("event", Value::String("batch"));
    o.Set("batch", Value::String(path));
    o.Set("valid", Value::Bool(ok));
    if (batch.ok()) o.Set("name", Value::String(batch->name));
    o.Set("runs", Value::Int(static_cast<int64_t>(runs)));
    o.Set("invalidRuns", Value::Int(static_cast<int64_t>(invalid_runs)));
    Value list = Value::Array();
    for (const Diagnostic& d : all) {
      Result<Value> v = ParseJson(DiagnosticToJson(d));
      if (v.ok()) list.Append(std::move(*v));
    }
    o.Set("diagnostics", list);
    ctx.out << o.ToJson() << "\n";
  } else if (!quiet) {
    ctx.err << path << ": " << (ok ? "valid" : "invalid") << " batch";
    if (batch.ok()) ctx.err << " '" << batch->name << "' (" << runs << (runs == 1 ? " run" : " runs") << " of "
                            << batch->entries.size() << (batch->entries.size() == 1 ? " plan" : " plans")
                            << (invalid_runs ? ", " + std::to_string(invalid_runs) + " invalid" : "") << ")";
    ctx.err << "\n";
  }
  return ok;
}

}  // namespace

int RunValidate(const std::vector<std::string>& args, Context& ctx) {
  bool json = false, quiet = false;
  ParamOptions params;
  CommandLine cl("validate PLAN... [-p NAME=VALUE]... [--param-file FILE]... [-q] [--json]",
                 "Checks plans offline, the way the API will: the plan's shape and keys, params and their\n"
                 "values, each tool's arguments against its official schema, the dependency graph, local\n"
                 "media, and for a local plan each step's project request as the official SDK builds it (a\n"
                 "model's limits). Every problem is reported as FILE:LINE:COL with a hint where one helps. Every\n"
                 "param needs a value, as for run: a default, -p, --param-file or SOGNI_FLOW_PARAM_<name>.\n"
                 "A batch file (kind: batch) is checked with every run it makes: each plan with that run's\n"
                 "params (-p and --param-file do not apply to it). Reads only: creates no file and opens no\n"
                 "socket.");
  cl.Flag("json", "", "one JSON object per plan on stdout (with its diagnostics), then a summary", &json);
  cl.Flag("quiet", "q", "print only errors and warnings, not the per-plan summary line", &quiet);
  cl.Repeated("param", "p", "NAME=VALUE", "set a param (the last one for a name wins)", &params.assignments);
  cl.Repeated("param-file", "", "FILE", "read params from a YAML or JSON mapping", &params.files);
  cl.Epilog("exit codes: 0 every plan is valid, 2 a plan is invalid or the command line is wrong\n\n"
            "examples:\n"
            "  sogni-flow validate samples/*.yaml\n"
            "  sogni-flow validate plan.yaml -p seconds=8 --json | jq .diagnostics\n");
  std::vector<std::string> plans;
  Status s = cl.Parse(args, &plans);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow validate: " << s.message() << "\n", kExitInvalid;
  if (plans.empty()) return ctx.err << "sogni-flow validate: no plan given\n" << cl.Help(), kExitInvalid;

  int invalid = 0, warnings = 0;
  for (const std::string& path : plans) {
    if (LooksLikeBatchFile(path)) {
      const bool ok = ValidateBatch(path, json, quiet, ctx, &warnings);
      invalid += !ok;
      continue;
    }
    CheckedPlan c = CheckPlan(path, DefaultCatalog(), params, ctx.environ, ValidateOptions());
    PrintDiagnostics(c.diags, ctx.err);
    invalid += !c.ok();
    warnings += c.diags.warning_count();
    if (json) {
      ctx.out << PlanCheckJson(path, c) << "\n";
    } else if (!quiet) {
      ctx.err << path << ": " << (c.ok() ? "valid" : "invalid");
      if (c.loaded) ctx.err << " (" << c.plan.steps.size() << (c.plan.steps.size() == 1 ? " step" : " steps");
      else ctx.err << " (";
      auto count = [](int n, const char* word) { return std::to_string(n) + " " + word + (n == 1 ? "" : "s"); };
      ctx.err << (c.loaded ? ", " : "") << count(c.diags.error_count(), "error") << ", "
              << count(c.diags.warning_count(), "warning") << ")\n";
    }
  }
  if (json) {
    Value summary = Value::Object();
    summary.Set("event", Value::String("summary"));
    summary.Set("plans", Value::Int(static_cast<int64_t>(plans.size())));
    summary.Set("valid", Value::Int(static_cast<int64_t>(plans.size()) - invalid));
    summary.Set("invalid", Value::Int(invalid));
    summary.Set("warnings", Value::Int(warnings));
    ctx.out << summary.ToJson() << "\n";
  }
  return invalid ? kExitInvalid : kExitOk;
}

}  // namespace sflow
