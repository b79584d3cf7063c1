// Local media for `run` (docs/api-contract.md section 8): each `media:` entry with a path is uploaded
// before the start request and sent as a media_references entry with the upload's download URL.
//   v2: GET /v2/{image|media}/uploadUrl?jobId&type&contentType&imageId|id, then a multipart POST to
//       the presigned url with every `fields` entry first and the `file` part LAST (204 expected),
//       then GET .../downloadUrl.
//   v1 (only when v2 answers 404 or 405): GET /v1/.../uploadUrl, PUT the raw bytes with their
//       Content-Type, GET .../downloadUrl.
// Presigned URLs get no API key: those requests go straight to the transport. URL entries pass
// through. The uploaded URLs end up in the start body, which the start intent stores, so a
// resumed run never uploads again.
#ifndef SFLOW_RUNNER_MEDIA_UPLOAD_H_
#define SFLOW_RUNNER_MEDIA_UPLOAD_H_

#include <ostream>
#include <string>
#include <vector>

#include "api/api_client.h"
#include "api/http_transport.h"
#include "engine/plan.h"
#include "engine/status.h"
#include "engine/wire.h"

namespace sflow {

// The plan's media in its order, local files uploaded under `job_id` ("sogni-flow-<run id>").
// Errors: the API's (kPermission, kUnavailable, ...), kIOError for an unreadable file,
// kUnavailable for a presigned upload that does not answer 2xx.
Result<std::vector<WireMedia>> ResolveMedia(const Plan& plan, ApiClient& client, HttpTransport& transport,
                                            const std::string& job_id, std::ostream* progress = nullptr);

// The multipart/form-data body of a presigned POST: fields (in order), then the file part.
std::string MultipartBody(const Value& fields, const std::string& file_name, const std::string& content_type,
                          const std::string& bytes, const std::string& boundary);

}  // namespace sflow

#endif  // SFLOW_RUNNER_MEDIA_UPLOAD_H_
