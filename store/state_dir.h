// StateDir: the state directory (default ./.sogni-flow) with its database, opened safely.
//
// Layout: <dir>/state.db (+ state.db-wal, state.db-shm, made by SQLite) and <dir>/lock.
// Opening for writing, in this order:
//   1. the directory is created 0700 (its parents with the default mode) if missing;
//   2. the one-writer lock is taken (store/lock_file.h); a second writer gets kConflict naming the
//      holder. Nothing touches state.db before this, so a refused writer cannot disturb the
//      holder's SQLite locks;
//   3. state.db is created 0600 if missing; SQLite gives -wal and -shm the database's mode;
//   4. the database is opened (WAL, synchronous=FULL), checked with PRAGMA integrity_check if
//      the previous writer died holding the lock, and migrated.
//
// Permissions policy: TIGHTEN AND SAY SO. A directory looser than 0700 or a file looser than 0600
// is chmod-ed to 0700/0600 and a notice says so (the caller prints it). Tightening never loses
// anything and spares cron jobs a hard failure after a stray `mkdir`; the database holds no
// secret (the API key never reaches it) but does hold presigned URLs. Refused with kSecurity, as
// they cannot be fixed safely: an entry owned by another user, a directory that is not one, a
// database, WAL or lock file that is a symbolic link or not a regular file. A state directory on
// NFS or SMB is refused with kIOError (WAL needs a local filesystem).
//
// Read-only opening (status, events) takes no lock, creates and migrates nothing, and changes
// no modes; every write through store() then fails with kIOError.
// Not thread-safe. Destruction closes the database, then releases the lock.
#ifndef SFLOW_STORE_STATE_DIR_H_
#define SFLOW_STORE_STATE_DIR_H_

#include <memory>
#include <string>
#include <vector>

#include "engine/status.h"
#include "store/lock_file.h"
#include "store/sqlite_run_store.h"

namespace sflow {

struct StateDirOptions {
  std::string path = ".sogni-flow";
  bool read_only = false;
  int busy_timeout_ms = 5000;
  std::string vfs{};               // test seam: a registered sqlite3 VFS (store/fault_vfs.h)
  SqliteRunStore::Clock now_ms{};  // empty = the system clock
};

class StateDir {
 public:
  static constexpr const char* kDbName = "state.db";
  static constexpr const char* kLockName = "lock";

  // Errors: kConflict (lock held: the message names pid, host and start time), kSecurity (see
  // the policy above), kNotFound (read-only and no database yet), kIOError (cannot create or
  // open, corrupt database, newer schema).
  static Result<std::unique_ptr<StateDir>> Open(const StateDirOptions& options);
  ~StateDir();
  StateDir(const StateDir&) = delete;
  StateDir& operator=(const StateDir&) = delete;

  RunStore& store() { return *store_; }
  SqliteRunStore& sqlite_store() { return *store_; }
  const std::string& path() const { return path_; }
  std::string db_path() const { return path_ + "/" + kDbName; }

  // Sentences for the user: "tightened the mode of ... from 0755 to 0700", "took over the lock
  // of pid 123 on host h since T, which is no longer running; the database passed its integrity
  // check".
  const std::vector<std::string>& notices() const { return notices_; }
  // The previous writer died holding the lock; the database passed integrity_check in Open().
  bool recovered() const { return recovered_; }

 private:
  StateDir() = default;
  std::string path_;
  std::unique_ptr<LockFile> lock_;
  std::unique_ptr<SqliteRunStore> store_;  // declared after lock_: destroyed first
  std::vector<std::string> notices_;
  bool recovered_ = false;
};

}  // namespace sflow

#endif  // SFLOW_STORE_STATE_DIR_H_
