#include "sandbox/media/webp_writer.h"

#include <webp/encode.h>

namespace sflow {

std::string EncodeWebp(const RgbImage& image) {
  if (image.width < 1 || image.height < 1 || image.rgb.size() != static_cast<size_t>(image.width) * image.height * 3)
    return "";
  uint8_t* out = nullptr;
  size_t size = WebPEncodeRGB(image.rgb.data(), image.width, image.height, image.width * 3, 80.0f, &out);
  std::string bytes = size > 0 && out ? std::string(reinterpret_cast<const char*>(out), size) : std::string();
  WebPFree(out);
  return bytes;
}

}  // namespace sflow
