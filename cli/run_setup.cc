#include "cli/run_setup.h"

#include "cli/interrupt.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "cli/exit_codes.h"
#include "cli/server_runner.h"

namespace sflow {

std::string EnvValue(char** environ, const std::string& name) {
  if (!environ) return "";
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    if (kv.size() > name.size() && kv.substr(0, name.size()) == name && kv[name.size()] == '=')
      return std::string(kv.substr(name.size() + 1));
  }
  return "";
}

namespace {

Result<std::string> ReadKeyFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Status::Error(Status::Code::kPermission, "cannot open the API key file " + path + ": " + std::strerror(errno));
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::Security("the API key file " + path + " is not a regular file");
  }
  if (st.st_mode & 077) {
    ::close(fd);
    return Status::Security("the API key file " + path + " is readable by others; chmod 600 it");
  }
  std::string key;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && key.size() < 4096) key.append(buf, static_cast<size_t>(n));
  ::close(fd);
  while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.pop_back();
  size_t start = 0;
  while (start < key.size() && std::isspace(static_cast<unsigned char>(key[start]))) ++start;
  return key.substr(start);
}

}  // namespace

Result<std::unique_ptr<Backend>> OpenBackend(const BackendOptions& options, char** environ) {
  auto backend = std::make_unique<Backend>();
  ApiClientOptions api;
  if (options.sandbox) {
    SandboxOptions so;
    so.step_ms = 20;
    Result<std::unique_ptr<Sandbox>> sb = Sandbox::Start(so);
    if (!sb.ok()) return sb.status();
    backend->sandbox = std::move(*sb);
    api.base_url = backend->sandbox->url();
    backend->api_key = backend->sandbox->api_keys().front();
  } else {
    api.base_url = !options.api_url.empty() ? options.api_url : EnvValue(environ, "SOGNI_API_BASE_URL");
    if (api.base_url.empty()) api.base_url = "https://api.sogni.ai";
    if (!options.api_key_file.empty()) {
      Result<std::string> key = ReadKeyFile(options.api_key_file);
      if (!key.ok()) return key.status();
      backend->api_key = *key;
    } else {
      backend->api_key = EnvValue(environ, "SOGNI_API_KEY");
    }
    if (backend->api_key.empty())
      return Status::Error(Status::Code::kPermission, "no API key: set SOGNI_API_KEY or give --api-key-file");
  }
  api.api_key = backend->api_key;
  api.app_source = "sogni-flow";
  Result<std::unique_ptr<HttpTransport>> t = NewHttpTransport(HttpTransportOptions());
  if (!t.ok()) return t.status();
  backend->transport = std::move(*t);
  backend->client = std::make_unique<ApiClient>(backend->transport.get(), api);
  return backend;
}

std::string StateDirPath(const std::string& flag, char** environ) {
  if (!flag.empty()) return flag;
  std::string env = EnvValue(environ, "SOGNI_FLOW_STATE_DIR");
  return env.empty() ? ".sogni-flow" : env;
}

int DriveAndReport(const char* command, Context& ctx, RunStore& store, Backend& backend,
                   const std::string& run_id, bool json) {
  ServerRunnerOptions options;
  options.progress = &ctx.err;
  options.json = json ? &ctx.out : nullptr;
  StreamCancel cancel;
  options.cancel = &cancel;
  ServerRunner runner(&store, backend.client.get(), backend.transport.get(), options);
  Result<RunOutcome> outcome = Status::Internal("not driven");
  {
    // The first Ctrl-C stops following (the cursor is committed); a second exits at once.
    InterruptGuard guard([&cancel] { cancel.Cancel(); });
    outcome = runner.Drive(run_id);
    if (guard.interrupted() && (!outcome.ok() || !IsTerminal(outcome->status)))
      outcome = Status::Error(Status::Code::kCancelled, "interrupted; the workflow keeps running on the server");
  }
  Result<RunRecord> run = store.GetRun(run_id);
  int code = outcome.ok() ? ExitCodeForOutcome(*outcome) : ExitCodeFor(outcome.status());
  if (!outcome.ok()) {
    ctx.err << "sogni-flow " << command << ": " << backend.client->Redact(outcome.status().message()) << "\n";
    if (code == kExitUnavailable || code == kExitInterrupted)
      ctx.err << "resume it with: sogni-flow resume " << run_id << "\n";
  }
  if (json) {
    Value summary = Value::Object();
    summary.Set("event", Value::String("summary"));
    summary.Set("run", Value::String(run_id));
    if (run.ok()) {
      summary.Set("status", Value::String(Name(run->status)));
      summary.Set("workflowId", Value::String(run->workflow_id));
      summary.Set("outDir", Value::String(run->out_dir));
    }
    if (outcome.ok()) {
      summary.Set("events", Value::Int(outcome->events_stored));
      summary.Set("artifactsDone", Value::Int(outcome->artifacts_done));
      summary.Set("artifactsFailed", Value::Int(outcome->artifacts_failed));
      if (!outcome->waiting_reason.empty()) summary.Set("waitingReason", Value::String(outcome->waiting_reason));
    } else {
      summary.Set("error", Value::String(backend.client->Redact(outcome.status().message())));
    }
    summary.Set("exitCode", Value::Int(code));
    ctx.out << summary.ToJson() << "\n";
  } else if (outcome.ok() && run.ok()) {
    ctx.err << run_id << ": " << Name(run->status) << " (" << outcome->events_stored << " events, "
            << outcome->artifacts_done << " artifacts in " << run->out_dir << ")\n";
    if (outcome->awaiting_cost_approval)
      ctx.err << "the server awaits cost approval: sogni-flow approve --run " << run_id << "\n";
  }
  return code;
}

}  // namespace sflow
