// Run leases: one process drives a run at a time (starts it, follows it, downloads its
// artifacts); any number of others may read, list, cancel or approve it meanwhile, and drive
// other runs.
//
// A lease is two things, taken in this order and released in the reverse one:
//   1. the kernel's lock on one byte of <state dir>/lock (LockFile::TryLockByte, at an offset
//      hashed from the run id): atomic between racing processes, and released by the kernel when
//      the holder dies, however it dies;
//   2. a row of the `leases` table naming the holder (ProcessIdentity: pid, host, boot id, pid
//      namespace, start time), written in a BEGIN IMMEDIATE transaction.
// A taker that got the byte still refuses while the row names another process that is alive:
// that is the case when the lock file was deleted or replaced (the taker locked a new inode), so
// deleting the file cannot let two processes drive one run. A row whose holder is dead (or, in
// another pid namespace, does not hold the byte) is taken over, and the taker says so.
// Two different runs whose ids hash to the same byte (1 in 2^40 per pair) exclude each other
// needlessly; the refusal then names no holder.
//
// Thread-safe: the leases use a connection of their own, under a mutex, so that `run -j N`
// threads may take and drop leases while others use the store.
#ifndef SFLOW_STORE_RUN_LEASE_H_
#define SFLOW_STORE_RUN_LEASE_H_

#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/status.h"
#include "store/lock_file.h"
#include "store/process_identity.h"
#include "store/sqlite_db.h"

namespace sflow {

class RunLeases;

// A lease's key is a run id, or "batch:NAME" for the one `batch run` of a batch (run ids hold no
// colon). What messages call it: "run r-..." or "batch 'NAME'".
std::string LeaseSubject(const std::string& key);

// The lease of one run, held until destroyed (or Release()d).
class RunLease {
 public:
  ~RunLease();
  RunLease(const RunLease&) = delete;
  RunLease& operator=(const RunLease&) = delete;
  const std::string& run_id() const { return run_id_; }
  // "took over run R from pid 123 on host h since T, which is no longer running", or "".
  const std::string& notice() const { return notice_; }
  // Deletes the row, then unlocks the byte. The Status of the row's deletion (the byte is
  // unlocked whatever it says; a row left behind names this process, which is then gone).
  Status Release();

 private:
  friend class RunLeases;
  RunLease(std::shared_ptr<RunLeases> owner, std::string run_id, std::string notice)
      : owner_(std::move(owner)), run_id_(std::move(run_id)), notice_(std::move(notice)) {}
  std::shared_ptr<RunLeases> owner_;  // null once released
  std::string run_id_, notice_;
};

class RunLeases : public std::enable_shared_from_this<RunLeases> {
 public:
  // `lock` may be null (a read-only state directory without a lock file): Holder() then relies
  // on the rows alone and Acquire() fails. `db` is a connection of the leases' own.
  RunLeases(std::unique_ptr<LockFile> lock, std::unique_ptr<Db> db);

  // kConflict "run R is driven by pid 123 on host h since T; ..." when another process (or
  // another StateDir of this one) holds it, or "... by this process" when this one already does.
  Result<std::unique_ptr<RunLease>> Acquire(const std::string& run_id);
  // The process that drives `run_id` now, if any (nullopt: nobody does).
  Result<std::optional<ProcessIdentity>> Holder(const std::string& run_id);
  // Removes the rows of holders that are certainly gone and returns them (for an integrity
  // check after a crash and its notices).
  Result<std::vector<std::pair<std::string, ProcessIdentity>>> ReapDead();

  static int64_t ByteOf(const std::string& run_id);
  LockFile* lock_file() { return lock_.get(); }

 private:
  friend class RunLease;
  Status Drop(const std::string& run_id);
  // Whether the holder named by a row still drives: it holds the byte, or it is alive.
  Result<bool> Drives(const std::string& run_id, const ProcessIdentity& holder);
  Result<std::optional<ProcessIdentity>> ReadRow(const std::string& run_id);

  std::mutex mu_;
  std::unique_ptr<LockFile> lock_;
  std::unique_ptr<Db> db_;
  std::set<std::string> held_;  // runs this object holds
};

}  // namespace sflow

#endif  // SFLOW_STORE_RUN_LEASE_H_
