#include "cli/backend.h"

#include "runner/interrupt.h"

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
#include "runner/approval.h"
#include "cli/run_reporter.h"
#include "api/http_url.h"
#include "runner/server/server_runner.h"
#include "runner/synchronized_run_store.h"

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

// A key is sent in two headers; only visible ASCII can travel there intact. The message says
// where the key came from and what is wrong, never a byte of the key.
Status CheckKeyBytes(const std::string& key, const std::string& source) {
  if (key.size() > 4096) return Status::Error(Status::Code::kPermission, "the API key from " + source + " is longer than 4096 bytes");
  for (size_t i = 0; i < key.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(key[i]);
    if (c > 0x20 && c < 0x7f) continue;
    std::string what = c == '\n' || c == '\r' ? "a line break" : c == ' ' || c == '\t' ? "a space" :
                       c < 0x20 || c == 0x7f ? "a control character" : "a non-ASCII byte";
    return Status::Error(Status::Code::kPermission,
                         "the API key from " + source + " has " + what + " at byte " + std::to_string(i + 1) +
                             " (a key is one line of visible ASCII characters); check " + source);
  }
  return Status::OK();
}

// Where the endpoint came from, for messages.
std::string EndpointSource(const BackendOptions& options, char** environ) {
  if (!options.api_url.empty()) return "--api-url";
  if (!EnvValue(environ, "SOGNI_API_BASE_URL").empty()) return "SOGNI_API_BASE_URL";
  return "the default endpoint";
}

}  // namespace

void NoticeSink::Say(const std::string& line) {
  std::lock_guard<std::mutex> lock(mu_);
  if (to_) to_(line);
  else if (fallback_) *fallback_ << line << "\n" << std::flush;
}

void NoticeSink::Redirect(std::function<void(const std::string&)> to) {
  std::lock_guard<std::mutex> lock(mu_);
  to_ = std::move(to);
}

