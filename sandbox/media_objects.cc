// Implementation details: artifact bytes are made on demand from the artifact's spec
// (sandbox/media), so a workflow with a thousand artifacts costs nothing until something is
// downloaded; made bytes are kept in a bounded cache so repeated downloads (and Range requests
// that resume one) see identical bytes without re-encoding.
#include "sandbox/media/media.h"
#include "sandbox/world.h"

namespace sflow {

namespace {
constexpr size_t kMediaCacheBytes = 64u << 20;
}

bool World::MediaBytes(const std::string& object_id, std::string* bytes, std::string* content_type) {
  ArtifactSpec spec;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto up = uploads_.find(object_id); up != uploads_.end()) {
      *bytes = up->second.bytes;
      *content_type = up->second.content_type;
      return true;
    }
    auto art = artifacts_.find(object_id);
    if (art == artifacts_.end()) return false;
    spec = art->second;
    *content_type = spec.mime;
    if (auto c = media_cache_.find(object_id); c != media_cache_.end()) {
      *bytes = c->second;
      return true;
    }
  }
  // Encoding runs outside the lock: a video takes a few milliseconds.
  MediaBlob blob;
  if (spec.kind == "image")
    blob = MakeImage(spec.seed, spec.width, spec.height, ParseImageFormat(spec.extension).value_or(ImageFormat::kPng));
  else if (spec.kind == "video")
    blob = MakeVideo(spec.seed, spec.width, spec.height, spec.seconds, 8);
  else
    blob = MakeAudio(spec.seed, spec.seconds, ParseAudioFormat(spec.extension).value_or(AudioFormat::kWav));
  *bytes = blob.bytes;
  std::lock_guard<std::mutex> lock(mu_);
  if (media_cache_bytes_ + blob.bytes.size() > kMediaCacheBytes) {
    media_cache_.clear();
    media_cache_bytes_ = 0;
  }
  media_cache_bytes_ += blob.bytes.size();
  media_cache_[object_id] = std::move(blob.bytes);
  return true;
}

}  // namespace sflow
