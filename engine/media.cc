#include "engine/media.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace sflow {

namespace {

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string RealPath(const std::string& p) {
  char buf[PATH_MAX];
  if (!::realpath(p.c_str(), buf)) return "";
  return buf;
}

// True for addresses on this machine or on private and link-local networks.
bool IsInternalV4(uint32_t host_order) {
  uint8_t a = host_order >> 24, b = (host_order >> 16) & 0xff;
  return a == 0 || a == 127 || a == 10 || (a == 172 && b >= 16 && b <= 31) || (a == 192 && b == 168) ||
         (a == 169 && b == 254) || (a == 100 && b >= 64 && b <= 127);
}

}  // namespace

MediaSniff SniffMedia(std::string_view h) {
  auto at = [&](size_t off, std::string_view magic) { return h.size() >= off + magic.size() && h.substr(off, magic.size()) == magic; };
  if (at(0, "\x89PNG\r\n\x1a\n")) return {MediaKind::kImage, "png", "image/png"};
  if (at(0, "\xFF\xD8\xFF")) return {MediaKind::kImage, "jpeg", "image/jpeg"};
  if (at(0, "GIF87a") || at(0, "GIF89a")) return {MediaKind::kImage, "gif", "image/gif"};
  if (at(0, "RIFF") && at(8, "WEBP")) return {MediaKind::kImage, "webp", "image/webp"};
  if (at(0, "RIFF") && at(8, "WAVE")) return {MediaKind::kAudio, "wav", "audio/wav"};
  if (at(0, "fLaC")) return {MediaKind::kAudio, "flac", "audio/flac"};
  if (at(0, "OggS")) return {MediaKind::kAudio, "ogg", "audio/ogg"};
  if (at(0, "ID3")) return {MediaKind::kAudio, "mp3", "audio/mpeg"};
  // An MPEG audio frame sync: 11 set bits, then a layer that is not "reserved".
  if (h.size() >= 2 && static_cast<unsigned char>(h[0]) == 0xFF && (static_cast<unsigned char>(h[1]) & 0xE0) == 0xE0 &&
      (static_cast<unsigned char>(h[1]) & 0x06) != 0)
    return {MediaKind::kAudio, "mp3", "audio/mpeg"};
  if (at(4, "ftyp")) {
    // ISO media: the brand tells audio-only M4A from video.
    if (at(8, "M4A ") || at(8, "M4B ")) return {MediaKind::kAudio, "m4a", "audio/mp4"};
    if (at(8, "qt  ")) return {MediaKind::kVideo, "mov", "video/quicktime"};
    // HEIF and AVIF stills share the container; they are images, and not ones the API takes.
    if (at(8, "heic") || at(8, "heix") || at(8, "mif1") || at(8, "avif")) return {MediaKind::kUnknown, "heif", ""};
    return {MediaKind::kVideo, "mp4", "video/mp4"};
  }
  if (at(0, "\x1A\x45\xDF\xA3")) return {MediaKind::kVideo, "webm", "video/webm"};
  return {};
}

LocalMediaCheck CheckLocalMedia(const std::string& plan_dir, const std::string& path, uint64_t max_bytes) {
  LocalMediaCheck r;
  if (path.empty()) {
    r.error = "empty media path";
    return r;
  }
  std::string root = RealPath(plan_dir);
  std::string joined = path[0] == '/' ? path : plan_dir + "/" + path;
  std::string real = RealPath(joined);
  if (real.empty()) {
    r.error = "media file '" + path + "' not found";
    r.hint = "paths are relative to the plan's directory";
    return r;
  }
  r.resolved = real;
  if (root.empty() || !(real.size() > root.size() && StartsWith(real, root) && real[root.size()] == '/')) {
    r.error = "media file '" + path + "' is outside the plan's directory";
    r.hint = "keep media next to the plan (links are followed before this check)";
    return r;
  }
  int fd = ::open(real.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    r.error = "media file '" + path + "' cannot be opened: " + std::strerror(errno);
    return r;
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    r.error = "media file '" + path + "' is not a regular file";
    return r;
  }
  r.size = static_cast<uint64_t>(st.st_size);
  if (r.size > max_bytes) {
    ::close(fd);
    r.error = "media file '" + path + "' is " + std::to_string(r.size) + " bytes, over the " +
              std::to_string(max_bytes) + "-byte upload limit";
    return r;
  }
  char head[64];
  ssize_t n = ::read(fd, head, sizeof head);
  ::close(fd);
  r.sniff = SniffMedia(std::string_view(head, n > 0 ? static_cast<size_t>(n) : 0));
  if (r.sniff.kind == MediaKind::kUnknown) {
    r.error = "media file '" + path + "' is not a recognised image, video or audio file";
    r.hint = "supported: PNG, JPEG, GIF, WebP, MP4, MOV, WebM, WAV, MP3, FLAC, OGG, M4A (checked by content)";
  }
  return r;
}

