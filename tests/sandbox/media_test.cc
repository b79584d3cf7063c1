// Tests of the sandbox's media: each file is taken apart by an independent reader written here
// (PNG chunks and CRCs, a small baseline JPEG decoder, RIFF fields, the MP4 box tree) and checked
// against what the writer was given.
#include "sandbox/media/media.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <numbers>
#include <string>
#include <vector>

#include "sandbox/media/jpeg_writer.h"
#include "sandbox/media/mp4_writer.h"
#include "sandbox/media/png_writer.h"
#include "sandbox/media/scene.h"
#include "sandbox/media/tone.h"
#include "sandbox/media/wav_writer.h"

namespace sflow {
namespace {

constexpr double kPi = std::numbers::pi;
constexpr double kHalfSqrt2 = std::numbers::sqrt2 / 2;

uint32_t U8(const std::string& s, size_t at) { return static_cast<uint8_t>(s.at(at)); }
uint32_t U16Be(const std::string& s, size_t at) { return U8(s, at) << 8 | U8(s, at + 1); }
uint32_t U32Be(const std::string& s, size_t at) { return U16Be(s, at) << 16 | U16Be(s, at + 2); }
uint32_t U16Le(const std::string& s, size_t at) { return U8(s, at) | U8(s, at + 1) << 8; }
uint32_t U32Le(const std::string& s, size_t at) { return U16Le(s, at) | U16Le(s, at + 2) << 16; }

// Mean absolute difference per channel byte of two images of the same size.
double MeanAbsDiff(const RgbImage& a, const RgbImage& b) {
  EXPECT_EQ(a.rgb.size(), b.rgb.size());
  if (a.rgb.size() != b.rgb.size() || a.rgb.empty()) return 1e9;
  double sum = 0;
  for (size_t i = 0; i < a.rgb.size(); ++i) sum += std::abs(int{a.rgb[i]} - int{b.rgb[i]});
  return sum / a.rgb.size();
}

// ---------------------------------------------------------------------------------------------
// PNG: chunks with verified CRCs, then the pixels back through inflate and the Sub filter.

struct PngChunk {
  std::string type;
  std::string data;
};

std::vector<PngChunk> ReadPngChunks(const std::string& png) {
  std::vector<PngChunk> chunks;
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  size_t at = 8;
  while (at + 12 <= png.size()) {
    uint32_t len = U32Be(png, at);
    if (at + 12 + len > png.size()) break;
    PngChunk c{png.substr(at + 4, 4), png.substr(at + 8, len)};
    uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(png.data() + at + 4), 4 + len);
    EXPECT_EQ(U32Be(png, at + 8 + len), crc) << "CRC of chunk " << c.type;
    chunks.push_back(c);
    at += 12 + len;
  }
  EXPECT_EQ(at, png.size()) << "chunks do not end at the end of the file";
  return chunks;
}

// Decodes what EncodePng writes (8-bit RGB, filters None/Sub/Up) and checks the structure.
RgbImage DecodePng(const std::string& png) {
  std::vector<PngChunk> chunks = ReadPngChunks(png);
  if (chunks.size() < 3) {
    ADD_FAILURE() << "too few chunks";
    return {};
  }
  EXPECT_EQ(chunks.front().type, "IHDR");
  EXPECT_EQ(chunks.back().type, "IEND");
  EXPECT_EQ(chunks.back().data, "");
  const std::string& ihdr = chunks.front().data;
  EXPECT_EQ(ihdr.size(), 13u);
  EXPECT_EQ(ihdr.substr(8), std::string("\x08\x02\x00\x00\x00", 5));  // 8-bit RGB, no interlace
  RgbImage img(static_cast<int>(U32Be(ihdr, 0)), static_cast<int>(U32Be(ihdr, 4)));
  std::string idat;
  for (const PngChunk& c : chunks) {
    if (c.type == "IDAT") idat += c.data;
  }
  const size_t stride = static_cast<size_t>(img.width) * 3;
  const size_t expected = (stride + 1) * img.height;
  std::vector<uint8_t> raw(expected + 1);  // one spare byte: a longer stream must not fit exactly
  uLongf raw_len = raw.size();
  EXPECT_EQ(uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), idat.size()), Z_OK);
  EXPECT_EQ(raw_len, expected) << "IDAT must inflate to height * (1 + width * 3) bytes";
  if (raw_len != expected) return {};
  for (int y = 0; y < img.height; ++y) {
    const uint8_t* in = &raw[y * (stride + 1)];
    uint8_t* out = img.At(0, y);
    for (size_t i = 0; i < stride; ++i) {
      uint8_t left = i >= 3 ? out[i - 3] : 0, up = y > 0 ? img.At(0, y - 1)[i] : 0;
      switch (in[0]) {
        case 0: out[i] = in[1 + i]; break;
        case 1: out[i] = static_cast<uint8_t>(in[1 + i] + left); break;
        case 2: out[i] = static_cast<uint8_t>(in[1 + i] + up); break;
        default: ADD_FAILURE() << "unexpected filter " << int{in[0]}; return {};
      }
    }
  }
  return img;
}

