// The state directory: file modes, the one-writer lock and read-only opening.
#include "store/state_dir.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "tests/store/store_test_util.h"
#include "tests/support/test_util.h"

namespace sflow {
namespace {

class StateDirTest : public testing::Test {
 protected:
  std::string dir() const { return tmp_.path() + "/home/.sogni-flow"; }
  Result<std::unique_ptr<StateDir>> Open(bool read_only = false) {
    return StateDir::Open({.path = dir(), .read_only = read_only, .now_ms = FixedClock()});
  }
  std::unique_ptr<StateDir> OpenOk() {
    Result<std::unique_ptr<StateDir>> d = Open();
    EXPECT_OK(d.status());
    return d.ok() ? std::move(*d) : nullptr;
  }
  TempDir tmp_;
};

// A pid that is certainly not running: a child that has exited and been reaped.
pid_t DeadPid() {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, nullptr, 0);
  return pid;
}

TEST_F(StateDirTest, CreatesTheDirectory0700AndTheFiles0600WhateverTheUmask) {
  mode_t old = umask(0);
  std::unique_ptr<StateDir> d = OpenOk();
  umask(old);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(ModeOf(dir()), 0700);
  EXPECT_EQ(ModeOf(dir() + "/state.db"), 0600);
  EXPECT_EQ(ModeOf(dir() + "/lock"), 0600);
  ASSERT_OK(d->store().CreateRun(SampleRun("r1")));  // writes make -wal and -shm
  EXPECT_EQ(ModeOf(dir() + "/state.db-wal"), 0600);
  EXPECT_EQ(ModeOf(dir() + "/state.db-shm"), 0600);
  EXPECT_TRUE(d->notices().empty());
  EXPECT_FALSE(d->recovered());
}

TEST_F(StateDirTest, TightensLooseModesAndSaysSo) {
  OpenOk().reset();
  ASSERT_EQ(chmod(dir().c_str(), 0755), 0);
  ASSERT_EQ(chmod((dir() + "/state.db").c_str(), 0644), 0);
  std::unique_ptr<StateDir> d = OpenOk();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(ModeOf(dir()), 0700);
  EXPECT_EQ(ModeOf(dir() + "/state.db"), 0600);
  ASSERT_EQ(d->notices().size(), 2u);
  EXPECT_EQ(d->notices()[0],
            "tightened the mode of state directory " + dir() + " from 0755 to 0700");
  EXPECT_EQ(d->notices()[1],
            "tightened the mode of state database file " + dir() + "/state.db from 0644 to 0600");
}

TEST_F(StateDirTest, RefusesASymlinkedDatabase) {
  OpenOk().reset();
  std::string target = tmp_.Write("elsewhere.db", "");
  std::filesystem::remove(dir() + "/state.db");
  std::filesystem::create_symlink(target, dir() + "/state.db");
  Result<std::unique_ptr<StateDir>> d = Open();
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Status::Code::kSecurity);
  EXPECT_EQ(d.status().message(),
            "state database file " + dir() + "/state.db is not a regular file; refusing to use it");
}

TEST_F(StateDirTest, RefusesADatabaseOwnedBySomeoneElse) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give a file away";
  OpenOk().reset();
  ASSERT_EQ(chown((dir() + "/state.db").c_str(), 4242, 4242), 0);
  Result<std::unique_ptr<StateDir>> d = Open();
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Status::Code::kSecurity);
  EXPECT_NE(d.status().message().find("belongs to uid 4242"), std::string::npos);
}

TEST_F(StateDirTest, ASecondWriterIsRefusedWithTheHolder) {
  std::unique_ptr<StateDir> first = OpenOk();
  ASSERT_NE(first, nullptr);
  Result<std::unique_ptr<StateDir>> second = Open();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kConflict);
  const std::string expected_prefix = dir() + "/lock is held by pid " + std::to_string(getpid()) +
                                      " on host " + LockFile::HostName() + " since ";
  EXPECT_EQ(second.status().message().rfind(expected_prefix, 0), 0u) << second.status().message();
  EXPECT_NE(
      second.status().message().find(
          "another sogni-flow is using this state directory; wait for it to finish or stop it"),
      std::string::npos);
  // The refused writer did not disturb the holder.
  EXPECT_OK(first->store().CreateRun(SampleRun("r1")));
}

