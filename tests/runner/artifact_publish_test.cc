// PublishPart and WriteNoReplace (runner/artifact_files.h) make a file durable before it becomes
// visible: fsync of its bytes, then the link to its final name, then fsync of the directory; an
// fsync that fails publishes nothing. The order is observed by interposing fsync() and link() in
// this test binary: the code under test is linked into it statically, so its calls resolve to
// the definitions below, which log each call and then make the real system call.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runner/artifact_files.h"

namespace {

std::mutex g_mu;
std::vector<std::string>* g_journal = nullptr;  // recording when set
std::string g_fail_fsync_of;                     // an fsync of a path containing this fails (EIO)

std::string PathOfFd(int fd) {
  char buf[PATH_MAX];
  ssize_t n = readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "?";
}

}  // namespace

extern "C" int fsync(int fd) {
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (g_journal) {
      const std::string path = PathOfFd(fd);
      g_journal->push_back("fsync " + path);
      if (!g_fail_fsync_of.empty() && path.find(g_fail_fsync_of) != std::string::npos) {
        errno = EIO;
        return -1;
      }
    }
  }
  return static_cast<int>(syscall(SYS_fsync, fd));
}

extern "C" int link(const char* from, const char* to) noexcept {
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (g_journal) g_journal->push_back(std::string("link ") + from + " " + to);
  }
  return static_cast<int>(syscall(SYS_linkat, AT_FDCWD, from, AT_FDCWD, to, 0));
}

namespace sflow {
namespace {

class ArtifactPublishTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = std::filesystem::temp_directory_path().string() + "/sflow-publish-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    char buf[PATH_MAX];
    ASSERT_NE(realpath(tmpl.c_str(), buf), nullptr);
    dir_ = buf;
    std::lock_guard<std::mutex> lock(g_mu);
    g_journal = &journal_;
    g_fail_fsync_of.clear();
  }
  void TearDown() override {
    {
      std::lock_guard<std::mutex> lock(g_mu);
      g_journal = nullptr;
      g_fail_fsync_of.clear();
    }
    std::filesystem::remove_all(dir_);
  }
  void Write(const std::string& name, const std::string& content) {
    std::ofstream(dir_ + "/" + name, std::ios::binary) << content;
  }
  std::vector<std::string> Journal() {
    std::lock_guard<std::mutex> lock(g_mu);
    return journal_;
  }
  void FailFsyncOf(const std::string& path_part) {
    std::lock_guard<std::mutex> lock(g_mu);
    g_fail_fsync_of = path_part;
  }
  static bool Exists(const std::string& path) {
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0;
  }

  std::string dir_;
  std::vector<std::string> journal_;
};

TEST_F(ArtifactPublishTest, PublishPartSyncsThePartBeforeItsLinkAndTheDirectoryAfter) {
  const std::string part = dir_ + "/.0.part", final_path = dir_ + "/0.png";
  Write(".0.part", "the bytes");
  {
    std::lock_guard<std::mutex> lock(g_mu);
    journal_.clear();
  }
  Status s = PublishPart(dir_, part, final_path);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Journal(), (std::vector<std::string>{"fsync " + part, "link " + part + " " + final_path, "fsync " + dir_}));
  EXPECT_TRUE(Exists(final_path));
}

TEST_F(ArtifactPublishTest, PublishPartWhoseFsyncFailsPublishesNothing) {
  const std::string part = dir_ + "/.0.part", final_path = dir_ + "/0.png";
  Write(".0.part", "the bytes");
  FailFsyncOf("/.0.part");
  Status s = PublishPart(dir_, part, final_path);
  EXPECT_EQ(s.code(), Status::Code::kIOError) << s.ToString();
  EXPECT_FALSE(Exists(final_path)) << "a file whose bytes may not be on disk was published";
  for (const std::string& call : Journal()) EXPECT_NE(call.rfind("link ", 0), 0u) << call;
}

TEST_F(ArtifactPublishTest, WriteNoReplaceSyncsItsTempFileBeforeTheLinkAndTheDirectoryAfter) {
  const std::string final_path = dir_ + "/0.png.provenance.json";
  Status s = WriteNoReplace(dir_, final_path, "{\"kind\":\"sogni-flow/provenance\"}\n");
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::vector<std::string> j = Journal();
  const std::string tmp = final_path + ".part-" + std::to_string(getpid());
  ASSERT_EQ(j.size(), 3u) << testing::PrintToString(j);
  EXPECT_EQ(j[0], "fsync " + tmp);
  EXPECT_EQ(j[1], "link " + tmp + " " + final_path);
  EXPECT_EQ(j[2], "fsync " + dir_);
}

TEST_F(ArtifactPublishTest, WriteNoReplaceWhoseFsyncFailsPublishesNothing) {
  const std::string final_path = dir_ + "/0.png.provenance.json";
  FailFsyncOf(".provenance.json.part-");
  EXPECT_EQ(WriteNoReplace(dir_, final_path, "{}\n").code(), Status::Code::kIOError);
  EXPECT_FALSE(Exists(final_path));
  EXPECT_FALSE(Exists(final_path + ".part-" + std::to_string(getpid()))) << "the temp file stays behind";
}

}  // namespace
}  // namespace sflow