TEST(PngWriterTest, DecodesToTheExactPixels) {
  RgbImage src = RenderScene(7, 97, 61);
  std::string png = EncodePng(src);
  RgbImage back = DecodePng(png);
  EXPECT_EQ(back.width, 97);
  EXPECT_EQ(back.height, 61);
  EXPECT_EQ(back.rgb, src.rgb);
}

TEST(PngWriterTest, StoredBlocksDecodeToTheSamePixels) {
  RgbImage src = RenderScene(8, 300, 250);  // 225,250 bytes of scanlines: four stored blocks
  std::string stored = EncodePng(src, PngCompression::kStored);
  EXPECT_GT(stored.size(), 250u * (1 + 300 * 3));
  EXPECT_LT(EncodePng(src).size(), stored.size() / 4);
  EXPECT_EQ(DecodePng(stored).rgb, src.rgb);
}

TEST(PngWriterTest, RefusesMalformedImages) {
  EXPECT_EQ(EncodePng(RgbImage()), "");
  RgbImage short_buffer(4, 4);
  short_buffer.rgb.pop_back();
  EXPECT_EQ(EncodePng(short_buffer), "");
}

// ---------------------------------------------------------------------------------------------
// JPEG: segment layout, then a small baseline decoder (Huffman, dequantise, float IDCT).

struct JpegSegments {
  std::map<int, int> count;  // marker -> occurrences before SOS
  std::string sof, sos;      // payloads
  std::vector<std::string> dqt, dht;
  size_t scan_begin = 0, scan_end = 0;  // entropy-coded data
};

JpegSegments ReadJpegSegments(const std::string& j) {
  JpegSegments s;
  EXPECT_EQ(j.substr(0, 2), "\xFF\xD8");
  EXPECT_EQ(j.substr(j.size() - 2), "\xFF\xD9");
  size_t at = 2;
  while (at + 4 <= j.size() && U8(j, at) == 0xFF) {
    int marker = U8(j, at + 1);
    size_t len = U16Be(j, at + 2);
    std::string payload = j.substr(at + 4, len - 2);
    ++s.count[marker];
    if (marker == 0xC0) s.sof = payload;
    if (marker == 0xDB) s.dqt.push_back(payload);
    if (marker == 0xC4) s.dht.push_back(payload);
    at += 2 + len;
    if (marker == 0xDA) {
      s.sos = payload;
      break;
    }
  }
  s.scan_begin = at;
  // Inside entropy-coded data every 0xFF is followed by a stuffed 0x00; the first 0xFF that is not
  // is the marker that ends the scan, which must be the EOI at the very end.
  for (s.scan_end = at; s.scan_end + 1 < j.size(); ++s.scan_end) {
    if (U8(j, s.scan_end) == 0xFF && U8(j, s.scan_end + 1) != 0x00) break;
    if (U8(j, s.scan_end) == 0xFF) ++s.scan_end;
  }
  EXPECT_EQ(s.scan_end, j.size() - 2) << "an unstuffed 0xFF inside the entropy-coded data";
  return s;
}