Result<std::unique_ptr<Backend>> OpenBackend(const BackendOptions& options, char** environ, std::ostream* notices) {
  auto backend = std::make_unique<Backend>();
  backend->notices = std::make_unique<NoticeSink>(notices);
  ApiClientOptions api;
  if (options.sandbox && !options.api_url.empty())
    return Status::InvalidPlan("--sandbox runs the simulator in this process; it cannot be combined with --api-url");
  if (options.sandbox) {
    SandboxOptions so;
    so.step_ms = 20;
    Result<std::unique_ptr<Sandbox>> sb = Sandbox::Start(so);
    if (!sb.ok()) return sb.status();
    backend->sandbox = std::move(*sb);
    api.base_url = backend->sandbox->url();
    backend->api_key = backend->sandbox->api_keys().front();
    backend->api_url = kInProcessSandbox;
  } else {
    api.base_url = !options.api_url.empty() ? options.api_url : EnvValue(environ, "SOGNI_API_BASE_URL");
    if (api.base_url.empty()) api.base_url = "https://api.sogni.ai";
    while (api.base_url.size() > 1 && api.base_url.back() == '/') api.base_url.pop_back();
    // The rules the transport applies to every request, checked before anything is stored.
    Result<HttpUrl> url = ParseHttpUrl(api.base_url);
    if (!url.ok()) return Status::Security(EndpointSource(options, environ) + ": " + url.status().message());
    // A base URL: the API's paths are appended to it, so a query or fragment would end up in
    // front of them (and a query may hold a secret: it is never quoted).
    if (api.base_url.find_first_of("?#") != std::string::npos)
      return Status::InvalidPlan(EndpointSource(options, environ) + ": " + url->Redacted() +
                                 " has a query or fragment; give the API's base URL, e.g. https://api.sogni.ai");
    if (!url->secure() && !IsLoopbackHostName(url->host))
      return Status::Security(EndpointSource(options, environ) + ": refusing plain http:// to " + url->host +
                              ": only https is allowed beyond loopback");
    backend->api_url = api.base_url;
    std::string source = "SOGNI_API_KEY";
    if (!options.api_key_file.empty()) {
      Result<std::string> key = ReadKeyFile(options.api_key_file);
      if (!key.ok()) return key.status();
      if (key->empty()) return Status::Error(Status::Code::kPermission, "--api-key-file: the file holds no key");
      backend->api_key = *key;
      source = "--api-key-file";
    } else {
      backend->api_key = EnvValue(environ, "SOGNI_API_KEY");
    }
    if (backend->api_key.empty())
      return Status::Error(Status::Code::kPermission, "no API key: set SOGNI_API_KEY or give --api-key-file");
    if (Status k = CheckKeyBytes(backend->api_key, source); !k.ok()) return k;
  }
  NoticeSink* sink = backend->notices.get();
  api.retry.on_retry = [sink](const RetryNotice& n) { sink->Say(n.Describe()); };
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

Status CheckBackend(Backend& backend) {
  Result<WorkflowPage> page = backend.client->ListWorkflows(1);
  if (page.ok()) return Status::OK();
  const Status& s = page.status();
  // The workflows route itself is missing: not the Sogni API, or not its base URL (a path too
  // many or too few). Nothing can work there; said before anything is stored.
  if (s.http_status() == 404 || s.http_status() == 405)
    return Status::InvalidPlan("the API at " + RedactUrl(backend.api_url) + " has no workflows route (GET " +
                               "/v1/creative-agent/workflows answered " + std::to_string(s.http_status()) +
                               "): is it the API's base URL, e.g. https://api.sogni.ai? nothing was started")
        .WithHttp(s.http_status(), s.reason());
  // Only what says the endpoint or the key cannot work stops here; an answer in an unexpected
  // shape does not (the routes that matter check their own answers).
  if (s.code() == Status::Code::kUnavailable || s.code() == Status::Code::kSecurity ||
      s.code() == Status::Code::kPermission || s.code() == Status::Code::kCancelled)
    return Status::Error(s.code(), "the API at " + RedactUrl(backend.api_url) + " cannot be used: " +
                                       backend.client->Redact(s.message()) + "; nothing was started")
        .WithHttp(s.http_status(), s.reason());
  return Status::OK();
}

Result<BackendOptions> BackendOptionsFor(const RunRecord& run, const BackendOptions& given, bool* overridden) {
  BackendOptions o = given;
  *overridden = false;
  if (given.sandbox || !given.api_url.empty()) {
    *overridden = given.sandbox ? run.api_url != kInProcessSandbox : run.api_url != given.api_url && !run.api_url.empty();
    return o;
  }
  if (run.api_url == kInProcessSandbox)
    return Status::InvalidPlan("run " + run.id + " was started against the in-process sandbox (--sandbox), which "
                               "ended with its process; it cannot be resumed (`sogni-flow forget " + run.id +
                               "` removes it)");
  o.api_url = run.api_url;  // "" for a run stored before endpoints were: the usual default
  return o;
}

std::string StateDirHint(const std::string& flag) {
  if (flag.empty()) return "";
  return " --state-dir '" + flag + "'";
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

struct Driven {
  std::string run_id;
  Result<RunOutcome> outcome = Status::Internal("not driven");
};

}  // namespace

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

int DriveAndReport(const char* command, Context& ctx, RunStore& raw_store,
                   const std::function<Backend&(const std::string& run_id)>& backend_of,
                   const std::vector<std::string>& run_ids, const DriveOptions& options) {
  if (run_ids.empty()) return kExitOk;
  SynchronizedRunStore store(&raw_store);
  std::unique_ptr<RunProgress> reporter;
  if (!options.json && ctx.err_is_terminal && !options.detach) {
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
        Backend& b = backend_of(driven[i].run_id);
        ServerRunnerOptions ro;
        ro.reporter = reporter.get();
        ro.cancel = cancels[i].get();
        ro.start_only = options.detach;
        ServerRunner runner(&store, b.client.get(), b.transport.get(), ro);
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
        if (backend_of(d.run_id).api_url == kInProcessSandbox) {
          // Nothing of it can be resumed: the simulator and its media end with this process.
          d.outcome = Status::Error(code, why + (finished_remotely ? " while downloading" : "") +
                                              "; the in-process sandbox ends with this process, so this run "
                                              "ends here (run the plan again for its results)");
          continue;
        }
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
          Backend& b = backend_of(d.run_id);
          Result<WorkflowReply> c = RequestCancel(store, *b.client, *r);
          reporter->Line(d.run_id + (c.ok() ? ": cancel requested for workflow " + r->workflow_id
                                           : ": cancel failed: " + b.client->Redact(c.status().message())));
          if (c.ok()) d.outcome = Status::Error(Status::Code::kCancelled, "interrupted; cancel requested for the workflow");
        }
      }
    }
  }
  // A run of the in-process simulator cannot go on once this process ends: it is cancelled now,
  // so that no later `resume --all` waits for a workflow that no longer exists anywhere.
  for (Driven& d : driven) {
    if (backend_of(d.run_id).api_url != kInProcessSandbox) continue;
    Result<RunRecord> r = store.GetRun(d.run_id);
    if (!r.ok() || IsTerminal(r->status)) continue;
    Value error = Value::Object();
    error.Set("code", Value::String("sandbox_ended"));
    error.Set("message", Value::String("the in-process sandbox ended with its process before the run did"));
    if (store.UpdateRun(d.run_id, {.status = RunStatus::kCancelled, .error = error}).ok())
      reporter->Line(d.run_id + ": cancelled: the in-process sandbox ends with this process");
  }
  for (Backend* b : backends) b->notices->Redirect(nullptr);
  reporter.reset();  // the live block's last picture, before the summary lines

  int code = kExitOk;
  Value runs = Value::Array();
  for (Driven& d : driven) {
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
      if (!options.json && run.ok()) {
        if (options.detach) {
          ctx.err << d.run_id << ": " << Name(run->status) << " as workflow " << run->workflow_id
                  << " (detached); follow it with: sogni-flow resume " << d.run_id << options.hint_args << "\n";
        } else {
          ctx.err << d.run_id << ": " << Name(run->status) << " (" << o.events_stored << " events, "
                  << o.artifacts_done << " artifacts in " << run->out_dir
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
                   const std::string& run_id, bool json, const std::string& hint_args) {
  return DriveAndReport(command, ctx, store, backend, std::vector<std::string>{run_id},
                        DriveOptions{.json = json, .hint_args = hint_args});
}

}  // namespace sflow
