// A RetryClock for tests: time moves only when the code under test sleeps, and every sleep is
// recorded, so retry tests run in microseconds and can assert each wait.
#ifndef SFLOW_TESTS_API_FAKE_RETRY_CLOCK_H_
#define SFLOW_TESTS_API_FAKE_RETRY_CLOCK_H_

#include <chrono>
#include <mutex>
#include <vector>

#include "api/retry_policy.h"

namespace sflow {

class FakeRetryClock : public RetryClock {
 public:
  // Wall time starts at 2026-11-23 00:00:00 UTC.
  static constexpr int64_t kWallStart = 1795392000;

  std::chrono::steady_clock::time_point Now() override {
    std::lock_guard<std::mutex> lock(mu_);
    return std::chrono::steady_clock::time_point(elapsed_);
  }
  std::chrono::system_clock::time_point WallNow() override {
    std::lock_guard<std::mutex> lock(mu_);
    return std::chrono::system_clock::time_point(std::chrono::seconds(kWallStart)) + elapsed_;
  }
  bool SleepFor(std::chrono::milliseconds d) override {
    std::lock_guard<std::mutex> lock(mu_);
    sleeps_.push_back(d);
    elapsed_ += d;
    return !interrupt_;
  }
  std::vector<std::chrono::milliseconds> sleeps() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sleeps_;
  }
  void set_interrupt(bool v) {
    std::lock_guard<std::mutex> lock(mu_);
    interrupt_ = v;
  }

 private:
  mutable std::mutex mu_;
  std::chrono::milliseconds elapsed_{0};
  std::vector<std::chrono::milliseconds> sleeps_;
  bool interrupt_ = false;
};

}  // namespace sflow

#endif  // SFLOW_TESTS_API_FAKE_RETRY_CLOCK_H_
