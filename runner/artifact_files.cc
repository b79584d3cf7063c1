#include "runner/artifact_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include "engine/media.h"
#include "runner/sha256.h"

namespace sflow {

std::string SafeFileName(const std::string& id) {
  std::string out;
  for (char c : id) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
  if (out.empty()) out = "_";
  return out;
}

std::string ExtensionFor(MediaKind kind, std::string_view bytes) {
  if (bytes.substr(0, 4) == "\x89PNG") return "png";
  // The formats a plan's local media may have (engine/media.h), read the same way.
  MediaSniff sniff = SniffMedia(bytes);
  // SniffMedia takes any MPEG audio frame for MP3 (local media checks are lenient); a file is
  // named .mp3 only for layer III of MPEG 1, 2 or 2.5 (version bits not "reserved"), or an ID3 tag.
  if (sniff.format == "mp3" && bytes.substr(0, 3) != "ID3") {
    const unsigned b1 = bytes.size() >= 2 ? static_cast<unsigned char>(bytes[1]) : 0;
    if (((b1 >> 1) & 3) != 1 || ((b1 >> 3) & 3) == 1) sniff.format.clear();
  }
  if (sniff.format == "jpeg") return "jpg";
  if (sniff.format == "mp4" && kind == MediaKind::kAudio) return "m4a";
  if (!sniff.format.empty() && sniff.format != "heif") return sniff.format;
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

Status CheckWritableDirectory(const std::string& dir) {
  if (Status s = MakeDirectories(dir); !s.ok()) return s;
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0) return Status::IOError("cannot stat " + dir + ": " + std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) return Status::IOError(dir + " is not a directory");
  if (::access(dir.c_str(), W_OK | X_OK) != 0) return Status::IOError("cannot write into " + dir + ": " + std::strerror(errno));
  return Status::OK();
}

Status PrepareStepDirectory(const std::string& dir) {
  if (Status s = MakeDirectories(dir); !s.ok()) return s;
  struct stat st{};
  if (::lstat(dir.c_str(), &st) != 0) return Status::IOError("cannot stat " + dir + ": " + std::strerror(errno));
  std::string why = S_ISLNK(st.st_mode)       ? "is a symbolic link"
                    : !S_ISDIR(st.st_mode)    ? "is not a directory"
                    : st.st_uid != ::geteuid() ? "belongs to another user (uid " + std::to_string(st.st_uid) + ")"
                    : (st.st_mode & S_IWOTH)   ? "is writable by every user"
                                               : "";
  if (why.empty()) return Status::OK();
  return Status::Security(dir + "/ " + why + "; the runner writes artifacts only into folders it owns alone. " +
                          "Remove it, or choose another --out");
}

namespace {

Status FsyncPath(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::OK() : Status::IOError("fsync " + path + ": " + std::strerror(errno));
}

// Removes "<final_path>.part-<pid>" files left in `dir` by a writer that died (SIGKILL, power
// loss) between creating its temp file and unlinking it. A pid still alive keeps its file.
void RemoveStaleTemps(const std::string& dir, const std::string& final_path) {
  std::string base = final_path.substr(final_path.rfind('/') + 1) + ".part-";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.compare(0, base.size(), base) != 0) continue;
    std::string digits = name.substr(base.size());
    if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = static_cast<pid_t>(std::stol(digits));
    if (pid == ::getpid() || (::kill(pid, 0) != 0 && errno == ESRCH)) ::unlink((dir + "/" + name).c_str());
  }
  ::closedir(d);
}

}  // namespace

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {

Status WriteAllTo(int fd, std::string_view bytes, const std::string& what) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::IOError("cannot write " + what + ": " + std::strerror(n < 0 ? errno : EIO));
    off += static_cast<size_t>(n);
  }
  return Status::OK();
}

