#include "cli/drive_and_report.h"

#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "cli/exit_codes.h"
#include "cli/run_reporter.h"
#include "runner/approval.h"
#include "runner/drive_pool.h"
#include "runner/local/local_runner.h"
#include "runner/local/session_project_service.h"
#include "runner/server/server_runner.h"

namespace sflow {

void DriveFlags::Register(CommandLine& cl) {
  cl.Value("jobs", "j", "N", "follow up to N runs at once (1 to 10000, default the jobs setting, else 1; the open-file limit is raised to fit); a local plan runs up to N projects at once (default 4)", &jobs);
  cl.Value("timeout", "", "D", "stop following after D (45s, 30m, 2h): exit 8, the workflows go on", &timeout);
  cl.Flag("cancel-on-interrupt", "", "Ctrl-C cancels the workflows remotely (default: they go on)",
          &options.cancel_on_interrupt);
  cl.Flag("quiet", "q", "print only problems: no progress, nothing for a run that completed (cron mails\n"
          "what a job prints)", &options.quiet);
}

namespace {

// Descriptors a run of the pool may hold besides its event stream (the store, the keep-alive
// REST connection, a download, the loop's own): what -j N needs is N plus these.
constexpr int kSpareFiles = 64;

// The soft limit of open files, raised to the hard one (at most 65,536) first: a follower of a
// thousand runs needs a thousand sockets, and the soft limit is often 1,024.
int64_t OpenFileLimit() {
  struct rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  const rlim_t want = rl.rlim_max == RLIM_INFINITY ? 65536 : std::min<rlim_t>(rl.rlim_max, 65536);
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
    struct rlimit raised = rl;
    raised.rlim_cur = want;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  return rl.rlim_cur == RLIM_INFINITY ? 65536 : static_cast<int64_t>(rl.rlim_cur);
}

}  // namespace

Status DriveFlags::Finish(const Setting& configured) {
  std::string source = "-j";
  if (jobs.empty() && !configured.value.empty()) {
    jobs = configured.value;
    source = configured.origin.find(':') == std::string::npos ? configured.origin : configured.origin + ": jobs";
  }
  if (!jobs.empty()) {
    if (jobs.size() > 5 || jobs.find_first_not_of("0123456789") != std::string::npos || std::stoi(jobs) < 1 ||
        std::stoi(jobs) > kMaxJobs)
      return Status::InvalidPlan(source + " wants a number from 1 to " + std::to_string(kMaxJobs) + ", not '" +
                                 CommandLine::Shown(jobs) + "'");
    options.jobs = options.step_jobs = std::stoi(jobs);
    const int64_t files = OpenFileLimit();
    if (options.jobs + kSpareFiles > files)
      return Status::InvalidPlan(source + " " + jobs + " needs about " + std::to_string(options.jobs + kSpareFiles) +
                                 " open files, and this process may open " + std::to_string(files) +
                                 " (ulimit -n): use -j " + std::to_string(std::max<int64_t>(files - kSpareFiles, 1)) +
                                 " or less, or raise the limit");
  }
  if (!timeout.empty()) {
    std::optional<int64_t> seconds = ParseDuration(timeout);
    if (!seconds) return Status::InvalidPlan("--timeout wants a duration such as 45s, 30m or 2h, not '" + timeout + "'");
    options.timeout = std::chrono::seconds(*seconds);
  }
  return Status::OK();
}

namespace {

// A local run's driver: the state directory's appId opens (or shares) the process's projects
// socket on first use, then a LocalRunner drives the run over it.
class LocalRunDriver final : public RunDriver {
 public:
  LocalRunDriver(RunStore* store, Backend* backend, LocalRunnerOptions options)
      : store_(store), backend_(backend), options_(std::move(options)) {}

  Result<RunOutcome> Drive(const std::string& run_id) override {
    if (Status s = Open(); !s.ok()) return s;
    return runner_->Drive(run_id);
  }
  Result<RunOutcome> DownloadMissing(const std::string& run_id, const std::string& out_dir) override {
    if (Status s = Open(); !s.ok()) return s;
    return runner_->DownloadMissing(run_id, out_dir);
  }
  Status RequestCancel(const RunRecord& run) override {
    if (Status s = Open(); !s.ok()) return s;
    return runner_->RequestCancel(run);
  }

 private:
  Status Open() {
    if (runner_) return Status::OK();
    Result<std::string> app = store_->Setting("app_id", "sogni-flow-" + NewProjectId());
    if (!app.ok()) return app.status();
    Result<ProjectsSession*> session = backend_->Projects(*app);
    if (!session.ok()) return session.status();
    service_ = std::make_unique<SessionProjectService>(*session, backend_->client.get());
    {
      std::lock_guard<std::mutex> lock(backend_->projects_mu);
      options_.app_id = backend_->projects_app_id;
    }
    runner_ = std::make_unique<LocalRunner>(store_, service_.get(), backend_->transport.get(), options_);
    return Status::OK();
  }

