// DeadlineWatch: a StreamCancel is cancelled at its deadline and never after Unwatch; deadlines
// come and go while the watch thread waits on one of them (under ASan this is where a dangling
// reference to a freed deadline showed).
#include "api/deadline_watch.h"

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace sflow {
namespace {

using namespace std::chrono_literals;

TEST(DeadlineWatchTest, CancelsAtTheDeadlineAndNeverAfterUnwatch) {
  DeadlineWatch watch;
  StreamCancel due, kept;
  watch.Watch(&due, DeadlineWatch::Clock::now() + 50ms);
  watch.Watch(&kept, DeadlineWatch::Clock::now() + 100ms);
  watch.Unwatch(&kept);
  for (int i = 0; i < 200 && !due.cancelled(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(due.cancelled());
  std::this_thread::sleep_for(150ms);  // past kept's old deadline: an unwatched cancel stays as it was
  EXPECT_FALSE(kept.cancelled());
}

TEST(DeadlineWatchTest, DeadlinesComeAndGoWhileTheThreadWaits) {
  DeadlineWatch watch;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&watch, t] {
      for (int i = 0; i < 500; ++i) {
        auto cancel = std::make_unique<StreamCancel>();
        // The earliest deadline, so the watch thread is waiting on this very one when it goes.
        watch.Watch(cancel.get(), DeadlineWatch::Clock::now() + std::chrono::milliseconds(1 + (i + t) % 3));
        if (i % 2) std::this_thread::yield();
        watch.Unwatch(cancel.get());
      }
    });
  }
  for (std::thread& th : threads) th.join();
}

}  // namespace
}  // namespace sflow
