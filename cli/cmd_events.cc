// sogni-flow events RUN [--follow] : a run's stored events (read-only; takes no lock).
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/artifact_files.h"
#include "cli/command_line.h"
#include "cli/interrupt.h"
#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/run_setup.h"
#include "store/lock_file.h"
#include "store/state_dir.h"

namespace sflow {

namespace {

// Whether a live sogni-flow on this host holds the state directory's writer lock (and so may be
// storing events). Read from the lock file's holder line, without taking the lock.
bool WriterAlive(const std::string& state_dir) {
  Result<std::string> content = ReadWholeFile(state_dir + "/" + StateDir::kLockName);
  if (!content.ok()) return false;
  std::optional<LockHolder> holder = LockHolder::Parse(*content);
  return holder && holder->host == LockFile::HostName() && LockFile::ProcessAlive(holder->pid);
}

}  // namespace

int RunEvents(const std::vector<std::string>& args, Context& ctx) {
  bool json = false, follow = false;
  std::string state_dir;
  CommandLine cl("events RUN [--follow] [--state-dir DIR] [--json]",
                 "Prints a run's stored workflow events in sequence order. Reads the state store only and\n"
                 "takes no lock, so it works while another sogni-flow (run, resume) is driving the run.\n"
                 "--follow keeps printing events as that process stores them, until the run has ended.");
  cl.Flag("json", "", "each event as stored (JSON), one per line", &json);
  cl.Flag("follow", "f", "keep printing new events until the run ends (Ctrl-C stops)", &follow);
  cl.Value("state-dir", "", "DIR", "the state directory (default $SOGNI_FLOW_STATE_DIR or ./.sogni-flow)", &state_dir);
  cl.Epilog("exit codes: 0 shown (with --follow: the run has ended), 2 usage or unknown run, 6 the state store\n"
            "cannot be read, 130 --follow stopped by Ctrl-C\n\n"
            "examples:\n"
            "  sogni-flow events r-20261123-101500-3f2a --json\n"
            "  sogni-flow events r-20261123-101500-3f2a --follow\n");
  std::vector<std::string> runs;
  Status s = cl.Parse(args, &runs);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow events: " << s.message() << "\n", kExitInvalid;
  if (runs.size() != 1) return ctx.err << "sogni-flow events: give exactly one run id\n", kExitInvalid;
  StateDirOptions so;
  so.path = StateDirPath(state_dir, ctx.environ);
  so.read_only = true;
  Result<std::unique_ptr<StateDir>> dir = StateDir::Open(so);
  if (!dir.ok()) return ctx.err << "sogni-flow events: " << dir.status().message() << "\n", ExitCodeFor(dir.status());
  RunStore& store = (*dir)->store();
  Result<RunRecord> run = store.GetRun(runs[0]);
  if (!run.ok()) return ctx.err << "sogni-flow events: " << run.status().message() << "\n", ExitCodeFor(run.status());

  int64_t after = -1;
  auto print_new = [&]() -> Status {
    Result<std::vector<EventRecord>> events = store.ListEvents(runs[0], after, 0);
    if (!events.ok()) return events.status();
    for (const EventRecord& e : *events) {
      if (json) ctx.out << e.json << "\n";
      else ctx.out << e.sequence << "  " << e.type << (e.status.empty() ? "" : "  " + e.status) << "\n";
      after = e.sequence;
    }
    ctx.out << std::flush;
    return Status::OK();
  };
  if (Status p = print_new(); !p.ok()) return ctx.err << "sogni-flow events: " << p.message() << "\n", ExitCodeFor(p);
  if (!follow) return kExitOk;

  std::atomic<bool> stop{false};
  InterruptGuard guard([&] { stop = true; });
  bool hinted = false;
  while (!stop) {
    run = store.GetRun(runs[0]);
    if (!run.ok()) return ctx.err << "sogni-flow events: " << run.status().message() << "\n", ExitCodeFor(run.status());
    bool ended = IsTerminal(run->status) || run->status == RunStatus::kWaitingForUser;
    if (Status p = print_new(); !p.ok()) return ctx.err << "sogni-flow events: " << p.message() << "\n", ExitCodeFor(p);
    if (ended) {  // its last events were committed with (or before) the final status
      ctx.err << runs[0] << ": " << Name(run->status) << "\n";
      return kExitOk;
    }
    if (!hinted && !WriterAlive(so.path)) {
      ctx.err << "sogni-flow events: no sogni-flow is following run " << runs[0] << " now; start 'sogni-flow resume "
              << runs[0] << "' and its events show here\n";
      hinted = true;
    }
    for (int i = 0; i < 4 && !stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return kExitInterrupted;
}

}  // namespace sflow
