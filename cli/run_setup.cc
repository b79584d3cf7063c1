#include "cli/run_setup.h"

#include "cli/interrupt.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "cli/exit_codes.h"
#include "cli/approval.h"
#include "cli/run_reporter.h"
#include "cli/server_runner.h"
#include "engine/synchronized_run_store.h"

namespace sflow {

std::string EnvValue(char** environ, const std::string& name) {
  if (!environ) return "";
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    if (kv.size() > name.size() && kv.substr(0, name.size()) == name && kv[name.size()] == '=')
      return std::string(kv.substr(name.size() + 1));
  }
  return "";
}

namespace {

Result<std::string> ReadKeyFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  // Messages name the option, never the file: its name may be the key itself (a mistyped flag).
  if (fd < 0) return Status::Error(Status::Code::kPermission, std::string("--api-key-file: cannot open the file: ") + std::strerror(errno));
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::Security("--api-key-file: the file is not a regular file");
  }
  if (st.st_mode & 077) {
    ::close(fd);
    return Status::Security("--api-key-file: the file is readable by group or others; chmod 600 it");
  }
  std::string key;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && key.size() < 4096) key.append(buf, static_cast<size_t>(n));
  ::close(fd);
  while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.pop_back();
  size_t start = 0;
  while (start < key.size() && std::isspace(static_cast<unsigned char>(key[start]))) ++start;
  return key.substr(start);
}

}  // namespace

Result<std::unique_ptr<Backend>> OpenBackend(const BackendOptions& options, char** environ) {
  auto backend = std::make_unique<Backend>();
  ApiClientOptions api;
  if (options.sandbox) {
    SandboxOptions so;
    so.step_ms = 20;
    Result<std::unique_ptr<Sandbox>> sb = Sandbox::Start(so);
    if (!sb.ok()) return sb.status();
    backend->sandbox = std::move(*sb);
    api.base_url = backend->sandbox->url();
    backend->api_key = backend->sandbox->api_keys().front();
  } else {
    api.base_url = !options.api_url.empty() ? options.api_url : EnvValue(environ, "SOGNI_API_BASE_URL");
    if (api.base_url.empty()) api.base_url = "https://api.sogni.ai";
    if (!options.api_key_file.empty()) {
      Result<std::string> key = ReadKeyFile(options.api_key_file);
      if (!key.ok()) return key.status();
      if (key->empty()) return Status::Error(Status::Code::kPermission, "--api-key-file: the file holds no key");
      backend->api_key = *key;
    } else {
      backend->api_key = EnvValue(environ, "SOGNI_API_KEY");
    }
    if (backend->api_key.empty())
      return Status::Error(Status::Code::kPermission, "no API key: set SOGNI_API_KEY or give --api-key-file");
  }
  api.api_key = backend->api_key;
  api.app_source = "sogni-flow";
  HttpTransportOptions transport_options;
  // SSL_CERT_FILE (OpenSSL's own variable): a PEM bundle trusted instead of the system one.
  transport_options.ca_file = EnvValue(environ, "SSL_CERT_FILE");
  Result<std::unique_ptr<HttpTransport>> t = NewHttpTransport(transport_options);
  if (!t.ok()) return t.status();
  backend->transport = std::move(*t);
  backend->client = std::make_unique<ApiClient>(backend->transport.get(), api);
  return backend;
}

std::string StateDirPath(const std::string& flag, char** environ) {
  if (!flag.empty()) return flag;
  std::string env = EnvValue(environ, "SOGNI_FLOW_STATE_DIR");
  return env.empty() ? ".sogni-flow" : env;
}

void DriveFlags::Register(CommandLine& cl) {
  cl.Value("jobs", "j", "N", "follow up to N runs at once (default 1)", &jobs);
  cl.Value("timeout", "", "D", "stop following after D (45s, 30m, 2h): exit 8, the workflows go on", &timeout);
  cl.Flag("cancel-on-interrupt", "", "Ctrl-C cancels the workflows remotely (default: they go on)",
          &options.cancel_on_interrupt);
}

