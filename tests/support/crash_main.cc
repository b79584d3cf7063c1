// sogni-flow-crashtest: sogni-flow with its crash points armed, for the crash-point tests
// (tests/cli/crash_points.sh). Never installed: the sogni-flow binary has no handler, so nothing
// a user sets can trip a crash point there (engine/crash_point.h).
//
//   SOGNI_FLOW_CRASH_AT=NAME:N     SIGKILL this process at the N-th time crash point NAME is
//                                  reached (N >= 1), as a power cut or `kill -9` would
//   SOGNI_FLOW_CRASH_TRACE=FILE    append the name of every crash point reached to FILE, one per
//                                  line (how the tests learn which points a run passes, how often)
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "cli/context.h"
#include "cli/exit_codes.h"
#include "engine/crash_point.h"

namespace {

std::string g_name;          // the point to crash at ("" = none)
long g_at = 0;               // at its g_at-th hit
std::atomic<long> g_hits{0};
int g_trace = -1;

void OnCrashPoint(const char* name) {
  if (g_trace >= 0) {
    // One write(2) per line with O_APPEND: lines from several threads never interleave.
    std::string line = std::string(name) + "\n";
    (void)!::write(g_trace, line.data(), line.size());
  }
  if (!g_name.empty() && g_name == name && ++g_hits == g_at) ::kill(::getpid(), SIGKILL);
}

void Arm() {
  if (const char* trace = std::getenv("SOGNI_FLOW_CRASH_TRACE"); trace && *trace)
    g_trace = ::open(trace, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (const char* at = std::getenv("SOGNI_FLOW_CRASH_AT"); at && *at) {
    std::string spec(at);
    size_t colon = spec.rfind(':');
    g_name = spec.substr(0, colon);
    g_at = colon == std::string::npos ? 1 : std::strtol(spec.c_str() + colon + 1, nullptr, 10);
    if (g_at < 1) g_at = 1;
  }
  if (g_trace >= 0 || !g_name.empty()) sflow::SetCrashHandler(&OnCrashPoint);
}

}  // namespace

int main(int argc, char** argv, char** envp) {
  std::ios::sync_with_stdio(false);
  Arm();
  sflow::Context ctx{std::cout, std::cerr, envp, false};
  try {
    return sflow::RunCli(std::vector<std::string>(argv + 1, argv + argc), ctx);
  } catch (const std::exception& e) {
    std::cerr << "sogni-flow: internal error: " << e.what() << "\n";
    return sflow::kExitRunFailed;
  }
}
