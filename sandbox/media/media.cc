#include "sandbox/media/media.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "sandbox/media/jpeg_writer.h"
#include "sandbox/media/mp3_writer.h"
#include "sandbox/media/mp4_writer.h"
#include "sandbox/media/png_writer.h"
#include "sandbox/media/scene.h"
#include "sandbox/media/tone.h"
#include "sandbox/media/wav_writer.h"
#include "sandbox/media/webp_writer.h"

namespace sflow {
namespace {

// Scales width x height down so neither side exceeds max_side, keeping the aspect ratio (the
// short side rounded to nearest, at least 1). Sizes below 1 count as 1.
void FitWithin(int max_side, int* width, int* height) {
  int64_t w = std::max(*width, 1), h = std::max(*height, 1);
  int64_t longest = std::max(w, h);
  if (longest > max_side) {
    w = std::max<int64_t>(1, (w * max_side + longest / 2) / longest);
    h = std::max<int64_t>(1, (h * max_side + longest / 2) / longest);
  }
  *width = static_cast<int>(w);
  *height = static_cast<int>(h);
}

// round(seconds * rate) clamped to 1..max_count; not-positive and NaN seconds give 1.
int64_t CountFor(double seconds, int rate, int64_t max_count) {
  if (!(seconds > 0)) return 1;
  double n = std::round(seconds * rate);
  if (!(n < static_cast<double>(max_count))) return max_count;
  return std::max<int64_t>(1, static_cast<int64_t>(n));
}

}  // namespace

MediaBlob MakeImage(uint64_t seed, int width, int height, ImageFormat format) {
  MediaBlob blob;
  FitWithin(kMaxImageSide, &width, &height);
  RgbImage image = RenderScene(seed, width, height);
  if (format == ImageFormat::kPng) {
    blob.bytes = EncodePng(image);
    blob.mime = "image/png";
    blob.extension = "png";
  } else if (format == ImageFormat::kWebp) {
    blob.bytes = EncodeWebp(image);
    blob.mime = "image/webp";
    blob.extension = "webp";
  } else {
    blob.bytes = EncodeJpeg(image, {90, ChromaSubsampling::k420});
    blob.mime = "image/jpeg";
    blob.extension = "jpg";
  }
  blob.width = width;
  blob.height = height;
  return blob;
}

MediaBlob MakeAudio(uint64_t seed, double seconds, AudioFormat format) {
  const int64_t max_count = int64_t{kMaxAudioSeconds} * kAudioSampleRate;
  const int64_t count = CountFor(seconds, kAudioSampleRate, max_count);
  MediaBlob blob;
  if (format == AudioFormat::kMp3) {
    blob.bytes = EncodeMp3(RenderTone(seed, kAudioSampleRate, count), kAudioSampleRate);
    blob.mime = "audio/mpeg";
    blob.extension = "mp3";
  } else {
    blob.bytes = EncodeWav(RenderTone(seed, kAudioSampleRate, count), kAudioSampleRate);
    blob.mime = "audio/wav";
    blob.extension = "wav";
  }
  blob.duration_seconds = static_cast<double>(count) / kAudioSampleRate;
  return blob;
}

MediaBlob MakeVideo(uint64_t seed, int width, int height, double seconds, int fps) {
  FitWithin(kMaxVideoSide, &width, &height);
  width = std::max(2, width & ~1);  // 4:2:0 players want even sizes
  height = std::max(2, height & ~1);
  fps = std::clamp(fps, 1, kMaxVideoFps);
  const int count = static_cast<int>(CountFor(seconds, fps, int64_t{kMaxVideoSeconds} * fps));
  std::vector<std::string> frames;
  frames.reserve(count);
  for (int i = 0; i < count; ++i) {
    RgbImage picture = RenderScene(seed, width, height, i, fps);
    frames.push_back(EncodeJpeg(picture, {80, ChromaSubsampling::k420}));
  }
  MediaBlob blob;
  blob.bytes = MuxMotionJpegMp4(frames, width, height, fps);
  blob.mime = "video/mp4";
  blob.extension = "mp4";
  blob.width = width;
  blob.height = height;
  blob.duration_seconds = static_cast<double>(count) / fps;
  blob.fps = fps;
  return blob;
}

std::optional<ImageFormat> ParseImageFormat(std::string_view name) {
  if (name == "png") return ImageFormat::kPng;
  if (name == "jpg" || name == "jpeg") return ImageFormat::kJpeg;
  if (name == "webp") return ImageFormat::kWebp;
  return std::nullopt;
}

std::optional<AudioFormat> ParseAudioFormat(std::string_view name) {
  if (name == "wav") return AudioFormat::kWav;
  if (name == "mp3") return AudioFormat::kMp3;
  return std::nullopt;
}

}  // namespace sflow
