// PublishPart and WriteNoReplace (runner/artifact_files.h) make a file durable before it becomes
// visible: fsync of its bytes, then the link to its final name, then fsync of the directory; an
// fsync that fails publishes nothing. The order is observed by interposing fsync(), link() and
// linkat() in this test binary: the code under test is linked into it statically, so its calls
// resolve to the definitions below, which log each call and then make the real system call.
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
#include "runner/sha256.h"

namespace {

std::mutex g_mu;
std::vector<std::string>* g_journal = nullptr;  // recording when set
std::string g_fail_fsync_of;                     // an fsync of a path containing this fails (EIO)
bool g_fail_file_fsyncs = false;                 // every fsync of a file (not a directory) fails

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
      struct stat st{};
      const bool is_file = ::fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode);
      if ((!g_fail_fsync_of.empty() && path.find(g_fail_fsync_of) != std::string::npos) || (g_fail_file_fsyncs && is_file)) {
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

extern "C" int linkat(int from_dir, const char* from, int to_dir, const char* to, int flags) noexcept {
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (g_journal) g_journal->push_back(std::string("linkat ") + from + " " + to);
  }
  return static_cast<int>(syscall(SYS_linkat, from_dir, from, to_dir, to, flags));
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
      g_fail_file_fsyncs = false;
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

// The new file is unnamed until it is whole and synced (O_TMPFILE, linked through /proc), or on
// a filesystem without O_TMPFILE a temp file named "<final>.part-<pid>".
bool IsTempFsync(const std::string& call, const std::string& dir, const std::string& final_path) {
  return call == "fsync " + final_path + ".part-" + std::to_string(getpid()) ||
         (call.rfind("fsync " + dir + "/#", 0) == 0 && call.find(" (deleted)") != std::string::npos);
}
bool IsTempLink(const std::string& call, const std::string& final_path) {
  const std::string tail = " " + final_path;
  return call.size() > tail.size() && call.compare(call.size() - tail.size(), tail.size(), tail) == 0 &&
         (call.rfind("linkat /proc/self/fd/", 0) == 0 || call.rfind("link " + final_path + ".part-", 0) == 0);
}

TEST_F(ArtifactPublishTest, WriteNoReplaceSyncsItsTempFileBeforeTheLinkAndTheDirectoryAfter) {
  const std::string final_path = dir_ + "/0.png.provenance.json";
  Status s = WriteNoReplace(dir_, final_path, "{\"kind\":\"sogni-flow/provenance\"}\n");
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::vector<std::string> j = Journal();
  ASSERT_EQ(j.size(), 3u) << testing::PrintToString(j);
  EXPECT_TRUE(IsTempFsync(j[0], dir_, final_path)) << j[0];
  EXPECT_TRUE(IsTempLink(j[1], final_path)) << j[1];
  EXPECT_EQ(j[2], "fsync " + dir_);
  std::ifstream in(final_path);
  std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got, "{\"kind\":\"sogni-flow/provenance\"}\n");
  for (const auto& e : std::filesystem::directory_iterator(dir_))
    EXPECT_EQ(e.path().string(), final_path) << "a temp file stayed behind";
}

TEST_F(ArtifactPublishTest, WriteNoReplaceWhoseFsyncFailsPublishesNothing) {
  const std::string final_path = dir_ + "/0.png.provenance.json";
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_fail_file_fsyncs = true;
  }
  EXPECT_EQ(WriteNoReplace(dir_, final_path, "{}\n").code(), Status::Code::kIOError);
  EXPECT_FALSE(Exists(final_path));
  EXPECT_TRUE(std::filesystem::is_empty(dir_)) << "the temp file stays behind";
}

// An artifact and its provenance: each file synced before its link, and the directory once,
// after both names (SyncDir::kByCaller for the first).
TEST_F(ArtifactPublishTest, AnArtifactAndItsProvenanceShareOneDirectorySync) {
  const std::string part = dir_ + "/.0.part", final_path = dir_ + "/0.png", prov = final_path + ".provenance.json";
  Write(".0.part", "the bytes");
  {
    std::lock_guard<std::mutex> lock(g_mu);
    journal_.clear();
  }
  ASSERT_TRUE(PublishPart(dir_, part, final_path, SyncDir::kByCaller).ok());
  ASSERT_TRUE(WriteNoReplace(dir_, prov, "{}\n", SyncDir::kNow).ok());
  std::vector<std::string> j = Journal();
  ASSERT_EQ(j.size(), 5u) << testing::PrintToString(j);
  EXPECT_EQ(j[0], "fsync " + part);
  EXPECT_EQ(j[1], "link " + part + " " + final_path);
  EXPECT_TRUE(IsTempFsync(j[2], dir_, prov)) << j[2];
  EXPECT_TRUE(IsTempLink(j[3], prov)) << j[3];
  EXPECT_EQ(j[4], "fsync " + dir_);
}

TEST_F(ArtifactPublishTest, ANameThatExistsWithOtherBytesIsNeverReplaced) {
  const std::string final_path = dir_ + "/0.png.provenance.json";
  Write("0.png.provenance.json", "theirs");
  EXPECT_TRUE(WriteNoReplace(dir_, final_path, "theirs").ok()) << "the same bytes: an earlier attempt finished";
  EXPECT_EQ(WriteNoReplace(dir_, final_path, "mine").code(), Status::Code::kConflict);
  std::ifstream in(final_path);
  std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got, "theirs");
  for (const auto& e : std::filesystem::directory_iterator(dir_))
    EXPECT_EQ(e.path().string(), final_path) << "a temp file stayed behind";
}

TEST_F(ArtifactPublishTest, DigestFileReadsSizeDigestAndHeadABlockAtATime) {
  std::string big;
  for (int i = 0; big.size() < (3u << 16) + 17; ++i) big += "block " + std::to_string(i) + "\n";
  Write("big.bin", big);
  Result<FileDigest> d = DigestFile(dir_ + "/big.bin");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->size, static_cast<int64_t>(big.size()));
  EXPECT_EQ(d->sha256, Sha256Hex(big));
  EXPECT_EQ(d->head, big.substr(0, 64));
  Write("empty", "");
  Result<FileDigest> e = DigestFile(dir_ + "/empty");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(DigestFile(dir_ + "/missing").status().code(), Status::Code::kIOError);
}

TEST(Sha256Test, KnownVectorsAndIncrementalUpdatesAgree) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 million;
  const std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i) million.Update(chunk);
  EXPECT_EQ(million.HexDigest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

}  // namespace
}  // namespace sflow
