// sogni-flow run PLAN : runs a server plan as one durable workflow, or a local plan as a DAG of
// direct projects; follows it and downloads its results.
#include <chrono>
#include <ctime>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "cli/backend.h"
#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/drive_and_report.h"
#include "cli/exit_codes.h"
#include "cli/settings.h"
#include "cli/local_dry_run.h"
#include "cli/plan_check.h"
#include "cli/state_access.h"
#include "engine/estimate.h"
#include "engine/media.h"
#include "engine/run_id.h"
#include "engine/wire.h"
#include "runner/approval.h"
#include "api/retry_policy.h"
#include "runner/artifact_files.h"
#include "runner/interrupt.h"
#include "runner/media_upload.h"
#include "runner/local/local_spec.h"
#include "runner/local/session_project_service.h"
#include "runner/local/spec_quote.h"
#include "runner/server/server_runner.h"
#include "runner/sha256.h"

namespace sflow {

namespace {

// One plan of the command line, checked and gated, ready to be stored as a run.
struct PreparedPlan {
  std::string path;
  CheckedPlan checked;
  std::string digest;
  StartOptions start;
  ApprovalFile approval;
  std::optional<LocalSpec> local;  // execution: local
};

// Validates `path` (its diagnostics go to ctx.err), computes its digest and applies the cost
// gate. Errors: kInvalidPlan, kCostGate, kIOError (a media file that cannot be read).
Status Prepare(const std::string& path, const ParamOptions& params, Context& ctx, PreparedPlan* out,
               bool dry_run = false) {
  out->path = path;
  out->checked = CheckPlan(path, DefaultCatalog(), params, ctx.environ, ValidateOptions());
  CheckedPlan& c = out->checked;
  PrintDiagnostics(c.diags, ctx.err);
  if (!c.ok()) return Status::InvalidPlan(path + " is invalid");
  if (dry_run && c.plan.kind == PlanKind::kWorkflow && c.plan.execution == Execution::kLocal)
    return Status::OK();  // shown step by step by PrintLocalDryRun; a local run is not gated here
  if (c.plan.kind != PlanKind::kWorkflow)
    return Status::InvalidPlan(path + ": a template is pushed (`sogni-flow templates push`), not run");
  if (c.plan.execution == Execution::kLocal) {
    Result<LocalSpec> spec = BuildLocalSpec(c.plan, c.analysis);
    if (!spec.ok()) return Status::Error(spec.status().code(), path + ": " + spec.status().message());
    out->local = std::move(*spec);
  }
  Result<std::string> digest = PlanDigest(c.plan, c.analysis);
  if (!digest.ok()) return digest.status();
  out->digest = *digest;
  PlanEstimate estimate = EstimatePlan(c.plan, c.analysis);
  std::string param_args;
  // The command the gate suggests repeats the params, each one shell word; a secret param's
  // value is not shown (the person has it; the message may go to a log).
  for (const std::string& f : params.files) param_args += " --param-file " + CommandLine::ShellWord(f);
  for (const std::string& a : params.assignments) {
    std::string name = a.substr(0, a.find('='));
    param_args += " -p " + CommandLine::ShellWord(CommandLine::IsSecretName(name) ? name + "=(its value, not shown)" : a);
  }
  Status gate = CheckCostGate(path, c.plan, out->digest, estimate, std::time(nullptr), &out->start.max_units, param_args,
                              &out->approval);
  if (!gate.ok()) return Status::Error(Status::Code::kCostGate, gate.message());
  return Status::OK();
}

// Uploads the plan's local media, then stores the run and its start intent (nothing is sent).
// --out DIR: with one plan DIR itself; with several DIR/RUN, so that no two runs share files.
// The run's lease is taken before the run is stored, so that no other process (resume --all) can
// take it up before this one drives it; it joins `leases`.
// --no-cache is stored with a local run's spec (each step's noCache), so that `resume` keeps it.
Result<std::string> CreateRun(PreparedPlan& p, Backend& backend, StateDir& dir, std::vector<std::unique_ptr<RunLease>>* leases,
                              const std::string& out_dir, bool per_run_dir, bool no_cache, Context& ctx) {
  RunStore& store = dir.store();
  const CheckedPlan& c = p.checked;
  if (!p.approval.digest.empty()) {  // kept in the state store: which approval let this run start
    ApprovalRecord record;
    record.plan_digest = p.approval.digest;
    record.ceiling = p.approval.max_units;
    record.approved_by = p.approval.approved_by;
    record.expires_at = p.approval.expires_at * 1000;
    record.file_path = ApprovalPathFor(p.path);
    if (Status s = store.RecordApproval(record); !s.ok()) return s;
  }
  Result<StateDir::NewRun> fresh = dir.LeaseNewRun();
  if (!fresh.ok()) return fresh.status();
  const std::string run_id = fresh->run_id;
  leases->push_back(std::move(fresh->lease));
  if (p.local) {
    RunRecord run;
    run.id = run_id;
    run.plan_path = p.path;
    run.plan_name = c.plan.name;
    run.plan_digest = p.digest;
    for (const auto& [name, value] : c.analysis.params) run.params.Set(name, value);
    run.execution = Execution::kLocal;
    run.account = AccountFingerprint(backend.api_key);
    run.api_url = backend.api_url;
    run.out_dir = out_dir.empty() ? Configured(ctx, SettingKey::kOutDir).value + "/" + run_id
                  : per_run_dir   ? out_dir + "/" + run_id
                                  : out_dir;
    if (no_cache)
      for (SpecStep& step : p.local->steps) step.no_cache = true;
    run.spec = SpecToValue(*p.local);
    for (const SpecStep& step : p.local->steps)
      run.steps.push_back(StepRecord{.step_id = step.id, .tool = "project:" + step.type, .artifact_count = step.artifact_count});
    if (Status s = store.CreateRun(run); !s.ok()) return s;
    return run_id;
  }
  Result<std::vector<WireMedia>> media =
      ResolveMedia(c.plan, *backend.client, *backend.transport, "sogni-flow-" + run_id, &ctx.err);
  if (!media.ok()) return Status::Error(media.status().code(), backend.client->Redact(media.status().message()));
  p.start.media = std::move(*media);
  NewServerRun spec;
  spec.plan_path = p.path;
  spec.plan_name = c.plan.name;
  spec.plan_digest = p.digest;
  for (const auto& [name, value] : c.analysis.params) spec.params.Set(name, value);
  spec.start_body = StartBody(c.plan, c.analysis, p.start);
  spec.account = AccountFingerprint(backend.api_key);
  spec.api_url = backend.api_url;
  spec.out_dir = out_dir.empty() ? Configured(ctx, SettingKey::kOutDir).value + "/" + run_id
                 : per_run_dir   ? out_dir + "/" + run_id
                                 : out_dir;
  for (const Step& step : c.plan.steps) spec.step_ids.push_back(step.id);
  return CreateServerRun(store, spec, run_id);
}

// Quotes every step of a local plan (stored into its spec), then gates: the total over
// --max-tokens or the plan's budget.max_tokens (the lower one) is kCostGate (exit 5), a balance
// below it kPermission (exit 3), both before anything is stored or paid.
Status QuoteAndGate(PreparedPlan& p, Backend& backend, std::optional<double> max_tokens, Context& ctx) {
  ctx.err << p.path << ": quoting " << p.local->steps.size() << " project step" << (p.local->steps.size() == 1 ? "" : "s")
          << "\n";
  Result<SpecQuoteTotals> totals = QuoteSpec(*backend.client, p.checked.plan.budget.token_type, &*p.local);
  if (!totals.ok()) return totals.status();
  const std::optional<double>& plan_max = p.checked.plan.budget.max_tokens;
  const bool from_plan = plan_max && (!max_tokens || *plan_max < *max_tokens);
  const std::optional<double> ceiling = from_plan ? plan_max : max_tokens;
  const std::string ceiling_name = from_plan ? "the plan's budget.max_tokens" : "--max-tokens";
  char line[200];
  for (const auto& [tt, tokens] : totals->tokens) {
    std::snprintf(line, sizeof line, "%.4f %s tokens (about %.4f USD)", tokens, tt.c_str(), totals->usd);
    ctx.err << p.path << ": quoted " << line << "\n";
    if (ceiling && tokens > *ceiling) {
      std::snprintf(line, sizeof line, "the quoted total %.4f %s tokens is over %s %.4f", tokens, tt.c_str(),
                    ceiling_name.c_str(), *ceiling);
      return Status::Error(Status::Code::kCostGate,
                           std::string(line) + "; nothing was sent (raise " + ceiling_name + ", or trim the plan)");
    }
    Result<double> balance = AccountBalance(*backend.client, tt);
    if (!balance.ok())
      return Status::Error(balance.status().code(), "the account balance could not be read: " + backend.client->Redact(balance.status().message()));
    if (*balance < tokens) {
      std::snprintf(line, sizeof line, "the account holds %.4f %s tokens, the plan is quoted at %.4f", *balance, tt.c_str(), tokens);
      return Status::Error(Status::Code::kPermission, std::string(line) + "; nothing was sent (top up the account first)");
    }
  }
  return Status::OK();
}

}  // namespace

int RunRun(const std::vector<std::string>& args, Context& ctx) {
  bool dry_run = false;
  ParamOptions params;
  BackendOptions backend_options;
  DriveFlags flags;
  DriveOptions& drive = flags.options;
  std::string state_dir, out_dir, max_tokens_text;
  CommandLine cl("run PLAN... [-p NAME=VALUE]... [--param-file FILE]... [-j N] [--detach] [--timeout D] [--out DIR]\n"
                 "    [--cancel-on-interrupt] [--state-dir DIR] [--sandbox | --api-url URL] [--api-key-file FILE]\n"
                 "    [--max-tokens N] [--no-cache] [--no-download] [--dry-run] [--json]",
                 "Runs plans: a server plan as one durable workflow, a local plan (execution: local) as a DAG\n"
                 "of direct projects driven by sogni-flow itself. Validates every plan first (nothing is sent\n"
                 "if one is invalid or lacks its approval); a local plan is quoted step by step and refused\n"
                 "over --max-tokens or budget.max_tokens (exit 5) or the account's balance (exit 3). Each paid\n"
                 "request (a workflow start with its Idempotency-Key, a project with its id) is committed to\n"
                 "the state store before it is sent; events are stored as they come; every artifact is\n"
                 "downloaded, with a provenance file beside each, to --out (default ./sogni-out/RUN). A local\n"
                 "step whose result the state directory holds is not paid again (--no-cache forces it). An\n"
                 "interrupted run continues with 'sogni-flow resume RUN'. The API key comes from\n"
                 "SOGNI_API_KEY or --api-key-file, never from a flag value.");
  cl.Flag("json", "", "one JSON object per workflow event on stdout, then a summary", &drive.json);
  cl.Flag("dry-run", "",
          "print the exact start request body and stop: nothing is uploaded, sent or stored. For an\n"
          "'execution: local' plan: one JSON line per step in running order, {step, jobRequest,\n"
          "uploads, estimatePath}, with jobID 00000000-0000-4000-8000-000000000000 (the real id is\n"
          "chosen when the step runs)",
          &dry_run);
  cl.Repeated("param", "p", "NAME=VALUE", "set a param (the last one for a name wins)", &params.assignments);
  cl.Repeated("param-file", "", "FILE", "read params from a YAML or JSON mapping", &params.files);
  flags.Register(cl);
  cl.Flag("detach", "", "start the workflows, store them and exit 0 without following", &drive.detach);
  cl.Value("max-tokens", "", "N", "local plans: refuse (exit 5) when the quoted total is over N tokens (and over the\n"
           "plan's budget.max_tokens, whichever is lower)", &max_tokens_text);
  cl.Flag("no-cache", "", "local plans: run every step, even one whose result the state directory holds", &drive.no_cache);
  cl.Flag("no-download", "",
          "server plans: follow each workflow to its end and store its artifacts' records,\n"
          "download nothing ('sogni-flow artifacts RUN' or 'resume RUN' fetches them later);\n"
          "not for local plans, whose results feed the steps after them", &drive.no_download);
  cl.Value("out", "", "DIR", "where artifacts go (default OUT/RUN, OUT the out_dir setting: ./sogni-out; with several plans DIR/RUN)", &out_dir);
  cl.Value("state-dir", "", "DIR", "the state directory (default: the state_dir setting, see config; ./.sogni-flow)", &state_dir);
  cl.Flag("sandbox", "", "run against the local simulator, started in-process", &backend_options.sandbox);
  cl.Value("api-url", "", "URL", "the API (default: the api_url setting, see config; https://api.sogni.ai)", &backend_options.api_url);
  cl.Value("api-key-file", "", "FILE", "read the API key from FILE (mode 0600)", &backend_options.api_key_file);
  cl.Epilog("exit codes: 0 completed, 1 failed/partial_failure/cancelled, 2 invalid plan or usage, 3 auth,\n"
            "4 unavailable (resumable), 5 cost gate, 6 local state (or an --out it cannot write, found before\n"
            "anything is sent), 7 security, 8 --timeout expired (resumable), 130 interrupted (resumable;\n"
            "while a local plan is quoted, before anything is stored or sent, there is nothing to resume).\n"
            "With several plans: the worst run's code.\n\n"
            "examples:\n"
            "  sogni-flow run plan.yaml --sandbox\n"
            "  SOGNI_API_KEY=... sogni-flow run plan.yaml -p seconds=8 --out renders/ --json\n"
            "  SOGNI_API_KEY=... sogni-flow run nightly/*.yaml -j 4 --timeout 2h\n");
  std::vector<std::string> plans;
  Status s = cl.Parse(args, &plans);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow run: " << s.message() << "\n", kExitInvalid;
  if (plans.empty()) return ctx.err << "sogni-flow run: give at least one plan (see --help)\n", kExitInvalid;
  if (Status d = flags.Finish(Configured(ctx, SettingKey::kJobs)); !d.ok())
    return ctx.err << "sogni-flow run: " << d.message() << "\n", kExitInvalid;
  if (drive.detach && backend_options.sandbox)
    return ctx.err << "sogni-flow run: --detach leaves the workflows to a server that outlives this command; "
                      "--sandbox runs the simulator inside it (use `sogni-flow sandbox` and --api-url)\n",
           kExitInvalid;
  drive.hint_args = StateDirHint(state_dir);
  std::optional<double> max_tokens;
  if (!max_tokens_text.empty()) {
    std::optional<double> v = ParseDecimal(max_tokens_text);  // not 0x10, " 5", inf or nan
    if (!v || *v > 1e15)
      // The value is not echoed: a mistyped command line may have put a secret there.
      return ctx.err << "sogni-flow run: --max-tokens wants a number of tokens (0 or more, e.g. --max-tokens 250); "
                        "the value given is not one\n", kExitInvalid;
    max_tokens = *v;
  }

  // Nothing was driven: the messages, and with --json a summary a machine can read as well.
  auto stop = [&](const std::vector<std::string>& messages, int code) {
    for (const std::string& m : messages) ctx.err << "sogni-flow run: " << m << "\n";
    if (drive.json) {
      Value summary = Value::Object();
      summary.Set("event", Value::String("summary"));
      summary.Set("runs", Value::Array());
      Value errors = Value::Array();
      for (const std::string& m : messages) errors.Append(Value::String(m));
      summary.Set("errors", errors);
      summary.Set("exitCode", Value::Int(code));
      ctx.out << summary.ToJson() << "\n";
    }
    return code;
  };
  std::vector<PreparedPlan> prepared(plans.size());
  int worst = kExitOk;
  std::vector<std::string> problems;
  for (size_t i = 0; i < plans.size(); ++i) {
    if (Status p = Prepare(plans[i], params, ctx, &prepared[i], dry_run); !p.ok()) {
      problems.push_back(p.message());
      if (worst == kExitOk) worst = ExitCodeFor(p);
    }
  }
  if (worst != kExitOk) {
    if (plans.size() > 1) problems.push_back("nothing was started");
    return stop(problems, worst);
  }
  if (drive.no_download) {
    for (const PreparedPlan& p : prepared)
      if (p.local)
        return stop({p.path + ": --no-download is for server plans: a local plan's results feed the steps after "
                     "them and the step cache, so each is downloaded as it ends"}, kExitInvalid);
  }
  if (dry_run) {
    // The body the API would get. A local file's URL is known only once it is uploaded, so it
    // shows as "upload://<path>"; everything else is byte for byte what `run` sends.
    for (PreparedPlan& p : prepared) {
      const CheckedPlan& c = p.checked;
      if (c.plan.execution == Execution::kLocal) {
        if (Status d = PrintLocalDryRun(c, ctx.out); !d.ok()) return stop({d.message()}, ExitCodeFor(d));
        continue;
      }
      for (const MediaEntry& m : c.plan.media) {
        std::string mime = m.path.empty() ? "" : CheckLocalMedia(c.plan.directory, m.path).sniff.mime;
        p.start.media.push_back(WireMedia{m.name, m.kind, mime, m.url.empty() ? "upload://" + m.path : m.url});
      }
      ctx.out << StartBody(c.plan, c.analysis, p.start).ToJson() << "\n";
    }
    return kExitOk;
  }

  // Artifacts need somewhere to go: an --out that cannot be made or written into (read-only,
  // not a directory, no permission) is found before anything is paid for.
  if (Status o = CheckWritableDirectory(out_dir.empty() ? Configured(ctx, SettingKey::kOutDir).value : out_dir); !o.ok())
    return stop({"the artifacts could not be saved: " + o.message() + "; choose another --out"}, ExitCodeFor(o));
  // The endpoint and the key are checked (one cheap request) before anything is stored, so a
  // run is never stored that could not have been started.
  Result<std::unique_ptr<Backend>> backend = OpenBackend(backend_options, ctx, &ctx.err);
  if (!backend.ok()) return stop({backend.status().message()}, ExitCodeFor(backend.status()));
  {
    // Nothing is stored or sent yet: a Ctrl-C (or SIGTERM) here stops the check and the quotes,
    // waits for a retry included, and the command ends before paying for anything. Without the
    // guard a signal the shell had set to be ignored (a job started with `&` from a script) was
    // ignored here, and the run went on and paid.
    // Declared before the guard, so destroyed after it: once the guard's watcher is joined no
    // late signal can raise the flag again behind the reset.
    struct Reset {
      ~Reset() { SetRetryWaitsInterrupted(false); }
    } reset;
    InterruptGuard guard([] { SetRetryWaitsInterrupted(true); });
    auto interrupted = [&] {
      return stop({"interrupted before anything was stored or sent; nothing to resume"}, kExitInterrupted);
    };
    Status b = CheckBackend(**backend);
    if (guard.interrupted()) return interrupted();
    if (!b.ok()) return stop({b.message()}, ExitCodeFor(b));
    for (PreparedPlan& p : prepared) {
      if (!p.local) continue;
      Status q = QuoteAndGate(p, **backend, max_tokens, ctx);
      if (guard.interrupted()) return interrupted();
      if (!q.ok()) return stop({p.path + ": " + q.message()}, ExitCodeFor(q));
    }
  }
  Result<std::unique_ptr<StateDir>> dir = OpenState("run", state_dir, StateAccess::kWrite, ctx);
  if (!dir.ok()) return stop({dir.status().message()}, ExitCodeFor(dir.status()));
  RunStore& store = (*dir)->store();
  std::vector<std::string> run_ids;
  std::vector<std::unique_ptr<RunLease>> leases;  // one per run, held while the runs are driven
  for (PreparedPlan& p : prepared) {
    Result<std::string> run_id = CreateRun(p, **backend, **dir, &leases, out_dir, plans.size() > 1, drive.no_cache, ctx);
    if (!run_id.ok()) {
      if (run_ids.empty()) return stop({p.path + ": " + run_id.status().message()}, ExitCodeFor(run_id.status()));
      ctx.err << "sogni-flow run: " << p.path << ": " << run_id.status().message() << "\n";
      ctx.err << "sogni-flow run: the runs stored so far are driven; the others were not started\n";
      worst = ExitCodeFor(run_id.status());
      break;
    }
    run_ids.push_back(*run_id);
    ctx.err << "run " << *run_id << " (" << p.checked.plan.name << ")\n";
  }
  int code = DriveAndReport("run", ctx, store, **backend, run_ids, drive);
  return worst != kExitOk && code == kExitOk ? worst : code;
}

}  // namespace sflow
