// The state directory: its permission policy, several writers at once, run leases (one driver per
// run, also when the lock file is deleted; a dead driver's lease taken over), the exclusive lock
// of migrations, and read-only opening.
#include "store/state_dir.h"

#include <gtest/gtest.h>

#include <fstream>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "store/fault_vfs.h"
#include "store/migrations.h"
#include "tests/store/store_test_util.h"
#include "tests/support/test_util.h"

namespace sflow {
namespace {

class StateDirTest : public testing::Test {
 protected:
  std::string dir() const { return tmp_.path() + "/home/.sogni-flow"; }
  Result<std::unique_ptr<StateDir>> Open(bool read_only = false, int busy_timeout_ms = 5000) {
    return StateDir::Open(
        {.path = dir(), .read_only = read_only, .busy_timeout_ms = busy_timeout_ms, .now_ms = FixedClock()});
  }
  std::unique_ptr<StateDir> OpenOk() {
    Result<std::unique_ptr<StateDir>> d = Open();
    EXPECT_OK(d.status());
    return d.ok() ? std::move(*d) : nullptr;
  }
  // For a child of InChild: leases `run_id`, held until the child is killed; 'y' when it holds it.
  char HoldLease(const std::string& run_id) {
    Result<std::unique_ptr<StateDir>> d = Open();
    if (!d.ok()) return 'n';
    Result<std::unique_ptr<RunLease>> lease = (*d)->AcquireRunLease(run_id);
    if (!lease.ok()) return 'n';
    lease->release();
    d->release();
    return 'y';
  }
  // Writes a lease row naming `who` for `run_id`, as a process that died without releasing it
  // leaves it.
  void PlantLease(const std::string& run_id, const ProcessIdentity& who) {
    std::unique_ptr<Db> db = MustOpenDb(dir() + "/state.db");
    Result<Stmt> q = db->Prepare(
        "INSERT INTO leases (run_id, pid, host, boot_id, pid_ns, start_ticks, started, acquired_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)");
    ASSERT_OK(q.status());
    ASSERT_OK(q->BindAll(run_id, who.pid, who.host, who.boot_id, who.pid_ns, who.start_ticks, who.started).Run());
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

ProcessIdentity DeadProcess() {
  ProcessIdentity who = ProcessIdentity::Self();
  who.pid = DeadPid();
  who.started = "2025-01-01T00:00:00Z";
  return who;
}

// Runs `body` in a child that reports one byte through a pipe, then waits for SIGKILL. Returns
// the child's pid and the byte.
std::pair<pid_t, char> InChild(const std::function<char()>& body) {
  int ready[2];
  if (pipe(ready) != 0) return {-1, 0};
  pid_t child = fork();
  if (child == 0) {
    close(ready[0]);
    char c = body();
    if (write(ready[1], &c, 1) != 1) _exit(1);
    pause();
    _exit(0);
  }
  close(ready[1]);
  char c = 0;
  if (read(ready[0], &c, 1) != 1) c = 0;
  close(ready[0]);
  return {child, c};
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

TEST_F(StateDirTest, NeverChangesTheModeOfAnExistingDirectory) {
  std::filesystem::create_directories(dir());
  ASSERT_EQ(chmod(dir().c_str(), 0755), 0);
  std::unique_ptr<StateDir> d = OpenOk();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(ModeOf(dir()), 0755);
  EXPECT_TRUE(d->notices().empty());
  EXPECT_EQ(ModeOf(dir() + "/state.db"), 0600);
}

TEST_F(StateDirTest, RefusesADirectoryOthersCanWrite) {
  std::filesystem::create_directories(dir());
  for (mode_t mode : {0775, 0777, 0722}) {
    ASSERT_EQ(chmod(dir().c_str(), mode), 0);
    Result<std::unique_ptr<StateDir>> d = Open();
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), Status::Code::kSecurity);
    EXPECT_EQ(d.status().message().rfind("state directory " + dir() + " is writable by ", 0), 0u)
        << d.status().message();
    EXPECT_NE(d.status().message().find("chmod go-w " + dir()), std::string::npos);
    EXPECT_EQ(ModeOf(dir()), static_cast<int>(mode)) << "refused, never changed";
  }
}

TEST_F(StateDirTest, TightensItsLooseFilesAndSaysSo) {
  OpenOk().reset();
  ASSERT_EQ(chmod((dir() + "/state.db").c_str(), 0644), 0);
  std::unique_ptr<StateDir> d = OpenOk();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(ModeOf(dir() + "/state.db"), 0600);
  ASSERT_EQ(d->notices().size(), 1u);
  EXPECT_EQ(d->notices()[0], "tightened the mode of state database file " + dir() + "/state.db from 0644 to 0600");
}

TEST_F(StateDirTest, APlainFileAtThePathIsLocalStateNotSecurity) {
  tmp_.Write("home/.sogni-flow", "not a directory");
  for (bool read_only : {false, true}) {
    Result<std::unique_ptr<StateDir>> d = Open(read_only);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), Status::Code::kIOError);
    EXPECT_EQ(d.status().message(), "state directory " + dir() +
                                        " is not a directory; move that file away or give another --state-dir");
  }
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

TEST_F(StateDirTest, SeveralWritersShareTheDirectory) {
  std::unique_ptr<StateDir> first = OpenOk(), second = OpenOk();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_OK(first->store().CreateRun(SampleRun("r1")));
  EXPECT_OK(second->store().CreateRun(SampleRun("r2")));
  EXPECT_OK(StatusOf(first->store().GetRun("r2")));
}

TEST_F(StateDirTest, OneDriverPerRunNamedWhenRefused) {
  std::unique_ptr<StateDir> first = OpenOk(), second = OpenOk();
  Result<std::unique_ptr<RunLease>> held = first->AcquireRunLease("r1");
  ASSERT_OK(held.status());
  EXPECT_EQ((*held)->notice(), "");
  Result<std::unique_ptr<RunLease>> refused = second->AcquireRunLease("r1");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kConflict);
  EXPECT_EQ(refused.status().message(), "run r1 is driven by " + ProcessIdentity::Self().Describe() +
                                            "; wait for it to finish (or stop that process), then try again");
  Result<std::unique_ptr<RunLease>> twice = first->AcquireRunLease("r1");
  EXPECT_EQ(twice.status().message(), "run r1 is already driven by this process");
  EXPECT_OK(StatusOf(second->AcquireRunLease("r2")));  // another run is free
  Result<std::optional<ProcessIdentity>> driver = second->RunDriver("r1");
  ASSERT_OK(driver.status());
  ASSERT_TRUE(driver->has_value());
  EXPECT_EQ((*driver)->pid, getpid());
  held->reset();  // released
  EXPECT_FALSE(*second->RunDriver("r1"));
  EXPECT_OK(StatusOf(second->AcquireRunLease("r1")));
}

// Run ids carry the second and 16 random bits: `run -j 200` of 200 plans once drew one id twice
// and stopped with exit 6. A new run's id must be one nobody stored or drives.
TEST_F(StateDirTest, ANewRunIdIsNeitherStoredNorDriven) {
  std::unique_ptr<StateDir> dir = OpenOk(), other = OpenOk();
  ASSERT_NE(dir, nullptr);
  ASSERT_NE(other, nullptr);
  // The draws repeat: a, a (driven here), b, b (stored), c (driven by another process), d.
  std::vector<std::string> draws = {"r-a", "r-a", "r-b", "r-b", "r-c", "r-d"};
  size_t next = 0;
  auto draw = [&] { return draws.at(next++); };
  Result<StateDir::NewRun> first = dir->LeaseNewRun(draw);
  ASSERT_OK(first.status());
  EXPECT_EQ(first->run_id, "r-a");
  ASSERT_NE(first->lease, nullptr);
  Result<StateDir::NewRun> second = dir->LeaseNewRun(draw);
  ASSERT_OK(second.status());
  EXPECT_EQ(second->run_id, "r-b");
  EXPECT_OK(dir->store().CreateRun(SampleRun("r-b")));
  second->lease.reset();  // a finished run: stored, driven by nobody
  Result<std::unique_ptr<RunLease>> elsewhere = other->AcquireRunLease("r-c");
  ASSERT_OK(elsewhere.status());
  Result<StateDir::NewRun> third = dir->LeaseNewRun(draw);
  ASSERT_OK(third.status());
  EXPECT_EQ(third->run_id, "r-d");
  EXPECT_EQ(next, draws.size());

  auto always = [] { return std::string("r-a"); };  // every draw taken: said, not looped forever
  Result<StateDir::NewRun> none = dir->LeaseNewRun(always);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Status::Code::kConflict);
  EXPECT_NE(none.status().message().find("no free run id after 64 tries"), std::string::npos);

