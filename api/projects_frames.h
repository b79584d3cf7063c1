// The projects socket's frame codec (pure: no I/O). Both directions use one text frame:
//
//   {"type":"<T>","data":"<base64 of the UTF-8 JSON text of the payload>"}
//
// as the official SDK writes it (WebSocketClient.send: JSON.stringify, TextEncoder, btoa) and
// reads it (handleMessage: JSON.parse, atob, TextDecoder, JSON.parse, then jobID and imgID in
// upper case). Decoding is strict where the SDK would throw and bounded where it would not:
//   * the frame is at most kMaxProjectFrameBytes and is a JSON object with a non-empty string
//     `type` of at most 128 printable ASCII characters;
//   * `data` is standard base64 (RFC 4648 section 4 alphabet, `=` padding complete or absent, no
//     whitespace, no bits left over), decoding to well-formed UTF-8 JSON nested at most 64 deep;
//     absent or "" gives a null payload (the SDK's `if (data.data)`);
//   * string `jobID` and `imgID` members of an object payload are upper-cased, as the SDK does,
//     so ids compare equal whatever case the server used.
// Failures are kInternal (a malformed server answer): the message names the frame type when it
// is known and what is wrong, never the payload itself.
#ifndef SFLOW_API_PROJECTS_FRAMES_H_
#define SFLOW_API_PROJECTS_FRAMES_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "api/project_frame.h"
#include "engine/status.h"
#include "engine/value.h"

namespace sflow {

// A frame larger than this is refused by the decoder and by the socket (a jobRequest with 16
// context images as URLs is a few KiB; an authenticated frame with many recovered projects, each
// with its original request, can reach a few MiB).
inline constexpr size_t kMaxProjectFrameBytes = size_t{16} << 20;

// The frame text for `type` and `data`.
std::string EncodeProjectFrame(std::string_view type, const Value& data);

// The frame's type and payload, or kInternal as above.
Result<ProjectFrame> DecodeProjectFrame(std::string_view text);

// Standard base64 with padding (the output of btoa).
std::string Base64Encode(std::string_view bytes);
// Strict standard base64 as above; false on anything else (out is then unspecified).
bool Base64Decode(std::string_view text, std::string* out);

}  // namespace sflow

#endif  // SFLOW_API_PROJECTS_FRAMES_H_
