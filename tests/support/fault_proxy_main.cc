// fault_proxy: the fault proxy (tests/support/fault_proxy.h) as a program, for the shell tests.
//
//   fault_proxy --upstream http://127.0.0.1:PORT [--script RULES | --script-file FILE]
//               [--seed N] [--port N] [--stats-file FILE]
//
// Prints "fault proxy listening on http://127.0.0.1:PORT" once it accepts connections, then runs
// until SIGTERM or SIGINT; on the way out it writes its stats (GET /_proxy/stats) to the stats
// file, if one was named. Exit 2 on a bad argument or script.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/support/fault_proxy.h"

namespace {

int Usage(const std::string& why) {
  std::fprintf(stderr, "fault_proxy: %s\nusage: fault_proxy --upstream http://127.0.0.1:PORT "
                       "[--script RULES | --script-file FILE] [--seed N] [--port N] [--stats-file FILE]\n",
               why.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  sflow::FaultProxyOptions options;
  std::string script, stats_file;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) return Usage("missing value after " + arg);
    std::string value = argv[++i];
    if (arg == "--upstream") {
      options.upstream = value;
    } else if (arg == "--script") {
      script += value + "\n";
    } else if (arg == "--script-file") {
      std::ifstream in(value);
      if (!in) return Usage("cannot read " + value);
      std::stringstream ss;
      ss << in.rdbuf();
      script += ss.str() + "\n";
    } else if (arg == "--seed") {
      options.seed = std::strtoull(value.c_str(), nullptr, 10);
    } else if (arg == "--port") {
      options.port = std::atoi(value.c_str());
    } else if (arg == "--stats-file") {
      stats_file = value;
    } else {
      return Usage("unknown option " + arg);
    }
  }
  if (options.upstream.empty()) return Usage("--upstream is required");
  sflow::Result<sflow::FaultScript> parsed = sflow::FaultScript::Parse(script);
  if (!parsed.ok()) return Usage(parsed.status().message());
  options.script = std::move(*parsed);

  // Every thread the proxy starts inherits the blocked signals; only sigwait below takes them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  sflow::Result<std::unique_ptr<sflow::FaultProxy>> proxy = sflow::FaultProxy::Start(std::move(options));
  if (!proxy.ok()) return Usage(proxy.status().message());
  std::printf("fault proxy listening on %s\n", (*proxy)->url().c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  (*proxy)->Stop();
  if (!stats_file.empty()) {
    std::ofstream out(stats_file);
    out << (*proxy)->StatsJson() << "\n";
  }
  return 0;
}