// Reads the file at `path` a block at a time (never whole), handing each to `each` until it
// fails. kNotFound when the file does not exist, kIOError when it cannot be read.
Status ReadBlocks(const std::string& path, const std::function<Status(std::string_view)>& each) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return Status::NotFound("cannot read " + path + ": " + std::strerror(errno));
  if (fd < 0) return Status::IOError("cannot read " + path + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  std::string block(1 << 16, '\0');
  for (;;) {
    ssize_t n = ::read(fd, block.data(), block.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IOError("cannot read " + path + ": " + std::strerror(errno));
    if (n == 0) return Status::OK();
    if (Status s = each(std::string_view(block.data(), static_cast<size_t>(n))); !s.ok()) return s;
  }
}

// What fills a new file (FillFn), and what decides whether an existing name already holds the
// same bytes (SameFn), for LinkNewFile.
using FillFn = std::function<Status(int fd)>;
using SameFn = std::function<bool(const std::string& existing_path)>;

// After link() or linkat() failed with `err`: an existing name with the same bytes is success.
Status ExistingName(int err, const std::string& final_path, const SameFn& same) {
  if (err != EEXIST) return Status::IOError("cannot link " + final_path + ": " + std::strerror(err));
  if (same(final_path)) return Status::OK();
  return Status::Error(Status::Code::kConflict, final_path + " exists with other content; not overwritten");
}

// The named-temp-file way, for filesystems without O_TMPFILE: a crash can leave the temp file,
// which the next writer of the same name removes once its pid is gone.
Status LinkThroughNamedTemp(const std::string& dir, const std::string& final_path, const FillFn& fill,
                            const SameFn& same) {
  std::string tmp = final_path + ".part-" + std::to_string(::getpid());
  RemoveStaleTemps(dir, final_path);
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("cannot create " + tmp + ": " + std::strerror(errno));
  Status written = fill(fd);
  if (written.ok() && ::fsync(fd) != 0) written = Status::IOError("cannot sync " + tmp + ": " + std::strerror(errno));
  if (::close(fd) != 0 && written.ok()) written = Status::IOError("cannot close " + tmp + ": " + std::strerror(errno));
  if (!written.ok()) {
    ::unlink(tmp.c_str());
    return written;
  }
  Status result = ::link(tmp.c_str(), final_path.c_str()) == 0 ? Status::OK() : ExistingName(errno, final_path, same);
  ::unlink(tmp.c_str());
  return result;
}

// Makes a new file named `final_path`, filled by `fill`, durably but for the directory entry:
// an unnamed file in `dir` (O_TMPFILE: nothing to clean up after a crash, no temp name), fsync,
// then linkat() through /proc/self/fd. Falls back to a named temp file where the filesystem (or
// a missing /proc) does not allow that. A failing `fill` names nothing.
Status LinkNewFile(const std::string& dir, const std::string& final_path, const FillFn& fill, const SameFn& same) {
#ifdef O_TMPFILE
  int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) {
    // EOPNOTSUPP / EISDIR / EINVAL: no O_TMPFILE on this filesystem or kernel.
    if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) return LinkThroughNamedTemp(dir, final_path, fill, same);
    return Status::IOError("cannot create a file in " + dir + ": " + std::strerror(errno));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (Status s = fill(fd); !s.ok()) return s;
  if (::fsync(fd) != 0) return Status::IOError("cannot sync " + final_path + ": " + std::strerror(errno));
  const std::string self = "/proc/self/fd/" + std::to_string(fd);
  if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, final_path.c_str(), AT_SYMLINK_FOLLOW) == 0) return Status::OK();
  if (errno == ENOENT && ::access("/proc/self/fd", F_OK) != 0) return LinkThroughNamedTemp(dir, final_path, fill, same);
  return ExistingName(errno, final_path, same);
#else
  return LinkThroughNamedTemp(dir, final_path, fill, same);
#endif
}

// Same bytes in two files, compared a block at a time.
bool SameContent(const std::string& a, const std::string& b) {
  std::ifstream x(a, std::ios::binary), y(b, std::ios::binary);
  if (!x || !y) return false;
  char bx[65536], by[65536];
  for (;;) {
    x.read(bx, sizeof bx);
    y.read(by, sizeof by);
    if (x.gcount() != y.gcount()) return false;
    if (std::memcmp(bx, by, static_cast<size_t>(x.gcount())) != 0) return false;
    if (x.gcount() == 0 || (!x && !y)) return !x.bad() && !y.bad();
  }
}

}  // namespace

Status SyncDirectory(const std::string& dir) { return FsyncPath(dir, O_RDONLY | O_DIRECTORY); }

