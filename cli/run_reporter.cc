#include "cli/run_reporter.h"

#include <cstdio>
#include <sstream>

namespace sflow {

namespace {

const Value* Member(const Value& v, std::string_view key) { return v.is_object() ? v.Find(key) : nullptr; }

std::string StringAt(const Value& v, std::string_view key) {
  const Value* f = Member(v, key);
  return f && f->is_string() ? f->as_string() : std::string();
}

bool StartsWith(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

// step_started / stage_started -> "running", and so on; "" for anything else.
std::string StepStatusOf(std::string_view type) {
  std::string_view rest;
  if (type.starts_with("step_")) rest = type.substr(5);
  else if (type.starts_with("stage_")) rest = type.substr(6);
  else return "";
  if (rest == "started") return "running";
  if (rest == "completed" || rest == "failed" || rest == "waiting_for_user") return std::string(rest);
  return "";
}

// The run status an event reports: its own `status`, else what a workflow_*/run_* type says.
std::string RunStatusOf(const Value& record) {
  std::string status = StringAt(record, "status");
  if (!status.empty()) return status == "canceled" ? "cancelled" : status;
  std::string type = StringAt(record, "type");
  for (std::string_view prefix : {"workflow_", "run_"}) {
    if (!StartsWith(type, prefix)) continue;
    std::string rest = type.substr(prefix.size());
    if (rest == "started") return "running";
    if (rest == "completed" || rest == "failed" || rest == "cancelled" || rest == "waiting_for_user" ||
        rest == "partial_failure")
      return rest;
  }
  return "";
}

}  // namespace

StepNews ReadStepNews(const Value& record) {
  StepNews news;
  const Value* data = Member(record, "data");
  if (!data || !data->is_object()) data = Member(record, "payload");
  if (!data || !data->is_object()) return news;
  news.step = StringAt(*data, "stepId");
  if (news.step.empty()) news.step = StringAt(*data, "stageId");
  if (news.step.empty()) return news;
  std::string type = StringAt(record, "type");
  if (type.empty()) type = StringAt(record, "event");
  news.status = StepStatusOf(type);
  if (const Value* p = Member(*data, "progress"); p && p->is_number()) {
    double v = p->as_number();
    news.progress = v > 1.0 ? v / 100.0 : v;  // a percentage or a fraction
    if (news.status.empty()) news.status = "running";
  }
  if (const Value* q = Member(*data, "queuePosition"); q && q->is_int()) news.queue_position = q->as_int();
  return news;
}

// ---- StreamReporter

void StreamReporter::Line(const std::string& text) {
  if (!progress_) return;
  // One write per line (std::cerr flushes after every <<): a line is whole in a log that other
  // processes write to as well, and 200 runs' lines cost a tenth of the syscalls.
  std::string line;
  line.reserve(text.size() + 1);
  line.append(text).push_back('\n');
  std::lock_guard<std::mutex> lock(mu_);
  *progress_ << line << std::flush;
}

bool StreamReporter::WantsEvent(std::string_view type) const {
  return json_ || (progress_ && !StepStatusOf(type).empty());
}

void StreamReporter::Event(const std::string& run_id, const Value& record) {
  // Most events (progress) are no step transition: the step is only read for those that are.
  StepNews news;
  if (progress_ && !StepStatusOf(StringAt(record, "type")).empty()) news = ReadStepNews(record);
  const bool transition = !news.step.empty();
  if (!json_ && !transition) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (json_) {
    Value line = Value::Object();
    line.Set("event", Value::String("workflow_event"));
    line.Set("run", Value::String(run_id));
    line.Set("record", record);
    *json_ << line.ToJson() << "\n";
  }
  if (transition) *progress_ << (run_id + ": step " + news.step + " " + news.status + "\n") << std::flush;  // one write
}

// ---- LiveReporter

LiveReporter::LiveReporter(std::ostream* out, int columns, int rows)
    : out_(out), columns_(columns > 0 ? columns : 100), rows_(rows > 0 ? rows : 40) {
  ticker_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      wake_.wait_for(lock, std::chrono::seconds(1));
      if (!stop_) Draw();  // elapsed times move on while nothing else happens
    }
  });
}

LiveReporter::~LiveReporter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    Draw();
    drawn_lines_ = 0;  // the last picture stays on the screen
  }
  wake_.notify_all();
  ticker_.join();
}

void LiveReporter::AddRun(const std::string& run_id, const std::string& label, const std::vector<std::string>& steps) {
  std::lock_guard<std::mutex> lock(mu_);
  RunView run;
  run.id = run_id;
  run.label = label;
  for (const std::string& s : steps) run.steps.push_back(StepView{.id = s});
  runs_.push_back(std::move(run));
  Draw();
}

void LiveReporter::Line(const std::string& text) {
  std::lock_guard<std::mutex> lock(mu_);
  Erase();
  *out_ << text << "\n";
  Draw();
}

