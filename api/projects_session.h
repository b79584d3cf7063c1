// ProjectsSession: the one projects socket of an appId, shared by every run of the process.
//
// A reader thread owns the connection: it opens it (through `connect`, so tests hand in fakes),
// decodes each frame (projects_frames.h) and routes it by project to the ProjectInbox that
// subscribed to it, answers nothing itself, and pings every ping_interval. Routing:
//   * a frame whose data has a string `jobID` goes to that project's inbox (ids compare in upper
//     case: jobResult, jobError, jobRetry, jobState, jobProgress, jobETA and
//     artistCancelConfirmation all carry the project id as jobID, the job id as imgID);
//   * `authenticated` is account-level, but names projects: each project in its activeProjects or
//     unclaimedCompletedProjects gets an `authenticated` frame whose data holds just those two
//     lists, reduced to that project (so 1,000 recovered projects cost 1,000 small frames, not
//     1,000 copies of the whole list); the account inboxes get the whole frame;
//   * every other frame (balanceUpdate, swarmModels, toastMessage, ...) goes to account inboxes.
// Frames for a project nobody has subscribed to are kept, in order, and handed over on Subscribe
// (a resumed run subscribes after the server has already replayed its unclaimed results); at
// most max_buffered_per_project frames per project, and max_buffered_frames and
// max_buffered_bytes (of their wire text) in all: newer ones are dropped and counted (a server
// sending large frames about a project this process never made could fill its memory). Frames
// for a project that was unsubscribed are dropped.
//
// Reconnect: a connection that closes or breaks (any close but a 4xxx) is opened again after
// the SDK's backoff (1 s doubling to 15 s, +-20% jitter), waited through `clock`. Each new
// connection, once authenticated, first puts a kReconnected notice in every inbox (the runner
// then re-checks its projects: frames sent while no socket was open are lost). The session gives
// up, with a kSessionFailed notice in every inbox (and in every later one), when a close has a
// 4xxx code (4021: the key was refused; kPermission, at once), when opening fails with
// kSecurity, kPermission or kInvalidPlan, or after max_failed_connects opens in a row that did
// not reach `authenticated`.
//
// Thread-safe. The destructor (or Shutdown) closes the connection and joins the reader.
#ifndef SFLOW_API_PROJECTS_SESSION_H_
#define SFLOW_API_PROJECTS_SESSION_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "api/project_frame.h"
#include "api/projects_socket.h"
#include "api/retry_policy.h"
#include "engine/status.h"

namespace sflow {

enum class SessionEventKind {
  kFrame,          // `frame` is a server frame for this inbox
  kReconnected,    // a new connection is up: frames may have been lost meanwhile
  kSessionFailed,  // the session gave up; `status` says why. Nothing follows.
};

struct SessionEvent {
  SessionEventKind kind = SessionEventKind::kFrame;
  ProjectFrame frame;  // kFrame
  Status status;       // kSessionFailed
};

// A run's queue of events, filled by the session's reader thread. Unbounded: its owner drains
// it. Thread-safe.
class ProjectInbox {
 public:
  // Blocks up to `wait` for something to arrive; returns everything queued (possibly nothing).
  std::vector<SessionEvent> Wait(std::chrono::milliseconds wait);
  void Push(SessionEvent event);
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable arrived_;
  std::deque<SessionEvent> queue_;
};

struct ProjectsSessionOptions {
  std::chrono::milliseconds reconnect_base{1000};  // the SDK's WS_RECONNECT_BASE_DELAY_MS
  std::chrono::milliseconds reconnect_max{15000};  // and WS_RECONNECT_MAX_DELAY_MS
  int max_failed_connects = 8;                     // opens in a row that never authenticated
  std::chrono::milliseconds ping_interval{15000};  // the SDK's PING_INTERVAL
  std::chrono::milliseconds receive_slice{250};    // the reader's wait per ReceiveText
  std::chrono::milliseconds send_wait{60000};      // Send()'s wait for an authenticated socket
  size_t max_buffered_frames = 65536;
  size_t max_buffered_per_project = 1024;
  size_t max_buffered_bytes = size_t{32} << 20;
  std::optional<uint64_t> seed;                    // backoff jitter
};

// What the last `authenticated` frame listed, upper-cased ids in the server's order.
struct ListedProjects {
  bool known = false;  // false until a connection was authenticated
  std::vector<std::string> active;
  std::vector<std::string> unclaimed;
};

class ProjectsSession {
 public:
  using Connect = std::function<Result<std::unique_ptr<ProjectsConnection>>()>;