class TestJpegDecoder {
 public:
  // Decodes a baseline JPEG with one interleaved scan; failures are test failures.
  RgbImage Decode(const std::string& jpeg) {
    data_ = &jpeg;
    JpegSegments seg = ReadJpegSegments(jpeg);
    for (const std::string& q : seg.dqt) {
      for (size_t at = 0; at + 65 <= q.size(); at += 65) {
        for (int k = 0; k < 64; ++k) quant_[U8(q, at) & 3][kZigzag[k]] = static_cast<int>(U8(q, at + 1 + k));
      }
    }
    for (const std::string& h : seg.dht) ReadHuffmanTables(h);
    const std::string& sof = seg.sof;
    if (sof.size() < 15 || U8(sof, 5) != 3) {
      ADD_FAILURE() << "expected a three-component SOF0";
      return {};
    }
    const int height = static_cast<int>(U16Be(sof, 1)), width = static_cast<int>(U16Be(sof, 3));
    int hmax = 1, vmax = 1;
    for (int c = 0; c < 3; ++c) {
      comp_[c].h = U8(sof, 7 + 3 * c) >> 4;
      comp_[c].v = U8(sof, 7 + 3 * c) & 15;
      comp_[c].tq = static_cast<int>(U8(sof, 8 + 3 * c));
      comp_[c].td = U8(seg.sos, 2 + 2 * c) >> 4;
      comp_[c].ta = U8(seg.sos, 2 + 2 * c) & 15;
      hmax = std::max(hmax, comp_[c].h);
      vmax = std::max(vmax, comp_[c].v);
    }
    const int mcus_x = (width + 8 * hmax - 1) / (8 * hmax), mcus_y = (height + 8 * vmax - 1) / (8 * vmax);
    for (Component& c : comp_) {
      c.stride = mcus_x * c.h * 8;
      c.pixels.assign(static_cast<size_t>(c.stride) * mcus_y * c.v * 8, 0);
    }
    pos_ = seg.scan_begin;
    for (int my = 0; my < mcus_y && ok_; ++my) {
      for (int mx = 0; mx < mcus_x && ok_; ++mx) {
        for (Component& c : comp_) {
          for (int by = 0; by < c.v; ++by) {
            for (int bx = 0; bx < c.h; ++bx) DecodeBlock(&c, (mx * c.h + bx) * 8, (my * c.v + by) * 8);
          }
        }
      }
    }
    EXPECT_TRUE(ok_);
    EXPECT_EQ(pos_, seg.scan_end) << "entropy-coded data left over or overrun";
    EXPECT_EQ(cur_ & ((1u << bits_left_) - 1), (1u << bits_left_) - 1) << "padding must be 1-bits";
    RgbImage out(width, height);
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        double v[3];
        for (int c = 0; c < 3; ++c) {
          const Component& k = comp_[c];
          v[c] = k.pixels[static_cast<size_t>(y * k.v / vmax) * k.stride + x * k.h / hmax];
        }
        double r = v[0] + 1.402 * (v[2] - 128), g = v[0] - 0.344136 * (v[1] - 128) - 0.714136 * (v[2] - 128),
               b = v[0] + 1.772 * (v[1] - 128);
        uint8_t* p = out.At(x, y);
        p[0] = static_cast<uint8_t>(std::clamp(std::lround(r), 0L, 255L));
        p[1] = static_cast<uint8_t>(std::clamp(std::lround(g), 0L, 255L));
        p[2] = static_cast<uint8_t>(std::clamp(std::lround(b), 0L, 255L));
      }
    }
    return out;
  }

 private:
  static constexpr int kZigzag[64] = {0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,
                                      12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6,  7,  14, 21, 28,
                                      35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
                                      58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63};
  struct Component {
    int h = 1, v = 1, tq = 0, td = 0, ta = 0, dc = 0, stride = 0;
    std::vector<int> pixels;
  };

  void ReadHuffmanTables(const std::string& p) {
    for (size_t at = 0; at + 17 <= p.size();) {
      std::map<std::pair<int, int>, int>& table = huff_[U8(p, at) >> 4][U8(p, at) & 15];
      size_t value_at = at + 17;
      int code = 0;
      for (int len = 1; len <= 16; ++len, code <<= 1) {
        for (uint32_t i = 0; i < U8(p, at + len); ++i)
          table[{len, code++}] = static_cast<int>(U8(p, value_at++));
      }
      at = value_at;
    }
  }

  int Bit() {
    if (bits_left_ == 0) {
      if (pos_ >= data_->size() || (U8(*data_, pos_) == 0xFF && U8(*data_, pos_ + 1) != 0)) {
        ok_ = false;  // ran into a marker or the end
        return 0;
      }
      cur_ = U8(*data_, pos_);
      pos_ += cur_ == 0xFF ? 2 : 1;
      bits_left_ = 8;
    }
    return (cur_ >> --bits_left_) & 1;
  }

  int Decode(const std::map<std::pair<int, int>, int>& table) {
    int code = 0;
    for (int len = 1; len <= 16 && ok_; ++len) {
      code = code << 1 | Bit();
      auto it = table.find({len, code});
      if (it != table.end()) return it->second;
    }
    ok_ = false;
    return 0;
  }

  int Receive(int size) {
    int v = 0;
    for (int i = 0; i < size; ++i) v = v << 1 | Bit();
    return size > 0 && v < (1 << (size - 1)) ? v - (1 << size) + 1 : v;
  }

  void DecodeBlock(Component* c, int x0, int y0) {
    int coeffs[64] = {};
    c->dc += Receive(Decode(huff_[0][c->td]));
    coeffs[0] = c->dc * quant_[c->tq][0];
    for (int k = 1; k < 64 && ok_;) {
      int rs = Decode(huff_[1][c->ta]);
      if (rs == 0x00) break;  // EOB
      k += rs >> 4;
      if (k > 63) {
        ok_ = false;
        break;
      }
      coeffs[kZigzag[k]] = Receive(rs & 15) * quant_[c->tq][kZigzag[k]];
      ++k;
    }
    for (int y = 0; y < 8; ++y) {
      for (int x = 0; x < 8; ++x) {
        double s = 0;
        for (int u = 0; u < 8; ++u) {
          for (int v = 0; v < 8; ++v) {
            s += (u ? 1 : kHalfSqrt2) * (v ? 1 : kHalfSqrt2) * coeffs[u * 8 + v] *
                 std::cos((2 * y + 1) * u * kPi / 16) * std::cos((2 * x + 1) * v * kPi / 16);
          }
        }
        c->pixels[static_cast<size_t>(y0 + y) * c->stride + x0 + x] =
            std::clamp(static_cast<int>(std::lround(s / 4 + 128)), 0, 255);
      }
    }
  }

  const std::string* data_ = nullptr;
  size_t pos_ = 0;
  uint32_t cur_ = 0;
  int bits_left_ = 0;
  bool ok_ = true;
  int quant_[4][64] = {};
  std::map<std::pair<int, int>, int> huff_[2][4];
  Component comp_[3];
};

