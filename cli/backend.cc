#include "cli/backend.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <random>

#include "api/http_url.h"
#include "cli/context.h"
#include "cli/settings.h"
#include "engine/random.h"

namespace sflow {

namespace {

Result<std::string> ReadKeyFile(const std::string& path) {
  // O_NONBLOCK: a FIFO (or a device) in its place is refused below instead of hanging the open.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  // Messages name the option, never the file: its name may be the key itself (a mistyped flag).
  if (fd < 0 && errno == ELOOP)
    return Status::Security("--api-key-file: the file is a symbolic link; name the file itself");
  if (fd < 0) return Status::Error(Status::Code::kPermission, std::string("--api-key-file: cannot open the file: ") + std::strerror(errno));
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::Security("--api-key-file: the file is not a regular file");
  }
  if (st.st_mode & 077) {
    ::close(fd);
    return Status::Security("--api-key-file: the file is readable by group or others; chmod 600 it");
  }
  std::string key;
  char buf[512];
  ssize_t n;
  // Past 4096 bytes it is not a key (CheckKeyBytes refuses it); never cut one to that length.
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && key.size() <= 4096) key.append(buf, static_cast<size_t>(n));
  ::close(fd);
  while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.pop_back();
  size_t start = 0;
  while (start < key.size() && std::isspace(static_cast<unsigned char>(key[start]))) ++start;
  return key.substr(start);
}

// A key is sent in two headers; only visible ASCII can travel there intact. The message says
// where the key came from and what is wrong, never a byte of the key.
Status CheckKeyBytes(const std::string& key, const std::string& source) {
  if (key.size() > 4096) return Status::Error(Status::Code::kPermission, "the API key from " + source + " is longer than 4096 bytes");
  for (size_t i = 0; i < key.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(key[i]);
    if (c > 0x20 && c < 0x7f) continue;
    std::string what = c == '\n' || c == '\r' ? "a line break" : c == ' ' || c == '\t' ? "a space" :
                       c < 0x20 || c == 0x7f ? "a control character" : "a non-ASCII byte";
    return Status::Error(Status::Code::kPermission,
                         "the API key from " + source + " has " + what + " at byte " + std::to_string(i + 1) +
                             " (a key is one line of visible ASCII characters); check " + source);
  }
  return Status::OK();
}

// The SDK's pair of hosts: https://api.X -> wss://socket.X; any other endpoint (the loopback
// sandbox serves both on one port) -> its own origin in ws(s) form.
std::string DefaultSocketUrl(const std::string& base_url) {
  std::string origin = base_url;
  size_t scheme = origin.find("://");
  if (scheme == std::string::npos) return origin;
  size_t path = origin.find('/', scheme + 3);
  if (path != std::string::npos) origin.resize(path);
  if (origin.compare(scheme + 3, 4, "api.") == 0) origin.replace(scheme + 3, 4, "socket.");
  return origin.rfind("https://", 0) == 0 ? "wss://" + origin.substr(8) : "ws://" + origin.substr(scheme + 3);
}

// Where the endpoint came from, for messages.
std::string EndpointSource(const BackendOptions& options, const Setting& configured) {
  if (!options.api_url.empty()) return "--api-url";
  if (configured.is_default()) return "the default endpoint";
  return configured.origin.find(':') == std::string::npos ? configured.origin : configured.origin + ": api_url";
}

}  // namespace

void NoticeSink::Say(const std::string& line) {
  std::lock_guard<std::mutex> lock(mu_);
  if (to_) to_(line);
  else if (fallback_) *fallback_ << line << "\n" << std::flush;
}

void NoticeSink::Redirect(std::function<void(const std::string&)> to) {
  std::lock_guard<std::mutex> lock(mu_);
  to_ = std::move(to);
}

