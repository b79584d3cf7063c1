// StateDir: the state directory (default ./.sogni-flow) with its database, opened safely.
//
// Layout: <dir>/state.db (+ state.db-wal, state.db-shm, made by SQLite) and <dir>/lock.
// Opening for writing, in this order:
//   1. a missing directory is created 0700 (its parents with the default mode);
//   2. the log (state.db-wal) is checked for damage SQLite would drop silently (store/wal_check.h);
//   3. the lock file is held SHARED for the StateDir's life (store/lock_file.h): any number of
//      sogni-flow processes write one directory at once, each write a short BEGIN IMMEDIATE
//      transaction with a busy timeout;
//   4. state.db is created 0600 if missing (SQLite gives -wal and -shm the database's mode),
//      opened (WAL, synchronous=FULL), and every table but `events` passes PRAGMA quick_check
//      (events are checked as they are read: store/run_rows.h). A schema older than this binary's
//      is migrated with the lock file held EXCLUSIVE (the one exclusive lock: migrations);
//   5. runs are driven under leases (store/run_lease.h, AcquireRunLease); leases of processes
//      that died are removed, after PRAGMA integrity_check of the whole database.
//
// Permissions policy:
// - A directory sogni-flow creates is 0700. An existing directory's mode is NEVER changed: one
//   readable by others (0755) is used as it is (the files in it are 0600); one writable by group
//   or others is refused with kSecurity, as is one owned by another user.
// - The files sogni-flow makes (state.db, -wal, -shm, lock) must be regular files of this user;
//   one looser than 0600 is tightened to 0600 and a notice says so (the caller prints it), as
//   they may hold presigned URLs. A link or a non-regular file there is refused with kSecurity.
// - Something that is not a directory at the path is kIOError (local state), as is a state
//   directory on NFS or SMB (WAL needs a local filesystem).
//
// Read-only opening (status, events, check): takes no lock, creates, migrates and changes
// nothing, and works in a read-only directory (SQLite's WAL read-only rules: without write access
// and without a -wal the database is opened immutable). Every write through store() then fails
// with kIOError.
// Destruction closes the database, then the leases' connection and the lock file (a RunLease
// still alive keeps the latter two until it is released).
#ifndef SFLOW_STORE_STATE_DIR_H_
#define SFLOW_STORE_STATE_DIR_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/status.h"
#include "store/process_identity.h"
#include "store/run_lease.h"
#include "store/sqlite_run_store.h"

namespace sflow {

struct StateDirOptions {
  std::string path = ".sogni-flow";
  bool read_only = false;
  int busy_timeout_ms = 5000;      // also how long a locked lock file is waited for
  std::string vfs{};               // test seam: a registered sqlite3 VFS (store/fault_vfs.h)
  SqliteRunStore::Clock now_ms{};  // empty = the system clock
};

class StateDir {
 public:
  static constexpr const char* kDbName = "state.db";
  static constexpr const char* kLockName = "lock";

  // Errors: kSecurity (see the policy above), kNotFound (read-only and no database yet),
  // kConflict (the lock file is held EXCLUSIVE by a process upgrading the schema or by an older
  // sogni-flow: the message names it), kIOError (not a directory, cannot create or open, a
  // damaged database or log, a newer schema; the message says what to do).
  static Result<std::unique_ptr<StateDir>> Open(const StateDirOptions& options);
  ~StateDir();
  StateDir(const StateDir&) = delete;
  StateDir& operator=(const StateDir&) = delete;

  RunStore& store() { return *store_; }
  SqliteRunStore& sqlite_store() { return *store_; }
  const std::string& path() const { return path_; }
  std::string db_path() const { return path_ + "/" + kDbName; }
  bool read_only() const { return read_only_; }

  // The right to drive `run_id` (start, follow, download) until the lease is destroyed; the run
  // need not be stored yet. kConflict "run R is driven by pid 123 on host h since T; ..." when
  // another process holds it; kIOError when read-only. A lease taken over from a dead process
  // carries a notice().
  Result<std::unique_ptr<RunLease>> AcquireRunLease(const std::string& run_id);
  // A new run's id, leased: one that no stored run has and no process holds, out of up to 64
  // draws of `next_id` (default: MakeRunId of now and 16 random bits, so that runs created in
  // the same second can draw one id twice: 200 of them about one time in four). Every command
  // that creates a run takes its id from here. kConflict when every draw was taken; kIOError
  // when read-only or the store cannot be read.
  struct NewRun {
    std::string run_id;
    std::unique_ptr<RunLease> lease;
  };
  Result<NewRun> LeaseNewRun(const std::function<std::string()>& next_id = {});
  // The process driving `run_id` now, if any.
  Result<std::optional<ProcessIdentity>> RunDriver(const std::string& run_id);

  // How a reader opens the database `db_path` of the directory `dir` (read-only; immutable when
  // the directory is not writable and there is no log: SQLite's WAL read-only rules).
  static DbOptions ReaderDbOptions(const std::string& dir, const std::string& db_path, int busy_timeout_ms);

  // Sentences for the user: "tightened the mode of ... from 0644 to 0600", "pid 123 on host h
  // since T died while driving run R; the database passed its integrity check".
  const std::vector<std::string>& notices() const { return notices_; }
  // A process died driving a run; the database passed integrity_check in Open().
  bool recovered() const { return recovered_; }

 private:
  StateDir() = default;
  Status OpenWriter(const StateDirOptions& options);
  Status OpenReader(const StateDirOptions& options);
  Status Migrate(Db* db, LockFile* lock, int busy_timeout_ms);
  Status ReapDeadDrivers(Db* db);

  std::string path_;
  bool read_only_ = false;
  std::shared_ptr<RunLeases> leases_;      // owns the lock file
  std::unique_ptr<SqliteRunStore> store_;  // declared after leases_: destroyed first
  std::vector<std::string> notices_;
  bool recovered_ = false;
};

}  // namespace sflow

#endif  // SFLOW_STORE_STATE_DIR_H_
