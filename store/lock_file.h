// LockFile: <state dir>/lock, opened once by each StateDir that writes and held open for its
// life. The kernel releases every lock on it when the process dies, however it dies.
//
// Two kinds of kernel lock on the one file (they do not interact on Linux):
// - flock(), whole file: SHARED by every process that writes the state directory, EXCLUSIVE only
//   while the schema is migrated. A sogni-flow before schema 4 took it EXCLUSIVE for its whole
//   life, so an old and a new binary exclude each other instead of mixing lock grains.
// - open file description locks (fcntl F_OFD_SETLK), one byte per leased run (store/run_lease.h).
//   They belong to the open file description, so a close() of another descriptor of the file
//   does not drop them (unlike classic POSIX locks), and two descriptions conflict even inside
//   one process.
//
// Deleting or replacing the file while it is in use gives later processes another inode, whose
// locks do not see these. That is why a run's lease is also a row naming its holder, checked for
// liveness (store/run_lease.h), and why migrations also run inside SQLite's write lock.
#ifndef SFLOW_STORE_LOCK_FILE_H_
#define SFLOW_STORE_LOCK_FILE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "engine/status.h"

namespace sflow {

// The holder a lock file's text names ("pid=...\nhost=...\nstarted=...\n"), written while the
// file is held EXCLUSIVE (by a migration here, or for its whole life by an older sogni-flow).
struct LockHolder {
  int64_t pid = 0;
  std::string host;
  std::string started;  // ISO 8601 UTC
  std::string Describe() const;  // "pid 123 on host build-7 since 2025-11-23T15:48:00Z"
  // nullopt when the text names no pid.
  static std::optional<LockHolder> Parse(const std::string& content);
  std::string Serialize() const;
};

class LockFile {
 public:
  // Opens the regular file at `path`, creating it 0600 when `create`. kSecurity for a symbolic
  // link or anything but a regular file; kNotFound when it is missing and !create; kIOError
  // when it cannot be opened.
  static Result<std::unique_ptr<LockFile>> Open(const std::string& path, bool create);
  ~LockFile();  // closes: the kernel drops every lock of this description
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;

  enum class Mode { kNone, kShared, kExclusive };
  // Sets the flock mode without waiting. kConflict when another description holds a conflicting
  // mode. Converting is not atomic (flock(2)): after kConflict this description holds none.
  Status Lock(Mode mode);
  Mode mode() const { return mode_; }

  // The OFD write lock on the one byte at `offset`: true when this description now holds it
  // (also when it already did), false when another description holds it.
  Result<bool> TryLockByte(int64_t offset);
  void UnlockByte(int64_t offset);
  // Whether another open file description holds the byte now (F_OFD_GETLK).
  Result<bool> ByteHeldElsewhere(int64_t offset) const;

  // The file's text, and replacing it (see LockHolder).
  std::string ReadText() const;
  Status WriteText(const std::string& text);
  const std::string& path() const { return path_; }

 private:
  LockFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
  Mode mode_ = Mode::kNone;
};

}  // namespace sflow

#endif  // SFLOW_STORE_LOCK_FILE_H_