  RunStore* store_;
  Backend* backend_;
  LocalRunnerOptions options_;
  std::unique_ptr<SessionProjectService> service_;
  std::unique_ptr<LocalRunner> runner_;
};

}  // namespace

std::unique_ptr<RunDriver> MakeLocalDriver(RunStore* store, Backend* backend) {
  return std::make_unique<LocalRunDriver>(store, backend, LocalRunnerOptions());
}

namespace {

// What a person needs to know about a run that did not complete: its stored error and each failed
// step's error (code, message, whether a retry may help), one line each.
std::vector<std::string> ProblemLines(const RunRecord& run) {
  auto describe = [](const Value& e) {
    std::string text;
    if (const Value* c = e.Find("code"); c && (c->is_string() || c->is_int()))
      text = c->is_string() ? c->as_string() : std::to_string(c->as_int());
    if (const Value* m = e.Find("message"); m && m->is_string()) text += (text.empty() ? "" : ": ") + m->as_string();
    if (const Value* r = e.Find("retryable"); r && r->is_bool())
      text += r->as_bool() ? " (retryable)" : " (not retryable)";
    return text.empty() ? e.ToJson() : text;
  };
  std::vector<std::string> lines;
  for (const StepRecord& st : run.steps)
    if (st.error.is_object()) lines.push_back("step " + st.step_id + " " + Name(st.status) + ": " + describe(st.error));
  if (run.error.is_object()) lines.push_back(describe(run.error));
  return lines;
}

}  // namespace

int DriveAndReport(const char* command, Context& ctx, RunStore& raw_store, Backend& backend,
                   const std::vector<std::string>& run_ids, const DriveOptions& options) {
  return DriveAndReport(command, ctx, raw_store, [&](const std::string&) -> Backend& { return backend; }, run_ids,
                        options);
}

int DriveAndReport(const char* command, Context& ctx, RunStore& store,
                   const std::function<Backend&(const std::string& run_id)>& backend_of,
                   const std::vector<std::string>& run_ids, const DriveOptions& options) {
  if (run_ids.empty()) return kExitOk;
  std::unique_ptr<RunProgress> reporter;
  if (options.quiet && !options.json) {
    reporter = std::make_unique<StreamReporter>(nullptr, nullptr);  // no progress; problems below
  } else if (!options.json && ctx.err_is_terminal && !options.detach) {
    struct winsize ws{};
    bool sized = ::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0;
    reporter = std::make_unique<LiveReporter>(&ctx.err, sized ? ws.ws_col : 0, sized ? ws.ws_row : 0);
  } else {
    reporter = std::make_unique<StreamReporter>(&ctx.err, options.json ? &ctx.out : nullptr);
  }
  std::vector<Backend*> backends;  // each once, for the notices
  for (const std::string& id : run_ids) {
    Backend* b = &backend_of(id);
    if (std::find(backends.begin(), backends.end(), b) == backends.end()) backends.push_back(b);
  }
  for (Backend* b : backends) b->notices->Redirect([r = reporter.get()](const std::string& line) { r->Line(line); });
  // A server run's driver is a ServerRunner, a local run's a LocalRunner, each over the backend of
  // its endpoint.
  DriverFactory make_driver = [&](const std::string& run_id, const DriverEnvironment& env) -> std::unique_ptr<RunDriver> {
    Backend& b = backend_of(run_id);
    if (Result<RunRecord> run = env.store->GetRun(run_id); run.ok() && run->execution == Execution::kLocal) {
      LocalRunnerOptions lo;
      lo.reporter = env.progress;
      lo.cancel = env.cancel;
      lo.start_only = env.start_only;
      lo.jobs = options.step_jobs;
      lo.use_cache = !options.no_cache;
      return std::make_unique<LocalRunDriver>(env.store, &b, lo);
    }
    ServerRunnerOptions ro;
    ro.reporter = env.progress;
    ro.cancel = env.cancel;
    ro.start_only = env.start_only;
    ro.download = !options.no_download;
    ro.committer = env.committer;
    return std::make_unique<ServerRunner>(env.store, b.client.get(), b.transport.get(), ro);
  };
  DrivePoolResult pool = DriveRuns(
      store, *reporter, make_driver,
      [&](const std::string& run_id) { return backend_of(run_id).api_url == kInProcessSandbox; }, run_ids,
      DrivePoolOptions{.jobs = options.jobs, .timeout = options.timeout,
                       .cancel_on_interrupt = options.cancel_on_interrupt, .start_only = options.detach});
  for (Backend* b : backends) b->notices->Redirect(nullptr);
  reporter.reset();  // the live block's last picture, before the summary lines

  int code = kExitOk;
  Value runs = Value::Array();
  for (DrivenRun& d : pool.runs) {
    Backend& backend = backend_of(d.run_id);
    Result<RunRecord> run = store.GetRun(d.run_id);
    int run_code = d.outcome.ok() ? ExitCodeForOutcome(d.outcome.value()) : ExitCodeFor(d.outcome.status());
    if (options.detach && d.outcome.ok()) run_code = kExitOk;
    Value summary = Value::Object();
    summary.Set("run", Value::String(d.run_id));
    if (run.ok()) {
      summary.Set("status", Value::String(Name(run->status)));
      summary.Set("workflowId", Value::String(run->workflow_id));
      summary.Set("outDir", Value::String(run->out_dir));
    }
    std::vector<std::string> problems = run.ok() && d.outcome.ok() && run_code != kExitOk ? ProblemLines(*run)
                                                                                         : std::vector<std::string>();
    if (d.outcome.ok()) {
      const RunOutcome& o = *d.outcome;
      if (!o.problem.empty()) problems.push_back(o.problem);
      summary.Set("events", Value::Int(o.events_stored));
      summary.Set("artifactsDone", Value::Int(o.artifacts_done));
      summary.Set("artifactsFailed", Value::Int(o.artifacts_failed));
      if (!o.waiting_reason.empty()) summary.Set("waitingReason", Value::String(o.waiting_reason));
      if (!options.json && run.ok() && !(options.quiet && run_code == kExitOk && problems.empty())) {
        if (options.detach) {
          ctx.err << d.run_id << ": " << Name(run->status)
                  << (run->workflow_id.empty() ? std::string(", its first projects sent") : " as workflow " + run->workflow_id)
                  << " (detached); follow it with: sogni-flow resume " << d.run_id << options.hint_args << "\n";
        } else {
          ctx.err << d.run_id << ": " << Name(run->status) << " (" << o.events_stored << " events, ";
          if (options.no_download)
            ctx.err << "artifacts not downloaded; sogni-flow artifacts " << d.run_id << options.hint_args << " fetches them)\n";
          else
            ctx.err << o.artifacts_done << " artifacts in " << run->out_dir
                    << (o.artifacts_failed ? ", " + std::to_string(o.artifacts_failed) + " not saved" : "") << ")\n";
        }
        for (const std::string& p : problems) ctx.err << "  " << backend.client->Redact(p) << "\n";
      }
      if (!options.json && o.awaiting_cost_approval)
        ctx.err << "the server awaits cost approval: sogni-flow approve --run " << d.run_id << options.hint_args << "\n";
    } else {
      std::string message = backend.client->Redact(d.outcome.status().message());
      summary.Set("error", Value::String(message));
      if (!options.json) ctx.err << "sogni-flow " << command << ": " << d.run_id << ": " << message << "\n";
      const bool resumable = run_code == kExitUnavailable || run_code == kExitInterrupted || run_code == kExitTimeout ||
                             d.outcome.status().code() == Status::Code::kIOError;
      if (resumable && backend.api_url != kInProcessSandbox)
        ctx.err << "resume it with: sogni-flow resume " << d.run_id << options.hint_args << "\n";
    }
    if (!problems.empty()) {
      Value list = Value::Array();
      for (const std::string& p : problems) list.Append(Value::String(backend.client->Redact(p)));
      summary.Set("problems", list);
    }
    summary.Set("exitCode", Value::Int(run_code));
    runs.Append(summary);
    code = WorseExitCode(code, run_code);
  }
  // A Ctrl-C or --timeout that came after every run had ended changed nothing.
  if (pool.stopped_any && pool.interrupted) code = kExitInterrupted;
  else if (pool.stopped_any && pool.timed_out && code == kExitOk) code = kExitTimeout;
  if (options.json) {
    Value summary = Value::Object();
    summary.Set("event", Value::String("summary"));
    if (runs.size() == 1)
      for (const Value::Member& m : runs.items()[0].members()) summary.Set(m.key, m.value);
    summary.Set("runs", runs);
    summary.Set("exitCode", Value::Int(code));
    ctx.out << summary.ToJson() << "\n";
  }
  return code;
}

int DriveAndReport(const char* command, Context& ctx, RunStore& store, Backend& backend,
                   const std::string& run_id, bool json, const std::string& hint_args) {
  return DriveAndReport(command, ctx, store, backend, std::vector<std::string>{run_id},
                        DriveOptions{.json = json, .hint_args = hint_args});
}

}  // namespace sflow
