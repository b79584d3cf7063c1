// ApiClient: the Sogni REST routes sogni-flow uses (docs/api-contract.md sections 2, 8, 9) over an HttpTransport.
//
// Contract:
//  * Every call sends `Authorization: Bearer <key>` and `api-key: <key>` (the reference
//    recommends both), `Accept: application/json`, and X-App-Source when configured.
//  * Success is the envelope {"status":"success","data":{...}} with the key the route promises
//    (data.workflow, data.workflows, data.events, data.template...); anything else is kInternal.
//  * Failures keep the HTTP status in the message ("POST /v1/...: HTTP 409: <server message>")
//    and, structured, in last_error(). Codes: 400/422 kInvalidPlan, 401/402/403 kPermission,
//    404 kNotFound, 409 kConflict, 408/429/5xx and network trouble kUnavailable once the retry
//    policy gave up, TLS and refused URLs kSecurity (see api_envelope.h, http_transport.h).
//  * Retries follow retry_policy.h: reads, and the paid actions that carry an Idempotency-Key
//    (start, reseed, confirm-cost), are retried; cancel, resume and template writes are sent once.
//  * The API key never appears in a Status message or in last_error(): every text that leaves
//    the client passes through Redact(), even what the server echoes back.
// Ids in paths are encoded as encodeURIComponent does. Thread-safe if the transport is.
#ifndef SFLOW_API_API_CLIENT_H_
#define SFLOW_API_API_CLIENT_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "api/api_envelope.h"
#include "api/api_types.h"
#include "api/http_transport.h"
#include "api/retry_policy.h"
#include "engine/run_store.h"
#include "engine/status.h"
#include "engine/value.h"

namespace sflow {

// The checks StartWorkflow makes of a start body (input xor workflow_id, inputs only with a
// template, media references by URL only), for a body built elsewhere and stored before it is
// sent. kInvalidPlan with the server's wording otherwise.
Status CheckStartBody(const Value& body);

struct ApiClientOptions {
  std::string base_url = "https://api.sogni.ai";  // a path prefix is kept; a trailing "/" is not
  // The projects socket host's REST routes (/api/...: estimates, project sync): the https form of
  // the socket URL, as the SDK derives it ("https://socket.sogni.ai"). "" = base_url (the local
  // sandbox serves both on one port).
  std::string socket_base_url;
  std::string api_key;                            // never logged, never in a message
  std::string app_source;                         // X-App-Source, and the default body app_source
  RetryOptions retry;
};

class ApiClient {
 public:
  // `transport` and `clock` must outlive the client.
  ApiClient(HttpTransport* transport, ApiClientOptions options, RetryClock* clock = RetryClock::Real());

  // --- Workflows (W1-W9). Paid actions require a non-empty idempotency key (1..255 visible
  // ASCII characters), committed by the caller before the call so that a restart resends it.
  Result<WorkflowReply> StartWorkflow(const StartWorkflowRequest& request, const std::string& idempotency_key);
  Result<Value> GetWorkflow(const std::string& workflow_id);
  Result<WorkflowPage> ListWorkflows(std::optional<int64_t> limit = {}, std::optional<int64_t> offset = {});
  Result<std::vector<Value>> ListEvents(const std::string& workflow_id, std::optional<int64_t> after = {});
  Result<WorkflowReply> CancelWorkflow(const std::string& workflow_id);  // data.transitioned
  Result<WorkflowReply> ResumeWorkflow(const std::string& workflow_id, const ResumeRequest& request = {});
  Result<WorkflowReply> ReseedWorkflow(const std::string& workflow_id, const ReseedRequest& request,
                                       const std::string& idempotency_key);  // data.reseed, data.idempotent
  // `body` is sent as it is (its shape is unverified upstream; the sandbox takes {"decision"}).
  Result<WorkflowReply> ConfirmCost(const std::string& workflow_id, const Value& body,
                                    const std::string& idempotency_key);

  // The request of a committed intent (runner/intents.h), sent exactly as stored: `body` (JSON
  // text) byte for byte, and for the paid kinds (start, reseed, confirm-cost) `idempotency_key`.
  // `workflow_id` is the workflow acted on (a reseed's source; unused for a start). Retried by
  // the policy when keyed; a cancel is sent once.
  Result<WorkflowReply> SendStored(IntentKind kind, const std::string& workflow_id, const std::string& body,
                                   const std::string& idempotency_key);