LiveReporter::StepView* LiveReporter::FindStep(RunView& run, const std::string& step) {
  for (StepView& s : run.steps)
    if (s.id == step) return &s;
  run.steps.push_back(StepView{.id = step});  // a step the plan did not name (server-added)
  return &run.steps.back();
}

void LiveReporter::Event(const std::string& run_id, const Value& record) {
  std::lock_guard<std::mutex> lock(mu_);
  RunView* run = nullptr;
  for (RunView& r : runs_)
    if (r.id == run_id) run = &r;
  if (!run) {
    runs_.push_back(RunView{.id = run_id, .label = ""});
    run = &runs_.back();
  }
  ++run->events;
  if (std::string status = RunStatusOf(record); !status.empty()) {
    run->status = status;
    bool ended = status == "completed" || status == "failed" || status == "partial_failure" || status == "cancelled";
    if (ended && !run->ended) run->ended = Clock::now();
  }
  StepNews news = ReadStepNews(record);
  if (!news.step.empty()) {
    StepView* step = FindStep(*run, news.step);
    auto now = Clock::now();
    if (!news.status.empty()) {
      if (news.status == "running" && !step->started) step->started = now;
      if (news.status != "running" && news.status != step->status) step->ended = now;
      step->status = news.status;
    }
    if (news.progress) step->progress = news.progress;
    if (news.queue_position) {
      step->queue_position = news.queue_position;
      if (step->status == "planned") step->status = "queued";
    }
    if (step->status == "running") step->queue_position.reset();
  }
  if (Clock::now() - last_draw_ >= std::chrono::milliseconds(100)) Draw();
}

void LiveReporter::Erase() {
  if (drawn_lines_ > 0) *out_ << "\x1b[" << drawn_lines_ << "F\x1b[J";  // up N lines, clear below
  drawn_lines_ = 0;
}

void LiveReporter::Draw() {
  Erase();
  std::string block = Render();
  *out_ << block << std::flush;
  for (char c : block) drawn_lines_ += c == '\n';
  last_draw_ = Clock::now();
}

std::string LiveReporter::Render() {
  auto now = Clock::now();
  auto ms = [](Clock::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d); };
  int done = 0, running = 0, failed = 0;
  int64_t events = 0;
  size_t step_lines = 0;
  for (const RunView& run : runs_) {
    events += run.events;
    const std::string& s = run.status;
    if (s == "completed") ++done;
    else if (s == "failed" || s == "partial_failure" || s == "cancelled") ++failed;
    else ++running;
    step_lines += run.steps.size();
  }
  // What fits: every run with its steps; else one line per run; else the unfinished runs only.
  const size_t room = rows_ > 2 ? rows_ - 2 : 1;  // the totals line and the cursor's own
  const bool with_steps = runs_.size() + step_lines <= room;
  const bool only_open = !with_steps && runs_.size() > room;
  std::vector<std::string> lines;
  size_t hidden = 0;
  for (const RunView& run : runs_) {
    if (only_open && (run.ended || lines.size() + 1 >= room)) {
      ++hidden;
      continue;
    }
    std::ostringstream o;
    o << run.id << "  " << run.label << "  " << run.status << "  " << FormatElapsed(ms(run.ended.value_or(now) - run.started));
    if (!with_steps) {
      size_t finished = 0;
      for (const StepView& step : run.steps) finished += step.status == "completed";
      o << "  steps " << finished << "/" << run.steps.size();
    }
    lines.push_back(o.str());
    if (!with_steps) continue;
    for (const StepView& step : run.steps) {
      const char* mark = step.status == "completed" ? "+" : step.status == "failed" ? "x" : step.status == "running" ? ">" : " ";
      std::ostringstream l;
      l << "  " << mark << " " << step.id << "  " << step.status;
      if (step.status == "running" && step.progress) l << "  " << static_cast<int>(*step.progress * 100 + 0.5) << "%";
      if (step.started) l << "  " << FormatElapsed(ms(step.ended.value_or(now) - *step.started));
      if (step.queue_position) l << "  queue #" << *step.queue_position;
      lines.push_back(l.str());
    }
  }
  if (hidden) lines.push_back("  (" + std::to_string(hidden) + " more runs not shown)");
  std::ostringstream t;
  t << runs_.size() << (runs_.size() == 1 ? " run: " : " runs: ") << done << " completed, " << running
    << " in progress, " << failed << " failed  |  " << events << " events  |  " << FormatElapsed(ms(now - started_));
  lines.push_back(t.str());
  std::string block;
  for (std::string& line : lines) {
    if (line.size() >= columns_) {  // a wrapped line would break the redraw; cut on a UTF-8 boundary
      size_t cut = columns_ - 1;
      while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
      line.resize(cut);
    }
    block += line;
    block += '\n';
  }
  return block;
}

}  // namespace sflow
