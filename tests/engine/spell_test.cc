#include "engine/spell.h"

#include <gtest/gtest.h>

namespace sflow {
namespace {

TEST(SpellTest, EditDistance) {
  EXPECT_EQ(EditDistance("keyframe", "keyframe"), 0);
  EXPECT_EQ(EditDistance("keyfrme", "keyframe"), 1);
  EXPECT_EQ(EditDistance("dependson", "dependsOn"), 1);  // case only
  EXPECT_EQ(EditDistance("", "abc"), 3);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3);
}

TEST(SpellTest, SuggestsOnlyPlausibleTypos) {
  std::vector<std::string> steps = {"keyframe", "clip", "overlay"};
  EXPECT_EQ(SpellCheck("keyfrme", steps), "keyframe");
  EXPECT_EQ(SpellCheck("clpi", steps), "clip");
  EXPECT_EQ(SpellCheck("music", steps), "");
  EXPECT_EQ(DidYouMean("overlya", steps), "did you mean 'overlay'?");
  EXPECT_EQ(DidYouMean("zzz", steps), "");
}

TEST(SpellTest, TiesGoToTheEarlierCandidate) {
  EXPECT_EQ(SpellCheck("cat", {"bat", "hat"}), "bat");
}

}  // namespace
}  // namespace sflow
