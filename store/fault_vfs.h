// FaultVfs: a sqlite3 VFS layered over the default one that counts the writes and syncs of the
// files it opens and can fail the Nth of them. It is store/'s I/O-error seam, in the role of
// leveldb's FaultInjectionTestEnv and of SQLite's own test VFS: the fault loops of the tests
// (fail write/sync N for N = 1, 2, ... "once" and "persistently") and the benchmark's fsync count
// open a Db with DbOptions::vfs = FaultVfs::kName. Production code never registers it.
//
// The state is process-global, as VFS registration is; tests that use it must not run
// concurrently with each other (GoogleTest runs a binary's tests one at a time).
#ifndef SFLOW_STORE_FAULT_VFS_H_
#define SFLOW_STORE_FAULT_VFS_H_

#include <cstdint>

#include "engine/status.h"

namespace sflow {

class FaultVfs {
 public:
  static constexpr const char* kName = "sflow-fault";
  // SQLITE_IOERR_* (of the operation); SQLITE_FULL; or SQLITE_IOERR_SHMSIZE, what SQLite answers
  // when a full disk keeps it from growing the -shm file (it is not reported as SQLITE_FULL).
  enum class Error { kIO, kDiskFull, kShmFull };

  // Registers the VFS (not as the default). Idempotent.
  static Status Register();

  // Operations seen since the last reset: writes + truncates, and syncs (fsync/fdatasync).
  static int64_t writes();
  static int64_t syncs();
  static void ResetCounters();

  // The nth write, truncate or sync from now (1 = the next) fails with `error` without touching
  // the file; with `persistent`, every later one fails too. n = 0 clears the fault.
  static void FailAt(int64_t n, bool persistent, Error error = Error::kIO);
  // Whether the armed fault has fired.
  static bool fault_hit();
};

}  // namespace sflow

#endif  // SFLOW_STORE_FAULT_VFS_H_
