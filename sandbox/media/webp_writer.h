// WebP images through Debian's libwebp (libwebp-dev): lossy, quality 80, one thread, so the same
// picture gives the same bytes with the same libwebp release.
#ifndef SFLOW_SANDBOX_MEDIA_WEBP_WRITER_H_
#define SFLOW_SANDBOX_MEDIA_WEBP_WRITER_H_

#include <string>

#include "sandbox/media/rgb_image.h"

namespace sflow {

// A RIFF/WEBP file, or "" when libwebp refuses (an empty image or one wider than 16383).
std::string EncodeWebp(const RgbImage& image);

}  // namespace sflow

#endif  // SFLOW_SANDBOX_MEDIA_WEBP_WRITER_H_
