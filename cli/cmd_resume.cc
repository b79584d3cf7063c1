// sogni-flow resume RUN...|--all : re-attaches to stored runs from their intents and event cursors.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/http_url.h"
#include "cli/backend.h"
#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/drive_and_report.h"
#include "cli/exit_codes.h"
#include "cli/settings.h"
#include "cli/state_access.h"
#include "runner/approval.h"
#include "runner/sha256.h"

namespace sflow {

namespace {

// The runs `resume --all` takes up: every run not ended (waiting_for_user ones need a person and
// are only listed), and every ended run with an artifact not downloaded yet. Oldest first.
Result<std::vector<RunRecord>> RunsToResume(RunStore& store, std::vector<RunRecord>* waiting) {
  Result<std::vector<RunRecord>> all = store.ListRuns({});
  if (!all.ok()) return all.status();
  std::vector<RunRecord> out;
  for (auto it = all->rbegin(); it != all->rend(); ++it) {
    if (it->status == RunStatus::kWaitingForUser) {
      waiting->push_back(*it);
      continue;
    }
    bool take = !IsTerminal(it->status);
    if (!take) {
      Result<std::vector<ArtifactRecord>> arts = store.ListArtifacts(it->id);
      if (!arts.ok()) return arts.status();
      for (const ArtifactRecord& a : *arts) take = take || a.state != ArtifactState::kDone;
    }
    if (take) out.push_back(*it);
  }
  return out;
}

}  // namespace

int RunResume(const std::vector<std::string>& args, Context& ctx) {
  bool all = false;
  BackendOptions backend_options;
  DriveFlags flags;
  DriveOptions& drive = flags.options;
  std::string state_dir;
  CommandLine cl("resume RUN... | --all [-j N] [-q] [--timeout D] [--cancel-on-interrupt] [--state-dir DIR]\n"
                 "    [--sandbox | --api-url URL] [--api-key-file FILE] [--json]",
                 "Continues runs where they stopped: a start request whose answer was never stored is sent\n"
                 "again with the SAME Idempotency-Key (the server then creates nothing twice); a started\n"
                 "workflow is followed from the stored event cursor; missing artifacts are downloaded.\n"
                 "--all takes up every unfinished run of the state directory (and finished ones with files\n"
                 "still to download); runs waiting for a person are listed, not resumed.\n"
                 "The API key must be each run's account (checked by fingerprint).");
  cl.Flag("all", "", "every unfinished run of the state directory", &all);
  cl.Flag("json", "", "one JSON object per workflow event on stdout, then a summary", &drive.json);
  flags.Register(cl);
  cl.Value("state-dir", "", "DIR", "the state directory (default: the state_dir setting, see config; ./.sogni-flow)", &state_dir);
  cl.Flag("sandbox", "", "use a fresh in-process simulator (it knows no earlier workflow)", &backend_options.sandbox);
  cl.Value("api-url", "", "URL", "the API (default: the api_url setting, see config; https://api.sogni.ai)", &backend_options.api_url);
  cl.Value("api-key-file", "", "FILE", "read the API key from FILE (mode 0600)", &backend_options.api_key_file);
  cl.Epilog("exit codes: as for run; with several runs the worst run's code; 0 when --all finds nothing\n\n"
            "examples:\n"
            "  sogni-flow resume r-20261123-101500-3f2a\n"
            "  sogni-flow resume --all -j 4          # e.g. from cron after a reboot\n");
  std::vector<std::string> runs;
  Status s = cl.Parse(args, &runs);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow resume: " << s.message() << "\n", kExitInvalid;
  if (all == !runs.empty()) return ctx.err << "sogni-flow resume: give run ids or --all (see --help)\n", kExitInvalid;
  if (Status d = flags.Finish(Configured(ctx, SettingKey::kJobs)); !d.ok())
    return ctx.err << "sogni-flow resume: " << d.message() << "\n", kExitInvalid;

  drive.hint_args = StateDirHint(state_dir);
  Result<std::unique_ptr<StateDir>> dir = OpenState("resume", state_dir, StateAccess::kWrite, ctx);
  if (!dir.ok()) {
    ctx.err << "sogni-flow resume: " << dir.status().message() << "\n";
    if (dir.status().code() == Status::Code::kIOError) {  // the local disk: the same command, later
      ctx.err << "resume with: sogni-flow resume";
      for (const std::string& id : runs) ctx.err << " " << id;
      ctx.err << (all ? " --all" : "") << drive.hint_args << "\n";
    }
    return ExitCodeFor(dir.status());
  }
  RunStore& store = (*dir)->store();
  std::vector<RunRecord> records;
  if (all) {
    std::vector<RunRecord> waiting;
    Result<std::vector<RunRecord>> found = RunsToResume(store, &waiting);
    if (!found.ok()) return ctx.err << "sogni-flow resume: " << found.status().message() << "\n", ExitCodeFor(found.status());
    for (const RunRecord& w : waiting)
      ctx.err << w.id << ": waiting for a person (" << (w.waiting_reason.empty() ? "waiting_for_user" : w.waiting_reason)
              << "); see sogni-flow status " << w.id << "\n";
    records = std::move(*found);
    if (records.empty()) {
      ctx.err << "sogni-flow resume: nothing to resume in " << (*dir)->path() << "\n";
      if (drive.json) ctx.out << R"({"event":"summary","runs":[],"exitCode":0})" << "\n";
      return kExitOk;
    }
  } else {
    for (const std::string& id : runs) {
      Result<RunRecord> run = store.GetRun(id);
      if (!run.ok()) return ctx.err << "sogni-flow resume: " << run.status().message() << "\n", ExitCodeFor(run.status());
      records.push_back(std::move(*run));
    }
  }
  // Each run goes back to the endpoint it was started against (stored with it), whatever
  // SOGNI_API_BASE_URL says today; --api-url or --sandbox names another one, and says so.
  std::map<std::string, std::unique_ptr<Backend>> backends;  // by endpoint
  std::map<std::string, Status> refused;                      // endpoints that cannot be used
  std::map<std::string, Backend*> backend_of;                 // by run id
  std::vector<std::string> ids;
  std::vector<std::unique_ptr<RunLease>> leases;  // one per run driven here, held until the end
  int worst = kExitOk;
  auto skip = [&](const std::string& why, int code) {
    ctx.err << "sogni-flow resume: " << why << "\n";
    worst = WorseExitCode(worst, code);
  };
  for (const RunRecord& r : records) {
    bool overridden = false;
    Result<BackendOptions> bo = BackendOptionsFor(r, backend_options, &overridden);
    if (!bo.ok()) {
      if (all) ctx.err << r.id << ": skipped: " << bo.status().message() << "\n";
      else skip(bo.status().message(), ExitCodeFor(bo.status()));
      continue;
    }
    const std::string endpoint = bo->sandbox ? kInProcessSandbox : bo->api_url;
    if (refused.count(endpoint)) {
      skip("run " + r.id + ": " + refused[endpoint].message(), ExitCodeFor(refused[endpoint]));
      continue;
    }
    if (!backends.count(endpoint)) {
      // The endpoint is the run's stored one, which a state directory (perhaps one a repository
      // brought) names: the key's fingerprint is compared with the run's before anything is sent
      // there, so a run stored for another key never gets this key sent anywhere.
      Result<std::unique_ptr<Backend>> b = OpenBackend(*bo, ctx, &ctx.err);
      if (b.ok() && r.account != AccountFingerprint((*b)->api_key)) {
        skip("run " + r.id + " belongs to another account (key fingerprint " + r.account + "); skipped", kExitAuth);
        continue;
      }
      Status s = b.ok() ? CheckBackend(**b) : b.status();
      if (!s.ok()) {
        refused[endpoint] = s;
        skip("run " + r.id + ": " + s.message(), ExitCodeFor(s));
        continue;
      }
      backends[endpoint] = std::move(*b);
    }
    Backend* b = backends[endpoint].get();
    if (r.account != AccountFingerprint(b->api_key)) {
      skip("run " + r.id + " belongs to another account (key fingerprint " + r.account + "); skipped", kExitAuth);
      continue;
    }
    if (overridden)
      ctx.err << r.id << ": resuming against " << (bo->sandbox ? "a fresh in-process sandbox" : RedactUrl(bo->api_url))
              << ", not the endpoint it was started against (" << RedactUrl(r.api_url) << ")\n";
    // One process drives a run: a run driven elsewhere is refused (exit 6), or with --all skipped.
    Result<std::unique_ptr<RunLease>> lease = (*dir)->AcquireRunLease(r.id);
    if (!lease.ok()) {
      ctx.err << "sogni-flow resume: " << lease.status().message() << (all ? " (skipped)" : "") << "\n";
      if (lease.status().code() == Status::Code::kIOError)  // the local disk: the same command, later
        ctx.err << "resume it with: sogni-flow resume " << r.id << drive.hint_args << "\n";
      if (!all || lease.status().code() != Status::Code::kConflict) worst = WorseExitCode(worst, ExitCodeFor(lease.status()));
      continue;
    }
    if (!(*lease)->notice().empty()) ctx.err << "sogni-flow resume: " << (*lease)->notice() << "\n";
    leases.push_back(std::move(*lease));
    backend_of[r.id] = b;
    ids.push_back(r.id);
  }
  if (ids.empty()) return worst;
  if (all) ctx.err << "resuming " << ids.size() << (ids.size() == 1 ? " run\n" : " runs\n");
  int code = DriveAndReport("resume", ctx, store, [&](const std::string& id) -> Backend& { return *backend_of.at(id); },
                            ids, drive);
  return WorseExitCode(code, worst);
}

}  // namespace sflow
