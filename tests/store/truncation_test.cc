// Damaged files, in the manner of ninja's BuildLogTest.Truncate: a database or WAL cut at many
// lengths either fails to open with a clean Status or opens and answers every call with a value
// or a clean Status. Never a crash, never a half-applied transaction.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "store/state_dir.h"
#include "tests/store/store_test_util.h"
#include "tests/support/test_util.h"

namespace sflow {
namespace {

constexpr int kBatches = 40;
constexpr int kBatchSize = 5;

// Fills a store with one run, kBatches batches of events and an artifact.
void Fill(RunStore& store) {
  if (!store.CreateRun(SampleRun("r1")).ok()) _exit(2);
  for (int b = 0; b < kBatches; ++b) {
    EventBatch batch = SampleBatch(b * kBatchSize, b * kBatchSize + kBatchSize - 1);
    if (b == 3) batch.run.artifacts = {{.step_id = "keyframe", .remote_id = "art-1", .url = "u"}};
    if (!store.AppendEvents("r1", batch).ok()) _exit(3);
  }
}

std::vector<size_t> CutPoints(size_t size) {
  std::set<size_t> cuts = {0, 1, 16, 99, 100, 101, 512, size / 2, size - 1};
  for (size_t page = 4096; page <= size; page += 4096) {
    cuts.insert(page - 1);
    cuts.insert(page);
    cuts.insert(page + 1);
  }
  std::vector<size_t> out;
  for (size_t c : cuts)
    if (c < size) out.push_back(c);
  return out;
}

void ExpectCleanError(const Status& s) {
  EXPECT_FALSE(s.message().empty());
  EXPECT_TRUE(s.code() == Status::Code::kIOError || s.code() == Status::Code::kInternal ||
              s.code() == Status::Code::kNotFound)
      << s.ToString();
}

// Every call answers or fails cleanly; returns how many answered.
int Exercise(StateDir& d) {
  int answered = 0;
  RunStore& store = d.store();
  auto check = [&](const Status& s) {
    if (s.ok()) {
      ++answered;
    } else {
      ExpectCleanError(s);
    }
  };
  check(store.GetRun("r1").status());
  check(store.ListRuns({}).status());
  check(store.ListEvents("r1", -1, 0).status());
  check(store.ListArtifacts("r1").status());
  check(store.PendingIntents("").status());
  check(store.FindApproval("d").status());
  check(store.CreateRun(SampleRun("r2")));
  check(store.AppendEvents("r1", SampleBatch(1000, 1001)).status());
  Result<std::string> integrity = d.sqlite_store().db().IntegrityCheck();
  if (!integrity.ok()) ExpectCleanError(integrity.status());
  return answered;
}

TEST(TruncationTest, ATruncatedDatabaseFailsCleanlyOrWorks) {
  TempDir tmp;
  const std::string source = tmp.path() + "/source";
  {
    Result<std::unique_ptr<StateDir>> d = StateDir::Open({.path = source, .now_ms = FixedClock()});
    ASSERT_OK(d.status());
    Fill((*d)->store());
  }  // a clean close checkpoints the WAL into state.db and removes it
  ASSERT_FALSE(std::filesystem::exists(source + "/state.db-wal"));
  const std::string bytes = ReadFile(source + "/state.db");
  ASSERT_GT(bytes.size(), 8192u);
  int opened = 0, refused = 0;
  for (size_t cut : CutPoints(bytes.size())) {
    SCOPED_TRACE("cut at " + std::to_string(cut) + " of " + std::to_string(bytes.size()));
    const std::string dir = tmp.path() + "/cut" + std::to_string(cut);
    tmp.Write("cut" + std::to_string(cut) + "/state.db", bytes.substr(0, cut));
    Result<std::unique_ptr<StateDir>> d = StateDir::Open({.path = dir, .now_ms = FixedClock()});
    if (!d.ok()) {
      ExpectCleanError(d.status());
      if (cut == 100) {  // a header without its schema page
        EXPECT_EQ(d.status().message(), "state database " + dir +
                                            "/state.db is damaged (SQLITE_CORRUPT while opening): database disk "
                                            "image is malformed; keep a copy of " + dir +
                                            "; `sogni-flow check` lists what is damaged and `sogni-flow "
                                            "recover` gets runs back from the server");
      }
      ++refused;
      continue;
    }
    ++opened;
    Exercise(**d);
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(opened, 0);  // at least the empty file, which becomes a new database
  std::printf("[ truncation ] %zu-byte database: %d cuts opened, %d refused cleanly\n",
              bytes.size(), opened, refused);
}

// A writer killed after committing leaves its last transactions in the WAL. Cut the WAL anywhere:
// recovery keeps a prefix of whole transactions, so every batch is all there or all gone, and the
// cursor covers exactly the events kept.
TEST(TruncationTest, ATruncatedWalKeepsWholeTransactionsOnly) {
  TempDir tmp;
  const std::string source = tmp.path() + "/source";
  pid_t child = fork();
  if (child == 0) {
    Result<std::unique_ptr<StateDir>> d = StateDir::Open({.path = source, .now_ms = FixedClock()});
    if (!d.ok()) _exit(1);
    if (!(*d)->sqlite_store().db().Exec("PRAGMA wal_autocheckpoint = 0").ok()) _exit(1);
    Result<std::unique_ptr<RunLease>> lease = (*d)->AcquireRunLease("r1");  // left behind: a dead driver
    if (!lease.ok()) _exit(1);
    lease->release();
    Fill((*d)->store());
    _exit(0);  // killed: no close, no checkpoint
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  const std::string db = ReadFile(source + "/state.db");
  const std::string wal = ReadFile(source + "/state.db-wal");
  const std::string lock = ReadFile(source + "/lock");
  ASSERT_GT(wal.size(), 32u * 1024);
  int cuts = 0;
  std::set<int64_t> cursors;
  std::vector<size_t> wal_cuts;
  for (size_t cut = 0; cut < wal.size(); cut += wal.size() / 37 + 1) wal_cuts.push_back(cut);
  wal_cuts.push_back(wal.size());  // the whole WAL: everything committed is there
  for (size_t cut : wal_cuts) {
    SCOPED_TRACE("WAL cut at " + std::to_string(cut) + " of " + std::to_string(wal.size()));
    const std::string name = "cut" + std::to_string(cut);
    tmp.Write(name + "/state.db", db);
    tmp.Write(name + "/state.db-wal", wal.substr(0, cut));
    tmp.Write(name + "/lock", lock);
    Result<std::unique_ptr<StateDir>> d =
        StateDir::Open({.path = tmp.path() + "/" + name, .now_ms = FixedClock()});
    if (!d.ok()) {
      ExpectCleanError(d.status());
      continue;
    }
    ++cuts;
    Result<RunRecord> run = (*d)->store().GetRun("r1");
    if (!run.ok()) {  // the run's own transaction was cut off
      EXPECT_EQ(run.status().code(), Status::Code::kNotFound);
      continue;
    }
    // The dead writer's lease was committed before the run: recovery checked the database.
    EXPECT_TRUE((*d)->recovered());
    Result<std::vector<EventRecord>> events = (*d)->store().ListEvents("r1", -1, 0);
    ASSERT_OK(events.status());
    const int64_t kept = static_cast<int64_t>(events->size());
    EXPECT_EQ(kept % kBatchSize, 0) << "a batch was split";
    EXPECT_EQ(run->cursor, kept - 1) << "the cursor must cover exactly the events kept";
    for (int64_t i = 0; i < kept; ++i) EXPECT_EQ((*events)[i].sequence, i);
    cursors.insert(run->cursor);
  }
  EXPECT_GT(cuts, 10);
  EXPECT_GT(cursors.size(), 3u) << "the cuts should land in different transactions";
  EXPECT_EQ(*cursors.rbegin(), kBatches * kBatchSize - 1) << "the whole WAL keeps every batch";
}

}  // namespace
}  // namespace sflow
