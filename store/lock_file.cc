#include "store/lock_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

namespace sflow {

namespace {

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

struct flock ByteRange(short type, int64_t offset) {
  struct flock fl{};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = static_cast<off_t>(offset);
  fl.l_len = 1;
  fl.l_pid = 0;  // required by F_OFD_*
  return fl;
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

Result<std::unique_ptr<LockFile>> LockFile::Open(const std::string& path, bool create) {
  int flags = O_RDWR | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0);
  int fd = ::open(path.c_str(), flags, 0600);
  if (fd < 0 && !create && (errno == EACCES || errno == EROFS)) {
    fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);  // enough to query locks
  }
  if (fd < 0) {
    if (errno == ELOOP) return Status::Security("lock file " + path + " is a symbolic link; refusing it");
    if (errno == ENOENT && !create) return Status::NotFound("no lock file " + path);
    return Status::IOError(Errno("cannot open lock file", path));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::Security("lock file " + path + " is not a regular file; refusing it");
  }
  return std::unique_ptr<LockFile>(new LockFile(fd, path));
}

LockFile::~LockFile() { ::close(fd_); }

Status LockFile::Lock(Mode mode) {
  int op = mode == Mode::kNone ? LOCK_UN : mode == Mode::kShared ? LOCK_SH : LOCK_EX;
  if (::flock(fd_, op | LOCK_NB) == 0) {
    mode_ = mode;
    return Status::OK();
  }
  if (errno != EWOULDBLOCK) return Status::IOError(Errno("cannot lock", path_));
  // flock(2): a failed conversion may have dropped the lock held before.
  if (mode_ != Mode::kNone && ::flock(fd_, (mode_ == Mode::kShared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
    mode_ = Mode::kNone;
  }
  return Status::Error(Status::Code::kConflict, path_ + " is locked by another process");
}

Result<bool> LockFile::TryLockByte(int64_t offset) {
  struct flock fl = ByteRange(F_WRLCK, offset);
  if (::fcntl(fd_, F_OFD_SETLK, &fl) == 0) return true;
  if (errno == EAGAIN || errno == EACCES) return false;
  return Status::IOError(Errno("cannot lock a byte of", path_));
}

void LockFile::UnlockByte(int64_t offset) {
  struct flock fl = ByteRange(F_UNLCK, offset);
  (void)::fcntl(fd_, F_OFD_SETLK, &fl);  // unlocking a byte cannot fail on a valid descriptor
}

Result<bool> LockFile::ByteHeldElsewhere(int64_t offset) const {
  struct flock fl = ByteRange(F_WRLCK, offset);
  if (::fcntl(fd_, F_OFD_GETLK, &fl) != 0) return Status::IOError(Errno("cannot query the locks of", path_));
  return fl.l_type != F_UNLCK;
}

std::string LockFile::ReadText() const {
  std::string out;
  char buf[512];
  off_t off = 0;
  for (ssize_t n; out.size() <= 4096 && (n = ::pread(fd_, buf, sizeof buf, off)) > 0; off += n) {
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status LockFile::WriteText(const std::string& text) {
  if (::ftruncate(fd_, 0) != 0 ||
      ::pwrite(fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    return Status::IOError(Errno("cannot write lock file", path_));
  }
  return Status::OK();
}

}  // namespace sflow
