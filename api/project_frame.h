// ProjectFrame: one message of the projects socket, as the official SDK's WebSocketClient hands
// it to its listeners: the frame's `type` and its decoded `data` (the JSON inside the base64).
// The codec is api/projects_frames.h; what the local runner reads of each type is
// runner/local/session_project_service.h (ProjectNewsReader).
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
