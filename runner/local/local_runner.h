// LocalRunner: runs a local plan (execution: local) as a DAG of direct projects. The RunDriver of
// local runs (runner/run_driver.h).
//
// Crash safety (docs/architecture.md), in the order things happen for one step:
//   1. The step's inputs are gathered: media files and upstream artifacts, each checked against
//      the sha256 the store (or the run's spec) holds for it.
//   2. Cache: a step whose key (runner/local/step_cache.h) has a completed project with verified
//      files anywhere in the state directory is not run again: its files are copied in, at no cost.
//   3. A project id (uppercase UUID) is chosen and the project, with its exact jobRequest, is
//      committed (state pending) BEFORE anything is uploaded or sent; the steps started in one
//      scheduling round are committed in one transaction.
//   4. Inputs are uploaded under that id (a signed PUT: sending it again is harmless), then the
//      jobRequest goes out. "Sent" needs no commit of its own (resume looks a pending project up
//      just as a sent one): it is stored with the next commit.
//   5. News are committed with the run's event log in one transaction per round, before they
//      are reported. A job's result is stored as an artifact (its URL minted when absent).
//   6. When the project completes, the project is looked up once more (the results a dropped
//      socket missed, the charge) and every artifact is downloaded, published and synced
//      (runner/artifact_download.h); only then are the files, the project and the step stored
//      as done, in one commit with the other steps that ended in the same round.
// On resume, a project left pending or sent is looked up first: a project the server knows is
// re-attached (never sent again); one it does not know is sent again, the same request under the
// same id. So one step never has two paid projects.
//
// Steps run as soon as their inputs exist, up to `jobs` at once, in plan order among the ready
// ones. A failed step skips its dependants; independent branches finish; the run ends
// partial_failure (some steps completed) or failed (none). Not thread-safe.
#ifndef SFLOW_RUNNER_LOCAL_LOCAL_RUNNER_H_
#define SFLOW_RUNNER_LOCAL_LOCAL_RUNNER_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/http_transport.h"
#include "api/retry_policy.h"
#include "engine/run_store.h"
#include "runner/local/dag_scheduler.h"
#include "runner/local/local_spec.h"
#include "runner/local/project_service.h"
#include "runner/progress.h"
#include "runner/run_driver.h"

namespace sflow {

struct LocalRunnerOptions {
  RunProgress* reporter = nullptr;
  StreamCancel* cancel = nullptr;     // Ctrl-C / --timeout: stop, commit, return kCancelled
  RetryClock* clock = nullptr;        // downloads' waits; nullptr = the real clock
  int jobs = 4;                       // projects in flight at once
  bool use_cache = true;              // --no-cache: false
  bool start_only = false;            // --detach: send what is ready, store it, stop
  std::chrono::milliseconds poll{200};  // how long one Wait() blocks
  // A run with projects in flight and no news for this long looks its projects up (a socket that
  // lost frames without dropping).
  std::chrono::milliseconds quiet_check{30000};
  // How often a project that brings no news by itself is looked up: one sent under another
  // process's appId (a resumed run), or one whose end the lookup did not show yet.
  std::chrono::milliseconds lookup_interval{2000};
  // The appId this process's socket uses ("" = the state directory's stored one).
  std::string app_id;
  // Test seam: called after a project is committed and before its jobRequest is sent; returning
  // false stops Drive() there with kCancelled (as if the process had died).
  std::function<bool()> before_send;
};

class LocalRunner final : public RunDriver {
 public:
  // `store`, `service` and `transport` (downloads) must outlive the runner.
  LocalRunner(RunStore* store, ProjectService* service, HttpTransport* transport, LocalRunnerOptions options);

  Result<RunOutcome> Drive(const std::string& run_id) override;
  Result<RunOutcome> DownloadMissing(const std::string& run_id, const std::string& out_dir) override;
  // Cancels every project of the run that is in flight (jobError artistCanceled) and records the
  // request, so that whoever drives the run starts nothing more.
  Status RequestCancel(const RunRecord& run) override;