TEST(JpegWriterTest, HasTheBaselineSegments) {
  std::string jpeg = EncodeJpeg(RenderScene(3, 50, 30));
  JpegSegments s = ReadJpegSegments(jpeg);
  EXPECT_EQ(jpeg.substr(6, 5), std::string("JFIF\0", 5));
  EXPECT_EQ(s.count[0xE0], 1);
  EXPECT_EQ(s.count[0xDB], 1);
  EXPECT_EQ(s.count[0xC0], 1) << "one SOF0 (baseline)";
  EXPECT_EQ(s.count[0xC2], 0) << "no progressive frame";
  EXPECT_EQ(s.count[0xC4], 1);
  EXPECT_EQ(s.count[0xDA], 1);
  ASSERT_EQ(s.dqt.size(), 1u);
  EXPECT_EQ(s.dqt[0].size(), 2u * 65);  // two 8-bit tables
  ASSERT_EQ(s.dht.size(), 1u);
  EXPECT_EQ(s.dht[0].size(), 2u * (17 + 12) + 2u * (17 + 162));  // the four Annex K tables
  ASSERT_EQ(s.sof.size(), 15u);
  EXPECT_EQ(U8(s.sof, 0), 8u);      // precision
  EXPECT_EQ(U16Be(s.sof, 1), 30u);  // height
  EXPECT_EQ(U16Be(s.sof, 3), 50u);  // width
  EXPECT_EQ(s.sof.substr(5), std::string("\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01", 10));
  EXPECT_EQ(s.sos, std::string("\x03\x01\x00\x02\x11\x03\x11\x00\x3f\x00", 10));
}

TEST(JpegWriterTest, DecodesCloseToTheSourceIn420And444) {
  RgbImage src = RenderScene(11, 77, 45);  // not a multiple of the MCU: padded edges
  for (ChromaSubsampling sub : {ChromaSubsampling::k420, ChromaSubsampling::k444}) {
    std::string jpeg = EncodeJpeg(src, {90, sub});
    RgbImage back = TestJpegDecoder().Decode(jpeg);
    ASSERT_EQ(back.width, 77);
    ASSERT_EQ(back.height, 45);
    // libjpeg-turbo's djpeg decodes these two files within 0.1 of the same error.
    const double limit = sub == ChromaSubsampling::k420 ? 4.5 : 2.5;
    EXPECT_LT(MeanAbsDiff(back, src), limit) << "subsampling " << static_cast<int>(sub);
    EXPECT_GT(MeanAbsDiff(back, RenderScene(12, 77, 45)), 20.0) << "the check must tell pictures apart";
  }
}

TEST(JpegWriterTest, LowerQualityIsSmaller) {
  RgbImage src = RenderScene(5, 128, 128);
  std::string q30 = EncodeJpeg(src, {30}), q95 = EncodeJpeg(src, {95});
  EXPECT_LT(q30.size(), q95.size());
  EXPECT_LT(MeanAbsDiff(TestJpegDecoder().Decode(q30), src), 8.0);
}

TEST(JpegWriterTest, RefusesMalformedImages) {
  EXPECT_EQ(EncodeJpeg(RgbImage()), "");
  EXPECT_EQ(EncodeJpeg(RgbImage(70000, 1)), "");
}

// ---------------------------------------------------------------------------------------------
// WAV

TEST(WavWriterTest, HeaderFieldsAndSizesAgree) {
  std::vector<int16_t> samples = {0, 1, -1, 32767, -32768};
  std::string wav = EncodeWav(samples, 8000);
  ASSERT_EQ(wav.size(), 44u + 10);
  EXPECT_EQ(wav.substr(0, 4), "RIFF");
  EXPECT_EQ(U32Le(wav, 4), wav.size() - 8);
  EXPECT_EQ(wav.substr(8, 8), "WAVEfmt ");
  EXPECT_EQ(U32Le(wav, 16), 16u);
  EXPECT_EQ(U16Le(wav, 20), 1u);      // PCM
  EXPECT_EQ(U16Le(wav, 22), 1u);      // mono
  EXPECT_EQ(U32Le(wav, 24), 8000u);   // sample rate
  EXPECT_EQ(U32Le(wav, 28), 16000u);  // byte rate
  EXPECT_EQ(U16Le(wav, 32), 2u);      // block align
  EXPECT_EQ(U16Le(wav, 34), 16u);     // bits
  EXPECT_EQ(wav.substr(36, 4), "data");
  EXPECT_EQ(U32Le(wav, 40), samples.size() * 2);
  for (size_t i = 0; i < samples.size(); ++i) {
    EXPECT_EQ(static_cast<int16_t>(U16Le(wav, 44 + 2 * i)), samples[i]);
  }
  EXPECT_EQ(EncodeWav(samples, 0), "");
}

