// How every command opens the state directory and takes the runs it drives: one place for the
// --state-dir default, the notices, and the leases.
#ifndef SFLOW_CLI_STATE_ACCESS_H_
#define SFLOW_CLI_STATE_ACCESS_H_

#include <memory>
#include <string>
#include <vector>

#include "cli/context.h"
#include "store/state_dir.h"

namespace sflow {

enum class StateAccess {
  kRead,   // status, events, check: read-only (store/state_dir.h), works in a read-only directory
  kWrite,  // everything that stores something
};

// The state directory a command uses: `flag` (--state-dir), else the state_dir setting
// ($SOGNI_FLOW_STATE_DIR, a settings file, else ./.sogni-flow; cli/settings.h).
std::string StateDirPath(const std::string& flag, const Context& ctx);

// " --state-dir 'DIR'" when the command line named a state directory, for printed commands.
std::string StateDirHint(const std::string& flag);

// Opens StateDirPath(flag, ctx). Prints each of the
// directory's notices to ctx.err as "sogni-flow COMMAND: <notice>". The caller prints an error.
Result<std::unique_ptr<StateDir>> OpenState(const char* command, const std::string& flag,
                                            StateAccess access, Context& ctx);

// The leases of `run_ids` for this process (store/run_lease.h), in order; notices of leases taken
// over from dead processes are printed like OpenState's. kConflict naming the holder of the
// first run another process drives (the leases taken before it are released).
Result<std::vector<std::unique_ptr<RunLease>>> LeaseRuns(StateDir& dir, const std::vector<std::string>& run_ids,
                                                         const char* command, Context& ctx);

// "driven by pid 123 on host h since T" for status lines; "" when nobody drives the run or the
// state cannot say.
std::string DriverOf(StateDir& dir, const std::string& run_id);

}  // namespace sflow

#endif  // SFLOW_CLI_STATE_ACCESS_H_
