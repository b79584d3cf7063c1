// The runner's coroutines and executors (runner/task.h, runner/executor.h): results travel up a
// chain of tasks, timers keep their order, the inline executor drives a task on its caller, and
// the pool grows past its usual size only while work waits for a worker.
#include "runner/executor.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "runner/task.h"

namespace sflow {
namespace {

using namespace std::chrono_literals;

Task<int> Leaf(Executor& ex, int v) {
  co_await ex.Switch();
  co_return v * 2;
}

Task<std::string> Chain(Executor& ex, int depth) {
  int sum = 0;
  for (int i = 0; i < depth; ++i) sum += co_await Leaf(ex, i);
  co_return std::to_string(sum);
}

TEST(ExecutorTest, AChainOfTasksHandsItsResultUpOnTheCallersThread) {
  InlineExecutor ex;
  const std::thread::id me = std::this_thread::get_id();
  std::thread::id ran_on;
  auto task = [&]() -> Task<int> {
    co_await ex.Switch();
    ran_on = std::this_thread::get_id();
    co_return 7;
  };
  EXPECT_EQ(ex.Run(task()), 7);
  EXPECT_EQ(ran_on, me);
  // Twenty thousand awaited tasks, each continued from the executor.
  EXPECT_EQ(ex.Run(Chain(ex, 20000)), std::to_string(2 * (20000LL * 19999 / 2)));
}

TEST(ExecutorTest, SleepsEndInTheOrderOfTheirDeadlines) {
  PoolExecutor ex(1, 1);  // one worker: the order is the timers', not the threads'
  std::mutex mu;
  std::vector<int> order;
  std::atomic<int> done{0};
  auto sleeper = [&](int ms) -> Task<int> {
    co_await ex.Sleep(std::chrono::milliseconds(ms));
    std::lock_guard<std::mutex> lock(mu);
    order.push_back(ms);
    co_return ms;
  };
  for (int ms : {120, 30, 80, 0}) Launch<int>(sleeper(ms), [&](int) { ++done; });
  for (int i = 0; i < 300 && done < 4; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(done.load(), 4);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(order, (std::vector<int>{0, 30, 80, 120}));
}

TEST(ExecutorTest, QuickWorkStaysOnTheUsualWorkers) {
  PoolExecutor ex(2, 64);
  std::atomic<int> done{0};
  auto quick = [&]() -> Task<int> {
    co_await ex.Switch();
    co_return 1;
  };
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 2000; ++i) Launch<int>(quick(), [&](int) { ++done; });
  for (int i = 0; i < 500 && done < 2000; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(done.load(), 2000);
  // More workers only if work waited kStarvedAfter (on a loaded machine quick work may); on a
  // quiet one, none.
  if (std::chrono::steady_clock::now() - start < PoolExecutor::kStarvedAfter) {
    EXPECT_EQ(ex.threads_started(), 2);
  }
}

// A slow API: every worker blocked in a call. Work that waits starts more workers (up to the
// most), instead of queueing behind the two usual ones.
TEST(ExecutorTest, WorkThatWaitsForABlockedWorkerStartsAnother) {
  PoolExecutor ex(2, 8);
  std::atomic<int> done{0};
  auto blocking = [&]() -> Task<int> {
    co_await ex.Switch();
    std::this_thread::sleep_for(600ms);  // a REST call that takes its time
    co_return 1;
  };
  for (int i = 0; i < 8; ++i) Launch<int>(blocking(), [&](int) { ++done; });
  for (int i = 0; i < 1000 && done < 8; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(done.load(), 8);
  EXPECT_GT(ex.threads_started(), 2) << "the blocked work queued behind the two usual workers";
  EXPECT_LE(ex.threads_started(), 8);
}

TEST(ExecutorTest, WorkersAreAddedOnlyWhenAllowed) {
  std::atomic<bool> allowed{false};
  PoolExecutor ex(2, 8, [&] { return allowed.load(); });
  std::atomic<int> done{0};
  auto blocking = [&]() -> Task<int> {
    co_await ex.Switch();
    std::this_thread::sleep_for(400ms);  // busy, but not with the API: the disk, say
    co_return 1;
  };
  for (int i = 0; i < 6; ++i) Launch<int>(blocking(), [&](int) { ++done; });
  for (int i = 0; i < 300 && done < 6; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(done.load(), 6);
  EXPECT_EQ(ex.threads_started(), 2) << "workers added although the pool was told not to";
}

TEST(ExecutorTest, ABlockingFunctionRunsOnAThreadOfItsOwn) {
  InlineExecutor ex;
  const std::thread::id me = std::this_thread::get_id();
  auto task = [&]() -> Task<std::thread::id> {
    auto awaiter = OnOwnThread<std::thread::id>(ex, [] { return std::this_thread::get_id(); });
    std::thread::id there = co_await awaiter;
    co_return there;
  };
  EXPECT_NE(ex.Run(task()), me);
}

}  // namespace
}  // namespace sflow
