#include "store/wal_check.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace sflow {

namespace {

constexpr size_t kHeader = 32, kFrameHeader = 24;

uint32_t Big32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// SQLite's WAL checksum over `n` bytes (a multiple of 8), continuing from s[0], s[1]; the words
// are big-endian when `big`, else little-endian.
void Checksum(bool big, const unsigned char* p, size_t n, uint32_t s[2]) {
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint32_t x0, x1;
    if (big) {
      x0 = Big32(p + i);
      x1 = Big32(p + i + 4);
    } else {
      std::memcpy(&x0, p + i, 4);
      std::memcpy(&x1, p + i + 4, 4);
    }
    s[0] += x0 + s[1];
    s[1] += x1 + s[0];
  }
}

Result<std::string> ReadAll(const std::string& path, bool* missing) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) {
      *missing = true;
      return std::string();
    }
    return Status::IOError("cannot read " + path + ": " + std::strerror(errno));
  }
  std::string out;
  char buf[1 << 16];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = Status::IOError("cannot read " + path + ": " + std::strerror(errno));
      ::close(fd);
      return s;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// One pass over a log image.
WalReport Scan(const std::string& image) {
  WalReport r;
  const auto* p = reinterpret_cast<const unsigned char*>(image.data());
  if (image.size() < kHeader) return r;
  uint32_t magic = Big32(p);
  if (magic != 0x377f0682 && magic != 0x377f0683) return r;
  const bool big = (magic & 1) != 0;
  const uint32_t page = Big32(p + 8);
  if (page < 512 || page > 65536 || (page & (page - 1)) != 0) return r;
  uint32_t s[2] = {0, 0};
  Checksum(big, p, 24, s);
  if (s[0] != Big32(p + 24) || s[1] != Big32(p + 28)) return r;
  r.present = true;
  const uint32_t salt1 = Big32(p + 16), salt2 = Big32(p + 20);
  const size_t frame = kFrameHeader + page;
  auto ours = [&](const unsigned char* f) { return Big32(f + 8) == salt1 && Big32(f + 12) == salt2; };
  // Whether frame f verifies when the running checksum before it is c.
  auto verifies = [&](const unsigned char* f, const uint32_t c[2]) {
    uint32_t t[2] = {c[0], c[1]};
    Checksum(big, f, 8, t);
    Checksum(big, f + kFrameHeader, page, t);
    return t[0] == Big32(f + 16) && t[1] == Big32(f + 20);
  };
  int64_t valid = 0;
  size_t off = kHeader;
  for (; off + frame <= image.size(); off += frame) {
    const unsigned char* f = p + off;
    if (!ours(f) || !verifies(f, s)) break;
    s[0] = Big32(f + 16);
    s[1] = Big32(f + 20);
    ++valid;
    if (Big32(f + 4) != 0) {  // a commit frame: the transaction up to here is replayed
      r.frames = valid;
      ++r.commits;
    }
  }
  if (off + frame > image.size()) return r;  // every whole frame is valid
  r.damaged_at = static_cast<int64_t>(off);
  // After the first failing frame: frames of this generation that verify from their predecessor's
  // stored checksum are genuine, and so are their commits.
  for (size_t next = off + frame; next + frame <= image.size(); next += frame) {
    const unsigned char* prev = p + next - frame;
    const unsigned char* f = p + next;
    if (!ours(f) || !ours(prev)) continue;
    const uint32_t c[2] = {Big32(prev + 16), Big32(prev + 20)};
    if (verifies(f, c) && Big32(f + 4) != 0) ++r.lost_commits;
  }
  return r;
}

}  // namespace

Result<WalReport> InspectWal(const std::string& wal_path) {
  // A writer may restart the log while it is read: the scan counts only if the header it began
  // with is still there afterwards.
  for (int attempt = 0;; ++attempt) {
    bool missing = false;
    Result<std::string> image = ReadAll(wal_path, &missing);
    if (!image.ok()) return image.status();
    WalReport report = Scan(*image);
    if (!report.damaged() || attempt == 2) return report;
    Result<std::string> again = ReadAll(wal_path, &missing);
    if (!again.ok()) return again.status();
    if (again->compare(0, kHeader, *image, 0, kHeader) == 0) return Scan(*again);
  }
}

Status DamagedWal(const std::string& db_path, const WalReport& report) {
  const std::string wal = db_path + "-wal";
  std::string dir = db_path.substr(0, db_path.rfind('/') == std::string::npos ? 0 : db_path.rfind('/'));
  if (dir.empty()) dir = ".";
  return Status::IOError("the state database's log " + wal + " is damaged at byte " +
                         std::to_string(report.damaged_at) + ": " + std::to_string(report.lost_commits) +
                         " committed transactions after it cannot be read, and SQLite would drop them "
                         "silently; keep a copy of " + dir + ", move " + wal +
                         " aside, then run `sogni-flow recover` to get the lost runs back from the server");
}

}  // namespace sflow
