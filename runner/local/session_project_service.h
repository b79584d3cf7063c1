// SessionProjectService: the product's ProjectService (runner/local/project_service.h). Frames go
// over the process's one projects socket (api/projects_session.h), shared by every run; each
// service has its own inbox, so a run's Wait() sees only its own projects. Lookups, uploads,
// minted download URLs, quotes and the balance go over REST (api/api_client.h).
#ifndef SFLOW_RUNNER_LOCAL_SESSION_PROJECT_SERVICE_H_
#define SFLOW_RUNNER_LOCAL_SESSION_PROJECT_SERVICE_H_

#include <memory>
#include <mutex>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "api/api_client.h"
#include "api/projects_session.h"
#include "runner/local/project_service.h"

namespace sflow {

// The model list and tiers of the socket host, read once (the SDK's getModelOptions cache), for
// ModelTraits. Thread-safe.
class ModelCatalog {
 public:
  explicit ModelCatalog(ApiClient* client) : client_(client) {}
  Result<ModelTraits> Traits(const std::string& model_id);

 private:
  ApiClient* client_;
  std::mutex mu_;
  std::optional<Value> models_, tiers_;
};

// Reads the socket's frames as project news (the SDK's ApiClient/WebSocketClient/events.d.ts
// shapes). jobResult carries no jobIndex: a job's index comes from its jobStarted /
// initiatingModel / jobRetry frames (a retried job gets a new imgID under its old jobIndex),
// which the reader remembers. Pure; one reader per stream of frames.
class ProjectNewsReader {
 public:
  // nullopt for a frame that is no news of a project (account frames, unknown types, junk).
  std::optional<ProjectNews> Read(const ProjectFrame& frame);

 private:
  std::map<std::string, int64_t> job_index_;  // "PROJECT/IMGID" -> jobIndex
};

class SessionProjectService final : public ProjectService {
 public:
  // `session` and `client` must outlive the service. `network` is the socket's network ("fast"
  // or "relaxed"), used for quotes of projects that name none.
  SessionProjectService(ProjectsSession* session, ApiClient* client, std::string network = "fast");
  ~SessionProjectService() override;

  void Watch(const std::string& project_id) override;
  void Unwatch(const std::string& project_id) override;
  Status Send(const std::string& project_id, const std::string& job_request) override;
  std::vector<ProjectNews> Wait(std::chrono::milliseconds wait) override;
  Result<RemoteProject> Lookup(const std::string& project_id) override;
  Status Cancel(const std::string& project_id) override;
  Status Upload(const std::string& project_id, const ProjectUpload& upload, const std::string& content_type,
                const std::string& bytes) override;
  Result<std::string> MintResultUrl(const std::string& project_id, const std::string& job_id, MediaKind kind) override;
  Result<ProjectQuoteFigures> Quote(const Value& params, const std::string& token_type) override;
  Result<double> Balance(const std::string& token_type) override;
  Result<ModelTraits> Traits(const std::string& model_id) override { return catalog_.Traits(model_id); }

 private:
  ProjectsSession* session_;
  ApiClient* client_;
  std::string network_;
  ModelCatalog catalog_;
  std::shared_ptr<ProjectInbox> inbox_;
  std::set<std::string> watched_;
  ProjectNewsReader reader_;
};

// The quote of one project (the estimate route the SDK's estimateCost family calls, after the
// size-preset read when the params name a preset). `token_type` "" = spark; `network` "" = the
// params' own, else "fast".
Result<ProjectQuoteFigures> QuoteProject(ApiClient& client, ModelCatalog& catalog, const Value& params,
                                         const std::string& token_type, const std::string& network);
// The spendable balance of the account in `token_type` ("" = spark).
Result<double> AccountBalance(ApiClient& client, const std::string& token_type);

// A project record of GET /v2/projects/:id (or /v1) as the runner reads it: the normalised
// status, each worker job with its index, result URL and end, and the actual cost.
RemoteProject RemoteProjectFromRecord(const Value& project);

// The spendable balance in `token_type` ("spark" or "sogni"; "" = spark) of a
// /v4/account/balance answer: `net` of that token, else settled + credit - debit.
Result<double> SpendableBalance(const Value& balance, const std::string& token_type);

}  // namespace sflow

#endif  // SFLOW_RUNNER_LOCAL_SESSION_PROJECT_SERVICE_H_
