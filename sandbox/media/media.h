// Deterministic media for the sandbox: real, decodable PNG, JPEG, WebP, WAV, MP3 and MP4 files made from a
// seed and the request's arguments, so a simulated job returns something a player can open.
//
// Contract:
//  - The same arguments give the same bytes (PNG, WebP and MP3 with the same zlib, libwebp and
//    LAME releases; everything else on any machine). Different seeds give visibly or audibly different content: another gradient,
//    other shapes, another tone.
//  - Sizes are capped so a sandbox job stays small and fast; the blob records what was made,
//    which may be less than what was asked:
//      images  at most kMaxImageSide on each side, scaled down keeping the aspect ratio;
//      video   at most kMaxVideoSide on each side (then rounded down to even sizes, at least 2),
//              1..kMaxVideoFps frames per second, at most kMaxVideoSeconds, at least one frame;
//      audio   at most kMaxAudioSeconds at kAudioSampleRate Hz, mono, 16-bit, at least one sample.
//    Sizes below 1 count as 1; durations that are not positive (or NaN) give the shortest media.
//  - Nothing here fails for any argument values, so the functions return the blob directly.
#ifndef SFLOW_SANDBOX_MEDIA_MEDIA_H_
#define SFLOW_SANDBOX_MEDIA_MEDIA_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sflow {

constexpr int kMaxImageSide = 512;
constexpr int kMaxVideoSide = 256;
constexpr int kMaxVideoFps = 12;
constexpr int kMaxVideoSeconds = 10;
constexpr int kMaxAudioSeconds = 30;
constexpr int kAudioSampleRate = 8000;

enum class ImageFormat { kPng, kJpeg, kWebp };
enum class AudioFormat { kWav, kMp3 };

struct MediaBlob {
  std::string bytes;      // the whole file
  std::string mime;       // "image/png", "image/jpeg", "image/webp", "audio/wav", "audio/mpeg" or "video/mp4"
  std::string extension;  // without the dot: "png", "jpg", "webp", "wav", "mp3" or "mp4"
  int width = 0;          // pixels actually encoded (images and video)
  int height = 0;
  double duration_seconds = 0;  // audio: samples / rate; video: frames / fps
  int fps = 0;                  // video only
};

// A seeded picture (scene.h) as PNG (zlib level 6), baseline JPEG (quality 90, 4:2:0) or lossy
// WebP (libwebp, quality 80).
MediaBlob MakeImage(uint64_t seed, int width, int height, ImageFormat format);

// A seeded tone (tone.h) as a WAV file or an MP3 (LAME, 32 kbit/s CBR, mono).
MediaBlob MakeAudio(uint64_t seed, double seconds, AudioFormat format = AudioFormat::kWav);

// round(seconds * fps) frames of the seeded scene in motion, each a JPEG (quality 80, 4:2:0),
// in an MP4 file (mp4_writer.h).
MediaBlob MakeVideo(uint64_t seed, int width, int height, double seconds, int fps);

// The API's outputFormat names: "png"; "jpg" and "jpeg"; "webp". Anything else is nullopt, and
// the caller picks a fallback.
std::optional<ImageFormat> ParseImageFormat(std::string_view name);
// "wav", "mp3"; anything else (such as "flac") is nullopt.
std::optional<AudioFormat> ParseAudioFormat(std::string_view name);

}  // namespace sflow

#endif  // SFLOW_SANDBOX_MEDIA_MEDIA_H_
