// Seeded pictures for the sandbox's images and video frames.
//
// A scene is a two-colour linear gradient (seeded hues and direction) under three to six seeded
// shapes (discs, rings, rectangles) with seeded colours, sizes and velocities. Positions and sizes
// are relative to the picture, so the same seed gives the same composition at any size. For video
// the shapes move in straight lines and bounce off the edges. Integer arithmetic only: the pixels
// are the same on every machine.
#ifndef SFLOW_SANDBOX_MEDIA_SCENE_H_
#define SFLOW_SANDBOX_MEDIA_SCENE_H_

#include <cstdint>

#include "sandbox/media/rgb_image.h"

namespace sflow {

// Renders the scene of `seed` at width x height (each at least 1) as it is `frame` frames after
// the start at `fps` frames per second (fps at least 1). Frame 0 is the still image.
RgbImage RenderScene(uint64_t seed, int width, int height, int frame = 0, int fps = 1);

}  // namespace sflow

#endif  // SFLOW_SANDBOX_MEDIA_SCENE_H_
