#include "engine/plan.h"

namespace sflow {

const char* MediaKindName(MediaKind kind) {
  switch (kind) {
    case MediaKind::kImage: return "image";
    case MediaKind::kVideo: return "video";
    case MediaKind::kAudio: return "audio";
    case MediaKind::kUnknown: break;
  }
  return "unknown";
}

std::optional<MediaKind> ParseMediaKind(const std::string& name) {
  if (name == "image") return MediaKind::kImage;
  if (name == "video") return MediaKind::kVideo;
  if (name == "audio") return MediaKind::kAudio;
  return std::nullopt;
}

const char* ParamTypeName(ParamSpec::Type type) {
  switch (type) {
    case ParamSpec::Type::kString: return "string";
    case ParamSpec::Type::kInteger: return "integer";
    case ParamSpec::Type::kNumber: return "number";
    case ParamSpec::Type::kBoolean: return "boolean";
    case ParamSpec::Type::kEnum: return "enum";
  }
  return "?";
}

const Step* Plan::FindStep(const std::string& id) const {
  for (const Step& s : steps)
    if (s.id == id) return &s;
  return nullptr;
}

const ParamSpec* Plan::FindParam(const std::string& name) const {
  for (const ParamSpec& p : params)
    if (p.name == name) return &p;
  return nullptr;
}

const MediaEntry* Plan::FindMedia(const std::string& name) const {
  for (const MediaEntry& m : media)
    if (m.name == name) return &m;
  return nullptr;
}

}  // namespace sflow