  Result<StateDir::NewRun> real = dir->LeaseNewRun();  // the default: a well-formed id
  ASSERT_OK(real.status());
  EXPECT_EQ(real->run_id.rfind("r-", 0), 0u);
  EXPECT_EQ(real->run_id.size(), std::string("r-20261205-120000-abcd").size());
}

TEST_F(StateDirTest, DeletingTheLockFileDoesNotFreeADrivenRun) {
  auto [child, ok] = InChild([&] { return HoldLease("r1"); });
  ASSERT_EQ(ok, 'y');
  ASSERT_EQ(unlink((dir() + "/lock").c_str()), 0);
  std::unique_ptr<StateDir> d = OpenOk();  // makes a new lock file, whose byte is free
  ASSERT_NE(d, nullptr);
  Result<std::unique_ptr<RunLease>> refused = d->AcquireRunLease("r1");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("is driven by pid " + std::to_string(child) + " "), std::string::npos)
      << refused.status().message();
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  Result<std::unique_ptr<RunLease>> taken = d->AcquireRunLease("r1");
  ASSERT_OK(taken.status());
  EXPECT_EQ((*taken)->notice().rfind("took over run r1 from pid " + std::to_string(child) + " on host ", 0), 0u);
  EXPECT_NE((*taken)->notice().find(", which is no longer running"), std::string::npos);
}

