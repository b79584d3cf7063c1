#include "sandbox/media/png_writer.h"

#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

#include "sandbox/media/bytes.h"

namespace sflow {
namespace {

// A chunk: length, type, data, then the CRC-32 of type and data.
void AppendChunk(std::string* out, const char type[5], const std::string& data) {
  AppendU32Be(out, static_cast<uint32_t>(data.size()));
  size_t type_at = out->size();
  out->append(type, 4);
  out->append(data);
  uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(out->data() + type_at), 4 + data.size());
  AppendU32Be(out, static_cast<uint32_t>(crc));
}

// The filtered scanlines: each row is a filter-type byte (1 = Sub) and the bytes minus the same
// channel of the pixel to the left (modulo 256).
std::vector<uint8_t> FilterRows(const RgbImage& image) {
  const size_t stride = static_cast<size_t>(image.width) * 3;
  std::vector<uint8_t> raw((stride + 1) * image.height);
  uint8_t* out = raw.data();
  for (int y = 0; y < image.height; ++y) {
    const uint8_t* row = image.At(0, y);
    *out++ = 1;
    for (size_t i = 0; i < stride; ++i) {
      *out++ = static_cast<uint8_t>(row[i] - (i >= 3 ? row[i - 3] : 0));
    }
  }
  return raw;
}

// A zlib stream of stored deflate blocks (RFC 1950/1951): header 78 01, blocks of at most 65535
// bytes, then the Adler-32 of the data.
std::string ZlibStored(const std::vector<uint8_t>& data) {
  std::string out("\x78\x01", 2);
  size_t at = 0;
  do {
    size_t n = data.size() - at < 65535 ? data.size() - at : 65535;
    AppendU8(&out, at + n == data.size() ? 1 : 0);  // BFINAL, BTYPE = 00
    AppendU16Le(&out, static_cast<uint32_t>(n));
    AppendU16Le(&out, static_cast<uint32_t>(n ^ 0xFFFF));
    out.append(reinterpret_cast<const char*>(data.data()) + at, n);
    at += n;
  } while (at < data.size());
  AppendU32Be(&out, static_cast<uint32_t>(adler32(1L, data.data(), data.size())));
  return out;
}

bool ZlibDeflate(const std::vector<uint8_t>& data, std::string* out) {
  uLongf size = compressBound(data.size());
  out->resize(size);
  int rc = compress2(reinterpret_cast<Bytef*>(out->data()), &size, data.data(), data.size(), 6);
  out->resize(size);
  return rc == Z_OK;
}

}  // namespace

std::string EncodePng(const RgbImage& image, PngCompression compression) {
  if (image.width < 1 || image.height < 1 ||
      image.rgb.size() != static_cast<size_t>(image.width) * image.height * 3) {
    return "";
  }
  std::vector<uint8_t> raw = FilterRows(image);
  std::string idat;
  if (compression == PngCompression::kStored || !ZlibDeflate(raw, &idat)) idat = ZlibStored(raw);

  std::string ihdr;
  AppendU32Be(&ihdr, image.width);
  AppendU32Be(&ihdr, image.height);
  ihdr.append("\x08\x02\x00\x00\x00", 5);  // 8 bits, truecolour, deflate, adaptive, no interlace

  std::string png("\x89PNG\r\n\x1a\n", 8);
  AppendChunk(&png, "IHDR", ihdr);
  AppendChunk(&png, "IDAT", idat);
  AppendChunk(&png, "IEND", "");
  return png;
}

}  // namespace sflow
