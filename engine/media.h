// Media checks: what kind a file is by its first bytes, whether a local path is safe to upload,
// and whether a URL is one the API may fetch.
#ifndef SFLOW_ENGINE_MEDIA_H_
#define SFLOW_ENGINE_MEDIA_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/file_probe.h"
#include "engine/plan.h"

namespace sflow {

// The largest local file sogni-flow uploads: the v2 upload route's maxSizeBytes (100 MB).
constexpr uint64_t kMaxMediaBytes = 100ull * 1000 * 1000;

struct MediaSniff {
  MediaKind kind = MediaKind::kUnknown;
  std::string format;  // "png", "jpeg", "gif", "webp", "mp4", "webm", "wav", "mp3", "flac", "ogg"
  std::string mime;    // e.g. "image/png"
};

// Recognises the format from the first bytes of a file (at least 16 bytes are needed for some).
MediaSniff SniffMedia(std::string_view head);

struct LocalMediaCheck {
  std::string error;     // "" when the file may be used
  std::string hint;
  std::string resolved;  // the canonical path
  uint64_t size = 0;
  MediaSniff sniff;
};

// Checks a plan-relative path through `files`: it must resolve (after following links) to a
// regular file inside plan_dir (not plan_dir itself, not a directory), at most max_bytes, whose
// content is a recognised media format.
LocalMediaCheck CheckLocalMedia(const FileProbe& files, const std::string& plan_dir, const std::string& path,
                                uint64_t max_bytes = kMaxMediaBytes);
// The same through SystemFileProbe().
LocalMediaCheck CheckLocalMedia(const std::string& plan_dir, const std::string& path,
                                uint64_t max_bytes = kMaxMediaBytes);

// Checks a media URL: parsed and normalised by ParseUrl (engine/url.h), then https only, no
// user:password, and no host that InternalHostReason refuses. Returns "" when acceptable, else
// the reason.
std::string CheckMediaUrl(const std::string& url);

// The media kind a URL's path suggests by its extension, or kUnknown.
MediaKind MediaKindFromUrl(const std::string& url);

}  // namespace sflow

#endif  // SFLOW_ENGINE_MEDIA_H_
