#include "engine/file_probe.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace sflow {

namespace {

class SystemProbe final : public FileProbe {
 public:
  std::string RealPath(const std::string& path) const override {
    char buf[PATH_MAX];
    if (!::realpath(path.c_str(), buf)) return "";
    return buf;
  }

  FileFacts Probe(const std::string& path, uint64_t max_size, size_t head_bytes) const override {
    FileFacts f;
    int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return f;
      f.type = FileFacts::Type::kOther;
      f.error = std::strerror(errno);
      return f;
    }
    struct stat st{};
    if (::fstat(fd, &st) != 0) {
      f.type = FileFacts::Type::kOther;
      f.error = std::strerror(errno);
    } else if (S_ISDIR(st.st_mode)) {
      f.type = FileFacts::Type::kDirectory;
    } else if (!S_ISREG(st.st_mode)) {
      f.type = FileFacts::Type::kOther;
    } else {
      f.type = FileFacts::Type::kRegular;
      f.size = static_cast<uint64_t>(st.st_size);
      if (f.size <= max_size) {
        f.head.resize(head_bytes);
        ssize_t n = ::read(fd, f.head.data(), head_bytes);
        f.head.resize(n > 0 ? static_cast<size_t>(n) : 0);
        if (n < 0) f.error = std::strerror(errno);
      }
    }
    ::close(fd);
    return f;
  }
};

}  // namespace

const FileProbe& SystemFileProbe() {
  static const SystemProbe probe;
  return probe;
}

}  // namespace sflow
