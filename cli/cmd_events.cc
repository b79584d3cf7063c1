// sogni-flow events RUN [--follow] : a run's stored events (read-only; takes no lock).
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/state_access.h"
#include "runner/interrupt.h"

namespace sflow {

int RunEvents(const std::vector<std::string>& args, Context& ctx) {
  bool json = false, follow = false;
  std::string state_dir;
  CommandLine cl("events RUN [--follow] [--state-dir DIR] [--json]",
                 "Prints a run's stored workflow events in sequence order. Reads the state store only and\n"
                 "takes no lock, so it works while another sogni-flow (run, resume) is driving the run, and\n"
                 "in a read-only state directory. A stored event that is not valid JSON is never printed:\n"
                 "the database is damaged then (exit 6, and what to do).\n"
                 "--follow keeps printing events as that process stores them, until the run has ended.");
  cl.Flag("json", "", "each event as stored (JSON), one per line", &json);
  cl.Flag("follow", "f", "keep printing new events until the run ends (Ctrl-C stops)", &follow);
  cl.Value("state-dir", "", "DIR", "the state directory (default: the state_dir setting, see config; ./.sogni-flow)", &state_dir);
  cl.Epilog("exit codes: 0 shown (with --follow: the run has ended), 2 usage or unknown run, 6 the state store\n"
            "cannot be read, 7 the state directory is refused (writable by others, another user's),\n"
            "130 --follow stopped by Ctrl-C\n\n"
            "examples:\n"
            "  sogni-flow events r-20261123-101500-3f2a --json\n"
            "  sogni-flow events r-20261123-101500-3f2a --follow\n");
  std::vector<std::string> runs;
  Status s = cl.Parse(args, &runs);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow events: " << s.message() << "\n", kExitInvalid;
  if (runs.size() != 1) return ctx.err << "sogni-flow events: give exactly one run id\n", kExitInvalid;
  Result<std::unique_ptr<StateDir>> dir = OpenState("events", state_dir, StateAccess::kRead, ctx);
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
    if (!hinted && DriverOf(**dir, runs[0]).empty()) {
      ctx.err << "sogni-flow events: no sogni-flow is following run " << runs[0] << " now; start 'sogni-flow resume "
              << runs[0] << "' and its events show here\n";
      hinted = true;
    }
    for (int i = 0; i < 4 && !stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return kExitInterrupted;
}

}  // namespace sflow