Status DriveFlags::Finish() {
  if (jobs.empty() || jobs.size() > 3 || jobs.find_first_not_of("0123456789") != std::string::npos || std::stoi(jobs) < 1)
    return Status::InvalidPlan("-j wants a number from 1 to 999, not '" + jobs + "'");
  options.jobs = std::stoi(jobs);
  if (!timeout.empty()) {
    std::optional<int64_t> seconds = ParseDuration(timeout);
    if (!seconds) return Status::InvalidPlan("--timeout wants a duration such as 45s, 30m or 2h, not '" + timeout + "'");
    options.timeout = std::chrono::seconds(*seconds);
  }
  return Status::OK();
}

namespace {

// Which exit code wins when runs end differently: the one that needs a person first.
int WorseExit(int a, int b) {
  static constexpr int kOrder[] = {kExitSecurity, kExitLocalState, kExitAuth, kExitCostGate,
                                   kExitUnavailable, kExitRunFailed, kExitTimeout, kExitInvalid};
  for (int code : kOrder)
    if (a == code || b == code) return code;
  return a != kExitOk ? a : b;
}

struct Driven {
  std::string run_id;
  Result<RunOutcome> outcome = Status::Internal("not driven");
};

}  // namespace

int DriveAndReport(const char* command, Context& ctx, RunStore& raw_store, Backend& backend,
                   const std::vector<std::string>& run_ids, const DriveOptions& options) {
  if (run_ids.empty()) return kExitOk;
  SynchronizedRunStore store(&raw_store);
  std::unique_ptr<RunReporter> reporter;
  if (!options.json && ctx.err_is_terminal && !options.detach) {
    struct winsize ws{};
    bool sized = ::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0;
    reporter = std::make_unique<LiveReporter>(&ctx.err, sized ? ws.ws_col : 0, sized ? ws.ws_row : 0);
  } else {
    reporter = std::make_unique<StreamReporter>(&ctx.err, options.json ? &ctx.out : nullptr);
  }
  std::vector<Driven> driven(run_ids.size());
  std::vector<std::unique_ptr<StreamCancel>> cancels;
  for (size_t i = 0; i < run_ids.size(); ++i) {
    driven[i].run_id = run_ids[i];
    cancels.push_back(std::make_unique<StreamCancel>());
    if (Result<RunRecord> r = store.GetRun(run_ids[i]); r.ok()) {
      std::vector<std::string> steps;
      for (const StepRecord& st : r->steps) steps.push_back(st.step_id);
      reporter->AddRun(r->id, r->plan_name, steps);
    }
  }
  std::atomic<bool> interrupted{false}, timed_out{false};
  bool stopped_any = false;  // a run left unfinished by Ctrl-C or --timeout
  auto stop_all = [&] {
    for (auto& c : cancels) c->Cancel();
  };
  std::mutex timer_mu;
  std::condition_variable timer_cv;
  bool finished = false;
  std::thread timer;
  if (options.timeout.count() > 0) {
    timer = std::thread([&] {
      std::unique_lock<std::mutex> lock(timer_mu);
      if (!timer_cv.wait_for(lock, options.timeout, [&] { return finished; })) {
        timed_out = true;
        stop_all();
      }
    });
  }
  {
    // The first Ctrl-C stops following (the cursors are committed); a second exits at once.
    InterruptGuard guard([&] {
      interrupted = true;
      stop_all();
    });
    std::atomic<size_t> next{0};
    auto worker = [&] {
      for (size_t i; (i = next++) < driven.size();) {
        if (interrupted || timed_out) break;
        ServerRunnerOptions ro;
        ro.reporter = reporter.get();
        ro.cancel = cancels[i].get();
        ro.start_only = options.detach;
        ServerRunner runner(&store, backend.client.get(), backend.transport.get(), ro);
        driven[i].outcome = runner.Drive(driven[i].run_id);
      }
    };
    size_t jobs = std::clamp<size_t>(static_cast<size_t>(std::max(options.jobs, 1)), 1, driven.size());
    std::vector<std::thread> threads;
    for (size_t t = 1; t < jobs; ++t) threads.emplace_back(worker);
    worker();
    for (std::thread& t : threads) t.join();
    {
      std::lock_guard<std::mutex> lock(timer_mu);
      finished = true;
    }
    timer_cv.notify_all();
    if (timer.joinable()) timer.join();
    if (interrupted || timed_out) {
      for (Driven& d : driven) {
        bool ended = d.outcome.ok() && (IsTerminal(d.outcome->status) || d.outcome->status == RunStatus::kWaitingForUser);
        if (ended) continue;
        stopped_any = true;
        Result<RunRecord> r = store.GetRun(d.run_id);
        const bool started = r.ok() && !r->workflow_id.empty();
        const bool finished_remotely = r.ok() && IsTerminal(r->status);  // stopped while downloading
        const Status::Code code = interrupted ? Status::Code::kCancelled : Status::Code::kDeadlineExceeded;
        const std::string why = interrupted ? "interrupted" : "--timeout expired";
        if (finished_remotely) {
          d.outcome = Status::Error(code, why + " while downloading; resume fetches the rest");
          continue;
        }
        if (started) {
          d.outcome = Status::Error(code, why + "; the workflow keeps running on the server");
        } else {
          d.outcome = Status::Error(code, why + " before its start was sent; resume starts it");
        }
        if (interrupted && options.cancel_on_interrupt && !started) {
          // Not sent yet: made sure it never is (a later resume --all would start it otherwise).
          if (AbandonUnsentStart(store, d.run_id).ok()) {
            reporter->Line(d.run_id + ": cancelled before its start was sent (nothing was sent)");
            RunOutcome cancelled;
            cancelled.status = RunStatus::kCancelled;
            d.outcome = cancelled;
          }
        } else if (interrupted && options.cancel_on_interrupt) {
          Result<WorkflowReply> c = RequestCancel(store, *backend.client, *r);
          reporter->Line(d.run_id + (c.ok() ? ": cancel requested for workflow " + r->workflow_id
                                           : ": cancel failed: " + backend.client->Redact(c.status().message())));
          if (c.ok()) d.outcome = Status::Error(Status::Code::kCancelled, "interrupted; cancel requested for the workflow");
        }
      }
    }
  }
  reporter.reset();  // the live block's last picture, before the summary lines

  int code = kExitOk;
  Value runs = Value::Array();
  for (Driven& d : driven) {
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
    if (d.outcome.ok()) {
      const RunOutcome& o = *d.outcome;
      summary.Set("events", Value::Int(o.events_stored));
      summary.Set("artifactsDone", Value::Int(o.artifacts_done));
      summary.Set("artifactsFailed", Value::Int(o.artifacts_failed));
      if (!o.waiting_reason.empty()) summary.Set("waitingReason", Value::String(o.waiting_reason));
      if (!options.json && run.ok()) {
        if (options.detach) {
          ctx.err << d.run_id << ": " << Name(run->status) << " as workflow " << run->workflow_id
                  << " (detached); follow it with: sogni-flow resume " << d.run_id << "\n";
        } else {
          ctx.err << d.run_id << ": " << Name(run->status) << " (" << o.events_stored << " events, "
                  << o.artifacts_done << " artifacts in " << run->out_dir << ")\n";
        }
      }
      if (!options.json && o.awaiting_cost_approval)
        ctx.err << "the server awaits cost approval: sogni-flow approve --run " << d.run_id << "\n";
    } else {
      std::string message = backend.client->Redact(d.outcome.status().message());
      summary.Set("error", Value::String(message));
      if (!options.json) ctx.err << "sogni-flow " << command << ": " << d.run_id << ": " << message << "\n";
      if (run_code == kExitUnavailable || run_code == kExitInterrupted || run_code == kExitTimeout)
        ctx.err << "resume it with: sogni-flow resume " << d.run_id << "\n";
    }
    summary.Set("exitCode", Value::Int(run_code));
    runs.Append(summary);
    code = WorseExit(code, run_code);
  }
  // A Ctrl-C or --timeout that came after every run had ended changed nothing.
  if (stopped_any && interrupted) code = kExitInterrupted;
  else if (stopped_any && timed_out && code == kExitOk) code = kExitTimeout;
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
                   const std::string& run_id, bool json) {
  return DriveAndReport(command, ctx, store, backend, std::vector<std::string>{run_id}, DriveOptions{.json = json});
}

}  // namespace sflow
