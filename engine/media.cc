#include "engine/media.h"

#include <algorithm>
#include <cctype>

#include "engine/url.h"

namespace sflow {

namespace {

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
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

LocalMediaCheck CheckLocalMedia(const FileProbe& files, const std::string& plan_dir, const std::string& path,
                                uint64_t max_bytes) {
  LocalMediaCheck r;
  if (path.empty()) {
    r.error = "empty media path";
    return r;
  }
  std::string root = files.RealPath(plan_dir);
  std::string joined = path[0] == '/' ? path : plan_dir + "/" + path;
  std::string real = files.RealPath(joined);
  if (real.empty()) {
    r.error = "media file '" + path + "' not found";
    r.hint = "paths are relative to the plan's directory";
    return r;
  }
  r.resolved = real;
  if (!root.empty() && real == root) {
    r.error = "media path '" + path + "' is the plan's directory, not a file";
    r.hint = "name a file, e.g. media/logo.png";
    return r;
  }
  if (root.empty() || !(real.size() > root.size() && StartsWith(real, root) && real[root.size()] == '/')) {
    r.error = "media file '" + path + "' is outside the plan's directory";
    r.hint = "keep media next to the plan (links are followed before this check)";
    return r;
  }
  FileFacts f = files.Probe(real, max_bytes, 64);
  switch (f.type) {
    case FileFacts::Type::kMissing:
      r.error = "media file '" + path + "' not found";
      return r;
    case FileFacts::Type::kDirectory:
      r.error = "media path '" + path + "' is a directory, not a file";
      r.hint = "name a file inside it";
      return r;
    case FileFacts::Type::kOther:
      r.error = f.error.empty() ? "media file '" + path + "' is not a regular file"
                                : "media file '" + path + "' cannot be opened: " + f.error;
      return r;
    case FileFacts::Type::kRegular:
      break;
  }
  r.size = f.size;
  if (r.size > max_bytes) {
    r.error = "media file '" + path + "' is " + std::to_string(r.size) + " bytes, over the " +
              std::to_string(max_bytes) + "-byte upload limit";
    return r;
  }
  if (!f.error.empty()) {
    r.error = "media file '" + path + "' cannot be read: " + f.error;
    return r;
  }
  r.sniff = SniffMedia(f.head);
  if (r.sniff.kind == MediaKind::kUnknown) {
    r.error = "media file '" + path + "' is not a recognised image, video or audio file";
    r.hint = "supported: PNG, JPEG, GIF, WebP, MP4, MOV, WebM, WAV, MP3, FLAC, OGG, M4A (checked by content)";
  }
  return r;
}

LocalMediaCheck CheckLocalMedia(const std::string& plan_dir, const std::string& path, uint64_t max_bytes) {
  return CheckLocalMedia(SystemFileProbe(), plan_dir, path, max_bytes);
}

std::string CheckMediaUrl(const std::string& url) {
  std::string scheme = UrlScheme(url);
  if (scheme.empty()) return "not a URL";
  if (scheme != "https") return "'" + scheme + ":' URLs are refused; only https is allowed";
  Result<Url> parsed = ParseUrl(url);
  if (!parsed.ok()) return parsed.status().message();
  if (parsed->has_userinfo) return "URLs with credentials (user@host) are refused";
  return InternalHostReason(*parsed);
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
