#include "store/sqlite_db.h"
#include "store/fault_vfs.h"

#include <gtest/gtest.h>

#include "tests/support/test_util.h"

namespace sflow {
namespace {

std::unique_ptr<Db> OpenOk(const std::string& path, DbOptions options = {}) {
  Result<std::unique_ptr<Db>> db = Db::Open(path, options);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return db.ok() ? std::move(*db) : nullptr;
}

TEST(SqliteDbTest, AppliesWalFullSyncAndForeignKeys) {
  TempDir tmp;
  std::unique_ptr<Db> db = OpenOk(tmp.path() + "/x.db");
  ASSERT_NE(db, nullptr);
  Result<Stmt> mode = db->Prepare("PRAGMA journal_mode");
  ASSERT_OK(mode.status());
  ASSERT_TRUE(*mode->Step());
  EXPECT_EQ(mode->Text(0), "wal");
  EXPECT_EQ(*db->QueryInt("PRAGMA synchronous"), 2);  // FULL
  EXPECT_EQ(*db->QueryInt("PRAGMA foreign_keys"), 1);
  EXPECT_EQ(*db->QueryInt("PRAGMA busy_timeout"), 5000);
}

TEST(SqliteDbTest, MissingFileWithoutCreateIsNotFound) {
  TempDir tmp;
  DbOptions options;
  options.create = false;
  Result<std::unique_ptr<Db>> db = Db::Open(tmp.path() + "/none.db", options);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Status::Code::kNotFound);
}

TEST(SqliteDbTest, NotADatabaseIsIOError) {
  TempDir tmp;
  std::string path = tmp.Write("junk.db", std::string(4096, 'x'));
  Result<std::unique_ptr<Db>> db = Db::Open(path);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Status::Code::kIOError);
  EXPECT_NE(db.status().message().find("file is not a database"), std::string::npos)
      << db.status().message();
  EXPECT_NE(db.status().message().find("SQLITE_NOTADB"), std::string::npos);
}

