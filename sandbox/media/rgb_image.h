// RgbImage: the raster the image writers take, 8-bit RGB, rows top to bottom, no padding.
#ifndef SFLOW_SANDBOX_MEDIA_RGB_IMAGE_H_
#define SFLOW_SANDBOX_MEDIA_RGB_IMAGE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sflow {

struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;  // width * height * 3 bytes: R, G, B of pixel (0,0), then (1,0), ...

  RgbImage() = default;
  RgbImage(int w, int h) : width(w), height(h), rgb(static_cast<size_t>(w) * h * 3, 0) {}

  uint8_t* At(int x, int y) { return &rgb[(static_cast<size_t>(y) * width + x) * 3]; }
  const uint8_t* At(int x, int y) const { return &rgb[(static_cast<size_t>(y) * width + x) * 3]; }
};

}  // namespace sflow

#endif  // SFLOW_SANDBOX_MEDIA_RGB_IMAGE_H_
