// sogni-flow sandbox : run the local simulator of the Sogni API until interrupted.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/exit_codes.h"
#include "sandbox/sandbox.h"

namespace sflow {

namespace {

bool ParseInt(const std::string& text, int64_t min, int64_t max, int64_t* out) {
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < min || v > max) return false;
  *out = v;
  return true;
}

// A key the sandbox can accept and a client can send in a header: 1 to 256 printable ASCII
// characters, no spaces.
bool UsableKey(const std::string& key) {
  if (key.empty() || key.size() > 256) return false;
  for (char c : key)
    if (c < 0x21 || c > 0x7E) return false;
  return true;
}

// --data-dir: created when missing (its parent must exist), and proved writable before the
// sandbox starts, so that a sandbox never runs for hours persisting nothing. kIOError otherwise.
Status PrepareDataDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Status::IOError("--data-dir " + dir + ": cannot create it: " + std::strerror(errno));
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0) return Status::IOError("--data-dir " + dir + ": " + std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) return Status::IOError("--data-dir " + dir + ": not a directory");
  std::string probe = dir + "/.sandbox-write-check." + std::to_string(::getpid());
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("--data-dir " + dir + ": cannot write in it: " + std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
  return Status::OK();
}

}  // namespace

int RunSandbox(const std::vector<std::string>& args, Context& ctx) {
  std::string host = "127.0.0.1", port = "0", seed = "1", step_ms = "200", events = "3", faults, data_dir,
              cost = "pause", max_active = "16", rate = "0", keepalive = "5000", price = "100",
              balance = "1000";
  std::vector<std::string> keys;
  CommandLine cl("sandbox [--host ADDR] [--port N] [--seed N] [--step-ms N] [--events-per-step N] [--faults SPEC]\n"
                 "    [--data-dir DIR] [--api-key KEY]... [--cost-approval MODE] [--price-percent N]\n"
                 "    [--balance N] [--max-active N] [--rate-limit N] [--keepalive-ms N]",
                 "Runs sogni-flow's faithful local simulator of the Sogni API on loopback: the REST routes\n"
                 "(workflows, templates, uploads, downloads, account), event streams (SSE), the socket host's\n"
                 "estimate routes, signed media, and admin routes under /_sandbox/ (stats, reset, events).\n"
                 "The official SDK works against it unchanged. It prints its URL and an `export` line for\n"
                 "SOGNI_API_BASE_URL, with SOGNI_API_KEY only when it made the key up (a key given with\n"
                 "--api-key is never printed), then serves until Ctrl-C. See docs/sandbox.md.");
  cl.Value("host", "", "ADDR", "address to listen on (default 127.0.0.1)", &host);
  cl.Value("port", "", "N", "port to listen on; 0 picks a free one (default 0)", &port);
  cl.Value("seed", "", "N", "seed for ids, step seeds, media and faults (default 1)", &seed);
  cl.Value("step-ms", "", "N", "milliseconds between a workflow's events; 0 runs flat out (default 200)", &step_ms);
  cl.Value("events-per-step", "", "N", "progress events per step (default 3)", &events);
  cl.Value("faults", "", "SPEC", "faults to inject, e.g. http_5xx=0.2,sse_drop_after=3 (docs/sandbox.md)", &faults);
  cl.Value("data-dir", "", "DIR", "keep state in DIR (created if missing), so a restarted sandbox knows its workflows",
           &data_dir);
  cl.Repeated("api-key", "", "KEY", "an accepted API key (repeatable); default: one generated key", &keys);
  cl.Value("cost-approval", "", "MODE", "over-ceiling starts: pause (waiting_for_user, default) or reject (400)", &cost);
  cl.Value("price-percent", "", "N",
           "estimates and bills in % of the offline cost model (default 100; 150: a price rise, so plans' "
           "ceilings are exceeded)",
           &price);
  cl.Value("balance", "", "N",
           "each account's starting balance in spark and in sogni tokens; projects debit it (default 1000)",
           &balance);
  cl.Value("max-active", "", "N", "active workflows per key before 409 (default 16)", &max_active);
  cl.Value("rate-limit", "", "N", "requests per second per key before 429; 0 = off (default 0)", &rate);
  cl.Value("keepalive-ms", "", "N", "milliseconds between keepalive comments on idle streams (default 5000)", &keepalive);
  cl.Epilog("exit codes: 0 stopped by a signal, 2 bad options, 4 cannot listen, 6 --data-dir cannot be created,\n"
            "written or read\n\n"
            "example:\n  sogni-flow sandbox --port 8787 --step-ms 50 --faults http_5xx=0.1\n");
  std::vector<std::string> rest;
  Status s = cl.Parse(args, &rest);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow sandbox: " << s.message() << "\n", kExitInvalid;
  if (!rest.empty()) return ctx.err << "sogni-flow sandbox: unexpected argument '" << rest[0] << "'\n", kExitInvalid;

  SandboxOptions o;
  o.host = host;
  int64_t v;
  struct IntOpt {
    const char* name;
    const std::string& text;
    int64_t min, max;
  };
  for (const IntOpt& opt : {IntOpt{"port", port, 0, 65535}, IntOpt{"seed", seed, 0, INT64_MAX},
                            IntOpt{"step-ms", step_ms, 0, 3600000}, IntOpt{"events-per-step", events, 0, 100000},
                            IntOpt{"max-active", max_active, 1, 100000}, IntOpt{"rate-limit", rate, 0, 1000000},
                            IntOpt{"keepalive-ms", keepalive, 10, 3600000},
                            IntOpt{"price-percent", price, 1, 100000},
                            IntOpt{"balance", balance, 0, 1000000000}}) {
    if (!ParseInt(opt.text, opt.min, opt.max, &v))
      return ctx.err << "sogni-flow sandbox: --" << opt.name << " must be a whole number from " << opt.min << " to "
                     << opt.max << "\n",
             kExitInvalid;
  }
  ParseInt(port, 0, 65535, &v), o.port = static_cast<int>(v);
  ParseInt(seed, 0, INT64_MAX, &v), o.seed = static_cast<uint64_t>(v);
  ParseInt(step_ms, 0, 3600000, &v), o.step_ms = static_cast<int>(v);
  ParseInt(events, 0, 100000, &v), o.events_per_step = static_cast<int>(v);
  ParseInt(max_active, 1, 100000, &v), o.max_active_workflows = static_cast<int>(v);
  ParseInt(rate, 0, 1000000, &v), o.rate_limit_per_second = static_cast<int>(v);
  ParseInt(keepalive, 10, 3600000, &v), o.keepalive_ms = static_cast<int>(v);
  ParseInt(price, 1, 100000, &v), o.price_percent = static_cast<int>(v);
  ParseInt(balance, 0, 1000000000, &v), o.balance = static_cast<double>(v);
  if (cost != "pause" && cost != "reject")
    return ctx.err << "sogni-flow sandbox: --cost-approval is pause or reject\n", kExitInvalid;
  o.cost_approval = cost;
  for (const std::string& k : keys)
    if (!UsableKey(k))
      return ctx.err << "sogni-flow sandbox: --api-key: a key is 1 to 256 printable ASCII characters without "
                        "spaces (the value given is not shown)\n",
             kExitInvalid;
  if (!data_dir.empty()) {
    if (Status d = PrepareDataDir(data_dir); !d.ok())
      return ctx.err << "sogni-flow sandbox: " << d.message() << "\n", ExitCodeFor(d);
  }
  o.faults = faults;
  o.data_dir = data_dir;
  o.api_keys = keys;

  // Block the stop signals before any thread starts, then wait for one here.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  Result<std::unique_ptr<Sandbox>> sandbox = Sandbox::Start(o);
  if (!sandbox.ok()) {
    ctx.err << "sogni-flow sandbox: " << sandbox.status().message() << "\n";
    return ExitCodeFor(sandbox.status());
  }
  Sandbox& sb = **sandbox;
  ctx.out << "sogni-flow sandbox listening on " << sb.url() << "\n";
  // The key is printed only when the sandbox made it up: a key the user passed is theirs already.
  ctx.out << "export SOGNI_API_BASE_URL=" << sb.url() << (keys.empty() ? " SOGNI_API_KEY=" + sb.api_keys()[0] : "")
          << "\n";
  ctx.out.flush();
  int sig = 0;
  sigwait(&stop, &sig);
  ctx.err << "sogni-flow sandbox: stopping\n";
  sb.Stop();
  return kExitOk;
}

}  // namespace sflow