// A runner killed with SIGKILL stays a zombie until its parent waits for it (for good under a
// PID 1 that never does): it drives nothing, and its run is taken over at once.
TEST_F(StateDirTest, AZombieHolderIsDead) {
  auto [child, ok] = InChild([&] { return HoldLease("r1"); });
  ASSERT_EQ(ok, 'y');
  kill(child, SIGKILL);  // not waited for: a zombie
  bool zombie = false;
  for (int i = 0; i < 500 && !zombie; ++i) {
    std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
    std::string line;
    std::getline(stat, line);
    zombie = line.size() > line.rfind(')') + 2 && line[line.rfind(')') + 2] == 'Z';
    if (!zombie) usleep(2000);
  }
  ASSERT_TRUE(zombie) << "the child did not become a zombie";
  std::unique_ptr<StateDir> d = OpenOk();
  ASSERT_NE(d, nullptr);
  Result<std::unique_ptr<RunLease>> taken = d->AcquireRunLease("r1");
  EXPECT_OK(taken.status());
  waitpid(child, nullptr, 0);
}

// Processes opening a new state directory at the same moment all get it: SQLite refuses all
// but one switch of the new file to WAL at once (SQLITE_BUSY without waiting), and `run`
// started twice on a new directory once exited 6 "busy while opening".
TEST_F(StateDirTest, ProcessesOpeningANewDirectoryTogetherAllGetIt) {
  for (int round = 0; round < 15; ++round) {
    const std::string path = dir() + "/new" + std::to_string(round);
    int go[2];
    ASSERT_EQ(pipe(go), 0);
    std::vector<pid_t> children;
    for (int c = 0; c < 4; ++c) {
      pid_t child = fork();
      if (child == 0) {
        close(go[1]);
        char byte;
        if (read(go[0], &byte, 1) != 0) _exit(3);  // wait for the start (the pipe's close)
        Result<std::unique_ptr<StateDir>> d = StateDir::Open({.path = path});
        _exit(d.ok() ? 0 : (std::fprintf(stderr, "%s\n", d.status().message().c_str()), 1));
      }
      children.push_back(child);
    }
    close(go[0]);
    close(go[1]);  // all start together
    for (pid_t child : children) {
      int status = 0;
      ASSERT_EQ(waitpid(child, &status, 0), child);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "round " << round;
    }
  }
}