Status WriteNoReplace(const std::string& dir, const std::string& final_path, std::string_view bytes, SyncDir sync) {
  auto fill = [&](int fd) { return WriteAllTo(fd, bytes, final_path); };
  auto same = [&](const std::string& existing_path) {
    Result<std::string> existing = ReadWholeFile(existing_path);
    return existing.ok() && *existing == bytes;
  };
  if (Status s = LinkNewFile(dir, final_path, fill, same); !s.ok()) return s;
  return sync == SyncDir::kNow ? SyncDirectory(dir) : Status::OK();
}

Status CopyNoReplace(const std::string& dir, const std::string& src, const std::string& final_path,
                     const std::string& expected_sha256, SyncDir sync) {
  auto fill = [&](int out) -> Status {
    Sha256 hash;
    Status read = ReadBlocks(src, [&](std::string_view got) {
      hash.Update(got);
      return WriteAllTo(out, got, final_path);
    });
    if (!read.ok()) return read;
    // The bytes copied are the ones checked: a file changed since it was verified is not named.
    if (hash.HexDigest() != expected_sha256) return Status::NotFound(src + " changed since it was stored");
    return Status::OK();
  };
  auto same = [&](const std::string& existing_path) { return SameContent(existing_path, src); };
  if (Status s = LinkNewFile(dir, final_path, fill, same); !s.ok()) return s;
  return sync == SyncDir::kNow ? SyncDirectory(dir) : Status::OK();
}

Result<FileDigest> DigestFile(const std::string& path) {
  FileDigest out;
  Sha256 hash;
  Status read = ReadBlocks(path, [&](std::string_view got) {
    if (out.head.size() < 64) out.head += got.substr(0, 64 - out.head.size());
    hash.Update(got);
    out.size += static_cast<int64_t>(got.size());
    return Status::OK();
  });
  if (!read.ok()) return read.code() == Status::Code::kNotFound ? Status::IOError(read.message()) : read;
  out.sha256 = hash.HexDigest();
  return out;
}

std::string PartPathFor(const std::string& dir, const std::string& run_id, int64_t index) {
  return dir + "/." + std::to_string(index) + "." + SafeFileName(run_id) + ".part";
}

namespace {

// "bytes A-B/T" into A and T (T -1 for "*"); "bytes */T" into A = -1 and T. False if malformed.
bool ParseContentRange(const std::string& v, int64_t* first, int64_t* total) {
  unsigned long long a = 0, b = 0, t = 0;
  char star = 0;
  if (std::sscanf(v.c_str(), "bytes %llu-%llu/%llu", &a, &b, &t) == 3 && b >= a) {
    *first = static_cast<int64_t>(a), *total = static_cast<int64_t>(t);
    return true;
  }
  if (std::sscanf(v.c_str(), "bytes %llu-%llu/%c", &a, &b, &star) == 3 && star == '*' && b >= a) {
    *first = static_cast<int64_t>(a), *total = -1;
    return true;
  }
  if (std::sscanf(v.c_str(), "bytes */%llu", &t) == 1) {
    *first = -1, *total = static_cast<int64_t>(t);
    return true;
  }
  return false;
}

}  // namespace