Result<std::unique_ptr<Backend>> OpenBackend(const BackendOptions& options, const Context& ctx, std::ostream* notices) {
  char** environ = ctx.environ;
  const Setting configured = Configured(ctx, SettingKey::kApiUrl);
  auto backend = std::make_unique<Backend>();
  backend->notices = std::make_unique<NoticeSink>(notices);
  ApiClientOptions api;
  if (options.sandbox && !options.api_url.empty())
    return Status::InvalidPlan("--sandbox runs the simulator in this process; it cannot be combined with --api-url");
  if (options.sandbox) {
    SandboxOptions so;
    so.step_ms = 20;
    Result<std::unique_ptr<Sandbox>> sb = Sandbox::Start(so);
    if (!sb.ok()) return sb.status();
    backend->sandbox = std::move(*sb);
    api.base_url = backend->sandbox->url();
    backend->api_key = backend->sandbox->api_keys().front();
    backend->api_url = kInProcessSandbox;
  } else {
    api.base_url = !options.api_url.empty() ? options.api_url : configured.value;
    while (api.base_url.size() > 1 && api.base_url.back() == '/') api.base_url.pop_back();
    // The rules the transport applies to every request, checked before anything is stored.
    Result<HttpUrl> url = ParseHttpUrl(api.base_url);
    if (!url.ok()) return Status::Security(EndpointSource(options, configured) + ": " + url.status().message());
    // A base URL: the API's paths are appended to it, so a query or fragment would end up in
    // front of them (and a query may hold a secret: it is never quoted).
    if (api.base_url.find_first_of("?#") != std::string::npos)
      return Status::InvalidPlan(EndpointSource(options, configured) + ": " + url->Redacted() +
                                 " has a query or fragment; give the API's base URL, e.g. https://api.sogni.ai");
    if (!url->secure() && !IsLoopbackHostName(url->host))
      return Status::Security(EndpointSource(options, configured) + ": refusing plain http:// to " + url->host +
                              ": only https is allowed beyond loopback");
    backend->api_url = api.base_url;
    std::string source = "SOGNI_API_KEY";
    if (!options.api_key_file.empty()) {
      Result<std::string> key = ReadKeyFile(options.api_key_file);
      if (!key.ok()) return key.status();
      if (key->empty()) return Status::Error(Status::Code::kPermission, "--api-key-file: the file holds no key");
      backend->api_key = *key;
      source = "--api-key-file";
    } else {
      backend->api_key = EnvValue(environ, "SOGNI_API_KEY");
    }
    if (backend->api_key.empty() && !options.key_optional)
      return Status::Error(Status::Code::kPermission, "no API key: set SOGNI_API_KEY or give --api-key-file");
    if (!backend->api_key.empty())
      if (Status k = CheckKeyBytes(backend->api_key, source); !k.ok()) return k;
  }
  // The projects socket: SOGNI_SOCKET_URL, else derived from the endpoint. Its REST routes
  // (estimates, sync) live on the same host, in https form.
  backend->socket_url = EnvValue(environ, "SOGNI_SOCKET_URL");
  if (backend->socket_url.empty()) backend->socket_url = DefaultSocketUrl(api.base_url);
  {
    const std::string& su = backend->socket_url;
    std::string http = su.rfind("wss://", 0) == 0 ? "https://" + su.substr(6) : su.rfind("ws://", 0) == 0 ? "http://" + su.substr(5) : su;
    Result<HttpUrl> u = ParseHttpUrl(http);
    if (!u.ok()) return Status::Security("the projects socket URL: " + u.status().message());
    if (!u->secure() && !IsLoopbackHostName(u->host))
      return Status::Security("the projects socket URL: refusing plain ws:// to " + u->host + ": only wss is allowed beyond loopback");
    if (http.find_first_of("?#") != std::string::npos)
      return Status::InvalidPlan("SOGNI_SOCKET_URL has a query or fragment; give the socket's base URL, e.g. wss://socket.sogni.ai");
    api.socket_base_url = http;
  }
  backend->ca_file = EnvValue(environ, "SSL_CERT_FILE");
  NoticeSink* sink = backend->notices.get();
  api.retry.on_retry = [sink](const RetryNotice& n) { sink->Say(n.Describe()); };
  api.api_key = backend->api_key;
  api.app_source = "sogni-flow";
  HttpTransportOptions transport_options;
  // SSL_CERT_FILE (OpenSSL's own variable): a PEM bundle trusted instead of the system one.
  transport_options.ca_file = EnvValue(environ, "SSL_CERT_FILE");
  // The file is looked at now and loaded at the first https connection (its errors name it).
  auto named = [&](const Status& s) {
    return transport_options.ca_file.empty() ? s : Status::Error(s.code(), "SSL_CERT_FILE: " + s.message());
  };
  Result<std::unique_ptr<HttpTransport>> t = NewHttpTransport(transport_options);
  if (!t.ok()) return named(t.status());
  Result<std::unique_ptr<StreamLoop>> loop = StreamLoop::Start(transport_options);
  if (!loop.ok()) return named(loop.status());
  backend->loop = std::move(*loop);
  backend->transport = NewLoopStreamTransport(std::move(*t), backend->loop.get());
  backend->client = std::make_unique<ApiClient>(backend->transport.get(), api);
  return backend;
}

