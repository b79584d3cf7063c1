// World: everything the sandbox knows, and the operations its routes perform.
//
// One mutex guards all state; `changed` is notified whenever an event is appended or a status
// changes, so event streams can wait for news. Route functions take the caller's API key and the
// parsed request and return a Reply (status, JSON body, extra headers); they never touch sockets.
// Workflows advance on the executor thread (Advance), one "tick" at a time, every step_ms.
//
// The records follow docs/api-contract.md (section 2.2): the workflow record is the PROTO run contract
// plus the fields the SDK's CreativeWorkflowRecord and the docs add (see docs/sandbox.md).
#ifndef SFLOW_SANDBOX_WORLD_H_
#define SFLOW_SANDBOX_WORLD_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/tool_catalog.h"
#include "engine/value.h"
#include "sandbox/faults.h"

namespace sflow {

struct SandboxConfig {
  uint64_t seed = 1;
  int step_ms = 200;
  int events_per_step = 3;
  int max_active_workflows = 16;          // per API key; more answers 409
  std::string cost_approval = "pause";    // "pause" (waiting_for_user) or "reject" (400 at start)
  int price_percent = 100;                // estimates and bills, in % of the offline cost model
  int keepalive_ms = 5000;
  int rate_limit_per_second = 0;          // per API key; 0 = off
  std::string secret = "sandbox-secret";  // signs media URLs
  double initial_balance = 1000;          // spark and sogni tokens of an account the projects hub first sees
};

struct Reply {
  int status = 200;
  Value body;
  std::string raw_body;  // when set, sent instead of body (JSON assembled from stored text)
  std::map<std::string, std::string> headers;
};

// A logged event, kept as the JSON text it is served as: streams send it as is, and a long log
// costs its bytes, not a tree per event.
struct LoggedEvent {
  int64_t sequence = 0;
  std::string type;
  std::string status;  // the workflow's status when it was emitted
  std::string json;
};

// What makes an artifact's bytes: generated on demand, deterministically.
struct ArtifactSpec {
  std::string id;
  std::string kind;  // image | video | audio
  std::string mime;
  std::string extension;
  std::string tool;
  std::string step_id;
  int width = 0, height = 0;
  double seconds = 0;
  uint64_t seed = 0;
};

struct StepRun {
  std::string id;
  int sequence = 0;
  std::string tool;
  Value arguments;            // as sent
  Value normalized;           // with dependsOn resolved
  Value depends_on;           // as sent (array or null)
  std::string status = "queued";
  int phase = 0;              // progress through the step's events
  std::vector<std::string> artifact_ids;
  double units = 0;           // estimated and billed when the step completes
  std::string cost_class, cost_unit;
  double cost_quantity = 0;
  uint64_t seed = 0;
  Value error;                // set when the step failed
  std::string created_at, updated_at, completed_at;
};

struct WorkflowRun {
  std::string id;
  std::string owner;  // API key fingerprint
  std::string status = "queued";
  std::string waiting_reason;
  bool awaiting_cost_approval = false;
  bool cost_confirmed = false;
  bool cancel_requested = false;
  bool will_partially_fail = false;
  // Forgotten by the admin route POST /_sandbox/forget/{id}: every route answers 404 for it, as
  // the API does once a workflow's retention has ended. Kept for the stats, never served.
  bool forgotten = false;
  std::string title;
  Value input;             // the normalised input echo
  Value media_references;  // as sent
  bool safe_content_filter = true;
  std::string token_type, billing_mode, app_source;
  std::optional<double> max_units;
  double estimated_units = 0;
  double units_billed = 0;
  std::vector<StepRun> steps;
  size_t current = 0;
  std::vector<LoggedEvent> events;  // the authoritative log, sequence = index + 1
  std::vector<std::string> artifact_ids;
  std::string cloned_from;
  Value error;
  int64_t created_ms = 0, updated_ms = 0;
  std::string created_at, updated_at, completed_at;
  std::chrono::steady_clock::time_point due;  // next executor tick