// The power of `samples` at `hz` (Goertzel).
double PowerAt(const std::string& wav, double hz) {
  const size_t n = U32Le(wav, 40) / 2;
  const double coeff = 2 * std::cos(2 * kPi * hz / kAudioSampleRate);
  double s1 = 0, s2 = 0;
  for (size_t i = 0; i < n; ++i) {
    double s = static_cast<int16_t>(U16Le(wav, 44 + 2 * i)) + coeff * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

TEST(MakeAudioTest, IsASeededToneAndItsFifth) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    MediaBlob blob = MakeAudio(seed, 1.0, AudioFormat::kWav);
    const double f = ToneFrequencyHz(seed);
    EXPECT_GT(PowerAt(blob.bytes, f), 100 * PowerAt(blob.bytes, f * 1.25)) << f;
    EXPECT_GT(PowerAt(blob.bytes, f * 1.5), 100 * PowerAt(blob.bytes, f * 1.25)) << f;
  }
  EXPECT_NE(ToneFrequencyHz(1), ToneFrequencyHz(2));
}

TEST(MakeAudioTest, RecordsAndCapsTheDuration) {
  struct Case {
    double asked;
    uint32_t samples;
  };
  for (Case c : {Case{5, 40000}, Case{0.25, 2000}, Case{100, 30 * 8000}, Case{0, 1}, Case{-3, 1},
                 Case{NAN, 1}, Case{INFINITY, 30 * 8000}}) {
    MediaBlob blob = MakeAudio(9, c.asked, AudioFormat::kWav);
    EXPECT_EQ(U32Le(blob.bytes, 40), c.samples * 2) << c.asked;
    EXPECT_EQ(blob.bytes.size(), 44 + c.samples * 2) << c.asked;
    EXPECT_DOUBLE_EQ(blob.duration_seconds, c.samples / 8000.0) << c.asked;
    EXPECT_EQ(blob.mime, "audio/wav");
    EXPECT_EQ(blob.extension, "wav");
  }
}

TEST(ToneTest, FixedSineFollowsSin) {
  for (uint64_t p = 0; p < (uint64_t{1} << 32); p += 9973 * 1013) {
    double exact =
        std::clamp(32768 * std::sin(2 * kPi * static_cast<double>(p) / 4294967296.0), -32767.0, 32767.0);
    EXPECT_NEAR(FixedSine(static_cast<uint32_t>(p)), exact, 0.6) << p;
  }
}

// ---------------------------------------------------------------------------------------------
// MP4: the box tree, then the sample tables against mdat.

struct Box {
  std::string type;
  size_t begin = 0, payload = 0, end = 0;  // offsets in the file
  std::vector<Box> children;
  const Box* Child(const std::string& t) const {
    for (const Box& b : children) {
      if (b.type == t) return &b;
    }
    return nullptr;
  }
};

// Parses the boxes that tile [begin, end); containers are read recursively. Sizes that do not
// tile the range exactly are failures.
std::vector<Box> ParseBoxes(const std::string& f, size_t begin, size_t end) {
  static const std::map<std::string, size_t> kChildrenAt = {{"moov", 0}, {"trak", 0}, {"mdia", 0},
                                                            {"minf", 0}, {"stbl", 0}, {"dinf", 0},
                                                            {"dref", 8}, {"stsd", 8}, {"mp4v", 78}};
  std::vector<Box> boxes;
  size_t at = begin;
  while (at + 8 <= end) {
    Box b;
    b.type = f.substr(at + 4, 4);
    b.begin = at;
    b.payload = at + 8;
    b.end = at + U32Be(f, at);
    if (b.end > end || b.end < b.payload) break;
    auto it = kChildrenAt.find(b.type);
    if (it != kChildrenAt.end()) b.children = ParseBoxes(f, b.payload + it->second, b.end);
    boxes.push_back(b);
    at = b.end;
  }
  EXPECT_EQ(at, end) << "boxes do not tile " << begin << ".." << end;
  return boxes;
}

// The box at `path` (e.g. {"moov", "trak", "mdia"}), or nullptr and a failure.
const Box* Find(const std::vector<Box>& top, std::initializer_list<const char*> path) {
  const std::vector<Box>* level = &top;
  const Box* found = nullptr;
  for (const char* type : path) {
    found = nullptr;
    for (const Box& b : *level) {
      if (b.type == type) found = &b;
    }
    if (found == nullptr) {
      ADD_FAILURE() << "missing box " << type;
      return nullptr;
    }
    level = &found->children;
  }
  return found;
}

