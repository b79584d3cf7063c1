// ServerRunner: runs one server plan as a durable workflow on /v1/creative-agent/workflows.
//
// Crash safety (design.md section 6), in the order things happen:
//   1. CreateServerRun stores the run (status planned, account = key fingerprint, never the key).
//   2. Drive(): with no workflow id yet, the start intent (a fresh random Idempotency-Key and the
//      exact start body) is committed BEFORE the POST; an intent left pending/sent/unknown by an
//      earlier attempt is re-sent with the SAME key and body, never a new one. The answer's
//      workflow id and status queued are stored with MarkIntent(done) in one transaction.
//   3. Events are followed over SSE from the stored cursor (Last-Event-ID and ?after=), passed
//      through SseParser and EventFollower, and stored with their cursor in batches (2000 events,
//      100 ms, or the end of a stream), each one transaction committed by a thread of its own
//      while the stream is read on; the follower waits for every batch before it reconciles,
//      reconnects or returns. A stream that ends without a terminal status is reopened with
//      backoff (full jitter); holes are filled with GET .../events?after=cursor.
//   4. On a terminal or waiting_for_user status, one GET of the workflow confirms it; it is stored
//      with the artifacts of the final record.
//   5. Every artifact not done yet is streamed into <out>/<step>/.<n>.part (resumed with Range
//      when a part is there), then published as <out>/<step>/<n>.<ext>: fsync, link (never
//      overwriting), fsync dir; a provenance file beside it; MarkArtifact(done) with its size and
//      sha256; only then the part file goes.
// Not thread-safe. The store, client and transport must outlive the runner.
#ifndef SFLOW_CLI_SERVER_RUNNER_H_
#define SFLOW_CLI_SERVER_RUNNER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <ostream>
#include <string>

#include "api/api_client.h"
#include "api/http_transport.h"
#include "cli/run_reporter.h"
#include "engine/run_store.h"
#include "engine/status.h"
#include "engine/value.h"

namespace sflow {

struct NewServerRun {
  std::string plan_path, plan_name, plan_digest;
  Value params = Value::Object();
  Value start_body;          // engine/wire.h StartBody
  std::string account;       // AccountFingerprint(key)
  std::string out_dir;       // "" = ./sogni-out/<run id>
  std::vector<std::string> step_ids;
};

// Stores a new run (status planned) with a fresh id, then commits its start intent (a fresh random
// Idempotency-Key and the exact start body; run status submitting). Nothing is sent. Returns the
// run id. `run_id` may be given (tests); "" = MakeRunId(now, random).
Result<std::string> CreateServerRun(RunStore& store, const NewServerRun& run, std::string run_id = "");

// A fresh random Idempotency-Key ("sflow-" and 32 hex digits).
std::string NewIdempotencyKey();

// A reseed of the completed or partial_failure run `source` as a NEW local run: stores it (status
// planned, the source's plan, digest, account and steps; params gain "cloned_from_run" and
// "cloned_from_workflow"), then commits its reseed intent (a fresh Idempotency-Key and the exact
// body {"seed_overrides": ..., "app_source": "sogni-flow"}; run status submitting). Nothing is
// sent: Drive() posts it (and re-sends it with the same key after a crash), like a start.
Result<std::string> CreateReseedRun(RunStore& store, const RunRecord& source,
                                    const std::map<std::string, int64_t>& seed_overrides,
                                    const std::string& out_dir, std::string run_id = "");

// Asks the server to cancel the workflow of `run` (which has a workflow id): the cancel intent
// (a fresh Idempotency-Key) is committed first, the request is sent once (a cancel is never
// retried blindly: the intent is left unknown), and a non-terminal status it answers is stored
// with the intent's answer. A terminal one is left for the follower to confirm.
Result<WorkflowReply> RequestCancel(RunStore& store, ApiClient& client, const RunRecord& run);

// Gives up a run whose start (or reseed) request was never sent: its pending intent is marked
// done with {"abandoned": true} and the run cancelled, in one transaction, so that no later
// `resume` sends it. kConflict when the request may have been sent (intent sent or unknown), or
// the run has a workflow: then only a remote cancel can stop it.
Status AbandonUnsentStart(RunStore& store, const std::string& run_id);

struct ServerRunnerOptions {
  RunReporter* reporter = nullptr;   // progress lines and events (cli/run_reporter.h); may be null
  bool start_only = false;           // --detach: send (or re-send) the start, store its answer, return
  bool download = true;              // false: follow and confirm the end, leave the artifacts (cancel)
  // A batch (its events and their cursor, one transaction, one fsync) is committed at
  // flush_events events, flush_interval after the last commit, or the end of a stream.
  std::chrono::milliseconds flush_interval{100};
  size_t flush_events = 2000;
  std::chrono::milliseconds backoff_base{100}, backoff_max{5000};
  int max_stream_failures = 8;       // consecutive reconnects without progress before kUnavailable
  // Test seam: called after the start intent is committed and before its POST. Returning false
  // stops Drive() there with kCancelled (as if the process had died).
  std::function<bool()> before_start_post;
  // Ctrl-C: when cancelled, the follower stops reading, commits what it has with its cursor and
  // Drive() returns kCancelled ("interrupted"); the workflow itself keeps running remotely.
  StreamCancel* cancel = nullptr;
};

struct RunOutcome {
  RunStatus status = RunStatus::kUnknown;
  std::string waiting_reason;
  bool awaiting_cost_approval = false;
  int64_t events_stored = 0;        // every event stored for the run (counted at the end)
  int64_t artifacts_done = 0, artifacts_failed = 0;
};

class ServerRunner {
 public:
  ServerRunner(RunStore* store, ApiClient* client, HttpTransport* transport, ServerRunnerOptions options);

  // Takes the run as far as it goes: start (or re-send the pending start), follow, confirm,
  // download. Errors: kPermission (auth), kUnavailable (retry budget spent; resumable),
  // kCancelled (the test hook), store errors, kIOError for a download that cannot be written.
  Result<RunOutcome> Drive(const std::string& run_id);

  // Downloads every stored artifact of the run that is not done yet (none twice), to `out_dir`
  // ("" = the run's own out dir). Needs only the transport: `client` may be null.
  Result<RunOutcome> DownloadMissing(const std::string& run_id, const std::string& out_dir = "");

 private:
  Status Start(RunRecord* run);
  Status StartReseed(RunRecord* run, const IntentRecord& intent);
  // Sends a committed start or reseed intent through `send` (marked sent first; a re-send says
  // so) and stores the answer: the workflow id and status queued with the intent done. An error
  // among `refusals` fails the run; kUnavailable leaves the outcome unknown, for a later re-send
  // with the same key.
  Result<WorkflowReply> SendIntent(RunRecord* run, const IntentRecord& intent, const std::string& what,
                                   std::initializer_list<Status::Code> refusals,
                                   const std::function<Result<WorkflowReply>()>& send);
  Status Follow(RunRecord* run);
  Status Confirm(RunRecord* run, RunOutcome* outcome);
  Status Download(RunRecord* run, RunOutcome* outcome);
  void Say(const std::string& line);

  RunStore* store_;
  ApiClient* client_;
  HttpTransport* transport_;
  ServerRunnerOptions options_;
  std::string last_status_;
};

// The exit code (cli/exit_codes.h) for a run that ended with `outcome`.
int ExitCodeForOutcome(const RunOutcome& outcome);

}  // namespace sflow

#endif  // SFLOW_CLI_SERVER_RUNNER_H_
