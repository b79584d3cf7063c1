// Baseline JPEG encoder (ITU T.81, JFIF 1.01) for 8-bit RGB images.
//
// Sequential DCT, Huffman coded, one scan with the three YCbCr components interleaved, the
// standard Annex K quantisation tables scaled by quality the way libjpeg does, and the standard
// Annex K Huffman tables (no optimisation pass). The forward DCT is integer arithmetic only, so
// the bytes are the same on every machine. The entropy-coded data has every 0xFF byte stuffed
// with 0x00 and no restart markers.
#ifndef SFLOW_SANDBOX_MEDIA_JPEG_WRITER_H_
#define SFLOW_SANDBOX_MEDIA_JPEG_WRITER_H_

#include <string>

#include "sandbox/media/rgb_image.h"

namespace sflow {

enum class ChromaSubsampling {
  k420,  // Cb and Cr at half width and half height (2x2 averages): 16x16 MCUs
  k444,  // full-resolution chroma: 8x8 MCUs
};

struct JpegOptions {
  int quality = 90;  // 1..100, clamped; libjpeg's scale (50 = the Annex K tables as printed)
  ChromaSubsampling subsampling = ChromaSubsampling::k420;
};

// Encodes `image` (1..65535 pixels each way, rgb of width*height*3 bytes) as a JFIF file. Edges
// are padded to whole MCUs by repeating the last column and row. Returns "" when the image is
// malformed.
std::string EncodeJpeg(const RgbImage& image, const JpegOptions& options = {});

}  // namespace sflow

#endif  // SFLOW_SANDBOX_MEDIA_JPEG_WRITER_H_
