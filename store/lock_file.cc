#include "store/lock_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <sstream>

namespace sflow {

namespace {

std::string NowIso8601() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[512];
  off_t off = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, off);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    off += n;
    if (out.size() > 4096) break;  // a lock file is a few lines; ignore anything bigger
  }
  return out;
}

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

}  // namespace

std::string LockHolder::Describe() const {
  std::string s = "pid " + std::to_string(pid);
  if (!host.empty()) s += " on host " + host;
  if (!started.empty()) s += " since " + started;
  return s;
}

std::string LockHolder::Serialize() const {
  return "pid=" + std::to_string(pid) + "\nhost=" + host + "\nstarted=" + started + "\n";
}

std::optional<LockHolder> LockHolder::Parse(const std::string& content) {
  LockHolder h;
  std::istringstream in(content);
  std::string line;
  while (std::getline(in, line)) {
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "pid") {
      char* end = nullptr;
      long long pid = std::strtoll(value.c_str(), &end, 10);
      if (end != value.c_str() && *end == '\0' && pid > 0) h.pid = pid;
    } else if (key == "host") {
      h.host = value;
    } else if (key == "started") {
      h.started = value;
    }
  }
  if (h.pid == 0) return std::nullopt;
  return h;
}

bool LockFile::ProcessAlive(int64_t pid) {
  if (pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

std::string LockFile::HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

Result<std::unique_ptr<LockFile>> LockFile::Acquire(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == ELOOP) {
      return Status::Security("lock file " + path + " is a symbolic link; refusing it");
    }
    return Status::IOError(Errno("cannot open lock file", path));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::Security("lock file " + path + " is not a regular file");
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::optional<LockHolder> who = LockHolder::Parse(ReadAll(fd));
    ::close(fd);
    if (err != EWOULDBLOCK) {
      errno = err;
      return Status::IOError(Errno("cannot lock", path));
    }
    std::string by = who ? who->Describe() : "another process (it has not written its name yet)";
    if (who && who->host == HostName() && !ProcessAlive(who->pid)) {
      by += " (which is no longer running: a process it started still holds the lock)";
    }
    return Status::Error(Status::Code::kConflict,
                         path + " is held by " + by +
                             ": another sogni-flow is using this state directory; wait for it to "
                             "finish or stop it");
  }
  // We hold the lock. Whatever the file still says is the trace of a holder that died.
  std::optional<LockHolder> previous = LockHolder::Parse(ReadAll(fd));
  LockHolder me{static_cast<int64_t>(::getpid()), HostName(), NowIso8601()};
  std::string content = me.Serialize();
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, content.data(), content.size(), 0) != static_cast<ssize_t>(content.size())) {
    Status s = Status::IOError(Errno("cannot write lock file", path));
    ::close(fd);
    return s;
  }
  return std::unique_ptr<LockFile>(new LockFile(fd, std::move(me), std::move(previous)));
}

LockFile::~LockFile() {
  // Empty first, unlock second: an empty, unlocked file means "released cleanly".
  if (::ftruncate(fd_, 0) != 0) {
    // Nothing to do: the next holder will take this for a crash and check the database.
  }
  ::close(fd_);
}

}  // namespace sflow