// An emptied database file is a new database to SQLite: opening it says so (the runs that were
// in it are gone here), and a new directory says nothing.
TEST_F(StateDirTest, AnEmptiedDatabaseIsSaid) {
  {
    std::unique_ptr<StateDir> d = OpenOk();
    ASSERT_NE(d, nullptr);
    EXPECT_TRUE(d->notices().empty()) << d->notices()[0];
    ASSERT_OK(d->store().CreateRun(SampleRun("r1")));
  }
  for (const char* suffix : {"-wal", "-shm"}) unlink((dir() + "/state.db" + suffix).c_str());
  ASSERT_EQ(truncate((dir() + "/state.db").c_str(), 0), 0);
  std::unique_ptr<StateDir> d = OpenOk();
  ASSERT_NE(d, nullptr);
  ASSERT_EQ(d->notices().size(), 1u);
  EXPECT_NE(d->notices()[0].find("state.db was an empty file: a new one was made in it"), std::string::npos)
      << d->notices()[0];
  EXPECT_NE(d->notices()[0].find("sogni-flow recover"), std::string::npos);
}

TEST_F(StateDirTest, ALeaseOfAProcessThatDiedIsReapedAfterAnIntegrityCheck) {
  OpenOk().reset();
  ProcessIdentity dead = DeadProcess();
  PlantLease("r1", dead);
  std::unique_ptr<StateDir> d = OpenOk();
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->recovered());
  ASSERT_EQ(d->notices().size(), 1u);
  EXPECT_EQ(d->notices()[0], dead.Describe() + " died while driving run r1; the database passed its integrity check");
  Result<std::unique_ptr<RunLease>> lease = d->AcquireRunLease("r1");
  ASSERT_OK(lease.status());
  EXPECT_EQ((*lease)->notice(), "") << "the row was reaped on opening";
}

// A lease row is committed without an fsync (StateDir::Open says why): taking and dropping
// leases syncs nothing, while a run's own writes still sync each commit.
TEST_F(StateDirTest, LeasesAreCommittedWithoutAnFsyncOfTheirOwn) {
  ASSERT_OK(FaultVfs::Register());
  Result<std::unique_ptr<StateDir>> d = StateDir::Open({.path = dir(), .vfs = FaultVfs::kName, .now_ms = FixedClock()});
  ASSERT_OK(d.status());
  FaultVfs::ResetCounters();
  for (const char* id : {"r1", "r2", "r3"}) {
    Result<std::unique_ptr<RunLease>> lease = (*d)->AcquireRunLease(id);
    ASSERT_OK(lease.status());
    EXPECT_OK((*lease)->Release());
  }
  EXPECT_GT(FaultVfs::writes(), 0) << "the rows were written through this VFS";
  EXPECT_EQ(FaultVfs::syncs(), 0);
  ASSERT_OK((*d)->store().CreateRun(SampleRun("r1")));
  EXPECT_GT(FaultVfs::syncs(), 0) << "a run's commit is synced";
}

// A release lost with the machine leaves a row naming a process of an earlier boot: the next
// taker takes the run over and says so.
TEST_F(StateDirTest, ALeaseOfAnEarlierBootIsTakenOver) {
  OpenOk().reset();
  ProcessIdentity earlier = ProcessIdentity::Self();
  earlier.boot_id = "00000000-0000-0000-0000-000000000000";
  PlantLease("r1", earlier);
  std::unique_ptr<StateDir> d = OpenOk();
  ASSERT_NE(d, nullptr);
  Result<std::unique_ptr<RunLease>> lease = d->AcquireRunLease("r1");
  ASSERT_OK(lease.status());
}

