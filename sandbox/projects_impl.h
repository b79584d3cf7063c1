// The projects hub's shared state and the members its .cc files define (projects.h has the
// contract). One hub lock (`mu`) guards the projects, the socket registry and the id counters.
// Each socket has a frame queue (its own small lock) and an eventfd; whoever changes a project's
// state enqueues the frames under the hub lock and pokes the eventfd, and the socket's handler
// thread, which ::poll()s the socket and the eventfd together, is the only writer to the socket.
// The scheduler thread advances every project one round when its step_ms is due, as the World's
// executor does for workflows. Artifacts are registered with the World (its own lock is taken
// inside the hub lock; the World never calls back into the hub).
//
// Files: project_wire (JSON, base64, frames), project_models (catalog and tiers),
// project_records (what REST and `authenticated` say about a project), project_admission
// (client frames: jobRequest, cancel, the rest), project_scheduler (a project's rounds),
// projects_socket (the WebSocket loop), project_routes (REST reads and ProjectsHub itself).
#ifndef SFLOW_SANDBOX_PROJECTS_IMPL_H_
#define SFLOW_SANDBOX_PROJECTS_IMPL_H_

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Net/WebSocket.h>

#include "engine/value.h"
#include "sandbox/project_models.h"
#include "sandbox/project_pricing.h"
#include "sandbox/project_wire.h"
#include "sandbox/projects.h"
#include "sandbox/routes.h"
#include "sandbox/world.h"

namespace sflow {
namespace hub {

using Clock = std::chrono::steady_clock;

constexpr int kMaxMedia = 64;   // numberOfImages above this is refused
constexpr int kMaxSteps = 500;  // steps above this are clamped (progress frames stay bounded)
constexpr int64_t kUnclaimedHoldMs = 3600 * 1000;  // "held server-side for one hour"
constexpr int kMaxAttempts = 3;  // jobRetry's maxAttempts: a job is requeued at most twice
constexpr int kServerRestarting = 1001;  // the jobError code (and close code) of a refusal while restarting

struct JobRun {
  std::string img_id;  // uppercase UUID
  int index = 0;
  std::string status = "queued";  // RawJob statuses: queued .. jobCompleted | jobError
  std::string reason;
  int step = 0;
  uint32_t seed = 0;
  bool fails = false;  // step_fail chose this job
  bool hostile_url = false;  // hostile_result_url chose this job's project: its result URL is file://
  int attempt = 1;     // render attempts; retry_storm requeues a job under a new img_id
  // result_first chose this job: its states and progress (the frames with its jobIndex) are held
  // back and sent right after its jobResult (or before its jobError or jobRetry).
  bool result_first = false;
  std::vector<std::pair<std::string, Value>> held;
  std::string artifact_id;
  int64_t create_ms = 0, start_ms = 0, update_ms = 0, end_ms = 0;
  bool finished() const { return status == "jobCompleted" || status == "jobError"; }
};

struct ProjectRun {
  std::string id;  // uppercase
  int64_t sid = 0;
  std::string owner, app_id, key;  // key: the socket registry's key (account and appId)
  std::string app_source, network, token_type, billing_mode;
  Value request;  // the jobRequest payload as sent
  const ModelInfo* model = nullptr;
  std::string kind;  // image | video | audio
  int steps = 1, previews = 0;
  int width = 0, height = 0, frames = 0, fps = 0;
  double seconds = 0;
  std::string size_preset;
  std::string format, mime, extension;  // what the results are (format as outputFormat names it)
  std::string status = "queued";        // queued | processing | completed | failed | canceled
  std::string reason;
  std::string worker;
  int queue_left = 0;  // rounds still to wait in the queue (the queue_rounds fault)
  double held = 0;     // the quote, held on the account from admission until the project ends
  double charged = 0;  // what the account paid for it (settled when it ended)
  QuoteInput quote_in;  // what the request asks for, in the estimate routes' terms
  Quote quote;          // its price at admission (project_pricing.h): the bill when every job completes
  std::vector<JobRun> jobs;
  int64_t create_ms = 0, update_ms = 0, end_ms = 0;
  bool claimed = true;  // false: finished with no socket of its appId open; `authenticated` delivers it once
  Clock::time_point due;
  bool finished() const { return status == "completed" || status == "failed" || status == "canceled"; }
};

struct Conn {
  std::string owner, app_id, key, username, address;
  int wake_fd = -1;
  std::mutex mu;  // guards out and switched (a leaf lock: nothing is taken inside it)
  std::deque<std::string> out;
  bool switched = false;  // a newer socket of the same account and appId took over
  bool restarting = false;  // restart_refusal: close with 1001 once the queued frames are out
  std::string network = "fast";
  Value subscriptions = Value::Object();