Result<PartFetch> FetchPart(HttpTransport& transport, const std::string& url, const std::string& part_path,
                            StreamCancel* cancel) {
  int fd = ::open(part_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
  if (fd < 0 && errno == ELOOP)
    return Status::Security(part_path + " is a symbolic link, not a part file of this run; remove it");
  if (fd < 0) return Status::IOError("cannot open " + part_path + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  {
    // O_NONBLOCK: a FIFO put in its place must not hang the open; a regular file ignores it.
    struct stat st{};
    if (::fstat(fd, &st) != 0) return Status::IOError("cannot stat " + part_path + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid())
      return Status::Security(part_path + " is not a regular file of this user, so not a part file of this run; remove it");
  }
  auto restart = [&]() -> Status {
    if (::ftruncate(fd, 0) != 0) return Status::IOError("cannot truncate " + part_path + ": " + std::strerror(errno));
    return Status::OK();
  };
  PartFetch out;
  for (int round = 0; round < 2; ++round) {  // round 1: once more from byte 0 after a bad part
    struct stat st{};
    if (::fstat(fd, &st) != 0) return Status::IOError("cannot stat " + part_path + ": " + std::strerror(errno));
    const int64_t have = static_cast<int64_t>(st.st_size);
    if (round == 0 && st.st_nlink > 1 && have > 0) {
      // Published already (PublishPart links only a complete part), the process gone before the
      // store knew: the bytes are the final file's too, so they are complete and never written.
      out.complete = true, out.size = have;
      return out;
    }
    HttpRequest get;  // presigned media URL: no API key goes with it
    get.url = url;
    if (have > 0) get.headers.emplace_back("Range", "bytes=" + std::to_string(have) + "-");
    int64_t offset = 0, total = -1;
    bool bad_part = false;
    Status write_error;
    StreamHandlers handlers;
    handlers.on_head = [&](const HttpResponse& head) {
      std::string cl = head.Header("Content-Length");
      int64_t length = !cl.empty() && cl.find_first_not_of("0123456789") == std::string::npos && cl.size() < 19
                           ? std::stoll(cl) : -1;
      if (head.status == 206) {
        int64_t first = -1;
        if (!ParseContentRange(head.Header("Content-Range"), &first, &total) || first != have) {
          bad_part = true;  // not the rest of our bytes: start over
          return false;
        }
        offset = have;
      } else {  // 200 (or another 2xx): the whole object, whatever we asked for
        offset = 0;
        total = length;
        if (have > 0) {
          if (Status s = restart(); !s.ok()) {
            write_error = s;
            return false;
          }
        }
      }
      if (::lseek(fd, static_cast<off_t>(offset), SEEK_SET) < 0) {
        write_error = Status::IOError("cannot seek " + part_path + ": " + std::strerror(errno));
        return false;
      }
      return true;
    };
    handlers.on_chunk = [&](std::string_view bytes) {
      if (total >= 0 && offset + static_cast<int64_t>(bytes.size()) > total) {
        bad_part = true;  // more than the object: never keep it
        return false;
      }
      write_error = WriteAllTo(fd, bytes, part_path);
      if (!write_error.ok()) return false;
      offset += static_cast<int64_t>(bytes.size());
      return true;
    };
    Result<HttpResponse> head = transport.Stream(get, handlers, cancel);
    if (!write_error.ok()) return write_error;
    if (bad_part) {
      if (Status s = restart(); !s.ok()) return s;
      if (round == 0) continue;
      return Status::Error(Status::Code::kUnavailable, "download of " + part_path + ": the server's byte ranges do not add up");
    }
    if (!head.ok()) return head.status();  // the bytes received so far stay for the next Range
    out.status = head->status;
    if (head->status == 416) {
      int64_t first = -1, t = -1;
      if (ParseContentRange(head->Header("Content-Range"), &first, &t) && first < 0 && t == have && have > 0) {
        out.complete = true, out.size = have, out.total = t;  // the part already holds it all
        return out;
      }
      if (Status s = restart(); !s.ok()) return s;  // a part longer than the object (or other bytes)
      if (round == 0) continue;
      out.size = 0;
      return out;
    }
    if (head->status < 200 || head->status >= 300) {
      out.size = have;
      return out;  // the caller decides whether to try again
    }
    out.size = offset, out.total = total;
    if (total >= 0 && offset < total)
      return Status::Error(Status::Code::kUnavailable, "download of " + part_path + " cut short at " +
                                                           std::to_string(offset) + " of " + std::to_string(total) + " bytes");
    out.complete = true;
    return out;
  }
  return out;
}

Status PublishPart(const std::string& dir, const std::string& part_path, const std::string& final_path, SyncDir sync) {
  if (Status s = FsyncPath(part_path, O_RDONLY); !s.ok()) return s;
  if (::link(part_path.c_str(), final_path.c_str()) != 0) {
    if (errno != EEXIST) return Status::IOError("cannot link " + final_path + ": " + std::strerror(errno));
    if (!SameContent(part_path, final_path))
      return Status::Error(Status::Code::kConflict, final_path + " exists with other content; not overwritten");
  }
  return sync == SyncDir::kNow ? SyncDirectory(dir) : Status::OK();
}

}  // namespace sflow