TEST(SqliteDbTest, UniqueViolationIsConflictNamingTheConstraint) {
  std::unique_ptr<Db> db = OpenOk(":memory:");
  ASSERT_OK(db->Exec("CREATE TABLE t (x TEXT UNIQUE, y INTEGER CHECK (y > 0))"));
  ASSERT_OK(db->Prepare("INSERT INTO t VALUES (?1, 1)")->BindAll("a").Run());
  Status s = db->Prepare("INSERT INTO t VALUES (?1, 1)")->BindAll("a").Run();
  EXPECT_EQ(s.code(), Status::Code::kConflict);
  EXPECT_NE(s.message().find("UNIQUE constraint failed: t.x"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("'a'"), std::string::npos) << "values never reach messages";
}

TEST(SqliteDbTest, CheckViolationIsInternal) {
  std::unique_ptr<Db> db = OpenOk(":memory:");
  ASSERT_OK(db->Exec("CREATE TABLE t (y INTEGER CHECK (y > 0))"));
  Status s = db->Prepare("INSERT INTO t VALUES (?1)")->BindAll(int64_t{-1}).Run();
  EXPECT_EQ(s.code(), Status::Code::kInternal);
  EXPECT_NE(s.message().find("CHECK constraint failed"), std::string::npos) << s.message();
}

TEST(SqliteDbTest, SyntaxErrorIsInternal) {
  std::unique_ptr<Db> db = OpenOk(":memory:");
  Result<Stmt> stmt = db->Prepare("SELEKT 1");
  ASSERT_FALSE(stmt.ok());
  EXPECT_EQ(stmt.status().code(), Status::Code::kInternal);
}

TEST(SqliteDbTest, SecondWriterIsBusyConflictAfterTheTimeout) {
  TempDir tmp;
  std::string path = tmp.path() + "/x.db";
  std::unique_ptr<Db> a = OpenOk(path);
  ASSERT_OK(a->Exec("CREATE TABLE t (x)"));
  DbOptions quick;
  quick.busy_timeout_ms = 50;
  std::unique_ptr<Db> b = OpenOk(path, quick);
  Transaction ta(a.get());
  ASSERT_OK(ta.Begin());
  Transaction tb(b.get());
  Status s = tb.Begin();
  EXPECT_EQ(s.code(), Status::Code::kConflict);
  EXPECT_NE(s.message().find("SQLITE_BUSY"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("another process is using it"), std::string::npos);
  ASSERT_OK(ta.Commit());
  EXPECT_OK(tb.Begin());  // free again
}

TEST(SqliteDbTest, TransactionWithoutCommitRollsBack) {
  std::unique_ptr<Db> db = OpenOk(":memory:");
  ASSERT_OK(db->Exec("CREATE TABLE t (x)"));
  {
    Transaction txn(db.get());
    ASSERT_OK(txn.Begin());
    ASSERT_OK(db->Exec("INSERT INTO t VALUES (1)"));
  }
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM t"), 0);
  {
    Transaction txn(db.get());
    ASSERT_OK(txn.Begin());
    ASSERT_OK(db->Exec("INSERT INTO t VALUES (1)"));
    ASSERT_OK(txn.Commit());
  }
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM t"), 1);
}

TEST(SqliteDbTest, NestedUseOfOneStatementGetsAPrivateCopy) {
  std::unique_ptr<Db> db = OpenOk(":memory:");
  ASSERT_OK(db->Exec("CREATE TABLE t (x); INSERT INTO t VALUES (1), (2)"));
  Result<Stmt> outer = db->Prepare("SELECT x FROM t ORDER BY x");
  ASSERT_OK(outer.status());
  ASSERT_TRUE(*outer->Step());
  {
    Result<Stmt> inner = db->Prepare("SELECT x FROM t ORDER BY x");
    ASSERT_OK(inner.status());
    ASSERT_TRUE(*inner->Step());
    EXPECT_EQ(inner->Int(0), 1);
  }
  ASSERT_TRUE(*outer->Step());
  EXPECT_EQ(outer->Int(0), 2);  // the outer statement kept its place
}

TEST(SqliteDbTest, InjectedStepFaultFailsExactlyTheNthStep) {
  std::unique_ptr<Db> db = OpenOk(":memory:");
  ASSERT_OK(db->Exec("CREATE TABLE t (x)"));
  db->TEST_InjectStepFault(2, /*persistent=*/false);
  EXPECT_OK(db->Exec("INSERT INTO t VALUES (1)"));
  Status s = db->Exec("INSERT INTO t VALUES (2)");
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_TRUE(db->TEST_fault_hit());
  EXPECT_OK(db->Exec("INSERT INTO t VALUES (3)"));
  EXPECT_EQ(*db->QueryInt("SELECT sum(x) FROM t"), 4);
  db->TEST_InjectStepFault(1, /*persistent=*/true);
  EXPECT_FALSE(db->Exec("INSERT INTO t VALUES (5)").ok());
  EXPECT_FALSE(db->Exec("INSERT INTO t VALUES (6)").ok());
  db->TEST_InjectStepFault(0, false);
  EXPECT_EQ(*db->QueryInt("SELECT sum(x) FROM t"), 4);
}

TEST(SqliteDbTest, ReadOnlyConnectionRefusesWrites) {
  TempDir tmp;
  std::string path = tmp.path() + "/x.db";
  ASSERT_OK(OpenOk(path)->Exec("CREATE TABLE t (x)"));
  DbOptions ro;
  ro.read_only = true;
  std::unique_ptr<Db> db = OpenOk(path, ro);
  Status s = db->Exec("INSERT INTO t VALUES (1)");
  EXPECT_EQ(s.code(), Status::Code::kIOError) << s.ToString();
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM t"), 0);
}

// Store errors in words (issue 8, defect 15): what happened to which file, the code by name, and
// never a bare "extended code 4874".
TEST(SqliteDbTest, DiskTroubleIsSaidInWords) {
  ASSERT_OK(FaultVfs::Register());
  TempDir tmp;
  const std::string path = tmp.path() + "/x.db";
  DbOptions options;
  options.vfs = FaultVfs::kName;
  struct Case {
    FaultVfs::Error error;
    const char* starts;
  } cases[] = {
      {FaultVfs::Error::kDiskFull, "disk full writing the state database "},
      {FaultVfs::Error::kShmFull, "cannot grow the state database's shared-memory file "},
      {FaultVfs::Error::kIO, "I/O error on the state database "},
  };
  for (const Case& c : cases) {
    std::unique_ptr<Db> db = OpenOk(path, options);
    ASSERT_OK(db->Exec("CREATE TABLE IF NOT EXISTS t (x)"));
    FaultVfs::FailAt(1, /*persistent=*/true, c.error);
    Status s = db->Exec("INSERT INTO t VALUES (randomblob(100000))");
    FaultVfs::FailAt(0, false);
    ASSERT_EQ(s.code(), Status::Code::kIOError) << s.ToString();
    EXPECT_EQ(s.message().rfind(std::string(c.starts) + path, 0), 0u) << s.message();
    EXPECT_EQ(s.message().find("extended code"), std::string::npos) << s.message();
    if (c.error == FaultVfs::Error::kShmFull) {
      EXPECT_NE(s.message().find("-shm, most likely because the disk is full (SQLITE_IOERR_SHMSIZE while running"),
                std::string::npos) << s.message();
    }
    if (c.error == FaultVfs::Error::kIO) {
      EXPECT_NE(s.message().find("SQLITE_IOERR_WRITE"), std::string::npos) << s.message();
    }
    EXPECT_NE(s.message().find("what was stored before is intact"), std::string::npos);
  }
}

}  // namespace
}  // namespace sflow
