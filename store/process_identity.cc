#include "store/process_identity.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <mutex>
#include <sstream>

namespace sflow {

namespace {

std::string ReadLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string NowIso8601() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string PidNamespace() {
  char buf[64] = {};
  ssize_t n = ::readlink("/proc/self/ns/pid", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

}  // namespace

namespace {

// Fields 3 (state) and 22 (starttime) of /proc/PID/stat; {0, 0} when it cannot be read.
struct StatFields {
  char state = 0;
  int64_t start_ticks = 0;
};

StatFields ReadStat(int64_t pid) {
  if (pid <= 0) return {};
  std::string stat = ReadLine("/proc/" + std::to_string(pid) + "/stat");
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields are counted
  // from the last ')'; after it comes field 3.
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(stat.substr(close + 1));
  std::string field;
  StatFields out;
  for (int i = 3; i <= 22 && (rest >> field); ++i) {
    if (i == 3) out.state = field.empty() ? 0 : field[0];
    if (i == 22) out.start_ticks = std::strtoll(field.c_str(), nullptr, 10);
  }
  return out.start_ticks ? out : StatFields{};
}

}  // namespace

int64_t ProcessIdentity::StartTicksOf(int64_t pid) { return ReadStat(pid).start_ticks; }

std::string ProcessIdentity::HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

ProcessIdentity ProcessIdentity::Self() {
  // Computed once per process; a fork()ed child (tests) is another process and computes its own.
  static std::mutex mu;
  static ProcessIdentity cached;
  std::lock_guard<std::mutex> lock(mu);
  if (cached.pid != ::getpid()) {
    cached.pid = ::getpid();
    cached.host = HostName();
    cached.boot_id = ReadLine("/proc/sys/kernel/random/boot_id");
    cached.pid_ns = PidNamespace();
    cached.start_ticks = StartTicksOf(cached.pid);
    cached.started = NowIso8601();
  }
  return cached;
}

ProcessIdentity::Liveness ProcessIdentity::Alive() const {
  const ProcessIdentity me = Self();
  if (!boot_id.empty() && !me.boot_id.empty() && boot_id != me.boot_id) return Liveness::kDead;
  if (boot_id.empty() || me.boot_id.empty() || pid_ns.empty() || pid_ns != me.pid_ns ||
      start_ticks == 0 || me.start_ticks == 0) {
    return Liveness::kUnknown;
  }
  if (pid <= 0) return Liveness::kDead;
  const StatFields now = ReadStat(pid);
  if (now.start_ticks == 0) {
    // No /proc entry: gone, unless /proc itself is unreadable (then ask the kernel).
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM) return Liveness::kUnknown;
    return Liveness::kDead;
  }
  if (now.start_ticks != start_ticks) return Liveness::kDead;  // the pid was reused
  // A zombie (killed, its parent has not waited for it yet) or a dying process drives nothing:
  // its locks are gone already. A runner killed with SIGKILL under a parent that never reaps
  // (PID 1 of a container) stays a zombie for good.
  return now.state == 'Z' || now.state == 'X' ? Liveness::kDead : Liveness::kAlive;
}

std::string ProcessIdentity::Describe() const {
  std::string s = "pid " + std::to_string(pid);
  if (!host.empty()) s += " on host " + host;
  if (!started.empty()) s += " since " + started;
  return s;
}

}  // namespace sflow
