#include "sandbox/media/jpeg_writer.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "sandbox/media/bytes.h"

namespace sflow {
namespace {

// round(C(u) * cos((2x+1) u pi / 16) * 4096), C(0) = 1/sqrt(2), else 1: kDct[u][x].
constexpr int kDct[8][8] = {
    {2896, 2896, 2896, 2896, 2896, 2896, 2896, 2896},
    {4017, 3406, 2276, 799, -799, -2276, -3406, -4017},
    {3784, 1567, -1567, -3784, -3784, -1567, 1567, 3784},
    {3406, -799, -4017, -2276, 2276, 4017, 799, -3406},
    {2896, -2896, -2896, 2896, 2896, -2896, -2896, 2896},
    {2276, -4017, 799, 3406, -3406, -799, 4017, -2276},
    {1567, -3784, 3784, -1567, -1567, 3784, -3784, 1567},
    {799, -2276, 3406, -4017, 4017, -3406, 2276, -799},
};

// kZigzag[k] = the natural (row-major) index of the k-th coefficient in zig-zag order.
constexpr uint8_t kZigzag[64] = {
    0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,  12, 19, 26, 33, 40, 48,
    41, 34, 27, 20, 13, 6,  7,  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23,
    30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63};

// Annex K tables K.1 (luminance) and K.2 (chrominance), natural order.
constexpr uint8_t kLumaQuant[64] = {
    16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,
    14, 13, 16, 24, 40,  57,  69,  56,  14, 17, 22, 29, 51,  87,  80,  62,
    18, 22, 37, 56, 68,  109, 103, 77,  24, 35, 55, 64, 81,  104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99};
constexpr uint8_t kChromaQuant[64] = {
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99,
    99, 99, 47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99};

// Annex K.3 and K.5/K.6: BITS (how many codes of each length 1..16) and HUFFVAL (the symbols in
// order of increasing code length).
struct HuffmanSpec {
  uint8_t bits[16];
  const uint8_t* values;
  size_t count;
};

constexpr uint8_t kDcValues[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
constexpr uint8_t kAcLumaValues[162] = {
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61,
    0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52,
    0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25,
    0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45,
    0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64,
    0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83,
    0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
    0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6,
    0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3,
    0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8,
    0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa};
constexpr uint8_t kAcChromaValues[162] = {
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61,
    0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33,
    0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18,
    0x19, 0x1a, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44,
    0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63,
    0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a,
    0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
    0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4,
    0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca,
    0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7,
    0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa};

constexpr HuffmanSpec kDcLuma = {{0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0}, kDcValues, 12};
constexpr HuffmanSpec kDcChroma = {{0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0}, kDcValues, 12};
constexpr HuffmanSpec kAcLuma = {{0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 125}, kAcLumaValues,
                                 162};
constexpr HuffmanSpec kAcChroma = {{0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 119}, kAcChromaValues,
                                   162};

// Symbol -> (code, length), as in T.81 Annex C.
struct HuffmanCodes {
  uint16_t code[256] = {};
  uint8_t length[256] = {};
};

HuffmanCodes BuildCodes(const HuffmanSpec& spec) {
  HuffmanCodes codes;
  uint32_t code = 0;
  size_t k = 0;
  for (int length = 1; length <= 16; ++length) {
    for (int i = 0; i < spec.bits[length - 1]; ++i, ++k, ++code) {
      codes.code[spec.values[k]] = static_cast<uint16_t>(code);
      codes.length[spec.values[k]] = static_cast<uint8_t>(length);
    }
    code <<= 1;
  }
  return codes;
}

// MSB-first bit packer with 0xFF byte stuffing; Flush pads the last byte with 1-bits.
class BitWriter {
 public:
  explicit BitWriter(std::string* out) : out_(out) {}
  void Put(uint32_t bits, int count) {  // count 0..16
    acc_ = (acc_ << count) | (bits & ((1u << count) - 1));
    n_ += count;
    while (n_ >= 8) {
      n_ -= 8;
      uint8_t byte = static_cast<uint8_t>(acc_ >> n_);
      out_->push_back(static_cast<char>(byte));
      if (byte == 0xFF) out_->push_back('\0');
    }
    acc_ &= (1u << n_) - 1;
  }
  void Flush() {
    if (n_ > 0) Put((1u << (8 - n_)) - 1, 8 - n_);
  }

 private:
  std::string* out_;
  uint32_t acc_ = 0;
  int n_ = 0;
};

// a / b rounded half away from zero, for b > 0.
int64_t DivRound(int64_t a, int64_t b) { return a >= 0 ? (a + b / 2) / b : -((-a + b / 2) / b); }

// One 8x8 block of level-shifted samples -> quantised coefficients in natural order.
// F(u,v) = sum_y kDct[u][y] * sum_x kDct[v][x] * f(x,y) / (4 * 4096^2), exactly, then / q.
void ForwardDctQuantise(const int block[64], const int quant[64], int out[64]) {
  int64_t rows[8][8];  // rows[y][v]
  for (int y = 0; y < 8; ++y) {
    for (int v = 0; v < 8; ++v) {
      int64_t s = 0;
      for (int x = 0; x < 8; ++x) s += int64_t{kDct[v][x]} * block[y * 8 + x];
      rows[y][v] = s;
    }
  }
  for (int u = 0; u < 8; ++u) {
    for (int v = 0; v < 8; ++v) {
      int64_t s = 0;
      for (int y = 0; y < 8; ++y) s += kDct[u][y] * rows[y][v];
      out[u * 8 + v] = static_cast<int>(DivRound(s, int64_t{4} * 4096 * 4096 * quant[u * 8 + v]));
    }
  }
}

// The size category of v and its low bits (one's complement for negatives), T.81 F.1.2.
void Magnitude(int v, int* size, uint32_t* bits) {
  int a = v < 0 ? -v : v;
  *size = 0;
  while (a) ++*size, a >>= 1;
  *bits = static_cast<uint32_t>(v >= 0 ? v : v + (1 << *size) - 1);
}

void EncodeBlock(BitWriter* bw, const int coeffs[64], int* prev_dc, const HuffmanCodes& dc,
                 const HuffmanCodes& ac) {
  int size;
  uint32_t bits;
  Magnitude(coeffs[0] - *prev_dc, &size, &bits);
  *prev_dc = coeffs[0];
  bw->Put(dc.code[size], dc.length[size]);
  bw->Put(bits, size);
  int run = 0;
  for (int k = 1; k < 64; ++k) {
    int c = coeffs[kZigzag[k]];
    if (c == 0) {
      ++run;
      continue;
    }
    for (; run > 15; run -= 16) bw->Put(ac.code[0xF0], ac.length[0xF0]);  // ZRL
    Magnitude(c, &size, &bits);
    int sym = run << 4 | size;
    bw->Put(ac.code[sym], ac.length[sym]);
    bw->Put(bits, size);
    run = 0;
  }
  if (run > 0) bw->Put(ac.code[0x00], ac.length[0x00]);  // EOB
}

// A component plane of 0..255 samples, already padded to whole MCUs.
struct Plane {
  int width = 0, height = 0;
  std::vector<uint8_t> v;
  int At(int x, int y) const { return v[static_cast<size_t>(y) * width + x]; }
};

// JFIF RGB -> YCbCr in 16.16 fixed point, into planes padded to pw x ph by edge repetition.
void ToYCbCr(const RgbImage& image, int pw, int ph, Plane planes[3]) {
  for (int c = 0; c < 3; ++c) {
    planes[c] = {pw, ph, std::vector<uint8_t>(static_cast<size_t>(pw) * ph)};
  }
  for (int y = 0; y < ph; ++y) {
    for (int x = 0; x < pw; ++x) {
      const uint8_t* p = image.At(std::min(x, image.width - 1), std::min(y, image.height - 1));
      int r = p[0], g = p[1], b = p[2];
      int yy = (19595 * r + 38470 * g + 7471 * b + 32768) >> 16;
      int cb = ((-11059 * r - 21709 * g + 32768 * b + 32768) >> 16) + 128;
      int cr = ((32768 * r - 27439 * g - 5329 * b + 32768) >> 16) + 128;
      size_t i = static_cast<size_t>(y) * pw + x;
      planes[0].v[i] = static_cast<uint8_t>(std::clamp(yy, 0, 255));
      planes[1].v[i] = static_cast<uint8_t>(std::clamp(cb, 0, 255));
      planes[2].v[i] = static_cast<uint8_t>(std::clamp(cr, 0, 255));
    }
  }
}

// 2x2 box average with rounding.
Plane HalveBoth(const Plane& in) {
  Plane out{in.width / 2, in.height / 2, {}};
  out.v.resize(static_cast<size_t>(out.width) * out.height);
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      int sum = in.At(2 * x, 2 * y) + in.At(2 * x + 1, 2 * y) + in.At(2 * x, 2 * y + 1) +
                in.At(2 * x + 1, 2 * y + 1);
      out.v[static_cast<size_t>(y) * out.width + x] = static_cast<uint8_t>((sum + 2) >> 2);
    }
  }
  return out;
}

void ScaledQuant(const uint8_t base[64], int quality, int out[64]) {
  int scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
  for (int i = 0; i < 64; ++i) out[i] = std::clamp((base[i] * scale + 50) / 100, 1, 255);
}

void AppendSegment(std::string* out, uint8_t marker, const std::string& payload) {
  AppendU8(out, 0xFF);
  AppendU8(out, marker);
  AppendU16Be(out, static_cast<uint32_t>(payload.size() + 2));
  out->append(payload);
}

void AppendDht(std::string* payload, int table_class, int id, const HuffmanSpec& spec) {
  AppendU8(payload, table_class << 4 | id);
  payload->append(reinterpret_cast<const char*>(spec.bits), 16);
  payload->append(reinterpret_cast<const char*>(spec.values), spec.count);
}

}  // namespace

