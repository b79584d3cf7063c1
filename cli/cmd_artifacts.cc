// sogni-flow artifacts RUN : a stored run's artifacts; downloads those not downloaded yet.
#include <algorithm>
#include <string>
#include <vector>

#include "api/http_transport.h"
#include "cli/backend.h"
#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/run_reporter.h"
#include "cli/state_access.h"
#include "runner/server/server_runner.h"

namespace sflow {

namespace {

Value ArtifactJson(const std::string& run_id, const ArtifactRecord& a) {
  Value v = Value::Object();
  v.Set("run", Value::String(run_id));
  v.Set("step", Value::String(a.step_id));
  v.Set("index", Value::Int(a.index));
  v.Set("id", Value::String(a.remote_id));
  v.Set("kind", Value::String(a.kind == MediaKind::kImage   ? "image"
                              : a.kind == MediaKind::kVideo ? "video"
                              : a.kind == MediaKind::kAudio ? "audio"
                                                            : "unknown"));
  v.Set("state", Value::String(Name(a.state)));
  v.Set("path", Value::String(a.local_path));
  v.Set("size", Value::Int(a.size));
  v.Set("sha256", Value::String(a.sha256));
  return v;
}

}  // namespace

int RunArtifacts(const std::vector<std::string>& args, Context& ctx) {
  bool json = false, no_download = false;
  std::string state_dir, out_dir;
  CommandLine cl("artifacts RUN [--out DIR] [--no-download] [--state-dir DIR] [--json]",
                 "Lists the artifacts stored for a run and downloads every one that is not downloaded yet\n"
                 "(after an interrupted run, or one whose downloads failed). A downloaded artifact is never\n"
                 "fetched again: its path, size and sha256 are in the state store. Files are written to\n"
                 "--out (default: the run's own out dir) under names the runner makes, never over an\n"
                 "existing file. Media URLs are presigned: no API key is needed or sent.\n"
                 "Downloading takes the run's lease: it is refused while another sogni-flow drives the run\n"
                 "(which downloads them itself); --no-download only reads, and works meanwhile.");
  cl.Flag("json", "", "one JSON object per artifact on stdout", &json);
  cl.Flag("no-download", "", "only list; download nothing", &no_download);
  cl.Value("out", "", "DIR", "where missing artifacts go (default: the run's out dir)", &out_dir);
  cl.Value("state-dir", "", "DIR", "the state directory (default: the state_dir setting, see config; ./.sogni-flow)", &state_dir);
  cl.Epilog("exit codes: 0 every artifact downloaded, 1 some could not be downloaded, 2 usage or\n"
            "unknown run, 4 unavailable, 6 local state, 7 security (a refused URL, path or state directory)\n\n"
            "examples:\n"
            "  sogni-flow artifacts r-20261123-101500-3f2a\n"
            "  sogni-flow artifacts r-20261123-101500-3f2a --out renders/ --json\n");
  std::vector<std::string> runs;
  Status s = cl.Parse(args, &runs);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow artifacts: " << s.message() << "\n", kExitInvalid;
  if (runs.size() != 1) return ctx.err << "sogni-flow artifacts: give exactly one run id\n", kExitInvalid;
  const std::string& run_id = runs[0];

  Result<std::unique_ptr<StateDir>> dir =
      OpenState("artifacts", state_dir, no_download ? StateAccess::kRead : StateAccess::kWrite, ctx);
  if (!dir.ok()) return ctx.err << "sogni-flow artifacts: " << dir.status().message() << "\n", ExitCodeFor(dir.status());
  RunStore& store = (*dir)->store();
  Result<RunRecord> run = store.GetRun(run_id);
  if (!run.ok()) return ctx.err << "sogni-flow artifacts: " << run.status().message() << "\n", ExitCodeFor(run.status());
  Result<std::vector<ArtifactRecord>> arts = store.ListArtifacts(run_id);
  if (!arts.ok()) return ctx.err << "sogni-flow artifacts: " << arts.status().message() << "\n", ExitCodeFor(arts.status());
  size_t missing = 0;
  for (const ArtifactRecord& a : *arts) missing += a.state != ArtifactState::kDone;

  int code = kExitOk;
  if (missing > 0 && !no_download && run->api_url == kInProcessSandbox)
    return ctx.err << "sogni-flow artifacts: run " << run_id << " ran on the in-process sandbox (--sandbox), which "
                   << "ended with its process: its " << missing << " missing artifacts cannot be downloaded "
                   << "(run the plan again; 'sogni-flow artifacts " << run_id << " --no-download' lists them)\n",
           kExitRunFailed;
  if (missing > 0 && !no_download) {
    Result<std::vector<std::unique_ptr<RunLease>>> lease = LeaseRuns(**dir, {run_id}, "artifacts", ctx);
    if (!lease.ok())
      return ctx.err << "sogni-flow artifacts: " << lease.status().message()
                     << "\n(it downloads them itself; 'sogni-flow artifacts " << run_id << " --no-download' lists them)\n",
             ExitCodeFor(lease.status());
    ctx.err << run_id << ": downloading " << missing << " of " << arts->size() << " artifacts\n";
    HttpTransportOptions transport_options;
    transport_options.ca_file = EnvValue(ctx.environ, "SSL_CERT_FILE");  // as OpenBackend does
    Result<std::unique_ptr<HttpTransport>> transport = NewHttpTransport(transport_options);
    if (!transport.ok())
      return ctx.err << "sogni-flow artifacts: " << (transport_options.ca_file.empty() ? "" : "SSL_CERT_FILE: ")
                     << transport.status().message() << "\n",
             ExitCodeFor(transport.status());
    StreamReporter reporter(&ctx.err, nullptr);
    ServerRunnerOptions options;
    options.reporter = &reporter;
    ServerRunner runner(&store, nullptr, transport->get(), options);
    Result<RunOutcome> outcome = runner.DownloadMissing(run_id, out_dir);
    if (!outcome.ok()) {
      ctx.err << "sogni-flow artifacts: " << outcome.status().message() << "\n";
      code = ExitCodeFor(outcome.status());
    } else if (outcome->artifacts_failed > 0) {
      code = kExitRunFailed;
    }
    arts = store.ListArtifacts(run_id);
    if (!arts.ok()) return ctx.err << "sogni-flow artifacts: " << arts.status().message() << "\n", ExitCodeFor(arts.status());
  } else if (missing == 0) {
    ctx.err << run_id << ": all " << arts->size() << " artifacts are downloaded\n";
  } else {
    code = kExitRunFailed;
  }
  if (json) {
    for (const ArtifactRecord& a : *arts) ctx.out << ArtifactJson(run_id, a).ToJson() << "\n";
  } else {
    ctx.out << "STEP            #  STATE        SIZE  PATH\n";
    for (const ArtifactRecord& a : *arts) {
      std::string step = a.step_id;
      if (step.size() < 14) step.resize(14, ' ');
      std::string idx = std::to_string(a.index);
      if (idx.size() < 3) idx.insert(0, 3 - idx.size(), ' ');
      std::string state = Name(a.state);
      state.resize(std::max<size_t>(state.size(), 10), ' ');
      std::string size = std::to_string(a.size);
      if (size.size() < 9) size.insert(0, 9 - size.size(), ' ');
      ctx.out << step << idx << "  " << state << size << "  " << (a.local_path.empty() ? a.remote_id : a.local_path) << "\n";
    }
  }
  return code;
}

}  // namespace sflow
