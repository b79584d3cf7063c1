// Byte-order helpers for the media writers: append fixed-width integers to a byte string.
//
// PNG, JPEG and MP4 are big-endian; RIFF/WAV is little-endian. Values are truncated to the width
// named by the function, so callers pass values that fit.
#ifndef SFLOW_SANDBOX_MEDIA_BYTES_H_
#define SFLOW_SANDBOX_MEDIA_BYTES_H_

#include <cstdint>
#include <string>

namespace sflow {

inline void AppendU8(std::string* out, uint32_t v) { out->push_back(static_cast<char>(v & 0xFF)); }

inline void AppendU16Be(std::string* out, uint32_t v) {
  AppendU8(out, v >> 8);
  AppendU8(out, v);
}

inline void AppendU24Be(std::string* out, uint32_t v) {
  AppendU8(out, v >> 16);
  AppendU16Be(out, v);
}

inline void AppendU32Be(std::string* out, uint32_t v) {
  AppendU16Be(out, v >> 16);
  AppendU16Be(out, v);
}

inline void AppendU16Le(std::string* out, uint32_t v) {
  AppendU8(out, v);
  AppendU8(out, v >> 8);
}

inline void AppendU32Le(std::string* out, uint32_t v) {
  AppendU16Le(out, v);
  AppendU16Le(out, v >> 16);
}

}  // namespace sflow

#endif  // SFLOW_SANDBOX_MEDIA_BYTES_H_