Result<ProjectsSession*> Backend::Projects(const std::string& base_app_id) {
  std::lock_guard<std::mutex> lock(projects_mu);
  if (projects) {
    if (projects_app_id.rfind(base_app_id + "-", 0) != 0)
      return Status::Internal("one process serves one state directory on the projects socket");
    return projects.get();
  }
  // The server gives an appId one socket: a second one takes it over and the first is closed
  // (4015). Two processes running local runs of one state directory at once (overlapping cron
  // jobs) must not take the socket from each other, so each process adds its own suffix to the
  // state directory's appId; a project it sent is then followed by lookups in a process that
  // resumes it (runner/local/local_runner.h).
  char suffix[9];
  std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(RandomU64()));
  const std::string app_id = base_app_id + "-" + suffix;
  ProjectsSocketOptions o;
  o.socket_url = socket_url;
  o.app_id = app_id;
  o.api_key = api_key;
  o.ca_file = ca_file;
  if (Result<std::string> url = ProjectsSocketUrl(o); !url.ok()) return url.status();
  projects = std::make_unique<ProjectsSession>([o] { return OpenProjectsConnection(o); }, nullptr);
  projects_app_id = app_id;
  return projects.get();
}

Status CheckBackend(Backend& backend) {
  Result<WorkflowPage> page = backend.client->ListWorkflows(1);
  if (page.ok()) return Status::OK();
  const Status& s = page.status();
  // The workflows route itself is missing: not the Sogni API, or not its base URL (a path too
  // many or too few). Nothing can work there; said before anything is stored.
  if (s.http_status() == 404 || s.http_status() == 405)
    return Status::InvalidPlan("the API at " + RedactUrl(backend.api_url) + " has no workflows route (GET " +
                               "/v1/creative-agent/workflows answered " + std::to_string(s.http_status()) +
                               "): is it the API's base URL, e.g. https://api.sogni.ai? nothing was started")
        .WithHttp(s.http_status(), s.reason());
  // Only what says the endpoint or the key cannot work stops here; an answer in an unexpected
  // shape does not (the routes that matter check their own answers).
  if (s.code() == Status::Code::kUnavailable || s.code() == Status::Code::kSecurity ||
      s.code() == Status::Code::kPermission || s.code() == Status::Code::kCancelled)
    return Status::Error(s.code(), "the API at " + RedactUrl(backend.api_url) + " cannot be used: " +
                                       backend.client->Redact(s.message()) + "; nothing was started")
        .WithHttp(s.http_status(), s.reason());
  return Status::OK();
}

Result<BackendOptions> BackendOptionsFor(const RunRecord& run, const BackendOptions& given, bool* overridden) {
  BackendOptions o = given;
  *overridden = false;
  if (given.sandbox || !given.api_url.empty()) {
    *overridden = given.sandbox ? run.api_url != kInProcessSandbox : run.api_url != given.api_url && !run.api_url.empty();
    return o;
  }
  if (run.api_url == kInProcessSandbox)
    return Status::InvalidPlan("run " + run.id + " was started against the in-process sandbox (--sandbox), which "
                               "ended with its process; it cannot be resumed (`sogni-flow forget " + run.id +
                               "` removes it)");
  o.api_url = run.api_url;  // "" for a run stored before endpoints were: the usual default
  return o;
}

}  // namespace sflow