  void Push(std::string frame) {
    {
      std::lock_guard<std::mutex> lock(mu);
      out.push_back(std::move(frame));
    }
    Wake();
  }
  void Wake() const {
    uint64_t one = 1;
    ssize_t n = ::write(wake_fd, &one, sizeof one);
    (void)n;  // a full counter already means "wake up"
  }
};


// The query parameter `key`, or "".
inline std::string Q(const RouteContext& ctx, const std::string& key) {
  auto it = ctx.query.find(key);
  return it == ctx.query.end() ? "" : it->second;
}

}  // namespace hub

struct ProjectsHub::Impl {
  using ProjectRun = hub::ProjectRun;
  using JobRun = hub::JobRun;
  using Conn = hub::Conn;

  World* world;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  std::thread scheduler;
  uint64_t counter = 0;       // UUIDs
  uint64_t conn_counter = 0;  // keys of sockets without an appId
  int64_t next_sid = 1000;
  std::map<std::string, std::unique_ptr<ProjectRun>> projects;  // by uppercase id
  std::set<std::string> active;                                 // ids not finished
  std::map<std::string, std::shared_ptr<Conn>> conns;           // by key
  struct Ledger {
    double settled_spark = 0, settled_sogni = 0;  // what the account owns
    double held_spark = 0, held_sogni = 0;        // quotes of its running projects ("debit")
  };
  std::map<std::string, Ledger> ledgers;
  bool dirty = false;  // something Snapshot() covers changed since the saver last looked
  std::set<std::string> restart_refused;  // jobIDs refused once by restart_refusal: their resend is admitted  // by owner; made on first sight with the initial balance

  explicit Impl(World* w) : world(w) {}

  // project_records.cc
  enum class Flavor { kV1, kV2, kRecovered };
  void EmitLocked(const ProjectRun& p, const std::string& type, const Value& payload);
  static void Send(Conn& c, const std::string& type, const Value& payload);
  Value AuthenticatedLocked(Conn& c);
  static Value SwarmModels();
  Value CostLocked(const ProjectRun& p, size_t jobs) const;
  Value JobRecord(const ProjectRun& p, const JobRun& j) const;
  // RawProject (src/Projects/types/RawProject.ts) for v1; the v2 lookup's normalized status and
  // `finished`; or a RecoveredProject (authenticated, projects/sync).
  Value RecordLocked(const ProjectRun& p, Flavor flavor) const;
  // Where a finished job's result is announced: its signed media URL, or file:///etc/passwd
  // under the hostile_result_url fault.
  std::string ResultUrlLocked(const JobRun& j) const;

  // project_accounts.cc: balances. A project's quote is held at admission (refused when the
  // account's net balance is short) and settled when it ends: the held amount released, the
  // completed jobs' share of the quote paid. Each change sends balanceUpdate to the account's sockets.
  Ledger& LedgerLocked(const std::string& owner);
  // `full`: the REST shape (FullBalances, with unclaimed and premiumCredit); else the socket's.
  Value BalancesLocked(const std::string& owner, bool full);
  void SendBalanceLocked(const std::string& owner);
  // False (nothing held) when the account's net balance is below the quote. Sends nothing: the
  // caller sends balanceUpdate once the project's `queued` frame is out.
  bool HoldLocked(ProjectRun& p, std::string* why);
  void SettleLocked(ProjectRun& p);
  void Balance(RouteContext& ctx);       // GET /v4/account/balance
  void AdminBalance(RouteContext& ctx);  // POST /_sandbox/balance

  // project_admission.cc
  std::string NewUuidLocked();
  void RejectJob(Conn& c, const std::string& id, const std::string& code, const std::string& message);
  void CreateLocked(Conn& c, const Value& req);
  void CancelLocked(Conn& c, const Value& msg);
  // One text frame from the client. Malformed frames are ignored, as the socket server does.
  void HandleClientFrame(Conn& c, const std::string& text);

  // project_scheduler.cc
  void AdvanceLocked(ProjectRun& p);
  // One round of one unfinished job: onto a worker, started, a step, its result.
  void AdvanceJobLocked(ProjectRun& p, JobRun& j, int64_t now);
  // The frames that tell a socket where a project is now (a jobRequest re-sent for a known jobID).
  void ReplayLocked(Conn& c, const ProjectRun& p);
  void RunScheduler();

  // projects_socket.cc
  static void CloseWith(Poco::Net::WebSocket& ws, int code, const std::string& reason);
  // Runs one socket until it ends. Only this thread writes to it.
  void Run(RouteContext& ctx, Poco::Net::WebSocket& ws, Conn& c);
  void ServeSocket(RouteContext& ctx);

  // project_persistence.cc
  Value SnapshotLocked() const;
  void RestoreLocked(const Value& snap);

  // project_routes.cc
  bool RequireAuth(RouteContext& ctx);
  void GetProject(RouteContext& ctx, const std::string& raw_id, bool v2);
  // The download-URL routes when jobId names a project; false leaves them to the upload routes.
  bool DownloadUrl(RouteContext& ctx, const std::vector<std::string>& seg);
  void Sync(RouteContext& ctx);
  void Active(RouteContext& ctx);
  void ModelsList(RouteContext& ctx);
  void Reset();
};

}  // namespace sflow

#endif  // SFLOW_SANDBOX_PROJECTS_IMPL_H_
