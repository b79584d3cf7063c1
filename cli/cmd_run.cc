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
#include "cli/run_setup.h"
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

int RunRun(const std::vector<std::string>& args, Context& ctx) {
  bool dry_run = false;
  ParamOptions params;
  BackendOptions backend_options;
  DriveFlags flags;
  DriveOptions& drive = flags.options;
  std::string state_dir, out_dir, max_tokens_text;
  CommandLine cl("run PLAN... [-p NAME=VALUE]... [--param-file FILE]... [-j N] [-q] [--detach] [--timeout D] [--out DIR]\n"
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
      Status q = QuoteAndGate(p, **backend, max_tokens, ctx, nullptr, drive.quiet);
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
    if (!drive.quiet) ctx.err << "run " << *run_id << " (" << p.checked.plan.name << ")\n";
  }
  int code = DriveAndReport("run", ctx, store, **backend, run_ids, drive);
  return worst != kExitOk && code == kExitOk ? worst : code;
}

}  // namespace sflow
