#include "cli/artifact_files.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/support/test_util.h"

namespace sflow {
namespace {

TEST(ArtifactFilesTest, SafeFileNameKeepsOnlyPlainCharacters) {
  EXPECT_EQ(SafeFileName("keyframe_1-a"), "keyframe_1-a");
  EXPECT_EQ(SafeFileName("../etc/passwd"), "___etc_passwd");
  EXPECT_EQ(SafeFileName(""), "_");
}

TEST(ArtifactFilesTest, ExtensionComesFromTheBytes) {
  EXPECT_EQ(ExtensionFor(MediaKind::kImage, "\x89PNG\r\n"), "png");
  EXPECT_EQ(ExtensionFor(MediaKind::kImage, "\xFF\xD8\xFF\xE0"), "jpg");
  EXPECT_EQ(ExtensionFor(MediaKind::kAudio, "RIFF....WAVE"), "wav");
  EXPECT_EQ(ExtensionFor(MediaKind::kVideo, std::string("\0\0\0\x18" "ftypisom", 12)), "mp4");
  EXPECT_EQ(ExtensionFor(MediaKind::kUnknown, "??"), "bin");
}

TEST(ArtifactFilesTest, WriteNoReplaceNeverOverwrites) {
  TempDir tmp;
  std::string dir = tmp.path() + "/a/b";
  ASSERT_OK(MakeDirectories(dir));
  std::string path = dir + "/0.png";
  ASSERT_OK(WriteNoReplace(dir, path, "first"));
  EXPECT_OK(WriteNoReplace(dir, path, "first"));  // same bytes: a finished earlier attempt
  Status other = WriteNoReplace(dir, path, "second");
  EXPECT_EQ(other.code(), Status::Code::kConflict) << other.ToString();
  auto bytes = ReadWholeFile(path);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, "first");
  struct stat st{};
  EXPECT_NE(stat((path + ".part-" + std::to_string(getpid())).c_str(), &st), 0);  // no temp left
}

}  // namespace
}  // namespace sflow
