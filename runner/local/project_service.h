// ProjectService: what the local runner needs of the Supernet to run direct projects, narrow
// enough to fake in tests. The product's implementation (runner/local/session_project_service.h)
// sends over the shared projects socket (api/projects_session.h) and the REST routes of
// api/api_client.h; one ProjectService serves one run (its Wait() sees only that run's projects).
//
// News are what happened to a project, in the order the socket delivered them: the runner turns
// them into store writes and progress. The socket's own troubles are news too: kReconnected
// (the socket came back: a project may have ended while it was away, so the runner asks Lookup())
// and kSessionFailed (the socket gave up: the run stops, resumable).
#ifndef SFLOW_RUNNER_LOCAL_PROJECT_SERVICE_H_
#define SFLOW_RUNNER_LOCAL_PROJECT_SERVICE_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/job_request.h"
#include "engine/plan.h"
#include "engine/status.h"
#include "engine/value.h"

namespace sflow {

struct ProjectNews {
  enum class Kind {
    kQueued,         // waiting for a worker (queue_position when known)
    kStarted,        // a job is on a worker
    kProgress,       // progress of a job, 0..1
    kJobResult,      // a job finished: result_url ("" when the server sent none: mint one)
    kJobFailed,      // a job failed (error); the project may go on with its other jobs
    kJobRetry,       // a job was requeued (free): its job_id changes, its job_index stays
    kCompleted,      // the project finished: every job has a result or failed
    kFailed,         // the whole project failed (error)
    kCancelled,      // the project was cancelled
    kRefused,        // not admitted: the server was restarting (jobError 1001 without imgID); the
                     // same request may go again under the same id once the socket is back
    kBalance,        // the account's balance changed (raw has it)
    kReconnected,    // the socket came back after a drop
    kSessionFailed,  // the socket gave up (failure says why)
  };
  Kind kind = Kind::kQueued;
  std::string project_id{}, job_id{};
  int64_t job_index = -1;
  int64_t queue_position = -1;
  double progress = -1;
  std::string result_url{};
  std::string error{};      // kJobFailed, kFailed: as the server said it
  Status failure{};         // kSessionFailed
  std::string wire_type{};  // the frame's type ("jobState", "jobResult", ...) for the event log
  Value raw{};              // the frame's data, for the event log
};

// A project as the REST lookups describe it.
struct RemoteJob {
  std::string job_id;
  int64_t job_index = -1;
  bool done = false, failed = false;
  std::string result_url;   // "" when the record has none (mint one)
};
struct RemoteProject {
  std::string status;       // pending | queued | processing | completed | failed | canceled
  std::vector<RemoteJob> jobs;
  std::optional<double> charge;  // tokens actually charged, when the record says
  std::string error;
};

struct ProjectQuoteFigures {
  double tokens = 0, usd = 0;
  std::string token_type;
};

class ProjectService {
 public:
  virtual ~ProjectService() = default;
  // Routes the project's news to Wait(). Idempotent.
  virtual void Watch(const std::string& project_id) = 0;
  virtual void Unwatch(const std::string& project_id) = 0;
  // Sends the jobRequest (the exact stored JSON text) and watches the project. An error means
  // the frame may not have gone out (the socket is down, the session gave up).
  virtual Status Send(const std::string& project_id, const std::string& job_request) = 0;
  // The news that arrived, waiting up to `wait` for the first.
  virtual std::vector<ProjectNews> Wait(std::chrono::milliseconds wait) = 0;
  // What the server knows of the project; kNotFound when it does not know it (never admitted).
  virtual Result<RemoteProject> Lookup(const std::string& project_id) = 0;
  // Asks the server to cancel the project (jobError artistCanceled).
  virtual Status Cancel(const std::string& project_id) = 0;
  // Uploads `bytes` (of `content_type`) as input `upload` of the project.
  virtual Status Upload(const std::string& project_id, const ProjectUpload& upload, const std::string& content_type,
                        const std::string& bytes) = 0;
  // A download URL for a job's result when the result carried none.
  virtual Result<std::string> MintResultUrl(const std::string& project_id, const std::string& job_id,
                                            MediaKind kind) = 0;
  // What the model list says of `model_id` (the SDK's getModelOptions), for the jobRequest.
  virtual Result<ModelTraits> Traits(const std::string& model_id) = 0;
  // The quote for one project, and the account's spendable balance in `token_type`.
  virtual Result<ProjectQuoteFigures> Quote(const Value& params, const std::string& token_type) = 0;
  virtual Result<double> Balance(const std::string& token_type) = 0;
};

}  // namespace sflow

#endif  // SFLOW_RUNNER_LOCAL_PROJECT_SERVICE_H_
