// ProcessIdentity: who a process is, exactly enough to tell later whether it is still alive.
//
// A pid alone is not an identity: pids are reused. The identity is the pid together with the
// kernel's boot id (/proc/sys/kernel/random/boot_id), the pid namespace (/proc/self/ns/pid) and
// the process's start time in clock ticks since boot (/proc/PID/stat, field 22). Alive() then
// answers:
//   kDead     another boot (every process of that boot is gone), or the same boot and pid
//             namespace and no process with that pid and start time;
//   kAlive    the same boot and namespace, and that pid has that start time;
//   kUnknown  another pid namespace of the same boot (a container sharing the directory), or no
//             /proc: the caller must rely on a kernel lock instead.
// The host name and the start time in ISO 8601 are kept for messages only.
#ifndef SFLOW_STORE_PROCESS_IDENTITY_H_
#define SFLOW_STORE_PROCESS_IDENTITY_H_

#include <cstdint>
#include <string>

namespace sflow {

struct ProcessIdentity {
  int64_t pid = 0;
  std::string host;         // gethostname(); messages only
  std::string boot_id;      // "" when /proc does not say
  std::string pid_ns;       // "pid:[4026531836]"; "" when /proc does not say
  int64_t start_ticks = 0;  // 0 when /proc does not say
  std::string started;      // ISO 8601 UTC of when the identity was taken; messages only

  enum class Liveness { kAlive, kDead, kUnknown };

  // This process (computed once, then cached; `started` is the first call's time). Thread-safe.
  static ProcessIdentity Self();
  // Whether the process this identity names is still running (see above).
  Liveness Alive() const;
  bool SameProcess(const ProcessIdentity& other) const {
    return pid == other.pid && boot_id == other.boot_id && pid_ns == other.pid_ns &&
           start_ticks == other.start_ticks;
  }
  // "pid 123 on host build-7 since 2025-11-23T15:48:00Z"
  std::string Describe() const;

  // The start time of `pid` in clock ticks since boot, or 0 if there is no such process (or no
  // /proc). Exposed for tests.
  static int64_t StartTicksOf(int64_t pid);
  static std::string HostName();
};

}  // namespace sflow

#endif  // SFLOW_STORE_PROCESS_IDENTITY_H_