// Checks the whole structure of a file MakeVideo wrote and returns its frames (JPEG files).
std::vector<std::string> CheckMp4(const std::string& f, const MediaBlob& blob) {
  std::vector<Box> top = ParseBoxes(f, 0, f.size());
  std::vector<std::string> order;
  for (const Box& b : top) order.push_back(b.type);
  EXPECT_EQ(order, (std::vector<std::string>{"ftyp", "moov", "mdat"}));
  if (order.size() != 3) return {};
  EXPECT_EQ(f.substr(top[0].payload, 4), "isom");
  const Box* mvhd = Find(top, {"moov", "mvhd"});
  const Box* tkhd = Find(top, {"moov", "trak", "tkhd"});
  const Box* mdhd = Find(top, {"moov", "trak", "mdia", "mdhd"});
  const Box* hdlr = Find(top, {"moov", "trak", "mdia", "hdlr"});
  const Box* stbl = Find(top, {"moov", "trak", "mdia", "minf", "stbl"});
  const Box* mp4v = Find(top, {"moov", "trak", "mdia", "minf", "stbl", "stsd", "mp4v"});
  const Box* esds = Find(top, {"moov", "trak", "mdia", "minf", "stbl", "stsd", "mp4v", "esds"});
  EXPECT_NE(Find(top, {"moov", "trak", "mdia", "minf", "vmhd"}), nullptr);
  EXPECT_NE(Find(top, {"moov", "trak", "mdia", "minf", "dinf", "dref", "url "}), nullptr);
  if (!mvhd || !tkhd || !mdhd || !hdlr || !stbl || !mp4v || !esds) return {};
  const uint32_t frames = static_cast<uint32_t>(std::lround(blob.duration_seconds * blob.fps));

  // Durations: movie (ms), track (ms) and media (1/fps) agree with the blob.
  const uint32_t movie_scale = U32Be(f, mvhd->payload + 12), movie_duration = U32Be(f, mvhd->payload + 16);
  EXPECT_EQ(movie_scale, 1000u);
  EXPECT_NEAR(movie_duration / 1000.0, blob.duration_seconds, 0.001);
  EXPECT_EQ(U32Be(f, tkhd->payload + 12), 1u);  // track_ID
  EXPECT_EQ(U32Be(f, tkhd->payload + 20), movie_duration);
  EXPECT_EQ(U32Be(f, tkhd->payload + 76), static_cast<uint32_t>(blob.width) << 16);
  EXPECT_EQ(U32Be(f, tkhd->payload + 80), static_cast<uint32_t>(blob.height) << 16);
  EXPECT_EQ(U32Be(f, mdhd->payload + 12), static_cast<uint32_t>(blob.fps));
  EXPECT_EQ(U32Be(f, mdhd->payload + 16), frames);
  EXPECT_EQ(f.substr(hdlr->payload + 8, 4), "vide");

  // Sample entry: Motion JPEG by its MPEG-4 object type.
  EXPECT_EQ(U16Be(f, mp4v->payload + 24), static_cast<uint32_t>(blob.width));
  EXPECT_EQ(U16Be(f, mp4v->payload + 26), static_cast<uint32_t>(blob.height));
  const std::string es = f.substr(esds->payload + 4, esds->end - esds->payload - 4);
  EXPECT_GE(es.size(), 9u);
  if (es.size() < 9) return {};
  EXPECT_EQ(U8(es, 0), 0x03u);  // ES_Descriptor
  EXPECT_EQ(U8(es, 5), 0x04u);  // DecoderConfigDescriptor
  EXPECT_EQ(U8(es, 7), 0x6Cu);  // objectTypeIndication: ISO 10918-1
  EXPECT_EQ(U8(es, 8), 0x11u);  // visual stream

  // Sample tables.
  const Box* stts = stbl->Child("stts");
  const Box* stsc = stbl->Child("stsc");
  const Box* stsz = stbl->Child("stsz");
  const Box* stco = stbl->Child("stco");
  EXPECT_TRUE(stts && stsc && stsz && stco);
  if (!stts || !stsc || !stsz || !stco) return {};
  uint32_t total = 0;
  for (uint32_t i = 0, n = U32Be(f, stts->payload + 4); i < n; ++i) {
    total += U32Be(f, stts->payload + 8 + 8 * i);
    EXPECT_EQ(U32Be(f, stts->payload + 12 + 8 * i), 1u) << "every frame lasts one media tick";
  }
  EXPECT_EQ(total, frames);
  EXPECT_EQ(U32Be(f, stsc->payload + 4), 1u);
  EXPECT_EQ(U32Be(f, stsc->payload + 12), 1u) << "one sample per chunk";
  EXPECT_EQ(U32Be(f, stsz->payload + 4), 0u);
  EXPECT_EQ(U32Be(f, stsz->payload + 8), frames);
  EXPECT_EQ(U32Be(f, stco->payload + 4), frames);
  const Box& mdat = top[2];
  std::vector<std::string> out;
  size_t expect_at = mdat.payload;
  for (uint32_t i = 0; i < frames; ++i) {
    const size_t at = U32Be(f, stco->payload + 8 + 4 * i), size = U32Be(f, stsz->payload + 12 + 4 * i);
    EXPECT_EQ(at, expect_at) << "frame " << i << " is not where the previous one ended";
    EXPECT_GE(at, mdat.payload);
    EXPECT_LE(at + size, mdat.end);
    if (at < mdat.payload || at + size > mdat.end || size < 4) return {};
    std::string frame = f.substr(at, size);
    EXPECT_EQ(frame.substr(0, 3), "\xFF\xD8\xFF") << "frame " << i;
    EXPECT_EQ(frame.substr(size - 2), "\xFF\xD9") << "frame " << i;
    out.push_back(frame);
    expect_at = at + size;
  }
  EXPECT_EQ(expect_at, mdat.end) << "mdat holds exactly the frames";
  return out;
}

