// The reporters of runs (docs/diagnostics.md, streams): the two ways the commands show what the
// runner layer tells them (runner/progress.h). stdout carries data (--json: one JSON object per
// workflow event), stderr human progress: on a terminal a live block of lines per step, otherwise
// one line per change, fit for cron logs. Both are thread-safe, as RunProgress requires.
#ifndef SFLOW_CLI_RUN_REPORTER_H_
#define SFLOW_CLI_RUN_REPORTER_H_

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "engine/value.h"
#include "runner/progress.h"

namespace sflow {

// Lines to `progress` (may be null). With `json`, every event as
// {"event":"workflow_event","run":RUN,"record":{...}} on one line. Step transitions (step_* and
// stage_* events) get a line of their own: "r-...: step keyframe completed".
class StreamReporter final : public RunProgress {
 public:
  StreamReporter(std::ostream* progress, std::ostream* json) : progress_(progress), json_(json) {}
  void AddRun(const std::string&, const std::string&, const std::vector<std::string>&) override {}
  void Line(const std::string& text) override;
  void Event(const std::string& run_id, const Value& record) override;
  // With --json every event; otherwise only step transitions.
  bool WantsEvent(std::string_view type) const override;

 private:
  std::mutex mu_;
  std::ostream* progress_;
  std::ostream* json_;
};

// The step an event is about and what it says of it, in either event vocabulary of the contract
// (workflow events: data.stepId; RunEvent: payload.stageId). Empty step: a run-level event.
struct StepNews {
  std::string step;
  std::string status;                 // "running", "completed", "failed", "waiting_for_user" or ""
  std::optional<double> progress;     // 0..1
  std::optional<int64_t> queue_position;
};
StepNews ReadStepNews(const Value& record);

// On a terminal: one line per run and per step (status, progress, elapsed, queue position when
// known) and a totals line, redrawn in place at most every 100 ms and each second while anything
// runs; Line()s print above the block. Destroying it draws the block a last time and leaves it.
//
// The block fits the terminal: lines are cut at `columns`, and when runs and steps need more than
// `rows` - 1 lines it shows one line per run, then only the unfinished runs and a count of the
// others (a block taller than the screen cannot be redrawn in place).
class LiveReporter final : public RunProgress {
 public:
  // columns/rows: the terminal's size (0: 100 x 40).
  explicit LiveReporter(std::ostream* out, int columns = 0, int rows = 0);
  ~LiveReporter() override;
  void AddRun(const std::string& run_id, const std::string& label, const std::vector<std::string>& steps) override;
  void Line(const std::string& text) override;
  void Event(const std::string& run_id, const Value& record) override;

 private:
  using Clock = std::chrono::steady_clock;
  struct StepView {
    std::string id{}, status = "planned";
    std::optional<double> progress{};
    std::optional<int64_t> queue_position{};
    std::optional<Clock::time_point> started{}, ended{};
  };
  struct RunView {
    std::string id{}, label{}, status = "submitting";
    Clock::time_point started = Clock::now();
    std::optional<Clock::time_point> ended{};
    int64_t events = 0;
    std::vector<StepView> steps{};
  };
  StepView* FindStep(RunView& run, const std::string& step);
  void Erase();            // under mu_
  void Draw();             // under mu_
  std::string Render();    // under mu_

  std::ostream* out_;
  const size_t columns_, rows_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::vector<RunView> runs_;
  int drawn_lines_ = 0;
  Clock::time_point last_draw_{};
  Clock::time_point started_ = Clock::now();
  std::thread ticker_;
};

}  // namespace sflow

#endif  // SFLOW_CLI_RUN_REPORTER_H_