  bool terminal() const {
    return status == "completed" || status == "failed" || status == "cancelled" || status == "partial_failure";
  }
  bool active() const { return status == "queued" || status == "running" || status == "waiting_for_user"; }
};

struct Caller {
  std::string key;     // the API key itself (never stored in records or logs)
  std::string owner;   // its fingerprint, used as the owner id
};

class World {
 public:
  World(SandboxConfig config, Faults* faults, const ToolCatalog* catalog, std::string base_url);

  std::mutex& mu() { return mu_; }
  std::condition_variable& changed() { return changed_; }
  const SandboxConfig& config() const { return config_; }
  Faults& faults() { return *faults_; }
  const std::string& base_url() const { return base_url_; }

  // Workflows (W1-W9). Each takes the lock itself.
  Reply StartWorkflow(const Caller& c, const Value& body, const std::string& idempotency_key);
  Reply ListWorkflows(const Caller& c, int64_t limit, int64_t offset);
  Reply GetWorkflow(const Caller& c, const std::string& id);
  Reply GetEvents(const Caller& c, const std::string& id, int64_t after);
  Reply ResumeWorkflow(const Caller& c, const std::string& id, const Value& body);
  Reply ReseedWorkflow(const Caller& c, const std::string& id, const Value& body, const std::string& idempotency_key);
  Reply CancelWorkflow(const Caller& c, const std::string& id);
  Reply ConfirmCost(const Caller& c, const std::string& id, const Value& body, const std::string& idempotency_key);

  // Templates (T1-T6).
  Reply ListTemplates(const Caller& c, const std::string& visibility, int64_t offset, int64_t limit);
  Reply GetTemplate(const Caller& c, const std::string& id);
  Reply CreateTemplate(const Caller& c, const Value& body);
  Reply UpdateTemplate(const Caller& c, const std::string& id, const Value& body);
  Reply DeleteTemplate(const Caller& c, const std::string& id);
  Reply ForkTemplate(const Caller& c, const std::string& id, const Value& body);

  // Media: uploads land here; artifacts are generated on demand. Both are served by object id.
  std::string StoreUpload(const std::string& owner, std::string content_type, std::string bytes);
  // Registers a generated artifact (its bytes are made on demand) and returns its id; used by the
  // projects socket for its job results.
  std::string AddArtifact(ArtifactSpec spec);
  // Bytes and content type of an object; false when unknown.
  bool MediaBytes(const std::string& object_id, std::string* bytes, std::string* content_type);
  // A signed, expiring URL for an object (30 minutes, as the API's).
  std::string SignedMediaUrl(const std::string& object_id) const;
  bool CheckSignature(const std::string& object_id, const std::string& expires, const std::string& signature) const;
  // A media answer is "in delivery" from before its first byte until it is known whether the
  // client got it all; Stats() waits (at most 500 ms) for every delivery to end, so a client that
  // has read an object and asks for the stats at once finds it counted. EndDelivery with `count`
  // records a response that delivered the object from byte 0 to its end (`resumed` false), or one
  // that completed a Range request starting after byte 0 (`resumed` true: the end of an earlier,
  // interrupted download, counted apart under resumedDownloads).
  void BeginDelivery();
  void EndDelivery(const std::string& object_id, bool count, bool resumed);
  // Upload slots. The caller names an upload by (jobId, type, imageId or id), as the API's upload
  // routes do; NewUploadSlot returns the token a later presigned POST or PUT fills, and
  // ObjectForKey the object it filled (for the download-URL routes), or "".
  std::string NewUploadSlot(const std::string& owner, const std::string& key, const std::string& content_type);
  bool FillUploadSlot(const std::string& token, const std::string& content_type, std::string bytes);
  std::string ObjectForKey(const std::string& owner, const std::string& key);

  // Streaming support: events after `after` and whether the stream should end after them
  // (terminal or waiting_for_user). Requires the lock held by the caller.
  bool FindWorkflowLocked(const Caller& c, const std::string& id, WorkflowRun** out);