TEST(Mp4WriterTest, MakeVideoWritesACompleteMotionJpegFile) {
  MediaBlob blob = MakeVideo(21, 96, 64, 2.0, 6);
  EXPECT_EQ(blob.mime, "video/mp4");
  EXPECT_EQ(blob.extension, "mp4");
  EXPECT_EQ(blob.width, 96);
  EXPECT_EQ(blob.height, 64);
  EXPECT_EQ(blob.fps, 6);
  EXPECT_DOUBLE_EQ(blob.duration_seconds, 2.0);
  std::vector<std::string> frames = CheckMp4(blob.bytes, blob);
  ASSERT_EQ(frames.size(), 12u);
  // The frames are the moving scene: the first and the last decode to their pictures.
  EXPECT_LT(MeanAbsDiff(TestJpegDecoder().Decode(frames[0]), RenderScene(21, 96, 64, 0, 6)), 6.0);
  EXPECT_LT(MeanAbsDiff(TestJpegDecoder().Decode(frames[11]), RenderScene(21, 96, 64, 11, 6)), 6.0);
  EXPECT_NE(frames[0], frames[11]) << "the shapes move";
}

TEST(Mp4WriterTest, RefusesWhatItCannotMux) {
  EXPECT_EQ(MuxMotionJpegMp4({}, 16, 16, 1), "");
  EXPECT_EQ(MuxMotionJpegMp4({"x"}, 0, 16, 1), "");
  EXPECT_EQ(MuxMotionJpegMp4({"x"}, 16, 16, 0), "");
}

TEST(MakeVideoTest, CapsSizeRateAndDuration) {
  struct Case {
    int w, h;
    double seconds;
    int fps;
    int want_w, want_h, want_fps;
    uint32_t want_frames;
  };
  for (Case c : {Case{1920, 1080, 60, 30, 256, 144, 12, 120}, Case{101, 51, 1.0, 4, 100, 50, 4, 4},
                 Case{64, 64, 0.1, 12, 64, 64, 12, 1}, Case{0, -5, NAN, 0, 2, 2, 1, 1},
                 Case{300, 3000, 2.5, 2, 26, 256, 2, 5}}) {
    MediaBlob blob = MakeVideo(4, c.w, c.h, c.seconds, c.fps);
    EXPECT_EQ(blob.width, c.want_w) << c.w << "x" << c.h;
    EXPECT_EQ(blob.height, c.want_h) << c.w << "x" << c.h;
    EXPECT_EQ(blob.fps, c.want_fps);
    EXPECT_DOUBLE_EQ(blob.duration_seconds, static_cast<double>(c.want_frames) / c.want_fps);
    EXPECT_EQ(CheckMp4(blob.bytes, blob).size(), c.want_frames);
  }
}

// ---------------------------------------------------------------------------------------------
// The public API: determinism, seeds, caps, names.

TEST(MakeImageTest, SameSeedSameBytesOtherSeedOtherPicture) {
  for (ImageFormat format : {ImageFormat::kPng, ImageFormat::kJpeg}) {
    MediaBlob a = MakeImage(42, 120, 80, format), b = MakeImage(42, 120, 80, format);
    MediaBlob c = MakeImage(43, 120, 80, format);
    EXPECT_EQ(a.bytes, b.bytes);
    EXPECT_NE(a.bytes, c.bytes);
  }
  // "Visibly different": on average far apart, pixel for pixel.
  for (uint64_t seed = 1; seed < 6; ++seed) {
    EXPECT_GT(MeanAbsDiff(RenderScene(seed, 64, 64), RenderScene(seed + 1000, 64, 64)), 15.0) << seed;
  }
}

TEST(MakeImageTest, DescribesWhatItMade) {
  MediaBlob png = MakeImage(1, 160, 120, ImageFormat::kPng);
  EXPECT_EQ(png.mime, "image/png");
  EXPECT_EQ(png.extension, "png");
  RgbImage decoded = DecodePng(png.bytes);
  EXPECT_EQ(decoded.rgb, RenderScene(1, 160, 120).rgb);
  MediaBlob jpg = MakeImage(1, 160, 120, ImageFormat::kJpeg);
  EXPECT_EQ(jpg.mime, "image/jpeg");
  EXPECT_EQ(jpg.extension, "jpg");
  EXPECT_EQ(jpg.duration_seconds, 0);
  EXPECT_LT(MeanAbsDiff(TestJpegDecoder().Decode(jpg.bytes), decoded), 4.0);
}