 private:
  struct InFlight {
    size_t step = 0;
    std::set<std::string> failed_jobs{};  // by imgID (or index): a duplicated frame counts once
    bool started = false;  // a job reached a worker (reported and stored once)
    // Sent under another process's appId: the socket never brings its news, so it is looked up.
    bool foreign = false;
    // Its end was announced but the lookup did not show it yet: looked up again from then on.
    bool ending = false;
    std::string key{};               // the step's cache key (provenance: argumentsDigest)
    int refusals = 0;      // times the server refused it while restarting (kept across resends)
    int resends = 0;       // times it was sent again because the server did not know it
    bool closing = false;  // its files are saved; its end waits for CloseSteps()
  };
  // Refusals, or resends of a project the server keeps losing, before its step fails.
  static constexpr int kMaxRefusals = 3;
  // A step's input files by parameter and position, and what is read of them before a send.
  struct InputFile {
    std::string path, sha256;
    MediaKind kind = MediaKind::kUnknown;
  };
  using InputFiles = std::map<std::pair<std::string, int64_t>, InputFile>;
  struct InputBytes {
    std::map<std::pair<std::string, int64_t>, std::string> bytes;
    MediaContentTypes types;
  };
  // A step whose project is built and not yet recorded, waiting for LaunchSteps().
  struct Starting {
    size_t step = 0;
    ProjectRecord project;
    Value params;        // with the step's bindings resolved
    InputFiles uploads;  // read again (and checked again) to be sent
  };
  // A step whose project completed and whose files are saved, waiting for CloseSteps().
  struct Closing {
    std::string project_id;
    size_t step = 0;
    StepRecord done;
    std::optional<double> charge;
    std::vector<ArtifactRecord> saved;
  };
  const ArtifactRecord* SourceArtifact(const SpecBinding& b) const;
  Status ReadUploads(const Value& params, const InputFiles& sources, InputBytes* out);
  Status SendUploads(const std::string& project_id, const Value& params, const InputBytes& in);
  Status Load(const std::string& run_id);
  Status Reattach(const ProjectRecord& project, size_t step);
  // Readies a step: its inputs checked, its request built, the cache asked; a step that must run
  // waits in starting_ for LaunchSteps().
  Status StartStep(size_t step);
  Status LaunchSteps();
  Status Submit(size_t step, const std::string& project_id, const std::string& request, const Value& params, bool resend);
  Status SendAgain(const std::string& project_id, size_t step);
  Status UseCache(size_t step, const ProjectRecord& cached, bool* used);
  Status Handle(const std::vector<ProjectNews>& news);
  // The project ended remotely (completed, failed or cancelled): reconcile with a lookup,
  // download, and end the step.
  Status Conclude(const std::string& project_id, const RemoteProject* known);
  Status CloseSteps();
  Status CloseStepsThen(Status failure);
  Result<int> RefreshUrls(const std::string& project_id, const SpecStep& step, const RemoteProject& remote);
  // Stores the marks of files saved outside a step's end (one commit), then removes their part
  // files and keeps them as the run's artifacts; *marked comes back empty.
  Status StoreSaved(std::vector<ArtifactRecord>* marked);
  // Ends the step (failed or cancelled) with its project ("" for a step whose request could not
  // be made: it never had one), storing `saved` (files downloaded or
  // given up before the end) in the same commit. `charge`: what the project cost, when it was
  // paid although the step failed here (its files could not be saved): shown by `status`.
  Status EndStep(size_t step, const std::string& project_id, ProjectState how, const std::string& error,
                 std::vector<ArtifactRecord> saved = {}, std::optional<double> charge = std::nullopt);
  Status CheckQuiet();
  Result<RunOutcome> Finish();
  void Say(const std::string& line);
  void Report(const Value& record);
  Status Commit(EventBatch* batch);
  // Every store write of a drive goes through Write() or WithDeferred(), so that deferred_
  // lands before anything that follows it.
  Status Write(RunUpdate u);
  RunUpdate WithDeferred(RunUpdate u);
  std::string StepId(size_t step) const { return spec_.steps[step].id; }

  RunStore* store_;
  ProjectService* service_;
  HttpTransport* transport_;
  LocalRunnerOptions options_;

  RunRecord run_;
  LocalSpec spec_;
  std::unique_ptr<DagScheduler> dag_;
  std::string app_id_;
  std::map<std::string, InFlight> inflight_;          // by project id
  std::map<std::string, ArtifactRecord> artifacts_;   // by remote id: what the store holds
  // Other runs' artifacts (by run, then remote id), read once for the cache (UseCache).
  std::map<std::string, std::map<std::string, ArtifactRecord>> other_artifacts_;
  std::vector<std::string> step_errors_;              // per step: why it failed ("" if it did not)
  int64_t sequence_ = -1;                             // the last event sequence stored
  std::vector<Value> pending_reports_;                // reported once their batch is committed
  // Changes that need no commit of their own (a project sent, its step queued: resume looks a
  // pending project up just as a sent one), stored with the next commit, ahead of its changes.
  RunUpdate deferred_;
  std::vector<Starting> starting_;                    // readied this round, launched by LaunchSteps()
  std::vector<Closing> closing_;                      // concluded this round, committed by CloseSteps()
  std::chrono::steady_clock::time_point last_news_, last_lookup_;
};

// A fresh project id: an uppercase UUIDv4, as the SDK makes them.
std::string NewProjectId();

}  // namespace sflow

#endif  // SFLOW_RUNNER_LOCAL_LOCAL_RUNNER_H_