  // Starts the reader thread, which connects at once. `clock` (sleeps between reconnects, ping
  // times) must outlive the session; null is the real clock.
  ProjectsSession(Connect connect, RetryClock* clock, ProjectsSessionOptions options = ProjectsSessionOptions());
  ~ProjectsSession();
  ProjectsSession(const ProjectsSession&) = delete;
  ProjectsSession& operator=(const ProjectsSession&) = delete;

  // Frames of `project_id` (any case) go to `inbox` from now on, after the ones kept for it.
  // One inbox may serve many projects. After the session failed, the inbox gets kSessionFailed.
  void Subscribe(const std::string& project_id, std::shared_ptr<ProjectInbox> inbox);
  void Unsubscribe(const std::string& project_id);
  // Frames that name no project (and whole `authenticated` frames), and the notices.
  void SubscribeAccount(std::shared_ptr<ProjectInbox> inbox);

  // Sends one frame (EncodeProjectFrame) on the current connection once it is authenticated,
  // waiting through a reconnect up to options.send_wait. kUnavailable when no connection came in
  // time or the write failed (the frame may or may not have reached the server), the session's
  // Status after it failed, kCancelled after Shutdown.
  Status Send(const std::string& frame_text);

  ListedProjects LastListed() const;
  Status failure() const;          // OK while the session lives
  int connections() const;         // connections opened so far
  int64_t malformed_frames() const;  // frames that did not decode (skipped, as the SDK does)
  int64_t dropped_frames() const;    // frames not kept: buffers full, or unsubscribed projects

  // Closes the connection and joins the reader; inboxes get nothing more. Idempotent.
  void Shutdown();

 private:
  void Run();
  // Reads `conn` until it ends; the Status of its end (or OK when shutting down).
  Status ReadUntilEnd(ProjectsConnection& conn, bool* authenticated);
  void Route(ProjectFrame frame, size_t wire_bytes);
  void RouteToProject(const std::string& id, ProjectFrame frame, size_t wire_bytes);  // mu_ held
  void NotifyAll(const SessionEvent& event);                       // mu_ held
  void Fail(Status why);
  bool Backoff(int attempt);  // false when shutting down

  Connect connect_;
  RetryClock* clock_;
  ProjectsSessionOptions options_;
  std::mt19937_64 rng_;  // reader thread only

  mutable std::mutex mu_;
  std::condition_variable changed_;  // conn_/authenticated_/failed_/stopping_
  std::shared_ptr<ProjectsConnection> conn_;
  bool authenticated_ = false;
  bool stopping_ = false;
  Status failed_;
  int connections_ = 0;
  int64_t malformed_ = 0, dropped_ = 0;
  size_t buffered_ = 0, buffered_bytes_ = 0;
  std::map<std::string, std::shared_ptr<ProjectInbox>> routes_;
  struct Kept {
    ProjectFrame frame;
    size_t bytes;  // its wire text's
  };
  std::map<std::string, std::deque<Kept>> pending_;
  std::set<std::string> unsubscribed_;
  std::vector<std::shared_ptr<ProjectInbox>> account_;
  ListedProjects listed_;
  std::thread reader_;
};

}  // namespace sflow

#endif  // SFLOW_API_PROJECTS_SESSION_H_
