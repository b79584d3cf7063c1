// Reading a jobRequest (the SDK's createJobRequestMessage) into a ProjectRun: the parts the
// sandbox's workers use (model, steps, sizes, frames, duration, count, output format) and the
// same inputs in the estimate routes' terms (QuoteInput), so a project is billed as it was quoted.
#ifndef SFLOW_SANDBOX_PROJECT_REQUEST_H_
#define SFLOW_SANDBOX_PROJECT_REQUEST_H_

#include <string>

#include "engine/value.h"
#include "sandbox/projects_impl.h"

namespace sflow::hub {

// `req` is the jobRequest, `kf` its keyFrames[0] (an object), `p->model` already set. Missing or
// out-of-range values take the model tier's defaults or are clamped; nothing here refuses.
// `network` is the socket's when the request names none.
void ReadJobRequest(const Value& req, const Value& kf, const std::string& network, ProjectRun* p);

}  // namespace sflow::hub

#endif  // SFLOW_SANDBOX_PROJECT_REQUEST_H_