TEST(MakeImageTest, CapsLargeRequestsKeepingTheAspectRatio) {
  struct Case {
    int w, h, want_w, want_h;
  };
  for (Case c : {Case{2048, 1024, 512, 256}, Case{100, 5000, 10, 512}, Case{512, 512, 512, 512},
                 Case{1024, 1000, 512, 500}, Case{0, -1, 1, 1}, Case{1 << 30, 3, 512, 1}}) {
    for (ImageFormat format : {ImageFormat::kPng, ImageFormat::kJpeg}) {
      MediaBlob blob = MakeImage(2, c.w, c.h, format);
      EXPECT_EQ(blob.width, c.want_w) << c.w << "x" << c.h;
      EXPECT_EQ(blob.height, c.want_h) << c.w << "x" << c.h;
      if (format == ImageFormat::kPng) {
        ASSERT_GE(blob.bytes.size(), 24u);
        EXPECT_EQ(U32Be(blob.bytes, 16), static_cast<uint32_t>(c.want_w));
        EXPECT_EQ(U32Be(blob.bytes, 20), static_cast<uint32_t>(c.want_h));
      } else {
        JpegSegments s = ReadJpegSegments(blob.bytes);
        EXPECT_EQ(U16Be(s.sof, 1), static_cast<uint32_t>(c.want_h));
        EXPECT_EQ(U16Be(s.sof, 3), static_cast<uint32_t>(c.want_w));
      }
    }
  }
}

TEST(MakeAudioTest, SameSeedSameBytesOtherSeedOtherTone) {
  EXPECT_EQ(MakeAudio(5, 0.5).bytes, MakeAudio(5, 0.5).bytes);
  EXPECT_NE(MakeAudio(5, 0.5).bytes, MakeAudio(6, 0.5).bytes);
}

TEST(MakeVideoTest, SameSeedSameBytesOtherSeedOtherVideo) {
  EXPECT_EQ(MakeVideo(5, 64, 48, 1, 4).bytes, MakeVideo(5, 64, 48, 1, 4).bytes);
  EXPECT_NE(MakeVideo(5, 64, 48, 1, 4).bytes, MakeVideo(6, 64, 48, 1, 4).bytes);
}

TEST(MediaFormatTest, ParsesTheApiFormatNames) {
  EXPECT_EQ(ParseImageFormat("png"), ImageFormat::kPng);
  EXPECT_EQ(ParseImageFormat("jpg"), ImageFormat::kJpeg);
  EXPECT_EQ(ParseImageFormat("jpeg"), ImageFormat::kJpeg);
  EXPECT_EQ(ParseImageFormat("webp"), ImageFormat::kWebp);
  EXPECT_EQ(ParseImageFormat("PNG"), std::nullopt);
  EXPECT_EQ(ParseAudioFormat("wav"), AudioFormat::kWav);
  EXPECT_EQ(ParseAudioFormat("mp3"), AudioFormat::kMp3);
  EXPECT_EQ(ParseAudioFormat("flac"), std::nullopt);
}

// WebP through libwebp: a RIFF/WEBP container whose size field is the file's, the same bytes
// for the same seed, another picture for another seed, small.
TEST(MakeImageTest, WebpIsARealDeterministicWebpFile) {
  MediaBlob a = MakeImage(5, 320, 200, ImageFormat::kWebp);
  EXPECT_EQ(a.mime, "image/webp");
  EXPECT_EQ(a.extension, "webp");
  ASSERT_GE(a.bytes.size(), 20u);
  EXPECT_EQ(a.bytes.substr(0, 4), "RIFF");
  EXPECT_EQ(a.bytes.substr(8, 4), "WEBP");
  uint32_t riff = static_cast<uint8_t>(a.bytes[4]) | static_cast<uint8_t>(a.bytes[5]) << 8 |
                  static_cast<uint8_t>(a.bytes[6]) << 16 | static_cast<uint32_t>(static_cast<uint8_t>(a.bytes[7])) << 24;
  EXPECT_EQ(riff + 8, a.bytes.size());
  EXPECT_EQ(MakeImage(5, 320, 200, ImageFormat::kWebp).bytes, a.bytes);
  EXPECT_NE(MakeImage(6, 320, 200, ImageFormat::kWebp).bytes, a.bytes);
  EXPECT_LT(a.bytes.size(), MakeImage(5, 320, 200, ImageFormat::kPng).bytes.size());
}

// MP3 through LAME: MPEG frames from the first byte (no ID3, no Xing header), 32 kbit/s, so a
// second of audio is about 4 kB; the same bytes for the same seed.
TEST(MakeAudioTest, Mp3IsARealDeterministicMp3File) {
  MediaBlob a = MakeAudio(3, 2.0, AudioFormat::kMp3);
  EXPECT_EQ(a.mime, "audio/mpeg");
  EXPECT_EQ(a.extension, "mp3");
  ASSERT_GE(a.bytes.size(), 4u);
  EXPECT_EQ(static_cast<uint8_t>(a.bytes[0]), 0xFF);
  EXPECT_EQ(static_cast<uint8_t>(a.bytes[1]) & 0xE0, 0xE0);  // frame sync
  EXPECT_NEAR(static_cast<double>(a.bytes.size()), 2.0 * 32000 / 8, 2000);
  EXPECT_DOUBLE_EQ(a.duration_seconds, 2.0);
  EXPECT_EQ(MakeAudio(3, 2.0, AudioFormat::kMp3).bytes, a.bytes);
  EXPECT_NE(MakeAudio(4, 2.0, AudioFormat::kMp3).bytes, a.bytes);
}

}  // namespace
}  // namespace sflow
