// sogni-flow events RUN : a run's stored events (read-only; takes no lock).
#include <string>
#include <vector>

#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/run_setup.h"
#include "store/state_dir.h"

namespace sflow {

int RunEvents(const std::vector<std::string>& args, Context& ctx) {
  bool json = false;
  std::string state_dir;
  CommandLine cl("events RUN [--state-dir DIR] [--json]",
                 "Prints a run's stored workflow events in sequence order. Reads the state store only.");
  cl.Flag("json", "", "each event as stored (JSON), one per line", &json);
  cl.Value("state-dir", "", "DIR", "the state directory (default $SOGNI_FLOW_STATE_DIR or ./.sogni-flow)", &state_dir);
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
  Result<std::vector<EventRecord>> events = (*dir)->store().ListEvents(runs[0], -1, 0);
  if (!events.ok()) return ctx.err << "sogni-flow events: " << events.status().message() << "\n", ExitCodeFor(events.status());
  if (events->empty()) {
    if (Result<RunRecord> r = (*dir)->store().GetRun(runs[0]); !r.ok())
      return ctx.err << "sogni-flow events: " << r.status().message() << "\n", ExitCodeFor(r.status());
  }
  for (const EventRecord& e : *events) {
    if (json) ctx.out << e.json << "\n";
    else ctx.out << e.sequence << "  " << e.type << (e.status.empty() ? "" : "  " + e.status) << "\n";
  }
  return kExitOk;
}

}  // namespace sflow
