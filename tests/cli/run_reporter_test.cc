#include "cli/run_reporter.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <sstream>
#include <streambuf>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "engine/json.h"

namespace sflow {
namespace {

Value Json(const std::string& text) {
  Result<Value> v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << text;
  return v.ok() ? *v : Value::Null();
}

// The last picture of a LiveReporter: the text after the last "clear below" sequence.
std::string LastPicture(const std::string& screen) {
  size_t at = screen.rfind("\x1b[J");
  return at == std::string::npos ? screen : screen.substr(at + 3);
}

TEST(StepNewsTest, ReadsBothEventVocabularies) {
  StepNews a = ReadStepNews(Json(R"({"type":"step_started","data":{"stepId":"keyframe"}})"));
  EXPECT_EQ(a.step, "keyframe");
  EXPECT_EQ(a.status, "running");
  StepNews b = ReadStepNews(Json(R"({"type":"stage_completed","payload":{"stageId":"clip"}})"));
  EXPECT_EQ(b.step, "clip");
  EXPECT_EQ(b.status, "completed");
  StepNews c = ReadStepNews(Json(R"({"type":"workflow_progress","data":{"stepId":"s","progress":0.25,"queuePosition":3}})"));
  EXPECT_EQ(c.status, "running") << "progress means the step runs";
  EXPECT_DOUBLE_EQ(*c.progress, 0.25);
  EXPECT_EQ(*c.queue_position, 3);
  EXPECT_DOUBLE_EQ(*ReadStepNews(Json(R"({"type":"x","data":{"stepId":"s","progress":40}})")).progress, 0.4)
      << "a percentage is read as one";
  EXPECT_EQ(ReadStepNews(Json(R"({"type":"workflow_started","data":{}})")).step, "");
  EXPECT_EQ(ReadStepNews(Json(R"({"type":"step_started","data":"not an object"})")).step, "");
  EXPECT_EQ(ReadStepNews(Json(R"([1,2])")).step, "");
}

TEST(StreamReporterTest, OneLinePerStepTransitionAndJsonPerEvent) {
  std::ostringstream progress, json;
  StreamReporter r(&progress, &json);
  r.Line("r1: running");
  r.Event("r1", Json(R"({"sequence":1,"type":"step_started","data":{"stepId":"keyframe"}})"));
  r.Event("r1", Json(R"({"sequence":2,"type":"workflow_progress","data":{"stepId":"keyframe","progress":0.5}})"));
  r.Event("r1", Json(R"({"sequence":3,"type":"step_completed","data":{"stepId":"keyframe"}})"));
  EXPECT_EQ(progress.str(), "r1: running\nr1: step keyframe running\nr1: step keyframe completed\n")
      << "progress alone is not a change worth a line";
  std::istringstream lines(json.str());
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    Value v = Json(line);
    EXPECT_EQ(v.Find("event")->as_string(), "workflow_event");
    EXPECT_EQ(v.Find("run")->as_string(), "r1");
    EXPECT_EQ(v.Find("record")->Find("sequence")->as_int(), ++n);
  }
  EXPECT_EQ(n, 3);
}

// A stream buffer that logs every write with its thread and notices two writes in progress at
// once. The first write of each thread waits (at most 50 ms) for another thread to be inside a
// write too: behind the reporter's lock that cannot happen and the wait runs out; without the
// lock the other threads, started together, arrive within that time and the overlap is seen.
class OverlapDetectingBuf : public std::streambuf {
 public:
  struct Write {
    std::thread::id thread;
    std::string text;
  };
  bool overlapped() const { return overlapped_; }
  std::vector<Write> writes() {
    std::lock_guard<std::mutex> lock(log_mu_);
    return writes_;
  }

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (++inside_ > 1) overlapped_ = true;
    thread_local bool first = true;
    if (first) {
      first = false;
      const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
      while (inside_ < 2 && !overlapped_ && std::chrono::steady_clock::now() < until) std::this_thread::yield();
      if (inside_ > 1) overlapped_ = true;
    }
    {
      std::lock_guard<std::mutex> lock(log_mu_);
      writes_.push_back({std::this_thread::get_id(), std::string(s, static_cast<size_t>(n))});
    }
    --inside_;
    return n;
  }
  int_type overflow(int_type c) override {
    if (c == traits_type::eof()) return traits_type::not_eof(c);
    char ch = traits_type::to_char_type(c);
    xsputn(&ch, 1);
    return c;
  }

 private:
  std::atomic<int> inside_{0};
  std::atomic<bool> overlapped_{false};
  std::mutex log_mu_;
  std::vector<Write> writes_;
};

