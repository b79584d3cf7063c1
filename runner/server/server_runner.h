// ServerRunner: runs one server plan as a durable workflow on /v1/creative-agent/workflows.
//
// Crash safety (docs/architecture.md), in the order things happen:
//   1. CreateServerRun (runner/intents.h) stores the run with its start intent: the exact body and
//      a fresh Idempotency-Key, committed before anything is sent.
//   2. Drive() sends the start through the intent protocol (runner/intents.h): an intent left
//      pending, sent or unknown by an earlier attempt is re-sent with the SAME key and body. At
//      the account's cap of active workflows it waits for a slot and sends again.
//   3. Events are followed over SSE from the stored cursor (Last-Event-ID and ?after=), through
//      SseParser and EventFollower, and stored with their cursor in batches (2000 events,
//      100 ms, or the end of a stream), each one transaction, committed by a thread of its own
//      while the stream is read on; the follower waits for every batch before it reconciles,
//      reconnects or returns. An event reaches the reporter (and --json) only once its batch is
//      committed, so a crash never makes a resumed run print an event twice. A stream that ends
//      without a terminal status is reopened with backoff (full jitter, Retry-After honoured);
//      holes are filled from GET .../events?after=cursor.
//   4. THE RULE: a run becomes terminal locally only after the events after its cursor have been
//      fetched to the end AFTER the terminal status was known: once a terminal status is seen (on
//      the stream or by a GET of the workflow), GET .../events is read until it brings nothing
//      new, and only then is the terminal status stored, with the final record's steps and
//      artifacts (one transaction).
//   5. Every artifact not done yet is downloaded (runner/artifact_download.h). An artifact that
//      cannot be saved fails the run's outcome (exit 1), never silently.
// A workflow the server no longer knows (404 on the stream and on a GET) ends the run failed,
// with the reason stored. ServerRunner is the RunDriver of server runs (runner/run_driver.h).
// Not thread-safe. The store, client and transport must outlive it.
#ifndef SFLOW_RUNNER_SERVER_SERVER_RUNNER_H_
#define SFLOW_RUNNER_SERVER_SERVER_RUNNER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "api/api_client.h"
#include "api/http_transport.h"
#include "api/retry_policy.h"
#include "engine/run_store.h"
#include "engine/status.h"
#include "engine/value.h"
#include "runner/intents.h"
#include "runner/group_committer.h"
#include "runner/progress.h"
#include "runner/run_driver.h"

namespace sflow {

struct ServerRunnerOptions {
  RunProgress* reporter = nullptr;   // progress lines and events (runner/progress.h); may be null
  bool start_only = false;           // --detach: send (or re-send) the start, store its answer, return
  bool download = true;              // false: follow and confirm the end, leave the artifacts (cancel)
  // A batch (its events and their cursor, one transaction, one fsync) is committed at
  // flush_events events, flush_interval after the last commit, the end of a stream, or sooner
  // when the process holds too much uncommitted event text (runner/group_committer.h). A batch
  // due while the one before it commits goes on growing, up to max_batch_events (checked after
  // each read, so a batch may pass it by one read's events); there (or when memory says so) the
  // stream is not read until the one before has committed. A batch left waiting while the
  // stream is quiet is committed on a poke of the stream (AsyncStream::Poke).
  std::chrono::milliseconds flush_interval{100};
  size_t flush_events = 2000;
  size_t max_batch_events = 16000;
  std::chrono::milliseconds backoff_base{100}, backoff_max{5000};
  std::chrono::milliseconds max_retry_after{60000};  // a stream's Retry-After is honoured up to this
  // While a stream's Retry-After is longer than this, the stream is not asked again before it has
  // passed, but the workflow and its log are read at this interval: the run still ends (and its
  // events are still stored) while the stream is refused.
  std::chrono::milliseconds log_poll_interval{5000};
  int max_stream_failures = 8;       // consecutive reconnects without progress before kUnavailable
  // Waiting for a slot under the account's cap of active workflows (409): full jitter up to this.
  std::chrono::milliseconds slot_wait_max{30000};
  // Every wait (backoff, Retry-After, slot) goes through this clock, in slices, so that Ctrl-C
  // ends it at once and tests need not sleep. nullptr = the real clock.
  RetryClock* clock = nullptr;
  // Test seam: called after the start intent is committed and before its POST. Returning false
  // stops Drive() there with kCancelled (as if the process had died).
  std::function<bool()> before_start_post;
  // Ctrl-C: when cancelled, the follower stops reading, commits what it has with its cursor and
  // Drive() returns kCancelled ("interrupted"); the workflow itself keeps running remotely.
  StreamCancel* cancel = nullptr;
  // The process's committer of event batches, shared by every run it follows
  // (runner/group_committer.h); null: each follow has one of its own.
  GroupCommitter* committer = nullptr;
};

class ServerRunner final : public RunDriver {
 public:
  ServerRunner(RunStore* store, ApiClient* client, HttpTransport* transport, ServerRunnerOptions options);

  // Takes the run as far as it goes: start (or re-send the open start), re-send an open cancel
  // or cost confirmation, follow, confirm, download. Errors: kPermission (auth), kUnavailable
  // (retry budget spent; resumable), kCancelled (Ctrl-C or the test hook), store errors, kIOError
  // for a download that cannot be written.
  Result<RunOutcome> Drive(const std::string& run_id) override;
  // Drive() as a coroutine on `ex`: while it waits on its event stream (read on the transport's
  // stream thread: HttpTransport::NewStream), a commit or a backoff, it holds no thread. Drive()
  // is this run on the calling thread.
  Task<Result<RunOutcome>> DriveAsync(const std::string& run_id, Executor& ex) override;

  // Downloads every stored artifact of the run that is not done yet (none twice), to `out_dir`
  // ("" = the run's own out dir). Needs only the transport: `client` may be null.
  Result<RunOutcome> DownloadMissing(const std::string& run_id, const std::string& out_dir = "") override;

  // Cancels the run's workflow through the intent protocol (RequestCancel of runner/intents.h:
  // an open cancel intent is re-sent, else a new one is recorded and sent). The error's message
  // is redacted by the client.
  Status RequestCancel(const RunRecord& run) override;

 private:
  Status Start(RunRecord* run);
  Status ResendOpenIntents(RunRecord* run);
  // Follows the event stream until the workflow has ended (or waits for a person) and every
  // event after the cursor has been fetched after that was known.
  Task<Status> Follow(RunRecord* run);
  // GET .../events?after=cursor until an answer brings nothing new; commits what it brings.
  Status CatchUp(RunRecord* run);
  // GET of the workflow; a terminal status is stored (with steps and artifacts) only after
  // CatchUp() following it.
  Status Confirm(RunRecord* run, RunOutcome* outcome);
  // The server no longer knows the workflow: the run ends failed with the reason stored.
  Result<RunOutcome> WorkflowGone(RunRecord* run, const Status& why);
  // Waits `d` unless cancelled; false when cancelled. WaitAsync waits on ex_'s timers (on the
  // options' clock, at once, when a test gives one).
  bool Wait(std::chrono::milliseconds d);
  Task<bool> WaitAsync(std::chrono::milliseconds d);
  void Say(const std::string& line);

  RunStore* store_;
  ApiClient* client_;
  HttpTransport* transport_;
  ServerRunnerOptions options_;
  std::string last_status_;
  bool caught_up_after_end_ = false;  // CatchUp() ran after a terminal status was known
  Executor* ex_ = nullptr;            // DriveAsync's
};

}  // namespace sflow

#endif  // SFLOW_RUNNER_SERVER_SERVER_RUNNER_H_
