// MP4 muxer for Motion JPEG: JPEG frames in, an ISO base media file (ISO/IEC 14496-12/-14) out.
//
// Layout, moov before mdat so players can start at once:
//   ftyp (isom, compatible isom iso2 mp41)
//   moov: mvhd (timescale 1000), trak: tkhd, mdia: mdhd (timescale = fps), hdlr 'vide',
//         minf: vmhd, dinf/dref, stbl: stsd, stts, stsc, stsz, stco
//   mdat: the frames back to back
// The sample entry is 'mp4v' with an esds whose objectTypeIndication is 0x6C (ISO 10918-1, JPEG),
// as scripts/make-sample-media does; ffmpeg reads it as mjpeg. Every frame is a sync sample with
// duration 1/fps, stored as its own chunk (one stco entry per frame).
#ifndef SFLOW_SANDBOX_MEDIA_MP4_WRITER_H_
#define SFLOW_SANDBOX_MEDIA_MP4_WRITER_H_

#include <string>
#include <vector>

namespace sflow {

// Muxes `frames` (each a complete JPEG file of width x height pixels) shown at `fps` frames per
// second. Returns "" when there are no frames, width/height are outside 1..65535, fps < 1, or the
// file would need 64-bit offsets (4 GiB and more).
std::string MuxMotionJpegMp4(const std::vector<std::string>& frames, int width, int height,
                             int fps);

}  // namespace sflow

#endif  // SFLOW_SANDBOX_MEDIA_MP4_WRITER_H_