TEST_F(StateDirTest, AReusedPidIsNotTheHolder) {
  std::unique_ptr<StateDir> d = OpenOk();
  ProcessIdentity reused = ProcessIdentity::Self();  // a live pid, but not the process that held it
  reused.start_ticks += 1;
  PlantLease("r1", reused);
  Result<std::unique_ptr<RunLease>> lease = d->AcquireRunLease("r1");
  ASSERT_OK(lease.status());
  EXPECT_NE((*lease)->notice().find(", which is no longer running"), std::string::npos);
}

TEST_F(StateDirTest, ALiveHolderWithoutItsLockIsStillRefused) {
  std::unique_ptr<StateDir> d = OpenOk();
  auto [child, ok] = InChild([] { return 'y'; });
  ASSERT_EQ(ok, 'y');
  ProcessIdentity alive = ProcessIdentity::Self();
  alive.pid = child;
  alive.start_ticks = ProcessIdentity::StartTicksOf(child);
  PlantLease("r1", alive);  // as if its lock file had been replaced
  Result<std::unique_ptr<RunLease>> refused = d->AcquireRunLease("r1");
  EXPECT_EQ(refused.status().code(), Status::Code::kConflict);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_OK(StatusOf(d->AcquireRunLease("r1")));
}

TEST_F(StateDirTest, AnOlderSogniFlowHoldingTheLockIsNamed) {
  OpenOk().reset();
  int fd = open((dir() + "/lock").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(flock(fd, LOCK_EX | LOCK_NB), 0);  // what a sogni-flow before schema 4 holds for its life
  const std::string text = "pid=4242\nhost=old-box\nstarted=2025-01-01T00:00:00Z\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  Result<std::unique_ptr<StateDir>> d = Open(false, /*busy_timeout_ms=*/50);
  close(fd);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Status::Code::kConflict);
  EXPECT_EQ(d.status().message(), "state directory " + dir() +
                                      " is locked by pid 4242 on host old-box since 2025-01-01T00:00:00Z (an older "
                                      "sogni-flow, or one upgrading the database); wait for it to finish or stop it");
  Result<std::unique_ptr<StateDir>> again = Open();  // free once it is gone
  EXPECT_OK(again.status());
}

TEST_F(StateDirTest, AMigrationWaitsForTheDirectoryAlone) {
  {  // a version-3 file, as an older sogni-flow left it
    std::filesystem::create_directories(dir());
    ASSERT_EQ(chmod(dir().c_str(), 0700), 0);
    std::unique_ptr<Db> db = MustOpenDb(dir() + "/state.db");
    ASSERT_OK(Migrate(db.get(), StoreMigrations().subspan(0, 3)));
  }
  int fd = open((dir() + "/lock").c_str(), O_RDWR | O_CREAT, 0600);
  ASSERT_EQ(flock(fd, LOCK_SH | LOCK_NB), 0);  // another current sogni-flow at work
  Result<std::unique_ptr<StateDir>> refused = Open(false, /*busy_timeout_ms=*/50);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kConflict);
  EXPECT_NE(refused.status().message().find("cannot upgrade the state database"), std::string::npos);
  close(fd);
  Result<std::unique_ptr<StateDir>> d = Open();
  ASSERT_OK(d.status());
  EXPECT_EQ(*(*d)->sqlite_store().db().QueryInt("PRAGMA user_version"), LatestSchemaVersion());
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
  EXPECT_EQ((*reader)->AcquireRunLease("r1").status().code(), Status::Code::kIOError);
  Result<std::unique_ptr<RunLease>> lease = writer->AcquireRunLease("r1");
  ASSERT_OK(lease.status());
  Result<std::optional<ProcessIdentity>> driver = (*reader)->RunDriver("r1");
  ASSERT_OK(driver.status());
  EXPECT_TRUE(driver->has_value()) << "a reader sees who drives a run";
}

}  // namespace
}  // namespace sflow
