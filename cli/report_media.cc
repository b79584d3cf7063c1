#include "cli/report_media.h"

#include <cstdint>
#include <filesystem>
#include <vector>

#include "api/projects_frames.h"

namespace sflow {

namespace {

uint64_t BigEndian(std::string_view b, size_t at, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

// The payload of the first box named `type` among the boxes that fill `in`; nullopt if none or
// if a box's size does not fit.
std::optional<std::string_view> Child(std::string_view in, std::string_view type) {
  size_t at = 0;
  while (at + 8 <= in.size()) {
    uint64_t size = BigEndian(in, at, 4);
    size_t header = 8;
    if (size == 1) {
      if (at + 16 > in.size()) return std::nullopt;
      size = BigEndian(in, at + 8, 8);
      header = 16;
    } else if (size == 0) {
      size = in.size() - at;  // to the end
    }
    if (size < header || size > in.size() - at) return std::nullopt;
    if (in.substr(at + 4, 4) == type) return in.substr(at + header, size - header);
    at += size;
  }
  return std::nullopt;
}

std::optional<std::string_view> Path(std::string_view in, std::initializer_list<std::string_view> types) {
  std::optional<std::string_view> at = in;
  for (std::string_view t : types) {
    if (!at) return std::nullopt;
    at = Child(*at, t);
  }
  return at;
}

bool IsJpeg(std::string_view b) {
  return b.size() >= 4 && static_cast<unsigned char>(b[0]) == 0xff && static_cast<unsigned char>(b[1]) == 0xd8 &&
         static_cast<unsigned char>(b[2]) == 0xff && static_cast<unsigned char>(b[b.size() - 2]) == 0xff &&
         static_cast<unsigned char>(b[b.size() - 1]) == 0xd9;
}

// The first sample of a track's sample table, if its entry may be JPEG.
std::optional<std::string> FirstJpegSample(std::string_view file, std::string_view stbl) {
  std::optional<std::string_view> stsd = Child(stbl, "stsd"), stsz = Child(stbl, "stsz");
  if (!stsd || !stsz || stsd->size() < 16 || stsz->size() < 12) return std::nullopt;
  const std::string_view entry = stsd->substr(12, 4);  // version+flags, count, size, then the type
  if (entry != "jpeg" && entry != "mjpa" && entry != "mjpb" && entry != "mp4v") return std::nullopt;
  uint64_t size = BigEndian(*stsz, 4, 4);
  if (size == 0) {
    if (BigEndian(*stsz, 8, 4) == 0 || stsz->size() < 16) return std::nullopt;
    size = BigEndian(*stsz, 12, 4);
  }
  uint64_t offset = 0;
  if (std::optional<std::string_view> stco = Child(stbl, "stco"); stco && stco->size() >= 12 && BigEndian(*stco, 4, 4) > 0)
    offset = BigEndian(*stco, 8, 4);
  else if (std::optional<std::string_view> co64 = Child(stbl, "co64"); co64 && co64->size() >= 16 && BigEndian(*co64, 4, 4) > 0)
    offset = BigEndian(*co64, 8, 8);
  else
    return std::nullopt;
  if (offset > file.size() || size > file.size() - offset) return std::nullopt;
  std::string_view sample = file.substr(offset, size);
  if (!IsJpeg(sample)) return std::nullopt;  // 'mp4v' holds MPEG-4 Part 2 as well
  return std::string(sample);
}

}  // namespace

std::string ImageMime(std::string_view b) {
  auto starts = [&](std::string_view sig, size_t at = 0) { return b.size() >= at + sig.size() && b.substr(at, sig.size()) == sig; };
  if (starts("\x89PNG\r\n\x1a\n")) return "image/png";
  if (starts("\xff\xd8\xff")) return "image/jpeg";
  if (starts("RIFF") && starts("WEBP", 8)) return "image/webp";
  if (starts("GIF87a") || starts("GIF89a")) return "image/gif";
  return "";
}

std::string DataUri(const std::string& mime, std::string_view bytes) {
  return "data:" + mime + ";base64," + Base64Encode(bytes);
}

std::string RelativeUrl(const std::string& from_dir, const std::string& file) {
  const std::filesystem::path rel = std::filesystem::path(file).lexically_relative(from_dir);
  std::string url;
  for (const std::filesystem::path& part : rel) {
    if (!url.empty()) url += '/';
    for (unsigned char c : part.string()) {
      if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
          c == '~') {
        url += static_cast<char>(c);
      } else {
        static const char* kHex = "0123456789ABCDEF";
        url += '%';
        url += kHex[c >> 4];
        url += kHex[c & 15];
      }
    }
  }
  return url;
}

std::optional<std::string> Mp4JpegFrame(std::string_view mp4) {
  std::optional<std::string_view> moov = Child(mp4, "moov");
  if (!moov) return std::nullopt;
  // Every trak of moov, in order.
  std::string_view rest = *moov;
  while (std::optional<std::string_view> trak = Child(rest, "trak")) {
    if (std::optional<std::string_view> stbl = Path(*trak, {"mdia", "minf", "stbl"}))
      if (std::optional<std::string> frame = FirstJpegSample(mp4, *stbl)) return frame;
    rest = rest.substr(static_cast<size_t>(trak->data() + trak->size() - rest.data()));
  }
  return std::nullopt;
}

}  // namespace sflow
