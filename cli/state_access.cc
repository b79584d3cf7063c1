#include "cli/state_access.h"

#include "cli/settings.h"

namespace sflow {

std::string StateDirPath(const std::string& flag, const Context& ctx) {
  if (!flag.empty()) return flag;
  return Configured(ctx, SettingKey::kStateDir).value;
}

std::string StateDirHint(const std::string& flag) {
  if (flag.empty()) return "";
  return " --state-dir '" + flag + "'";
}

Result<std::unique_ptr<StateDir>> OpenState(const char* command, const std::string& flag,
                                            StateAccess access, Context& ctx) {
  StateDirOptions options;
  options.path = StateDirPath(flag, ctx);
  options.read_only = access == StateAccess::kRead;
  Result<std::unique_ptr<StateDir>> dir = StateDir::Open(options);
  if (!dir.ok()) return dir.status();
  for (const std::string& n : (*dir)->notices()) ctx.err << "sogni-flow " << command << ": " << n << "\n";
  return dir;
}

Result<std::vector<std::unique_ptr<RunLease>>> LeaseRuns(StateDir& dir, const std::vector<std::string>& run_ids,
                                                         const char* command, Context& ctx) {
  std::vector<std::unique_ptr<RunLease>> leases;
  for (const std::string& id : run_ids) {
    Result<std::unique_ptr<RunLease>> lease = dir.AcquireRunLease(id);
    if (!lease.ok()) return lease.status();
    if (!(*lease)->notice().empty()) ctx.err << "sogni-flow " << command << ": " << (*lease)->notice() << "\n";
    leases.push_back(std::move(*lease));
  }
  return leases;
}

std::string DriverOf(StateDir& dir, const std::string& run_id) {
  Result<std::optional<ProcessIdentity>> who = dir.RunDriver(run_id);
  if (!who.ok() || !*who) return "";
  return (*who)->pid > 0 ? "driven by " + (*who)->Describe() : "driven by another process";
}

}  // namespace sflow