TEST(StreamReporterTest, LinesFromManyThreadsNeverInterleave) {
  OverlapDetectingBuf buf;
  std::ostream progress(&buf);
  StreamReporter r(&progress, nullptr);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&r, t] {
      for (int i = 0; i < 200; ++i) r.Line("thread " + std::to_string(t) + " line " + std::string(40, 'x'));
    });
  for (std::thread& t : threads) t.join();
  EXPECT_FALSE(buf.overlapped()) << "two threads wrote to the stream at once";
  // Each line is one write, its newline included: whole in a log other processes write to too
  // (std::cerr flushes after every <<, so a line written in pieces was several syscalls).
  std::vector<OverlapDetectingBuf::Write> writes = buf.writes();
  std::string all;
  for (const OverlapDetectingBuf::Write& w : writes) {
    all += w.text;
    EXPECT_TRUE(!w.text.empty() && w.text.back() == '\n' && w.text.find('\n') == w.text.size() - 1)
        << "not one whole line: " << w.text;
  }
  std::istringstream lines(all);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    ++n;
    EXPECT_EQ(line.size(), std::string("thread 0 line ").size() + 40) << line;
  }
  EXPECT_EQ(n, 800);
}

TEST(LiveReporterTest, DrawsOneLinePerStepWithStatusProgressAndQueue) {
  std::ostringstream screen;
  {
    LiveReporter r(&screen);
    r.AddRun("r1", "teaser", {"keyframe", "clip"});
    r.Event("r1", Json(R"({"type":"workflow_started","status":"running"})"));
    r.Event("r1", Json(R"({"type":"step_started","data":{"stepId":"keyframe"}})"));
    r.Event("r1", Json(R"({"type":"workflow_progress","data":{"stepId":"keyframe","progress":0.5}})"));
    r.Event("r1", Json(R"({"type":"workflow_progress","data":{"stepId":"clip","queuePosition":4}})"));
    r.Line("r1: a line above the block");
  }
  std::string last = LastPicture(screen.str());
  EXPECT_NE(last.find("r1  teaser  running"), std::string::npos) << last;
  EXPECT_NE(last.find("> keyframe  running  50%"), std::string::npos) << last;
  EXPECT_NE(last.find("  clip  queued  queue #4"), std::string::npos) << last;
  EXPECT_NE(last.find("1 run: 0 completed, 1 in progress, 0 failed  |  4 events"), std::string::npos) << last;
  EXPECT_NE(screen.str().find("r1: a line above the block\n"), std::string::npos);
  EXPECT_EQ(last.find("a line above"), std::string::npos) << "lines print above the block, not in it";
}

TEST(LiveReporterTest, FinishedStepsAndRunsStopTheirClocks) {
  std::ostringstream screen;
  {
    LiveReporter r(&screen);
    r.AddRun("r1", "p", {"a"});
    r.Event("r1", Json(R"({"type":"step_started","data":{"stepId":"a"}})"));
    r.Event("r1", Json(R"({"type":"step_failed","data":{"stepId":"a"}})"));
    r.Event("r1", Json(R"({"type":"workflow_failed","status":"failed"})"));
  }
  std::string last = LastPicture(screen.str());
  EXPECT_NE(last.find("x a  failed  0.0s"), std::string::npos) << last;
  EXPECT_NE(last.find("0 completed, 0 in progress, 1 failed"), std::string::npos) << last;
}

TEST(LiveReporterTest, ABlockTallerThanTheScreenShowsOneLinePerUnfinishedRun) {
  std::ostringstream screen;
  {
    LiveReporter r(&screen, /*columns=*/40, /*rows=*/8);
    for (int i = 0; i < 10; ++i) r.AddRun("r" + std::to_string(i), "plan-with-a-rather-long-name", {"a", "b"});
    r.Event("r0", Json(R"({"type":"workflow_completed","status":"completed"})"));
  }
  std::string last = LastPicture(screen.str());
  int lines = 0;
  std::istringstream in(last);
  for (std::string line; std::getline(in, line); ++lines) EXPECT_LT(line.size(), 40u) << line;
  EXPECT_LE(lines, 7) << last;
  EXPECT_EQ(last.find("r0 "), std::string::npos) << "a finished run gives way: " << last;
  EXPECT_NE(last.find("more runs not shown"), std::string::npos) << last;
  EXPECT_NE(last.find("10 runs: 1 completed"), std::string::npos) << last;
}

TEST(LiveReporterTest, RunsWithoutRoomForStepsGetOneLineEach) {
  std::ostringstream screen;
  {
    LiveReporter r(&screen, 100, /*rows=*/6);
    r.AddRun("r1", "p", {"a", "b", "c"});
    r.AddRun("r2", "p", {"a", "b", "c"});
    r.Event("r1", Json(R"({"type":"step_completed","data":{"stepId":"a"}})"));
  }
  std::string last = LastPicture(screen.str());
  EXPECT_NE(last.find("r1  p  submitting"), std::string::npos) << last;
  EXPECT_NE(last.find("steps 1/3"), std::string::npos) << last;
  EXPECT_EQ(last.find("  + a"), std::string::npos) << last;
}

TEST(LiveReporterTest, CutsLongLinesOnACharacterBoundary) {
  std::ostringstream screen;
  {
    LiveReporter r(&screen, /*columns=*/12, 40);
    r.AddRun("r1", "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", {});  // "ééééé"
  }
  std::string first = LastPicture(screen.str()).substr(0, LastPicture(screen.str()).find('\n'));
  EXPECT_LT(first.size(), 12u);
  EXPECT_NE(static_cast<unsigned char>(first.back()) & 0xC0, 0xC0) << "no lead byte without its continuation";
}

}  // namespace
}  // namespace sflow
