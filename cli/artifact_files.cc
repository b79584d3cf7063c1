#include "cli/artifact_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "cli/sha256.h"

namespace sflow {

std::string SafeFileName(const std::string& id) {
  std::string out;
  for (char c : id) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
  if (out.empty()) out = "_";
  return out;
}

std::string ExtensionFor(MediaKind kind, std::string_view bytes) {
  auto starts = [&](std::string_view magic) { return bytes.substr(0, magic.size()) == magic; };
  if (starts("\x89PNG")) return "png";
  if (starts("\xFF\xD8\xFF")) return "jpg";
  if (starts("RIFF")) return "wav";
  if (starts("ID3") || starts("\xFF\xFB")) return "mp3";
  if (bytes.size() > 8 && bytes.substr(4, 4) == "ftyp") return kind == MediaKind::kAudio ? "m4a" : "mp4";
  switch (kind) {
    case MediaKind::kImage: return "img";
    case MediaKind::kVideo: return "mp4";
    case MediaKind::kAudio: return "audio";
    default: return "bin";
  }
}

Status MakeDirectories(const std::string& path) {
  std::string cur;
  std::stringstream ss(path);
  std::string part;
  if (!path.empty() && path[0] == '/') cur = "/";
  while (std::getline(ss, part, '/')) {
    if (part.empty()) continue;
    cur += part + "/";
    if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
      return Status::IOError("cannot create " + cur + ": " + std::strerror(errno));
  }
  return Status::OK();
}

namespace {

Status FsyncPath(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::OK() : Status::IOError("fsync " + path + ": " + std::strerror(errno));
}

}  // namespace

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status WriteNoReplace(const std::string& dir, const std::string& final_path, std::string_view bytes) {
  std::string tmp = final_path + ".part-" + std::to_string(::getpid());
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("cannot create " + tmp + ": " + std::strerror(errno));
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::IOError("cannot write " + tmp + ": " + std::strerror(e));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return Status::IOError("cannot sync " + tmp);
  }
  Status result = Status::OK();
  if (::link(tmp.c_str(), final_path.c_str()) != 0) {
    if (errno == EEXIST) {
      Result<std::string> existing = ReadWholeFile(final_path);
      if (!existing.ok() || Sha256Hex(*existing) != Sha256Hex(bytes))
        result = Status::Error(Status::Code::kConflict, final_path + " exists with other content; not overwritten");
    } else {
      result = Status::IOError("cannot link " + final_path + ": " + std::strerror(errno));
    }
  }
  ::unlink(tmp.c_str());
  if (!result.ok()) return result;
  return FsyncPath(dir, O_RDONLY | O_DIRECTORY);
}

}  // namespace sflow