std::string CheckMediaUrl(const std::string& url) {
  std::string lower = Lower(url);
  if (!StartsWith(lower, "https://")) {
    size_t colon = lower.find(':');
    std::string scheme = colon == std::string::npos ? "" : lower.substr(0, colon);
    return scheme.empty() ? "not a URL" : "'" + scheme + ":' URLs are refused; only https is allowed";
  }
  std::string rest = url.substr(8);
  std::string authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string::npos) return "URLs with credentials (user@host) are refused";
  std::string host = authority;
  if (!host.empty() && host[0] == '[') {
    size_t close = host.find(']');
    if (close == std::string::npos) return "malformed IPv6 host";
    std::string v6 = host.substr(1, close - 1);
    in6_addr addr{};
    if (inet_pton(AF_INET6, v6.c_str(), &addr) != 1) return "malformed IPv6 host";
    const uint8_t* b = addr.s6_addr;
    bool loopback = IN6_IS_ADDR_LOOPBACK(&addr) || IN6_IS_ADDR_UNSPECIFIED(&addr);
    bool link_local = b[0] == 0xfe && (b[1] & 0xc0) == 0x80;
    bool unique_local = (b[0] & 0xfe) == 0xfc;
    bool mapped_internal = IN6_IS_ADDR_V4MAPPED(&addr) &&
                           IsInternalV4((uint32_t(b[12]) << 24) | (b[13] << 16) | (b[14] << 8) | b[15]);
    if (loopback || link_local || unique_local || mapped_internal)
      return "the host is a loopback, private or link-local address";
    return "";
  }
  host = Lower(host.substr(0, host.find(':')));
  while (!host.empty() && host.back() == '.') host.pop_back();  // "localhost." is localhost
  if (host.empty()) return "the URL has no host";
  if (host == "localhost" || (host.size() > 10 && host.substr(host.size() - 10) == ".localhost"))
    return "the host names this machine";
  // inet_aton accepts every legacy IPv4 form (127.1, 0x7f000001, 2130706433, 0177.0.0.1), which is
  // exactly why it is used here: whatever a resolver would read as an address is checked as one.
  in_addr v4{};
  if (inet_aton(host.c_str(), &v4) == 1 && IsInternalV4(ntohl(v4.s_addr)))
    return "the host is a loopback, private or link-local address";
  return "";
}

MediaKind MediaKindFromUrl(const std::string& url) {
  std::string path = url.substr(0, url.find_first_of("?#"));
  size_t dot = path.rfind('.');
  if (dot == std::string::npos || path.find('/', dot) != std::string::npos) return MediaKind::kUnknown;
  std::string ext = Lower(path.substr(dot + 1));
  for (const char* e : {"png", "jpg", "jpeg", "gif", "webp"})
    if (ext == e) return MediaKind::kImage;
  for (const char* e : {"mp4", "mov", "webm", "m4v"})
    if (ext == e) return MediaKind::kVideo;
  for (const char* e : {"mp3", "wav", "flac", "ogg", "m4a"})
    if (ext == e) return MediaKind::kAudio;
  return MediaKind::kUnknown;
}

}  // namespace sflow