  // The event-stream request (W5) with this client's headers, for an event follower: `after`
  // becomes ?after=, `last_event_id` (when not empty) the Last-Event-ID header.
  HttpRequest EventStreamRequest(const std::string& workflow_id, std::optional<int64_t> after,
                                 const std::string& last_event_id) const;

  // --- Templates (T1-T6).
  Result<TemplatePage> ListTemplates(const std::string& visibility = "", std::optional<int64_t> limit = {},
                                     std::optional<int64_t> offset = {});  // limit clamped to 1..200
  Result<Value> GetTemplate(const std::string& template_id);
  Result<Value> CreateTemplate(const Value& template_record);
  Result<Value> UpdateTemplate(const std::string& template_id, const Value& patch);
  Result<Value> DeleteTemplate(const std::string& template_id);  // the data object ({deleted?, id?})
  Result<Value> ForkTemplate(const std::string& template_id, const std::string& new_name = "");

  // --- Account and media.
  Result<Value> Me();  // the account data object
  // v2: data with `url` and `fields` (a presigned POST); v1: data with `uploadUrl` (a raw PUT).
  Result<Value> GetUploadUrl(const MediaUrlQuery& query);
  Result<std::string> GetDownloadUrl(const MediaUrlQuery& query);

  // --- Direct projects (api_client_projects.cc), as the SDK's Projects and Account call them.
  // REST host, envelope answers: data.project of the live lookup (404 kNotFound: unknown or not
  // this account's; 503 is retried, as the SDK allows) and of the finished-project record (404
  // until the project finished).
  Result<Value> GetProjectV2(const std::string& project_id);
  Result<Value> GetProjectV1(const std::string& project_id);
  // Socket host, bare JSON answers. The recovery snapshot of `app_id` (the SDK's sync()):
  // {activeProjects: [...], unclaimedCompletedProjects: [...], serverTime?}, lists that are
  // missing or not lists become [].
  Result<Value> SyncProjects(const std::string& app_id);
  // The ids of this account's projects live on the socket (/api/v1/artist/projects/active).
  Result<std::vector<std::string>> ActiveProjects();
  // The answer of an estimate route (EstimatePathFor, api/project_quote.h: "/api/v2/job/estimate/
  // ..." and the video, audio and size-preset reads), a JSON object. The path must start with
  // "/api/" and hold only URL characters; kInvalidPlan otherwise.
  Result<Value> GetEstimate(const std::string& path_and_query);
  // The socket host's model catalog reads (/api/v1/models/list, /api/v2/models/tiers): any JSON.
  Result<Value> GetModelCatalog(const std::string& path);
  // data of /v4/account/balance (the SDK's accountBalance()).
  Result<Value> Balance();
  // One media input of a project: a signed URL from /v1/{image,media}/uploadUrl (query.version
  // must be 1: the SDK's raw PUT), then the bytes PUT to it with Content-Type
  // query.content_type and no credentials. A transient failure of the PUT asks for a fresh URL
  // and sends again (a signed URL may work once), as retry_policy.h times it.
  Status UploadProjectMedia(const MediaUrlQuery& query, const std::string& bytes);
  // The PUT alone, sent once: kUnavailable, kSecurity (a refused URL) or the HTTP status's code.
  // Messages name the URL without its query (the signature).
  Status PutSignedUrl(const std::string& url, const std::string& bytes, const std::string& content_type);

  // The structured error of the most recent failed call that the CALLING THREAD made on this
  // client (-j runs share one client: each thread sees only its own calls). The HTTP status and
  // a reason also travel with every failed call's Status (engine/status.h), which is what the
  // run driver decides on.
  ApiError last_error() const;
  // `text` with every occurrence of the API key replaced by "***".
  std::string Redact(std::string text) const;

 private:
  struct Call;
  Result<Value> Run(const Call& call);
  // Run() for the workflow routes: the answer must have data.workflow.
  Result<WorkflowReply> RunWorkflow(Call call);
  HttpRequest Build(const std::string& method, const std::string& path_and_query, const Value* body,
                    const std::string& idempotency_key, const std::string* raw_body = nullptr) const;
  Status Fail(const Call& call, ApiError error, const Status& base);

  HttpTransport* transport_;
  ApiClientOptions options_;
  RetryClock* clock_;
  mutable std::mutex mu_;
  std::mt19937_64 seeds_;  // guarded by mu_; seeds each call's RetryPolicy
  std::map<std::thread::id, ApiError> last_errors_;  // guarded by mu_; one per calling thread
};

}  // namespace sflow

#endif  // SFLOW_API_API_CLIENT_H_
