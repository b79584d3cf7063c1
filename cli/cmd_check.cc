// sogni-flow check : checks the state directory fully (store/state_check.h) and every downloaded
// artifact's file. Reads only.
#include <sys/stat.h>

#include <string>
#include <vector>

#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/state_access.h"
#include "runner/artifact_files.h"
#include "runner/sha256.h"
#include "store/state_check.h"

namespace sflow {

namespace {

// The problem with a downloaded artifact's file, or "".
std::string FileProblem(const std::string& run_id, const ArtifactRecord& a) {
  const std::string what = "run '" + run_id + "': artifact " + a.remote_id + ": " + a.local_path;
  struct stat st;
  if (::stat(a.local_path.c_str(), &st) != 0) return what + " is missing";
  if (!S_ISREG(st.st_mode)) return what + " is not a regular file";
  if (st.st_size != a.size) {
    return what + " has " + std::to_string(st.st_size) + " bytes, not the " + std::to_string(a.size) + " downloaded";
  }
  Result<std::string> bytes = ReadWholeFile(a.local_path);
  if (!bytes.ok()) return what + ": " + bytes.status().message();
  if (Sha256Hex(*bytes) != a.sha256) return what + " does not have the sha256 it was downloaded with";
  return "";
}

}  // namespace

int RunCheck(const std::vector<std::string>& args, Context& ctx) {
  bool json = false, no_files = false;
  std::string state_dir;
  CommandLine cl("check [--state-dir DIR] [--no-files] [--json]",
                 "Checks the state directory fully: the database's log (damage SQLite would drop silently),\n"
                 "every page, index and constraint (integrity_check), foreign keys, every stored row, that\n"
                 "each run's event cursor covers its events, that a local run's rows agree (its spec, its\n"
                 "steps and their projects, as resume relies on them to send nothing twice), and that each\n"
                 "downloaded artifact's file exists with the size and sha256 it was downloaded with. Reads\n"
                 "only; safe while other sogni-flow processes run. The quick check every command does on\n"
                 "opening skips the events table and the files; this one reads everything.");
  cl.Flag("json", "", "one JSON object on stdout: ok, counts, problems", &json);
  cl.Flag("no-files", "", "skip the artifacts' files", &no_files);
  cl.Value("state-dir", "", "DIR", "the state directory (default: the state_dir setting, see config; ./.sogni-flow)", &state_dir);
  cl.Epilog("exit codes: 0 everything holds, 6 problems found (one line each), 7 the directory is refused\n"
            "(another user's, writable by others, a link where a file should be)\n\n"
            "examples:\n"
            "  sogni-flow check\n"
            "  sogni-flow check --state-dir /var/lib/renders/.sogni-flow --json\n");
  std::vector<std::string> rest;
  Status s = cl.Parse(args, &rest);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow check: " << s.message() << "\n", kExitInvalid;
  if (!rest.empty()) return ctx.err << "sogni-flow check: unexpected argument '" << rest[0] << "'\n", kExitInvalid;
  const std::string path = StateDirPath(state_dir, ctx);

  {  // The directory's own checks (owner, modes, links); damage is reported below, in full.
    Result<std::unique_ptr<StateDir>> dir = OpenState("check", state_dir, StateAccess::kRead, ctx);
    if (!dir.ok() && dir.status().code() == Status::Code::kNotFound) {
      ctx.err << "sogni-flow check: nothing to check: " << dir.status().message() << "\n";
      return kExitOk;
    }
    struct stat db;
    const bool damaged = dir.status().code() == Status::Code::kIOError && ::stat((path + "/state.db").c_str(), &db) == 0;
    if (!dir.ok() && !damaged)
      return ctx.err << "sogni-flow check: " << dir.status().message() << "\n", ExitCodeFor(dir.status());
  }
  const std::string db_path = path + "/state.db";
  Result<StoreCheck> check = CheckStore(db_path);
  if (!check.ok()) {
    if (check.status().code() == Status::Code::kNotFound) {
      ctx.err << "sogni-flow check: nothing to check: no state database " << db_path << "\n";
      return kExitOk;
    }
    return ctx.err << "sogni-flow check: " << check.status().message() << "\n", ExitCodeFor(check.status());
  }
  int64_t files = 0;
  if (!no_files) {
    for (size_t i = 0; i < check->done.size(); ++i, ++files) {
      std::string p = FileProblem(check->done_runs[i], check->done[i]);
      if (!p.empty()) check->problems.push_back(p);
    }
  }
  const bool ok = check->problems.empty();
  if (json) {
    Value v = Value::Object();
    v.Set("stateDir", Value::String(path));
    v.Set("ok", Value::Bool(ok));
    v.Set("runs", Value::Int(check->runs));
    v.Set("steps", Value::Int(check->steps));
    v.Set("events", Value::Int(check->events));
    v.Set("intents", Value::Int(check->intents));
    v.Set("artifacts", Value::Int(check->artifacts));
    v.Set("filesChecked", Value::Int(files));
    Value problems = Value::Array();
    for (const std::string& p : check->problems) problems.Append(Value::String(p));
    v.Set("problems", problems);
    ctx.out << v.ToJson() << "\n";
  } else {
    ctx.out << path << ": " << check->runs << " runs, " << check->steps << " steps, " << check->events << " events, "
            << check->intents << " intents, " << check->artifacts << " artifacts (" << files << " files checked)\n";
    for (const std::string& p : check->problems) ctx.out << "problem: " << p << "\n";
    ctx.out << (ok ? "ok\n" : std::to_string(check->problems.size()) + " problems\n");
  }
  if (ok) return kExitOk;
  ctx.err << "sogni-flow check: " << check->problems.size() << " problems in " << path << " (listed on stdout); keep "
          << "a copy of it before changing anything; `sogni-flow recover` gets runs back from the server\n";
  return kExitLocalState;
}

}  // namespace sflow
