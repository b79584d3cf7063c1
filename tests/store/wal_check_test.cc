// InspectWal: damage in the log is told from a crash. A crash can only tear the last transaction
// (synchronous=FULL syncs each one before the next is written), so bytes changed there are never
// called damage, while bytes changed in an earlier transaction are, and StateDir refuses to open.
#include "store/wal_check.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/state_dir.h"
#include "tests/store/store_test_util.h"
#include "tests/support/test_util.h"

namespace sflow {
namespace {

class WalCheckTest : public testing::Test {
 protected:
  // A state directory whose writer was killed after `batches` committed event batches: its
  // transactions are all in the log.
  void SetUp() override {
    source_ = tmp_.path() + "/source";
    pid_t child = fork();
    if (child == 0) {
      Result<std::unique_ptr<StateDir>> d = StateDir::Open({.path = source_, .now_ms = FixedClock()});
      if (!d.ok() || !(*d)->sqlite_store().db().Exec("PRAGMA wal_autocheckpoint = 0").ok()) _exit(1);
      if (!(*d)->store().CreateRun(SampleRun("r1")).ok()) _exit(1);
      for (int64_t b = 0; b < 6; ++b) {
        if (!(*d)->store().AppendEvents("r1", SampleBatch(b * 10, b * 10 + 9)).ok()) _exit(1);
      }
      _exit(0);  // killed: no checkpoint
    }
    int status = 0;
    waitpid(child, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    wal_ = ReadFile(source_ + "/state.db-wal");
    Result<WalReport> r = InspectWal(source_ + "/state.db-wal");
    ASSERT_OK(r.status());
    clean_ = *r;
    ASSERT_TRUE(clean_.present);
    ASSERT_GE(clean_.commits, 7);
    page_ = (wal_.size() - 32) / static_cast<size_t>(clean_.frames);  // every frame is whole and valid
  }
  // The log with the byte at `offset` changed, inspected.
  WalReport Flipped(size_t offset) {
    std::string bytes = wal_;
    bytes[offset] = static_cast<char>(bytes[offset] ^ 0x5a);
    std::string path = tmp_.Write("flipped/state.db-wal", bytes);
    Result<WalReport> r = InspectWal(path);
    EXPECT_OK(r.status());
    return r.ok() ? *r : WalReport{};
  }
  TempDir tmp_;
  std::string source_, wal_;
  WalReport clean_;
  size_t page_ = 0;  // bytes per frame
};

TEST_F(WalCheckTest, AnIntactLogIsNotDamage) {
  EXPECT_EQ(clean_.damaged_at, -1);
  EXPECT_FALSE(clean_.damaged());
  Result<WalReport> none = InspectWal(tmp_.path() + "/missing-wal");
  ASSERT_OK(none.status());
  EXPECT_FALSE(none->present);
}

TEST_F(WalCheckTest, ATornLastTransactionIsACrashNotDamage) {
  // Bytes changed in the last frame (the last transaction's commit), or the log cut anywhere.
  EXPECT_FALSE(Flipped(wal_.size() - 10).damaged());
  EXPECT_FALSE(Flipped(wal_.size() - page_ + 30).damaged());
  for (size_t cut = 32; cut < wal_.size(); cut += wal_.size() / 13) {
    std::string path = tmp_.Write("cut/state.db-wal", wal_.substr(0, cut));
    Result<WalReport> r = InspectWal(path);
    ASSERT_OK(r.status());
    EXPECT_FALSE(r->damaged()) << "cut at " << cut;
  }
}

TEST_F(WalCheckTest, ABadFrameBeforeCommittedTransactionsIsDamage) {
  WalReport r = Flipped(32 + 24 + 100);  // the first frame's page
  EXPECT_EQ(r.damaged_at, 32);
  EXPECT_EQ(r.frames, 0);
  EXPECT_EQ(r.lost_commits, clean_.commits);
  EXPECT_TRUE(r.damaged());
  Status s = DamagedWal(source_ + "/state.db", r);
  EXPECT_EQ(s.message().rfind("the state database's log " + source_ + "/state.db-wal is damaged at byte 32: ", 0), 0u)
      << s.message();
  // StateDir refuses it rather than let SQLite drop the transactions.
  tmp_.Write("refused/state.db", ReadFile(source_ + "/state.db"));
  tmp_.Write("refused/state.db-wal", ReadFile(tmp_.path() + "/flipped/state.db-wal"));
  for (bool read_only : {false, true}) {
    Result<std::unique_ptr<StateDir>> d = StateDir::Open({.path = tmp_.path() + "/refused", .read_only = read_only});
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), Status::Code::kIOError);
    EXPECT_NE(d.status().message().find("move " + tmp_.path() + "/refused/state.db-wal aside"), std::string::npos)
        << d.status().message();
  }
  EXPECT_EQ(ReadFile(tmp_.path() + "/refused/state.db-wal"), ReadFile(tmp_.path() + "/flipped/state.db-wal"))
      << "the log is left as it was";
}

}  // namespace
}  // namespace sflow