TEST_F(StateDirTest, TheLockIsReleasedOnClose) {
  OpenOk().reset();
  std::unique_ptr<StateDir> again = OpenOk();
  ASSERT_NE(again, nullptr);
  EXPECT_TRUE(again->notices().empty());
  EXPECT_FALSE(again->recovered());
}

TEST_F(StateDirTest, AStaleLockOfADeadPidIsTakenOver) {
  OpenOk().reset();
  pid_t dead = DeadPid();
  LockHolder stale{dead, LockFile::HostName(), "2025-01-01T00:00:00Z"};
  tmp_.Write("home/.sogni-flow/lock", stale.Serialize());
  std::unique_ptr<StateDir> d = OpenOk();
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->recovered());
  ASSERT_EQ(d->notices().size(), 1u);
  EXPECT_EQ(d->notices()[0], "took over the lock of pid " + std::to_string(dead) + " on host " +
                                 LockFile::HostName() +
                                 " since 2025-01-01T00:00:00Z, which is no longer running; "
                                 "the database passed its integrity check");
}

TEST_F(StateDirTest, AWriterThatCrashedIsTakenOverAndItsWorkKept) {
  pid_t child = fork();
  if (child == 0) {
    Result<std::unique_ptr<StateDir>> d = Open();
    if (!d.ok() || !(*d)->store().CreateRun(SampleRun("r1")).ok()) _exit(1);
    _exit(0);  // a crash: no destructor, the lock file still names this pid
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::unique_ptr<StateDir> d = OpenOk();
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->recovered());
  ASSERT_EQ(d->notices().size(), 1u);
  EXPECT_NE(d->notices()[0].find("took over the lock of pid " + std::to_string(child)),
            std::string::npos);
  EXPECT_OK(StatusOf(d->store().GetRun("r1")));
}

TEST_F(StateDirTest, AWriterInAnotherProcessHoldsTheLockUntilItDies) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  if (child == 0) {
    close(ready[0]);
    Result<std::unique_ptr<StateDir>> d = Open();
    char ok = d.ok() ? 'y' : 'n';
    if (write(ready[1], &ok, 1) != 1) _exit(1);
    pause();  // hold the lock until killed
    _exit(0);
  }
  close(ready[1]);
  char ok = 0;
  ASSERT_EQ(read(ready[0], &ok, 1), 1);
  close(ready[0]);
  ASSERT_EQ(ok, 'y');
  Result<std::unique_ptr<StateDir>> refused = Open();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kConflict);
  EXPECT_NE(refused.status().message().find("held by pid " + std::to_string(child) + " on host"),
            std::string::npos)
      << refused.status().message();
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  std::unique_ptr<StateDir> d = OpenOk();
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->recovered());
}

TEST_F(StateDirTest, ReadOnlyOpeningNeedsNoLockAndCannotWrite) {
  Result<std::unique_ptr<StateDir>> none = Open(/*read_only=*/true);
  EXPECT_EQ(none.status().code(), Status::Code::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(dir())) << "read-only opening creates nothing";
  std::unique_ptr<StateDir> writer = OpenOk();
  ASSERT_OK(writer->store().CreateRun(SampleRun("r1")));
  Result<std::unique_ptr<StateDir>> reader = Open(/*read_only=*/true);  // while the writer runs
  ASSERT_OK(reader.status());
  EXPECT_OK(StatusOf((*reader)->store().GetRun("r1")));
  Status s = (*reader)->store().CreateRun(SampleRun("r2"));
  EXPECT_EQ(s.code(), Status::Code::kIOError) << s.ToString();
  EXPECT_NE(s.message().find("attempt to write a readonly database"), std::string::npos);
}

}  // namespace
}  // namespace sflow
