// follow_bench: the runner end to end. A sandbox (--step-ms 0) runs workflows; the real
// ServerRunner drives them (start POST, SSE over loopback HTTP, SseParser, EventFollower, batches
// committed with their cursor in a real SQLite state directory: WAL, synchronous=FULL, as in
// production), then confirms and downloads. Two scenarios:
//   single: one workflow of 100,000 events;
//   multi:  200 concurrent workflows of 500 events, each driven by its own ServerRunner (own
//           ApiClient, transport AND state directory) in its own thread. RunStore is not
//           thread-safe and a state directory has one writer process, so this is what 200
//           concurrent `sogni-flow run` processes look like (each with its own --state-dir), minus
//           the process boundaries: 200 databases, fsyncs in parallel;
//   multi, shared: the same workflows as `sogni-flow run -j 200` drives them: one state
//           directory (a SynchronizedRunStore), one transport and one client for every runner.
// Each runs twice: with the sandbox in-process (its CPU and memory count: it holds the whole
// log) and with the sandbox as a separate `sogni-flow sandbox` process, which gives the runner's
// own CPU and peak RSS (the honest measure of the runner).
//
// Figures: the follow phase (from the start answer being committed to the confirming GET's
// update: SSE, parsing, following, persisting) and the whole Drive (start, follow, confirm,
// download, and Drive's final read of the stored events). CPU is getrusage user+sys of this
// process; peak RSS is ru_maxrss. Every scenario runs in a forked child, so each peak is its own.
//
// Verification: every run's stored events are compared with the sandbox's authoritative log
// (/_sandbox/events/:id): the same count, sequences 1..N, each stored exactly once, byte for byte.
// A mismatch exits 1. Targets (one stream >= 175,000 events/s, < 40 MB RSS) print PASS or MISS;
// a miss does not fail.
//
// Usage: follow_bench [SINGLE_EVENTS [STREAMS [EVENTS_PER_STREAM [ONLY]]]]
//   ONLY: one scenario: single/external, single/in-process, multi/external, multi/external-shared...
//        (defaults 100000 200 500; the sandbox binary is ../sogni-flow next to this one, or
//        $SOGNI_FLOW)
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/api_client.h"
#include "api/http_transport.h"
#include "engine/json.h"
#include "runner/group_committer.h"
#include "runner/server/server_runner.h"
#include "runner/synchronized_run_store.h"
#include "sandbox/sandbox.h"
#include "store/state_dir.h"

extern char** environ;

namespace sflow {
namespace {

constexpr double kTargetRate = 175000;
constexpr double kTargetRssMb = 40;
constexpr const char* kKey = "bench";
// Per workflow of one step beyond its progress events: workflow_started, step_started,
// artifact_created (one image), step_completed, workflow_completed.
constexpr int kFixedEvents = 5;

using Clock = std::chrono::steady_clock;

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}
double PeakRssMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

struct Mark {
  Clock::time_point t{};
  double cpu = 0, rss_mb = 0;
  static Mark Now() { return {Clock::now(), CpuSeconds(), PeakRssMb()}; }
};
// The follow phase over every runner: from the first start answer committed to the last
// confirming update, with the events inserted and the commits made.
struct Marks {
  std::mutex mu;
  Mark follow_start, follow_end;
  bool started = false;
  int64_t appended = 0, commits = 0;
};

// A runner's RunStore: its own store (serialized, as in `run -j`), noting the follow phase
// (MarkIntent done .. the confirming UpdateRun) and the commits in the shared Marks.
class BenchStore final : public SynchronizedRunStore {
 public:
  BenchStore(RunStore* inner, Marks* marks) : SynchronizedRunStore(inner), marks_(marks) {}

  Status UpdateRun(const std::string& id, const RunUpdate& u) override {
    Status s = SynchronizedRunStore::UpdateRun(id, u);
    std::lock_guard<std::mutex> m(marks_->mu);
    marks_->follow_end = Mark::Now();  // Confirm: the follow phase of this run is over
    return s;
  }
  Status MarkIntent(const std::string& id, const IntentUpdate& u) override {
    Status s = SynchronizedRunStore::MarkIntent(id, u);
    std::lock_guard<std::mutex> m(marks_->mu);
    if (s.ok() && u.state == IntentState::kDone && !marks_->started)
      marks_->follow_start = Mark::Now(), marks_->started = true;
    return s;
  }
  Result<AppendResult> AppendEvents(const std::string& id, const EventBatch& b) override {
    Result<AppendResult> r = SynchronizedRunStore::AppendEvents(id, b);
    std::lock_guard<std::mutex> m(marks_->mu);
    if (r.ok()) marks_->appended += r->inserted, ++marks_->commits;
    return r;
  }
  // The follower's batches come in groups (runner/group_committer.h): one commit each.
  std::vector<Result<AppendResult>> AppendEventGroup(const std::vector<RunBatch>& group) override {
    std::vector<Result<AppendResult>> r = SynchronizedRunStore::AppendEventGroup(group);
    std::lock_guard<std::mutex> m(marks_->mu);
    bool any = false;
    for (const Result<AppendResult>& one : r)
      if (one.ok()) marks_->appended += one->inserted, any = true;
    if (any) ++marks_->commits;
    return r;
  }

