// The sandbox's routes: from a parsed request to the World and back to the wire.
#ifndef SFLOW_SANDBOX_ROUTES_H_
#define SFLOW_SANDBOX_ROUTES_H_

#include <atomic>
#include <initializer_list>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include "sandbox/world.h"

namespace sflow {

struct RouteContext {
  RouteContext(World& w, Poco::Net::HTTPServerRequest& rq, Poco::Net::HTTPServerResponse& rs, std::atomic<bool>& stop)
      : world(w), req(rq), resp(rs), stopping(stop) {}
  World& world;
  Poco::Net::HTTPServerRequest& req;
  Poco::Net::HTTPServerResponse& resp;
  std::atomic<bool>& stopping;
  std::string method, path;
  std::map<std::string, std::string> query;
  class ProjectsHub* projects = nullptr;  // the projects socket and its REST reads (projects.h)
  Caller caller;       // empty owner: no valid key
  std::string route;   // the matched pattern, for the stats
  int status = 0;      // what was answered, for the stats

  // The request body. A request with neither Content-Length nor Transfer-Encoding: chunked has
  // an empty body (RFC 9112 section 6.3), as the real API's servers read it; Poco's stream would
  // wait for the connection to close instead (a `curl -X POST` with no data hung 30 s).
  // A chunked body is read whole before routing (the server checks its size, see
  // kMaxApiBodyBytes), then served from that copy.
  std::istream& body() {
    if (buffered_) return *buffered_;
    if (req.hasContentLength() || req.getChunkedTransferEncoding()) return req.stream();
    return no_body_;
  }
  void SetBody(std::string bytes) { buffered_ = std::make_unique<std::istringstream>(std::move(bytes)); }

 private:
  std::istringstream no_body_;
  std::unique_ptr<std::istringstream> buffered_;
};

// The largest request body the sandbox reads: an API request (JSON), and an upload to a
// presigned URL. Larger ones are answered 413 and the connection closed, before anything is
// read: a body is held in memory whole. The sandbox's own limits (the contract names none).
inline constexpr size_t kMaxApiBodyBytes = size_t{16} << 20;
inline constexpr size_t kMaxUploadBodyBytes = size_t{512} << 20;

// A request path split into its segments, matched against patterns where "*" is any segment.
struct PathMatch {
  explicit PathMatch(const std::string& path);
  bool Is(std::initializer_list<const char*> parts) const;
  std::vector<std::string> seg;
};

// Routes the request and writes the answer (a JSON envelope, an event stream or media).
void RouteRequest(RouteContext& ctx);

// Routes a presigned upload or signed media URL: no API key, no whole-answer faults.
bool IsPresignedRoute(const std::string& path);

void SendJson(RouteContext& ctx, int status, const Value& body,
              const std::map<std::string, std::string>& headers = {});
void SendJsonText(RouteContext& ctx, int status, const std::string& text,
                  const std::map<std::string, std::string>& headers = {});
void SendRateLimited(RouteContext& ctx, int retry_after);

// sse.cc: GET /v1/creative-agent/workflows/{id}/events/stream.
void StreamEvents(RouteContext& ctx, const std::string& workflow_id);
// media.cc: GET /_sandbox/media/{id} (signed, expiring, Range-aware).
void ServeMedia(RouteContext& ctx, const std::string& object_id);
// project_estimates.cc: GET /api/v{2,3}/job/estimate/..., /api/v1/job-{video,audio}/estimate/...
// and /api/v1/size-presets/network/{n}/model/{m}; false when the request is none of them.
bool ServeProjectEstimates(RouteContext& ctx);
// media.cc: POST (multipart, fields then file) or PUT (raw) /_sandbox/upload/{token}.
void ReceiveUpload(RouteContext& ctx, const std::string& token);

}  // namespace sflow

#endif  // SFLOW_SANDBOX_ROUTES_H_
