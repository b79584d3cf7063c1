// LockFile: one writer per state directory, in the manner of Terraform's state lock.
//
// The lock is flock(LOCK_EX) on a separate file (`<state dir>/lock`, mode 0600), held for the
// lifetime of the LockFile, normally the process's. flock rather than fcntl: an fcntl lock is
// dropped when ANY descriptor of the file is closed by the process and is not exclusive between
// two descriptors of one process (https://sqlite.org/howtocorrupt.html 2.2); flock belongs to the open file
// description, so a second open, even in the same process, is refused.
//
// The file's content names the holder (pid, host, start time) for the messages a refused writer
// prints. The kernel lock is the only authority: when a holder dies its lock vanishes with it, so
// a file that still names a holder but is not locked is the trace of a crash. Acquire() then
// takes it over and reports the previous holder (the caller checks the database). A clean
// release empties the file before unlocking.
#ifndef SFLOW_STORE_LOCK_FILE_H_
#define SFLOW_STORE_LOCK_FILE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "engine/status.h"

namespace sflow {

struct LockHolder {
  int64_t pid = 0;
  std::string host;
  std::string started;  // ISO 8601 UTC, "2025-11-23T15:48:00Z"
  // "pid 123 on host build-7 since 2025-11-23T15:48:00Z"
  std::string Describe() const;
  // Parses the lock file's "key=value" lines; nullopt when it names no pid.
  static std::optional<LockHolder> Parse(const std::string& content);
  std::string Serialize() const;
};

class LockFile {
 public:
  // Takes the lock at `path` (creating it 0600) without waiting, and records this process as the
  // holder. kConflict when another open file description holds it:
  //   "<path> is held by pid 123 on host h since T: another sogni-flow is using this state
  //    directory; wait for it to finish or stop it"
  // kIOError / kSecurity when the file cannot be opened or is not a regular file.
  static Result<std::unique_ptr<LockFile>> Acquire(const std::string& path);
  ~LockFile();  // empties the file, then unlocks and closes
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;

  const LockHolder& holder() const { return holder_; }
  // The holder the file still named when it was taken over (a crashed writer), if any.
  const std::optional<LockHolder>& previous() const { return previous_; }

  // Whether `pid` is a live process on this host (kill(pid, 0)).
  static bool ProcessAlive(int64_t pid);
  static std::string HostName();

 private:
  LockFile(int fd, LockHolder holder, std::optional<LockHolder> previous)
      : fd_(fd), holder_(std::move(holder)), previous_(std::move(previous)) {}
  int fd_;
  LockHolder holder_;
  std::optional<LockHolder> previous_;
};

}  // namespace sflow

#endif  // SFLOW_STORE_LOCK_FILE_H_
