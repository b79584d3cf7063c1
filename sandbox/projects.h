// ProjectsHub: the sandbox's projects socket and the REST reads that go with it.
//
// Direct projects (image, video and audio generation) are created only over the socket, as on
// socket.sogni.ai (docs/api-contract.md section 7). The hub answers:
//
//   - the WebSocket upgrade, on any path (`ws://HOST/?appId=...&clientType=artist`). The `api-key`
//     header (or `Authorization: Bearer`) must be one of the sandbox's keys; otherwise the upgrade
//     is accepted and at once closed with 4021 (the SDK's AUTH_ERROR, not recoverable). Every
//     server frame is text `{"type":T,"data":base64(utf8(JSON))}`; the first two are
//     `authenticated` and `swarmModels`. Client frames: `jobRequest`, `jobError` (cancel with
//     error "artistCanceled", answered by `artistCancelConfirmation`), `changeNetwork`,
//     `setSocketEventSubscriptions`, `llmJobRequest` (refused: no LLM workers). Pings get pongs.
//   - GET /v1/projects/:id (404 until the project finished), GET /v2/projects/:id (live),
//     GET /v1|v2/image|media/downloadUrl when jobId names a project (type complete),
//     GET /api/v1/models/list and /api/v2/models/tiers (bare JSON, no key needed),
//     GET /api/v1/status/network/:network/models, GET /v1/subscriptions/status,
//     GET /api/v1/artist/projects/sync and /api/v1/artist/projects/active.
//
// A project belongs to the key's account and to the socket's appId. It runs on the hub's
// scheduler, one round of events every step_ms: jobState queued; jobState assigned and
// initiatingModel per job; jobStarted per job; jobProgress per step and job; jobResult per job
// (resultUrl a signed sandbox media URL of a real PNG/JPEG, MP4 or WAV registered with
// World::AddArtifact); jobState jobCompleted. A project outlives its socket: events go to the
// newest socket of the same account and appId (a second one replaces the first, which is closed
// with 4015), and `authenticated` lists the appId's in-flight projects (activeProjects) and, once,
// those that finished while it had no socket (unclaimedCompletedProjects).
//
// Faults (faults.h): socket_drop_after, socket_duplicate, step_fail, retry_storm,
// restart_refusal, omit_result_url, queue_rounds. Balances: project_accounts.cc.
//
// Thread-safe. The socket's handler thread owns its connection until it closes; it alone writes
// to it, draining a per-connection queue that the scheduler and the receive side fill under one
// lock, so frames go out in the order the project's state changed.
#ifndef SFLOW_SANDBOX_PROJECTS_H_
#define SFLOW_SANDBOX_PROJECTS_H_

#include <memory>

#include "engine/value.h"

namespace sflow {

class World;
struct RouteContext;

class ProjectsHub {
 public:
  // Starts the scheduler thread. `world` must outlive the hub.
  explicit ProjectsHub(World* world);
  ~ProjectsHub();  // stops
  ProjectsHub(const ProjectsHub&) = delete;
  ProjectsHub& operator=(const ProjectsHub&) = delete;

  // Answers the request when it is one of the hub's (see above) and returns true; false leaves it
  // to the other routes. A WebSocket upgrade returns only when that socket has closed (the peer
  // left, a fault dropped it, or ctx.stopping was set). POST /_sandbox/reset also forgets every
  // project, then returns false so the admin route answers it.
  bool Route(RouteContext& ctx);

  // Stops the scheduler. Open sockets end by themselves once ctx.stopping is set. Idempotent.
  void Stop();

  // Persistence (--data-dir): projects, account balances and id counters as JSON, and back. A
  // restored project that had not finished goes on from its next round; its frames go to the
  // next socket of its account and appId. Restore before any socket connects.
  Value Snapshot();
  void Restore(const Value& snapshot);
  // True once since the last call when anything Snapshot() covers changed.
  bool TakeDirty();

  // For GET /_sandbox/stats: `projectsCreated`, the projects admitted since the start (or the
  // last reset; with --data-dir, across restarts). A jobRequest for a known jobID, a refused one
  // (restart_refusal, insufficient funds, an unknown model) creates none.
  void AddStats(Value* stats);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sflow

#endif  // SFLOW_SANDBOX_PROJECTS_H_
