// engine/status.h: a Result never says ok without a value, in any build.
#include "engine/status.h"

#include <gtest/gtest.h>

namespace sflow {
namespace {

TEST(StatusTest, AResultMadeFromAnOkStatusIsAnErrorNotAnEmptySuccess) {
  Result<int> r = Status::OK();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInternal);
  Result<int> v = 3;
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 3);
}

}  // namespace
}  // namespace sflow
