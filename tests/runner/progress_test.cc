// FormatElapsed (runner/progress.h): durations as progress lines write them.
#include "runner/progress.h"

#include <chrono>

#include <gtest/gtest.h>

namespace sflow {
namespace {

TEST(FormatElapsedTest, SecondsMinutesHours) {
  EXPECT_EQ(FormatElapsed(std::chrono::milliseconds(12'340)), "12.3s");
  EXPECT_EQ(FormatElapsed(std::chrono::milliseconds(65'000)), "1m05s");
  EXPECT_EQ(FormatElapsed(std::chrono::milliseconds(3'725'000)), "1h02m");
}

}  // namespace
}  // namespace sflow
