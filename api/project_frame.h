// One message of the projects socket: `{"type": T, "data": base64(JSON)}` once decoded
// (api/projects_frames.h encodes and decodes it).
#ifndef SFLOW_API_PROJECT_FRAME_H_
#define SFLOW_API_PROJECT_FRAME_H_

#include <string>

#include "engine/value.h"

namespace sflow {

struct ProjectFrame {
  std::string type;
  Value data;
};

}  // namespace sflow

#endif  // SFLOW_API_PROJECT_FRAME_H_