  // The executor: advances every workflow whose tick is due; returns when the next is due.
  std::chrono::steady_clock::time_point AdvanceDue();

  // Admin.
  Value Stats();
  void Reset();
  Reply AuthoritativeEvents(const std::string& id);
  // The server forgets a workflow (it stops, and every route answers 404 for it). 404 if unknown.
  Reply Forget(const std::string& id);
  void CountRequest(const std::string& route, int status);
  // An event stream answered 200, counted when its first bytes go out (requests_ counts an
  // exchange when it ends, which for a stream is the end of the workflow).
  void CountStreamOpened();

  // Rate limiting per key; true when this request may go on.
  bool AllowRequest(const std::string& owner, int* retry_after);

  // Persistence: the whole world as JSON and back (media uploads included, base64).
  Value Snapshot();
  void Restore(const Value& snapshot);
  bool dirty() const { return dirty_; }
  void clear_dirty() { dirty_ = false; }

 private:
  Reply Error(int status, const std::string& message, Value details = Value()) const;
  Value WorkflowRecord(const WorkflowRun& w) const;
  Value ArtifactRecord(const ArtifactSpec& a) const;
  void Emit(WorkflowRun& w, const std::string& type, Value data, const std::string& message = "");
  void SetStatus(WorkflowRun& w, const std::string& status);
  void Tick(WorkflowRun& w);
  bool StepTick(WorkflowRun& w, StepRun& s);
  void ResolveDependencies(WorkflowRun& w, StepRun& s);
  void MakeArtifacts(WorkflowRun& w, StepRun& s);
  Reply CreateRun(const Caller& c, const Value& body, const Value* clone_of, const Value* seed_overrides,
                  std::string* new_id);
  int ActiveCount(const std::string& owner) const;
  std::string NewId(const std::string& prefix);
  WorkflowRun* Find(const std::string& id);
  void Touch(WorkflowRun& w);

  SandboxConfig config_;
  Faults* faults_;
  const ToolCatalog* catalog_;
  std::string base_url_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::condition_variable deliveries_ended_;
  int deliveries_ = 0;  // media answers whose delivery is not decided yet
  uint64_t id_counter_ = 0;
  std::map<std::string, std::unique_ptr<WorkflowRun>> workflows_;
  std::vector<std::string> workflow_order_;  // creation order
  struct Idempotent {
    std::string body;
    std::string workflow_id;
    Reply reply;
  };
  std::map<std::string, Idempotent> idempotency_;  // owner + "\n" + route + "\n" + key
  std::map<std::string, int64_t> created_per_key_;
  std::map<std::string, Value> templates_;        // id -> record (with ownerId)
  std::vector<std::string> template_order_;
  std::map<std::string, ArtifactSpec> artifacts_;
  struct Upload {
    std::string owner, content_type, bytes;
  };
  std::map<std::string, Upload> uploads_;
  struct Slot {
    std::string owner, key, content_type, object_id;
  };
  std::map<std::string, Slot> slots_;                 // token -> slot
  std::map<std::string, std::string> upload_keys_;    // owner + "\n" + key -> filled object id
  std::map<std::string, std::string> media_cache_;    // generated artifact bytes
  size_t media_cache_bytes_ = 0;
  std::map<std::string, std::map<int, int64_t>> requests_;
  int64_t streams_opened_ = 0;
  std::map<std::string, int64_t> downloads_;
  std::map<std::string, int64_t> resumed_downloads_;
  struct Bucket {
    int64_t second = 0;
    int count = 0;
  };
  std::map<std::string, Bucket> rate_;
  bool dirty_ = false;
};

// A success answer: {"status":"success","data":data}, with `status` as the HTTP status.
Reply Ok(Value data, int status = 200);

// "2026-11-23T15:45:47.123Z" for the current time.
std::string IsoNow();
int64_t NowMs();

}  // namespace sflow

#endif  // SFLOW_SANDBOX_WORLD_H_
