#include "store/migrations.h"

#include <gtest/gtest.h>

#include "store/fault_vfs.h"
#include "store/sqlite_run_store.h"
#include "store/state_dir.h"
#include "tests/store/store_test_util.h"
#include "tests/support/test_util.h"

namespace sflow {
namespace {

std::string Tables(Db& db) {
  Result<Stmt> q = db.Prepare(
      "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE type = 'table' "
      "ORDER BY name)");
  if (!q.ok() || !*q->Step()) return "?";
  return q->Text(0);
}

TEST(MigrationsTest, FromEmptyCreatesEveryTableAndSetsTheVersion) {
  std::unique_ptr<Db> db = MustOpenDb(":memory:");
  EXPECT_EQ(*db->QueryInt("PRAGMA user_version"), 0);
  ASSERT_OK(Migrate(db.get()));
  EXPECT_EQ(*db->QueryInt("PRAGMA user_version"), LatestSchemaVersion());
  EXPECT_EQ(LatestSchemaVersion(), 10);
  EXPECT_EQ(Tables(*db),
            "approvals artifacts batch_runs cursors event_chunks intents leases ledger projects run_specs runs settings steps");
  EXPECT_EQ(*db->IntegrityCheck(), "ok");
}

TEST(MigrationsTest, Version3FileGainsLeasesAndCancelRequestsAndKeepsItsRuns) {
  std::unique_ptr<Db> db = MustOpenDb(":memory:");
  ASSERT_OK(Migrate(db.get(), StoreMigrations().subspan(0, 3)));
  ASSERT_OK(db->Exec("INSERT INTO runs (id, plan_path, plan_name, plan_digest, params, execution, status, "
                     "created_at, updated_at) VALUES ('r1', 'p', 'n', 'd', '{}', 'server', 'running', 1, 1)"));
  ASSERT_OK(Migrate(db.get()));
  EXPECT_EQ(*db->QueryInt("SELECT cancel_requested_at FROM runs WHERE id = 'r1'"), 0);
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM leases"), 0);
  EXPECT_EQ(*db->IntegrityCheck(), "ok");
}

TEST(MigrationsTest, Version4FileGainsProjectsSettingsAndSpecsAndKeepsItsRuns) {
  std::unique_ptr<Db> db = MustOpenDb(":memory:");
  ASSERT_OK(Migrate(db.get(), StoreMigrations().subspan(0, 4)));
  ASSERT_OK(db->Exec("INSERT INTO runs (id, plan_path, plan_name, plan_digest, params, execution, status, "
                     "created_at, updated_at) VALUES ('r1', 'p', 'n', 'd', '{}', 'server', 'running', 1, 1)"));
  ASSERT_OK(Migrate(db.get()));
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM run_specs"), 0) << "a server run has no spec";
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM projects"), 0);
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM settings"), 0);
  // The schema keeps a project's promises even against a write that bypasses the store.
  EXPECT_FALSE(db->Exec("INSERT INTO projects (project_id, run_id, step_id, app_id, request, state, created_at, "
                        "updated_at) VALUES ('P', 'r1', 's', 'a', '{}', 'lost', 1, 1)").ok());
  EXPECT_FALSE(db->Exec("INSERT INTO projects (project_id, run_id, step_id, app_id, request, state, created_at, "
                        "updated_at) VALUES ('P', 'r1', 's', 'a', 'not json', 'pending', 1, 1)").ok());
  EXPECT_FALSE(db->Exec("INSERT INTO projects (project_id, run_id, step_id, app_id, request, state, cache_key, "
                        "created_at, updated_at) VALUES ('P', 'r1', 's', 'a', '{}', 'pending', 'XYZ', 1, 1)").ok());
  EXPECT_EQ(*db->IntegrityCheck(), "ok");
}

TEST(MigrationsTest, Version5FileMovesEachLocalRunsSpecIntoItsOwnTable) {
  std::unique_ptr<Db> db = MustOpenDb(":memory:");
  ASSERT_OK(Migrate(db.get(), StoreMigrations().subspan(0, 5)));
  ASSERT_OK(db->Exec("INSERT INTO runs (id, plan_path, plan_name, plan_digest, params, execution, status, "
                     "created_at, updated_at, spec) VALUES ('local', 'p', 'n', 'd', '{}', 'local', 'running', "
                     "1, 1, '{\"steps\":[]}'), ('server', 'p', 'n', 'd', '{}', 'server', 'running', 1, 1, NULL)"));
  ASSERT_OK(Migrate(db.get()));
  Result<Stmt> q = db->Prepare("SELECT group_concat(run_id || '=' || spec, ' ') FROM run_specs");
  ASSERT_TRUE(q.ok() && *q->Step());
  EXPECT_EQ(q->Text(0), "local={\"steps\":[]}") << "the local run keeps its spec; the server run has none";
  EXPECT_FALSE(db->Exec("SELECT spec FROM runs").ok()) << "the column left runs";
  EXPECT_FALSE(db->Exec("INSERT INTO run_specs (run_id, spec) VALUES ('server', 'not json')").ok());
  ASSERT_OK(db->Exec("PRAGMA foreign_keys = ON; DELETE FROM runs WHERE id = 'local'"));
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM run_specs"), 0) << "a run's spec goes with it";
  EXPECT_EQ(*db->IntegrityCheck(), "ok");
}

// Two server runs, r1 (cursor 9) and r2 (cursor 0), in a file of version 4 or later.
const std::string kTwoRuns =
    "INSERT INTO runs (id, plan_path, plan_name, plan_digest, params, execution, status, created_at, updated_at) "
    "VALUES ('r1', 'p', 'n', 'd', '{}', 'server', 'running', 1, 1), ('r2', 'p', 'n', 'd', '{}', 'server', 'running', 1, 1);"
    "INSERT INTO cursors (run_id, last_sequence) VALUES ('r1', 9), ('r2', 0);";

// Version 7 moves each stored event into a chunk of its own (store/event_chunks.h), byte for
// byte, and the store reads them back as it stored them.
TEST(MigrationsTest, Version6FileMovesEachEventIntoAChunkOfItsOwn) {
  std::unique_ptr<Db> db = MustOpenDb(":memory:");
  ASSERT_OK(Migrate(db.get(), StoreMigrations().subspan(0, 6)));
  ASSERT_OK(db->Exec(
      kTwoRuns +
      "INSERT INTO events (run_id, sequence, type, status, json, received_at) VALUES "
      "('r1', 3, 'step_started', 'running', '{\"sequence\":3, \"note\":\"caf\u00e9 \u2603\"}', 17),"
      "('r1', 9, '', '', '{}', 18), ('r2', 0, 't\u00e9', 's', '{\"a\":\n1}', 0);"));
  ASSERT_OK(Migrate(db.get()));
  EXPECT_FALSE(db->Exec("SELECT 1 FROM events").ok()) << "the old table is gone";
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM event_chunks"), 3);
  EXPECT_EQ(*db->IntegrityCheck(), "ok");
  Result<std::unique_ptr<SqliteRunStore>> store = SqliteRunStore::Open(std::move(db));
  ASSERT_OK(store.status());
  Result<std::vector<EventRecord>> r1 = (*store)->ListEvents("r1", -1, 0);
  ASSERT_OK(r1.status());
  ASSERT_EQ(r1->size(), 2u);
  EXPECT_EQ((*r1)[0].sequence, 3);
  EXPECT_EQ((*r1)[0].type, "step_started");
  EXPECT_EQ((*r1)[0].status, "running");
  EXPECT_EQ((*r1)[0].json, "{\"sequence\":3, \"note\":\"caf\u00e9 \u2603\"}");
  EXPECT_EQ((*r1)[0].received_at, 17);
  EXPECT_EQ((*r1)[1].json, "{}");
  Result<std::vector<EventRecord>> r2 = (*store)->ListEvents("r2", -1, 0);
  ASSERT_OK(r2.status());
  ASSERT_EQ(r2->size(), 1u);
  EXPECT_EQ((*r2)[0].type, "t\u00e9");
  EXPECT_EQ((*r2)[0].json, "{\"a\":\n1}");
  EXPECT_EQ(*(*store)->CountEvents("r1"), 2);
  // Appending goes on above the cursor, into a chunk of its own.
  EventBatch more{.events = {EventRecord{.sequence = 10, .type = "x", .json = "{\"sequence\":10}"}}, .cursor = 10};
  ASSERT_OK(StatusOf((*store)->AppendEvents("r1", more)));
  EXPECT_EQ((*store)->ListEvents("r1", 3, 0)->size(), 2u);
}

// Version 8 moves the chunks into a rowid table under a small UNIQUE index (the reason is in
// store/migrations.cc), every chunk byte for byte; the rules of the old key still hold.
TEST(MigrationsTest, Version7FileKeepsEveryChunkUnderASmallKey) {
  std::unique_ptr<Db> db = MustOpenDb(":memory:");
  ASSERT_OK(Migrate(db.get(), StoreMigrations().subspan(0, 7)));
  ASSERT_OK(db->Exec(
      kTwoRuns +
      "INSERT INTO event_chunks (run_id, first_sequence, last_sequence, count, body) VALUES "
      "('r2', 0, 0, 1, 'b0'), ('r1', 5, 9, 2, 'b5'), ('r1', 0, 4, 3, 'b1');"));
  const std::string before = Dump(*db);
  ASSERT_OK(Migrate(db.get(), StoreMigrations().subspan(0, 8)));
  EXPECT_EQ(*db->QueryInt("PRAGMA user_version"), 8);
  EXPECT_EQ(Dump(*db).substr(before.find("event_chunks")), before.substr(before.find("event_chunks")))
      << "every row as it was";
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM sqlite_schema WHERE name = 'event_chunks' AND sql LIKE '%WITHOUT ROWID%'"), 0);
  EXPECT_FALSE(db->Exec("SELECT 1 FROM event_chunks_v7").ok()) << "the old table is gone";
  EXPECT_FALSE(db->Exec("INSERT INTO event_chunks (run_id, first_sequence, last_sequence, count, body) "
                        "VALUES ('r1', 5, 6, 1, 'again')").ok())
      << "one chunk per run and first sequence";
  EXPECT_FALSE(db->Exec("INSERT INTO event_chunks (run_id, first_sequence, last_sequence, count, body) "
                        "VALUES ('r1', 20, 21, 3, 'x')").ok())
      << "a count larger than its range";
  ASSERT_OK(db->Exec("PRAGMA foreign_keys = ON; DELETE FROM runs WHERE id = 'r1'"));
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM event_chunks"), 1) << "a run's chunks go with it";
  EXPECT_EQ(*db->IntegrityCheck(), "ok");
}

// A damaged version-7 file still upgrades (found by an outside attack: one bad row made every
// command of the new binary refuse the directory, and the old one could not repair it): a
// chunk that breaks a CHECK moves as it is and is damage where it is read; a chunk of a run
// that is not stored is left behind.
TEST(MigrationsTest, Version7FileWithDamagedChunksStillUpgrades) {
  std::unique_ptr<Db> db = MustOpenDb(":memory:");
  ASSERT_OK(Migrate(db.get(), StoreMigrations().subspan(0, 7)));
  ASSERT_OK(db->Exec("PRAGMA foreign_keys = OFF; PRAGMA ignore_check_constraints = ON;" + kTwoRuns +
                     "INSERT INTO event_chunks (run_id, first_sequence, last_sequence, count, body) VALUES "
                     "('r1', 0, 4, 0, 'bad count'), ('ghost', 0, 0, 1, 'no run'), ('r2', 0, 0, 1, 'b0');"
                     "PRAGMA ignore_check_constraints = OFF; PRAGMA foreign_keys = ON;"));
  ASSERT_OK(Migrate(db.get()));
  EXPECT_EQ(*db->QueryInt("PRAGMA user_version"), LatestSchemaVersion());
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM event_chunks WHERE run_id = 'ghost'"), 0);
  EXPECT_EQ(*db->QueryInt("SELECT count FROM event_chunks WHERE run_id = 'r1'"), 0) << "moved as it was";
  EXPECT_FALSE(db->Exec("INSERT INTO event_chunks (run_id, first_sequence, last_sequence, count, body) "
                        "VALUES ('r2', 5, 6, 0, 'x')").ok())
      << "the CHECKs hold again for new rows";
  Result<std::unique_ptr<SqliteRunStore>> store = SqliteRunStore::Open(std::move(db));
  ASSERT_OK(store.status());
  Result<std::vector<EventRecord>> r1 = (*store)->ListEvents("r1", -1, 0);
  EXPECT_FALSE(r1.ok()) << "a damaged chunk is damage, never a partial answer";
}

// An upgrade stopped by a full disk says how much room it needs, and leaves the file as it was.
// Version 9 adds the batch runs' table and changes no row: a version 8 file keeps every run.
TEST(MigrationsTest, Version8FileGainsBatchRunsAndKeepsItsRuns) {
  std::unique_ptr<Db> db = MustOpenDb(":memory:");
  ASSERT_OK(Migrate(db.get(), StoreMigrations().subspan(0, 8)));
  ASSERT_OK(db->Exec(kTwoRuns));
  const std::string before = Dump(*db);
  ASSERT_OK(Migrate(db.get()));
  EXPECT_EQ(*db->QueryInt("PRAGMA user_version"), LatestSchemaVersion());
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM batch_runs"), 0);
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM runs"), 2);
  ASSERT_OK(db->Exec("INSERT INTO batch_runs (batch, entry, run_id) VALUES ('b', 'p[x=1]', 'r1')"));
  EXPECT_FALSE(db->Exec("INSERT INTO batch_runs (batch, entry, run_id) VALUES ('b', 'p[x=2]', 'r1')").ok())
      << "a run belongs to one entry";
  EXPECT_FALSE(db->Exec("INSERT INTO batch_runs (batch, entry, run_id) VALUES ('b', 'p', 'nobody')").ok())
      << "only a stored run";
  ASSERT_OK(db->Exec("DELETE FROM runs WHERE id = 'r1'"));
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM batch_runs"), 0) << "forgetting a run forgets its batch row";
}

TEST(MigrationsTest, AnUpgradeOnAFullDiskSaysHowMuchRoomItNeeds) {
  ASSERT_OK(FaultVfs::Register());
  TempDir dir;
  const std::string path = dir.path() + "/state.db";
  {
    std::unique_ptr<Db> db = MustOpenDb(path);
    ASSERT_OK(Migrate(db.get(), StoreMigrations().subspan(0, 7)));
    ASSERT_OK(db->Exec(kTwoRuns + "INSERT INTO event_chunks (run_id, first_sequence, last_sequence, count, body) "
                                  "VALUES ('r1', 0, 9, 10, printf('%.*c', 2000000, 'x'));"));
  }
  DbOptions faulty;
  faulty.vfs = FaultVfs::kName;
  Result<std::unique_ptr<Db>> db = Db::Open(path, faulty);
  ASSERT_OK(db.status());
  FaultVfs::FailAt(1, /*persistent=*/true, FaultVfs::Error::kDiskFull);
  Status s = Migrate(db->get());
  FaultVfs::FailAt(0, false);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("migrating to version 8"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("disk full"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("MB free beside the state database"), std::string::npos) << s.message();
  EXPECT_EQ(*(*db)->QueryInt("PRAGMA user_version"), 7) << "the file is as it was";
  EXPECT_EQ(*(*db)->QueryInt("SELECT count(*) FROM event_chunks"), 1);
}

TEST(MigrationsTest, Version1FileGainsTheStepProvenanceColumnsAndKeepsItsRows) {
  std::unique_ptr<Db> db = MustOpenDb(":memory:");
  ASSERT_OK(Migrate(db.get(), StoreMigrations().first(1)));
  ASSERT_OK(db->Exec(
      "INSERT INTO runs (id, plan_path, plan_name, plan_digest, params, execution, status, "
      "created_at, updated_at) VALUES ('r1', 'p.yaml', 'p', 'd', '{}', 'server', 'running', 1, 1);"
      "INSERT INTO steps (run_id, step_id, position, status, seed, updated_at) "
      "VALUES ('r1', 'a', 0, 'running', 42, 1);"));
  ASSERT_OK(Migrate(db.get()));
  EXPECT_EQ(*db->QueryInt("PRAGMA user_version"), LatestSchemaVersion());
  EXPECT_EQ(*db->QueryInt("SELECT seed FROM steps WHERE step_id = 'a'"), 42);
  EXPECT_EQ(*db->QueryInt("SELECT api_url = '' FROM runs WHERE id = 'r1'"), 1) << "a run from before v3 has no endpoint";
  EXPECT_EQ(*db->QueryInt("SELECT units IS NULL AND arguments_digest = '' FROM steps"), 1);
  EXPECT_EQ(*db->IntegrityCheck(), "ok");
}

TEST(MigrationsTest, CheckSchemaAcceptsEveryVersionMigrationsMake) {
  for (int v = 0; v <= LatestSchemaVersion(); ++v) {
    std::unique_ptr<Db> db = MustOpenDb(":memory:");
    ASSERT_OK(Migrate(db.get(), StoreMigrations().first(static_cast<size_t>(v))));
    Status s = CheckSchema(db.get());
    EXPECT_TRUE(s.ok()) << "version " << v << ": " << s.message();
  }
}

TEST(MigrationsTest, CheckSchemaCallsATextChangeOrAnObjectTooManyOrTooFewDamage) {
  const char* damage[] = {
      "PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = replace(sql, 'plan_name ', 'plXn_name ') "
      "WHERE name = 'runs'; PRAGMA writable_schema = OFF;",
      "CREATE TABLE extra (x INTEGER) STRICT;",
      "DROP INDEX runs_by_status;",
  };
  const char* said[] = {"the definition of table runs differs from what version 10 creates: found '  plXn_name      TEXT NOT NULL,' where '  plan_name      TEXT NOT NULL,' belongs",
                        "an object version 10 does not create: table extra",
                        "lacks index runs_by_status, which version 10 creates"};
  for (size_t i = 0; i < std::size(damage); ++i) {
    TempDir dir;
    const std::string path = dir.path() + "/state.db";
    {
      std::unique_ptr<Db> db = MustOpenDb(path);
      ASSERT_OK(Migrate(db.get()));
      ASSERT_OK(db->Exec(damage[i]));
    }
    std::unique_ptr<Db> db = MustOpenDb(path);  // a fresh connection reads the changed schema
    Status s = CheckSchema(db.get());
    EXPECT_EQ(s.code(), Status::Code::kIOError) << damage[i];
    EXPECT_NE(s.message().find("is damaged: "), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(said[i]), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("sogni-flow check"), std::string::npos) << s.message();
  }
}

TEST(MigrationsTest, MigratingTwiceChangesNothing) {
  std::unique_ptr<Db> db = MustOpenDb(":memory:");
  ASSERT_OK(Migrate(db.get()));
  std::string before = Dump(*db);
  int64_t steps = db->TEST_steps();
  ASSERT_OK(Migrate(db.get()));
  EXPECT_EQ(Dump(*db), before);
  EXPECT_EQ(db->TEST_steps(), steps + 1) << "an up-to-date file costs one read, no transaction";
}

TEST(MigrationsTest, RefusesADatabaseFromANewerBinaryAndLeavesItAlone) {
  TempDir tmp;
  std::string dir = tmp.path() + "/state";
  {
    Result<std::unique_ptr<StateDir>> state = StateDir::Open({.path = dir});
    ASSERT_OK(state.status());
    ASSERT_OK((*state)->sqlite_store().db().Exec("PRAGMA user_version = 11"));
  }
  Result<std::unique_ptr<StateDir>> state = StateDir::Open({.path = dir});
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.status().code(), Status::Code::kIOError);
  EXPECT_EQ(state.status().message(),
            "state database " + dir +
                "/state.db is from a newer sogni-flow (version 11); upgrade "
                "(this sogni-flow knows up to version 10)");
  std::unique_ptr<Db> db = MustOpenDb(dir + "/state.db");
  EXPECT_EQ(*db->QueryInt("PRAGMA user_version"), 11);
}

TEST(MigrationsTest, AFailingMigrationRollsBackToThePreviousVersion) {
  const Migration kSteps[] = {
      {1, "one", "CREATE TABLE t1 (x)"},
      {2, "two", "CREATE TABLE t2 (x); INSERT INTO no_such_table VALUES (1)"},
  };
  std::unique_ptr<Db> db = MustOpenDb(":memory:");
  Status s = Migrate(db.get(), kSteps);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kInternal);
  EXPECT_EQ(s.message().rfind("migrating to version 2 (two): state database :memory:", 0), 0u)
      << s.message();
  EXPECT_NE(s.message().find("no such table: no_such_table"), std::string::npos);
  EXPECT_EQ(*db->QueryInt("PRAGMA user_version"), 1);
  EXPECT_EQ(Tables(*db), "t1");
}

// Version 10 adds the ledger with a row for every stored run: no estimate was kept (0), and an
// ended run counts what it reported (a server run its steps' units; a local run its projects'
// charges at their quote's rate, never its steps' units, which are tokens). Damaged amounts and
// times do not stop the upgrade.
TEST(MigrationsTest, Version9FileGainsALedgerOfItsRuns) {
  std::unique_ptr<Db> db = MustOpenDb(":memory:");
  ASSERT_OK(Migrate(db.get(), StoreMigrations().subspan(0, 9)));
  ASSERT_OK(db->Exec(
      "INSERT INTO runs (id, plan_path, plan_name, plan_digest, params, execution, status, created_at, updated_at) VALUES "
      "('s1', 'p', 'n', 'd', '{}', 'server', 'completed', 1764979200000, 1), "
      "('s2', 'p', 'n', 'd', '{}', 'server', 'running', 1764979200000, 1), "
      "('l1', 'p', 'n', 'd', '{}', 'local', 'failed', -5, 1), "
      "('l2', 'p', 'n', 'd', '{}', 'local', 'completed', 9223372036854775807, 1);"
      "INSERT INTO steps (run_id, step_id, position, status, updated_at, units) VALUES "
      "('s1', 'a', 0, 'completed', 1, 3), ('s1', 'b', 1, 'completed', 1, 4), ('s2', 'a', 0, 'completed', 1, 5), "
      "('l1', 'hero', 0, 'failed', 1, 2);"
      "INSERT INTO projects (project_id, run_id, step_id, app_id, request, state, quote, quote_usd, charge, created_at, "
      "updated_at) VALUES ('P1', 'l1', 'hero', 'app', '{}', 'failed', 4, 0.04, 2, 1, 1), "
      "('P2', 'l1', 'hero', 'app', '{}', 'completed', 0, 0, 7, 1, 1);"
      "INSERT INTO batch_runs (batch, entry, run_id) VALUES ('nightly', 'p[x=1]', 's1');"));
  ASSERT_OK(Migrate(db.get()));
  Result<std::unique_ptr<SqliteRunStore>> store = SqliteRunStore::Open(std::move(db));
  ASSERT_OK(store.status());
  Result<std::vector<LedgerRow>> rows = (*store)->ListLedger({});
  ASSERT_OK(rows.status());
  ASSERT_EQ(rows->size(), 4u);
  std::map<std::string, LedgerRow> by_id;
  for (const LedgerRow& r : *rows) by_id[r.run_id] = r;
  EXPECT_EQ(by_id["s1"].batch, "nightly");
  EXPECT_EQ(by_id["s1"].payer.api_url, "-") << "a run stored before its endpoint was kept pays as '-'";
  EXPECT_EQ(by_id["s1"].payer.account, "-");
  EXPECT_EQ(by_id["s1"].day, LedgerDay(1764979200000));
  ASSERT_TRUE(by_id["s1"].actual.has_value());
  EXPECT_EQ(by_id["s1"].actual->units, 7);
  EXPECT_FALSE(by_id["s2"].actual.has_value()) << "a run that has not ended counts its estimate (none)";
  EXPECT_EQ(by_id["s2"].Counted().units, 0);
  EXPECT_EQ(by_id["l1"].day, "1970-01-01");
  ASSERT_TRUE(by_id["l1"].actual.has_value());
  EXPECT_EQ(by_id["l1"].actual->units, 0);
  EXPECT_DOUBLE_EQ(by_id["l1"].actual->usd, 0.02);
  EXPECT_EQ(by_id["l2"].day, "1970-01-01");
}

TEST(MigrationsTest, AppliesOnlyTheMissingOnesInOrder) {
  const Migration kV1[] = {{1, "one", "CREATE TABLE t1 (x)"}};
  const Migration kV2[] = {{1, "one", "CREATE TABLE t1 (x)"},
                           {2, "two", "ALTER TABLE t1 ADD COLUMN y"}};
  std::unique_ptr<Db> db = MustOpenDb(":memory:");
  ASSERT_OK(Migrate(db.get(), kV1));
  ASSERT_OK(Migrate(db.get(), kV2));
  EXPECT_EQ(*db->QueryInt("PRAGMA user_version"), 2);
  EXPECT_OK(db->Exec("INSERT INTO t1 (x, y) VALUES (1, 2)"));
  Status s = Migrate(db.get(), kV1);  // an older binary now
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_NE(s.message().find("from a newer sogni-flow (version 2); upgrade"), std::string::npos);
}

}  // namespace
}  // namespace sflow
