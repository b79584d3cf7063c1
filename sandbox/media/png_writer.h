// PNG encoder for 8-bit RGB images (ISO/IEC 15948): signature, IHDR, one IDAT, IEND.
//
// Every row uses filter type 1 (Sub), which turns the sandbox's smooth gradients and flat shapes
// into long runs that deflate well. Compression is zlib's (Debian zlib1g).
#ifndef SFLOW_SANDBOX_MEDIA_PNG_WRITER_H_
#define SFLOW_SANDBOX_MEDIA_PNG_WRITER_H_

#include <string>

#include "sandbox/media/rgb_image.h"

namespace sflow {

enum class PngCompression {
  // zlib deflate at level 6. The same input gives the same bytes with the same zlib version;
  // another zlib release may choose different (equally valid) matches.
  kDeflate,
  // Stored (uncompressed) deflate blocks: about width*height*3 bytes, but byte-identical with
  // any zlib, as scripts/make-sample-media does. Also the fallback if deflate cannot allocate.
  kStored,
};

// Encodes `image` (width and height at least 1, rgb of width*height*3 bytes) as a PNG file.
// Returns "" when the image is malformed.
std::string EncodePng(const RgbImage& image, PngCompression compression = PngCompression::kDeflate);

}  // namespace sflow

#endif  // SFLOW_SANDBOX_MEDIA_PNG_WRITER_H_