std::string EncodeJpeg(const RgbImage& image, const JpegOptions& options) {
  if (image.width < 1 || image.height < 1 || image.width > 65535 || image.height > 65535 ||
      image.rgb.size() != static_cast<size_t>(image.width) * image.height * 3) {
    return "";
  }
  const bool sub = options.subsampling == ChromaSubsampling::k420;
  const int mcu = sub ? 16 : 8;
  const int pw = (image.width + mcu - 1) / mcu * mcu, ph = (image.height + mcu - 1) / mcu * mcu;
  Plane planes[3];
  ToYCbCr(image, pw, ph, planes);
  if (sub) {
    planes[1] = HalveBoth(planes[1]);
    planes[2] = HalveBoth(planes[2]);
  }

  const int quality = std::clamp(options.quality, 1, 100);
  int quant[2][64];
  ScaledQuant(kLumaQuant, quality, quant[0]);
  ScaledQuant(kChromaQuant, quality, quant[1]);
  const HuffmanCodes dc[2] = {BuildCodes(kDcLuma), BuildCodes(kDcChroma)};
  const HuffmanCodes ac[2] = {BuildCodes(kAcLuma), BuildCodes(kAcChroma)};

  std::string jpeg("\xFF\xD8", 2);  // SOI
  // APP0: JFIF 1.01, no density units, 1:1 pixel aspect, no thumbnail.
  AppendSegment(&jpeg, 0xE0, std::string("JFIF\0\x01\x01\0\0\x01\0\x01\0\0", 14));
  std::string dqt;
  for (int t = 0; t < 2; ++t) {
    AppendU8(&dqt, t);  // 8-bit precision, table t
    for (int k = 0; k < 64; ++k) AppendU8(&dqt, quant[t][kZigzag[k]]);
  }
  AppendSegment(&jpeg, 0xDB, dqt);
  std::string sof;
  AppendU8(&sof, 8);
  AppendU16Be(&sof, image.height);
  AppendU16Be(&sof, image.width);
  AppendU8(&sof, 3);
  sof.append({1, static_cast<char>(sub ? 0x22 : 0x11), 0, 2, 0x11, 1, 3, 0x11, 1});
  AppendSegment(&jpeg, 0xC0, sof);
  std::string dht;
  AppendDht(&dht, 0, 0, kDcLuma);
  AppendDht(&dht, 1, 0, kAcLuma);
  AppendDht(&dht, 0, 1, kDcChroma);
  AppendDht(&dht, 1, 1, kAcChroma);
  AppendSegment(&jpeg, 0xC4, dht);
  AppendSegment(&jpeg, 0xDA, std::string("\x03\x01\x00\x02\x11\x03\x11\x00\x3f\x00", 10));

  BitWriter bw(&jpeg);
  int prev_dc[3] = {0, 0, 0};
  int block[64], coeffs[64];
  auto encode = [&](int c, int bx, int by) {
    for (int y = 0; y < 8; ++y) {
      for (int x = 0; x < 8; ++x) block[y * 8 + x] = planes[c].At(bx + x, by + y) - 128;
    }
    ForwardDctQuantise(block, quant[c == 0 ? 0 : 1], coeffs);
    EncodeBlock(&bw, coeffs, &prev_dc[c], dc[c == 0 ? 0 : 1], ac[c == 0 ? 0 : 1]);
  };
  for (int my = 0; my < ph; my += mcu) {
    for (int mx = 0; mx < pw; mx += mcu) {
      for (int by = 0; by < mcu; by += 8) {  // Y blocks of the MCU, left to right, top to bottom
        for (int bx = 0; bx < mcu; bx += 8) encode(0, mx + bx, my + by);
      }
      encode(1, mx * 8 / mcu, my * 8 / mcu);
      encode(2, mx * 8 / mcu, my * 8 / mcu);
    }
  }
  bw.Flush();
  jpeg.append("\xFF\xD9", 2);  // EOI
  return jpeg;
}

}  // namespace sflow
