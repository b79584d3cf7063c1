#include "runner/drive_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "api/http_transport.h"
#include "api/retry_policy.h"
#include "runner/executor.h"
#include "runner/intents.h"
#include "runner/interrupt.h"
#include "runner/synchronized_run_store.h"

namespace sflow {

namespace {

// The executor's worker threads: they carry what runs do between waits (REST calls, commits,
// downloads), never a wait on an event stream. kWorkers as a rule; up to kMaxWorkers while work
// waits for a worker and half of them wait on the API (a slow one: runner/executor.h).
constexpr size_t kWorkers = 32;
constexpr size_t kMaxWorkers = 48;

}  // namespace

DrivePoolResult DriveRuns(RunStore& raw_store, RunProgress& progress, const DriverFactory& make_driver,
                          const std::function<bool(const std::string& run_id)>& ends_with_process,
                          const std::vector<std::string>& run_ids, const DrivePoolOptions& options) {
  DrivePoolResult result;
  if (run_ids.empty()) return result;
  SynchronizedRunStore store(&raw_store);
  std::vector<DrivenRun>& driven = result.runs;
  driven.resize(run_ids.size());
  std::vector<std::unique_ptr<StreamCancel>> cancels;
  for (size_t i = 0; i < run_ids.size(); ++i) {
    driven[i].run_id = run_ids[i];
    cancels.push_back(std::make_unique<StreamCancel>());
    if (Result<RunRecord> r = store.GetRun(run_ids[i]); r.ok()) {
      std::vector<std::string> steps;
      for (const StepRecord& st : r->steps) steps.push_back(st.step_id);
      progress.AddRun(r->id, r->plan_name, steps);
    }
  }
  // The driver of run i, with the run's own cancel.
  auto driver_for = [&](size_t i) {
    return make_driver(driven[i].run_id, DriverEnvironment{.store = &store, .progress = &progress,
                                                           .cancel = cancels[i].get(),
                                                           .start_only = options.start_only,
                                                           .committer = &store.committer()});
  };
  std::atomic<bool> interrupted{false}, timed_out{false};
  bool stopped_any = false;  // a run left unfinished by Ctrl-C or --timeout
  auto stop_all = [&] {
    SetRetryWaitsInterrupted(true);  // a run retrying against a dead API stops now too
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
    // Up to `jobs` runs at once, each a coroutine on the executor (RunDriver::DriveAsync): a
    // server run waiting on its event stream holds no thread, so the workers only carry the
    // work between waits. A run that ends starts the next one.
    const size_t jobs = std::clamp<size_t>(static_cast<size_t>(std::max(options.jobs, 1)), 1, driven.size());
    // More than kWorkers only while half of them or more wait on the API (a slow or unreachable
    // one): workers queued behind the store's one writer would not go faster for more of them.
    const int usual = static_cast<int>(std::clamp<size_t>(jobs, 4, kWorkers));
    PoolExecutor executor(usual, static_cast<int>(std::clamp<size_t>(jobs, 4, kMaxWorkers)),
                          [usual] { return ApiWaitsInFlight() * 2 >= usual; });
    std::vector<std::unique_ptr<RunDriver>> drivers(driven.size());
    std::mutex mu;
    std::condition_variable all_done;
    size_t next = 0, running = 0;
    std::function<void()> start_next;  // under mu: starts runs while there are slots and runs
    start_next = [&] {
      while (running < jobs && next < driven.size() && !interrupted && !timed_out) {
        const size_t i = next++;
        ++running;
        drivers[i] = driver_for(i);
        Launch<Result<RunOutcome>>(drivers[i]->DriveAsync(driven[i].run_id, executor), [&, i](Result<RunOutcome> r) {
          std::lock_guard<std::mutex> lock(mu);
          driven[i].outcome = std::move(r);
          --running;
          start_next();
          all_done.notify_all();
        });
      }
    };
    {
      std::unique_lock<std::mutex> lock(mu);
      start_next();
      all_done.wait(lock, [&] { return running == 0 && (next == driven.size() || interrupted || timed_out); });
    }
    {
      std::lock_guard<std::mutex> lock(timer_mu);
      finished = true;
    }
    timer_cv.notify_all();
    if (timer.joinable()) timer.join();
    // Every run has stopped: what follows (the cancels of --cancel-on-interrupt) may retry again.
    SetRetryWaitsInterrupted(false);
    if (interrupted || timed_out) {
      for (size_t i = 0; i < driven.size(); ++i) {
        DrivenRun& d = driven[i];
        bool ended = d.outcome.ok() && (IsTerminal(d.outcome->status) || d.outcome->status == RunStatus::kWaitingForUser);
        if (ended) continue;
        stopped_any = true;
        Result<RunRecord> r = store.GetRun(d.run_id);
        const bool started = r.ok() && !r->workflow_id.empty();
        const bool finished_remotely = r.ok() && IsTerminal(r->status);  // stopped while downloading
        const Status::Code code = interrupted ? Status::Code::kCancelled : Status::Code::kDeadlineExceeded;
        const std::string why = interrupted ? "interrupted" : "--timeout expired";
        if (ends_with_process(d.run_id)) {
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
            progress.Line(d.run_id + ": cancelled before its start was sent (nothing was sent)");
            RunOutcome cancelled;
            cancelled.status = RunStatus::kCancelled;
            d.outcome = cancelled;
          }
        } else if (interrupted && options.cancel_on_interrupt) {
          Status c = driver_for(i)->RequestCancel(*r);
          progress.Line(d.run_id + (c.ok() ? ": cancel requested for workflow " + r->workflow_id
                                          : ": cancel failed: " + c.message()));
          if (c.ok()) d.outcome = Status::Error(Status::Code::kCancelled, "interrupted; cancel requested for the workflow");
        }
      }
    }
  }
  // A run of the in-process simulator cannot go on once this process ends: it is cancelled now,
  // so that no later `resume --all` waits for a workflow that no longer exists anywhere.
  for (DrivenRun& d : driven) {
    if (!ends_with_process(d.run_id)) continue;
    Result<RunRecord> r = store.GetRun(d.run_id);
    if (!r.ok() || IsTerminal(r->status)) continue;
    Value error = Value::Object();
    error.Set("code", Value::String("sandbox_ended"));
    error.Set("message", Value::String("the in-process sandbox ended with its process before the run did"));
    if (store.UpdateRun(d.run_id, {.status = RunStatus::kCancelled, .error = error}).ok())
      progress.Line(d.run_id + ": cancelled: the in-process sandbox ends with this process");
  }
  result.interrupted = interrupted;
  result.timed_out = timed_out;
  result.stopped_any = stopped_any;
  return result;
}

}  // namespace sflow
