// sogni-flow resume RUN...|--all : re-attaches to stored runs from their intents and event cursors.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "cli/approval.h"
#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/run_setup.h"
#include "cli/sha256.h"
#include "cli/state_access.h"

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

// The code for runs refused before any was driven: a local-state refusal outranks an account one.
int WorseLocal(int a, int b) { return a == kExitLocalState || b == kExitLocalState ? kExitLocalState : (a ? a : b); }

}  // namespace

int RunResume(const std::vector<std::string>& args, Context& ctx) {
  bool all = false;
  BackendOptions backend_options;
  DriveFlags flags;
  DriveOptions& drive = flags.options;
  std::string state_dir;
  CommandLine cl("resume RUN... | --all [-j N] [--timeout D] [--state-dir DIR] [--api-url URL] [--api-key-file FILE] [--json]",
                 "Continues runs where they stopped: a start request whose answer was never stored is sent\n"
                 "again with the SAME Idempotency-Key (the server then creates nothing twice); a started\n"
                 "workflow is followed from the stored event cursor; missing artifacts are downloaded.\n"
                 "--all takes up every unfinished run of the state directory (and finished ones with files\n"
                 "still to download); runs waiting for a person are listed, not resumed.\n"
                 "The API key must be each run's account (checked by fingerprint).");
  cl.Flag("all", "", "every unfinished run of the state directory", &all);
  cl.Flag("json", "", "one JSON object per workflow event on stdout, then a summary", &drive.json);
  flags.Register(cl);
  cl.Value("state-dir", "", "DIR", "the state directory (default $SOGNI_FLOW_STATE_DIR or ./.sogni-flow)", &state_dir);
  cl.Flag("sandbox", "", "use a fresh in-process simulator (it knows no earlier workflow)", &backend_options.sandbox);
  cl.Value("api-url", "", "URL", "the API (default $SOGNI_API_BASE_URL or https://api.sogni.ai)", &backend_options.api_url);
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
  if (Status d = flags.Finish(); !d.ok())
    return ctx.err << "sogni-flow resume: " << d.message() << "\n", kExitInvalid;

  Result<std::unique_ptr<Backend>> backend = OpenBackend(backend_options, ctx.environ);
  if (!backend.ok()) return ctx.err << "sogni-flow resume: " << backend.status().message() << "\n", ExitCodeFor(backend.status());
  Result<std::unique_ptr<StateDir>> dir = OpenState("resume", state_dir, StateAccess::kWrite, ctx);
  if (!dir.ok()) return ctx.err << "sogni-flow resume: " << dir.status().message() << "\n", ExitCodeFor(dir.status());
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
  std::string account = AccountFingerprint((*backend)->api_key);
  std::vector<std::string> ids;
  std::vector<std::unique_ptr<RunLease>> leases;  // one per run driven here, held until the end
  int worst = kExitOk;
  for (const RunRecord& r : records) {
    if (r.account == account) {
      // One process drives a run: a run driven elsewhere is refused (exit 6), or with --all skipped.
      Result<std::unique_ptr<RunLease>> lease = (*dir)->AcquireRunLease(r.id);
      if (!lease.ok()) {
        ctx.err << "sogni-flow resume: " << lease.status().message() << (all ? " (skipped)" : "") << "\n";
        if (!all || lease.status().code() != Status::Code::kConflict) worst = WorseLocal(worst, ExitCodeFor(lease.status()));
        continue;
      }
      if (!(*lease)->notice().empty()) ctx.err << "sogni-flow resume: " << (*lease)->notice() << "\n";
      leases.push_back(std::move(*lease));
      ids.push_back(r.id);
      continue;
    }
    ctx.err << "sogni-flow resume: run " << r.id << " belongs to another account (key fingerprint " << r.account
            << "); skipped\n";
    worst = WorseLocal(worst, kExitAuth);
  }
  if (ids.empty()) return worst;
  if (all) ctx.err << "resuming " << ids.size() << (ids.size() == 1 ? " run\n" : " runs\n");
  int code = DriveAndReport("resume", ctx, store, **backend, ids, drive);
  return code == kExitOk ? worst : code;
}

}  // namespace sflow