 private:
  Marks* marks_;
};

// `sogni-flow sandbox` as a child process.
struct ExternalSandbox {
  pid_t pid = -1;
  std::string url;

  bool Start(const std::string& binary, int per_step, int max_active) {
    int fds[2];
    if (pipe(fds) != 0) return false;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    std::vector<std::string> args = {binary, "sandbox", "--port", "0", "--step-ms", "0", "--events-per-step",
                                     std::to_string(per_step), "--max-active", std::to_string(max_active),
                                     "--api-key", kKey};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc = posix_spawn(&pid, binary.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
      close(fds[0]);
      pid = -1;
      return false;
    }
    std::string text;
    char buf[512];
    const std::string marker = "listening on ";
    while (text.find('\n', text.find(marker) == std::string::npos ? text.size() : text.find(marker)) ==
           std::string::npos) {
      ssize_t n = read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
    }
    close(fds[0]);  // the sandbox writes nothing more to stdout
    size_t at = text.find(marker);
    if (at == std::string::npos) return false;
    size_t end = text.find('\n', at);
    url = text.substr(at + marker.size(), end - at - marker.size());
    return true;
  }
  // Stops it; *cpu and *rss_mb get its CPU seconds and peak RSS.
  void Stop(double* cpu, double* rss_mb) {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    int status = 0;
    rusage u{};
    wait4(pid, &status, 0, &u);
    *cpu = u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
    *rss_mb = u.ru_maxrss / 1024.0;
    pid = -1;
  }
};

std::string SandboxBinary() {
  if (const char* env = std::getenv("SOGNI_FLOW")) return env;
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return (self.parent_path().parent_path() / "sogni-flow").string();
}

std::string MakeTempDir() {
  std::string base = std::filesystem::temp_directory_path() / "sflow-follow-bench-XXXXXX";
  std::vector<char> buf(base.begin(), base.end());
  buf.push_back('\0');
  const char* made = ::mkdtemp(buf.data());
  return made ? made : "";
}

// Compares the run's stored events with the sandbox's authoritative log. "" when they agree.
std::string Verify(SqliteRunStore& store, HttpTransport& transport, const std::string& base_url,
                   const std::string& run_id, const std::string& workflow_id, int64_t expected) {
  HttpRequest req;
  req.url = base_url + "/_sandbox/events/" + workflow_id;
  Result<HttpResponse> got = transport.Send(req);
  if (!got.ok() || got->status != 200) return "cannot read the authoritative log of " + workflow_id;
  Result<Value> log = ParseJson(got->body);
  const Value* events = log.ok() ? log->Find("events") : nullptr;
  if (!events || !events->is_array()) return "authoritative log of " + workflow_id + " is not readable";
  const std::vector<Value>& want = events->items();
  if (static_cast<int64_t>(want.size()) != expected)
    return "sandbox logged " + std::to_string(want.size()) + " events, the bench expected " + std::to_string(expected);
  Result<std::vector<EventRecord>> stored = store.ListEvents(run_id, -1, 0);
  if (!stored.ok()) return stored.status().ToString();
  size_t i = 0;
  for (; i < stored->size(); ++i) {
    const EventRecord& e = (*stored)[i];
    if (i >= want.size()) return "more events stored than logged";
    if (e.sequence != static_cast<int64_t>(i) + 1)
      return "stored sequence " + std::to_string(e.sequence) + " where " + std::to_string(i + 1) + " was due";
    if (e.json != want[i].ToJson()) return "stored event " + std::to_string(i + 1) + " differs from the log";
  }
  if (i != want.size()) return std::to_string(i) + " events stored of " + std::to_string(want.size()) + " logged";
  return "";
}

struct Scenario {
  const char* name;
  int streams;
  int events_per_stream;
  bool external;
  bool shared_store = false;  // one state directory for every runner, as `sogni-flow run -j N` has
};

// Runs one scenario in this (forked) process. 0 ok, 1 verification failed, 2 could not run.
int RunScenario(const Scenario& sc) {
  const int per_step = sc.events_per_stream - kFixedEvents;
  std::unique_ptr<Sandbox> inproc;
  ExternalSandbox ext;
  std::string base_url;
  if (sc.external) {
    if (!ext.Start(SandboxBinary(), per_step, sc.streams + 16)) {
      std::fprintf(stderr, "cannot start %s sandbox (set SOGNI_FLOW)\n", SandboxBinary().c_str());
      return 2;
    }
    base_url = ext.url;
  } else {
    SandboxOptions o;
    o.step_ms = 0;
    o.events_per_step = per_step;
    o.api_keys = {kKey};
    o.max_active_workflows = sc.streams + 16;
    o.max_threads = sc.streams * 2 + 64;
    Result<std::unique_ptr<Sandbox>> sb = Sandbox::Start(o);
    if (!sb.ok()) return std::fprintf(stderr, "%s\n", sb.status().ToString().c_str()), 2;
    inproc = std::move(*sb);
    base_url = inproc->url();
  }
  const std::string tmp = MakeTempDir();
  int rc = 0;
  {
    Marks marks;
    std::vector<std::unique_ptr<StateDir>> dirs;
    std::vector<std::unique_ptr<BenchStore>> stores;
    for (int i = 0; i < (sc.shared_store ? 1 : sc.streams); ++i) {
      Result<std::unique_ptr<StateDir>> dir = StateDir::Open({.path = tmp + "/state" + std::to_string(i)});
      if (!dir.ok()) return std::fprintf(stderr, "%s\n", dir.status().ToString().c_str()), 2;
      dirs.push_back(std::move(*dir));
      stores.push_back(std::make_unique<BenchStore>(&dirs.back()->store(), &marks));
    }
    auto store_of = [&](size_t run) -> size_t { return sc.shared_store ? 0 : run; };
    Result<Value> body = ParseJson(
        R"({"input":{"steps":[{"id":"s0","toolName":"generate_image","arguments":{"prompt":"p"}}]}})");
    std::vector<std::string> run_ids;
    for (int i = 0; i < sc.streams; ++i) {
      NewServerRun spec{.plan_path = "bench.yaml", .plan_name = "bench", .plan_digest = "d",
                        .start_body = *body, .account = "0123456789abcdef",
                        .out_dir = tmp + "/out/" + std::to_string(i), .step_ids = {"s0"}};
      char id[32];
      std::snprintf(id, sizeof id, "run-%04d", i);
      Result<std::string> made = CreateServerRun(*stores[store_of(i)], spec, id);
      if (!made.ok()) return std::fprintf(stderr, "%s\n", made.status().ToString().c_str()), 2;
      run_ids.push_back(*made);
    }
    std::atomic<int> errors{0};
    const double cpu0 = CpuSeconds();
    const auto t0 = Clock::now();
    ApiClientOptions api;
    api.base_url = base_url;
    api.api_key = kKey;
    // As `run -j` has it: one transport (one TLS context) and one client for every runner.
    Result<std::unique_ptr<HttpTransport>> shared_transport = NewHttpTransport(HttpTransportOptions());
    if (!shared_transport.ok()) return 2;
    ApiClient shared_client(shared_transport->get(), api);
    // As `run -j` has it: one committer of event batches for every run of the state directory.
    std::unique_ptr<GroupCommitter> shared_committer;
    if (sc.shared_store) shared_committer = std::make_unique<GroupCommitter>(stores[0].get());
    auto drive = [&](int i) {
      const std::string& run_id = run_ids[i];
      if (sc.shared_store) {
        ServerRunnerOptions shared;
        shared.committer = shared_committer.get();
        ServerRunner runner(stores[0].get(), &shared_client, shared_transport->get(), shared);
        Result<RunOutcome> out = runner.Drive(run_id);
        if (!out.ok() || out->status != RunStatus::kCompleted) ++errors;
        return;
      }
      Result<std::unique_ptr<HttpTransport>> t = NewHttpTransport(HttpTransportOptions());
      if (!t.ok()) return void(++errors);
      ApiClient client(t->get(), api);
      ServerRunner runner(stores[store_of(i)].get(), &client, t->get(), ServerRunnerOptions());
      Result<RunOutcome> out = runner.Drive(run_id);
      if (!out.ok() || out->status != RunStatus::kCompleted) {
        std::fprintf(stderr, "%s: %s\n", run_id.c_str(),
                     out.ok() ? Name(out->status) : out.status().ToString().c_str());
        ++errors;
      }
    };
    if (sc.streams == 1) {
      drive(0);
    } else {
      std::vector<std::thread> threads;
      for (int i = 0; i < sc.streams; ++i) threads.emplace_back(drive, i);
      for (std::thread& th : threads) th.join();
    }
    const double drive_s = std::chrono::duration<double>(Clock::now() - t0).count();
    const double drive_cpu = CpuSeconds() - cpu0;
    const double drive_rss = PeakRssMb();
    const int64_t total = int64_t{sc.streams} * sc.events_per_stream;
    const double follow_s = std::chrono::duration<double>(marks.follow_end.t - marks.follow_start.t).count();
    const double follow_cpu = marks.follow_end.cpu - marks.follow_start.cpu;
    const double follow_rate = follow_s > 0 ? static_cast<double>(marks.appended) / follow_s : 0;

    // The check, after the figures are taken (it reads the whole log into memory).
    Result<std::unique_ptr<HttpTransport>> t = NewHttpTransport(HttpTransportOptions());
    std::string problem = errors ? std::to_string(errors.load()) + " runs failed" : "";
    for (size_t i = 0; problem.empty() && i < run_ids.size(); ++i) {
      Result<RunRecord> run = stores[store_of(i)]->GetRun(run_ids[i]);
      if (!run.ok()) problem = run.status().ToString();
      else problem = Verify(dirs[store_of(i)]->sqlite_store(), **t, base_url, run_ids[i], run->workflow_id, sc.events_per_stream);
    }
    if (problem.empty() && marks.appended != total)
      problem = std::to_string(marks.appended) + " events inserted, " + std::to_string(total) + " expected";

    double sb_cpu = 0, sb_rss = 0;
    if (sc.external) ext.Stop(&sb_cpu, &sb_rss);
    std::printf("%-6s %3d x %6d events, sandbox %s%s\n", sc.name, sc.streams, sc.events_per_stream,
                sc.external ? "out of process (figures are the runner's own)" : "in process (figures include it)",
                sc.shared_store ? ", one shared state directory (as run -j)" : "");
    std::printf("  follow phase: %8lld events %7.3f s %9.0f events/s  CPU %6.2f s  peak RSS %6.1f MB  (%lld commits)\n",
                static_cast<long long>(marks.appended), follow_s, follow_rate, follow_cpu, marks.follow_end.rss_mb,
                static_cast<long long>(marks.commits));
    std::printf("  whole Drive:  %8lld events %7.3f s %9.0f events/s  CPU %6.2f s  peak RSS %6.1f MB\n",
                static_cast<long long>(total), drive_s, total / drive_s, drive_cpu, drive_rss);
    if (sc.external)
      std::printf("  sandbox process: CPU %.2f s, peak RSS %.1f MB\n", sb_cpu, sb_rss);
    if (sc.streams == 1) {
      std::printf("  target >= %.0f events/s (follow phase): %s; target < %.0f MB RSS (%s): %s\n", kTargetRate,
                  follow_rate >= kTargetRate ? "PASS" : "MISS", kTargetRssMb,
                  sc.external ? "runner alone, follow phase" : "includes the in-process sandbox",
                  marks.follow_end.rss_mb < kTargetRssMb ? "PASS" : "MISS");
    }
    std::printf("  verified: %s\n", problem.empty() ? "every event stored exactly once, byte for byte as logged"
                                                    : ("FAILED: " + problem).c_str());
    rc = problem.empty() ? 0 : 1;
  }
  if (inproc) inproc->Stop();
  std::error_code ec;
  std::filesystem::remove_all(tmp, ec);
  return rc;
}

int Main(int argc, char** argv) {
  const int single = argc > 1 ? std::atoi(argv[1]) : 100000;
  const int streams = argc > 2 ? std::atoi(argv[2]) : 200;
  const int per_stream = argc > 3 ? std::atoi(argv[3]) : 500;
  if (single <= kFixedEvents || streams <= 0 || per_stream <= kFixedEvents) return 2;
  std::printf("state directory under %s; WAL, synchronous=FULL; sandbox --step-ms 0\n",
              std::filesystem::temp_directory_path().c_str());
  std::fflush(stdout);
  const Scenario scenarios[] = {{"single", 1, single, false}, {"single", 1, single, true},
                                {"multi", streams, per_stream, false}, {"multi", streams, per_stream, true},
                                {"multi", streams, per_stream, true, /*shared_store=*/true}};
  int worst = 0;
  const std::string only = argc > 4 ? argv[4] : "";  // e.g. "single/external" (for profiling)
  for (const Scenario& sc : scenarios) {
    if (!only.empty() && only != std::string(sc.name) + (sc.external ? "/external" : "/in-process") +
                             (sc.shared_store ? "-shared" : ""))
      continue;
    pid_t pid = fork();
    if (pid < 0) return 2;
    if (pid == 0) {
      int rc = RunScenario(sc);
      std::fflush(stdout);
      std::fflush(stderr);
      _exit(rc);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 2;
    if (rc == 2) std::printf("%s (%s sandbox): could not run\n", sc.name, sc.external ? "external" : "in-process");
    worst = std::max(worst, rc);
    std::fflush(stdout);
  }
  return worst;
}

}  // namespace
}  // namespace sflow

int main(int argc, char** argv) { return sflow::Main(argc, argv); }
