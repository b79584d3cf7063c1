#include "sandbox/media/mp4_writer.h"

#include <algorithm>
#include <cstdint>

#include "sandbox/media/bytes.h"

namespace sflow {
namespace {

std::string Box(const char type[5], const std::string& payload) {
  std::string box;
  AppendU32Be(&box, static_cast<uint32_t>(8 + payload.size()));
  box.append(type, 4);
  return box + payload;
}

std::string FullBox(const char type[5], int version, uint32_t flags, const std::string& payload) {
  std::string head;
  AppendU32Be(&head, static_cast<uint32_t>(version) << 24 | flags);
  return Box(type, head + payload);
}

// The identity transformation matrix of mvhd and tkhd (16.16 and 2.30 fixed point).
void AppendMatrix(std::string* out) {
  for (uint32_t v : {0x10000u, 0u, 0u, 0u, 0x10000u, 0u, 0u, 0u, 0x40000000u}) AppendU32Be(out, v);
}

// An MPEG-4 systems descriptor (ISO/IEC 14496-1): tag, one-byte length (payloads here are short).
std::string Descriptor(uint8_t tag, const std::string& payload) {
  std::string d;
  AppendU8(&d, tag);
  AppendU8(&d, static_cast<uint32_t>(payload.size()));
  return d + payload;
}

std::string SampleEntry(const std::vector<std::string>& frames, int width, int height, int fps) {
  uint64_t total = 0, largest = 0;
  for (const std::string& f : frames) {
    total += f.size();
    largest = std::max<uint64_t>(largest, f.size());
  }
  const uint64_t max_bitrate = largest * 8 * fps, avg_bitrate = total * 8 * fps / frames.size();
  std::string config;
  AppendU8(&config, 0x6C);           // objectTypeIndication: JPEG
  AppendU8(&config, 0x04 << 2 | 1);  // streamType visual, upStream 0, reserved 1
  AppendU24Be(&config, static_cast<uint32_t>(largest));  // bufferSizeDB
  AppendU32Be(&config, static_cast<uint32_t>(std::min<uint64_t>(max_bitrate, 0xFFFFFFFFu)));
  AppendU32Be(&config, static_cast<uint32_t>(std::min<uint64_t>(avg_bitrate, 0xFFFFFFFFu)));
  std::string es;
  AppendU16Be(&es, 1);  // ES_ID
  AppendU8(&es, 0);     // no dependency, URL or OCR stream
  es += Descriptor(0x04, config) + Descriptor(0x06, std::string(1, '\x02'));  // SL: MP4 predefined
  std::string esds = FullBox("esds", 0, 0, Descriptor(0x03, es));

  std::string entry(6, '\0');  // reserved
  AppendU16Be(&entry, 1);      // data_reference_index
  entry.append(16, '\0');      // pre_defined, reserved
  AppendU16Be(&entry, width);
  AppendU16Be(&entry, height);
  AppendU32Be(&entry, 0x480000);  // 72 dpi
  AppendU32Be(&entry, 0x480000);
  AppendU32Be(&entry, 0);
  AppendU16Be(&entry, 1);  // frame_count
  std::string name = "Motion JPEG";
  AppendU8(&entry, static_cast<uint32_t>(name.size()));
  entry += name + std::string(31 - name.size(), '\0');  // compressorname, 32 bytes in all
  AppendU16Be(&entry, 0x18);    // depth: colour, no alpha
  AppendU16Be(&entry, 0xFFFF);  // pre_defined = -1
  return Box("mp4v", entry + esds);
}

// The sample table. chunk_offset is where the first frame starts in the file.
std::string SampleTable(const std::vector<std::string>& frames, int width, int height, int fps,
                        uint64_t chunk_offset) {
  const uint32_t n = static_cast<uint32_t>(frames.size());
  std::string stsd, stts, stsc, stsz, stco;
  AppendU32Be(&stsd, 1);
  stsd += SampleEntry(frames, width, height, fps);
  for (uint32_t v : {1u, n, 1u}) AppendU32Be(&stts, v);       // n samples of duration 1
  for (uint32_t v : {1u, 1u, 1u, 1u}) AppendU32Be(&stsc, v);  // from chunk 1: 1 sample per chunk
  AppendU32Be(&stsz, 0);                                      // sizes differ: listed
  AppendU32Be(&stsz, n);
  AppendU32Be(&stco, n);
  for (const std::string& f : frames) {
    AppendU32Be(&stsz, static_cast<uint32_t>(f.size()));
    AppendU32Be(&stco, static_cast<uint32_t>(chunk_offset));
    chunk_offset += f.size();
  }
  return Box("stbl", FullBox("stsd", 0, 0, stsd) + FullBox("stts", 0, 0, stts) +
                         FullBox("stsc", 0, 0, stsc) + FullBox("stsz", 0, 0, stsz) +
                         FullBox("stco", 0, 0, stco));
}

std::string Movie(const std::vector<std::string>& frames, int width, int height, int fps,
                  uint64_t chunk_offset) {
  const uint32_t n = static_cast<uint32_t>(frames.size());
  const uint32_t duration_ms = static_cast<uint32_t>((uint64_t{n} * 1000 + fps / 2) / fps);

  std::string mvhd;
  for (uint32_t v : {0u, 0u, 1000u, duration_ms, 0x10000u}) AppendU32Be(&mvhd, v);  // rate 1.0
  AppendU16Be(&mvhd, 0x100);  // volume 1.0
  mvhd.append(10, '\0');
  AppendMatrix(&mvhd);
  mvhd.append(24, '\0');
  AppendU32Be(&mvhd, 2);  // next_track_ID

  std::string tkhd;
  for (uint32_t v : {0u, 0u, 1u, 0u, duration_ms, 0u, 0u}) AppendU32Be(&tkhd, v);  // track 1
  tkhd.append(8, '\0');  // layer, alternate_group, volume, reserved
  AppendMatrix(&tkhd);
  AppendU32Be(&tkhd, static_cast<uint32_t>(width) << 16);
  AppendU32Be(&tkhd, static_cast<uint32_t>(height) << 16);

  std::string mdhd;
  for (uint32_t v : {0u, 0u, static_cast<uint32_t>(fps), n}) AppendU32Be(&mdhd, v);
  AppendU16Be(&mdhd, 0x55C4);  // language 'und'
  AppendU16Be(&mdhd, 0);

  std::string hdlr(4, '\0');
  hdlr += "vide" + std::string(12, '\0') + std::string("VideoHandler", 13);

  std::string vmhd(8, '\0');  // graphicsmode copy, opcolor 0
  std::string dref;
  AppendU32Be(&dref, 1);
  dref += FullBox("url ", 0, 1, "");  // flag 1: the media is in this file

  std::string minf = Box("minf", FullBox("vmhd", 0, 1, vmhd) +
                                     Box("dinf", FullBox("dref", 0, 0, dref)) +
                                     SampleTable(frames, width, height, fps, chunk_offset));
  std::string mdia = Box("mdia", FullBox("mdhd", 0, 0, mdhd) + FullBox("hdlr", 0, 0, hdlr) + minf);
  return Box("moov", FullBox("mvhd", 0, 0, mvhd) + Box("trak", FullBox("tkhd", 0, 3, tkhd) + mdia));
}

}  // namespace

std::string MuxMotionJpegMp4(const std::vector<std::string>& frames, int width, int height,
                             int fps) {
  if (frames.empty() || width < 1 || height < 1 || width > 65535 || height > 65535 || fps < 1) {
    return "";
  }
  uint64_t media = 0;
  for (const std::string& f : frames) media += f.size();

  std::string ftyp;
  ftyp.append("isom");
  AppendU32Be(&ftyp, 0x200);
  ftyp.append("isomiso2mp41");
  ftyp = Box("ftyp", ftyp);
  // The offsets are fixed-width fields, so the moov built with offset 0 has the final size.
  const uint64_t moov_size = Movie(frames, width, height, fps, 0).size();
  const uint64_t first_frame = ftyp.size() + moov_size + 8;
  if (first_frame + media > 0xFFFFFFFFu) return "";

  std::string mp4 = ftyp + Movie(frames, width, height, fps, first_frame);
  mp4.reserve(first_frame + media);
  AppendU32Be(&mp4, static_cast<uint32_t>(8 + media));
  mp4.append("mdat");
  for (const std::string& f : frames) mp4 += f;
  return mp4;
}

}  // namespace sflow
