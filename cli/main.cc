// sogni-flow's entry point: hands argv to the subcommand table. Deliberately thin.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <iostream>
#include <ostream>
#include <string>
#include <vector>

#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/line_writer.h"

int main(int argc, char** argv, char** envp) {
  std::ios::sync_with_stdio(false);
  // A job started with `&` by a script comes with SIGINT ignored. sogni-flow handles it where
  // it follows runs (runner/interrupt.h) whatever it came with; so that a Ctrl-C between those
  // places is not lost either (and a run started meanwhile paid for), it acts from the start:
  // by default it ends the process, which the crash-safety rules make safe at any moment.
  struct sigaction current {};
  if (::sigaction(SIGINT, nullptr, &current) == 0 && current.sa_handler == SIG_IGN) ::signal(SIGINT, SIG_DFL);
  const char* term = std::getenv("TERM");
  // Progress and diagnostics: one write per line, whichever thread writes it (cli/line_writer.h).
  sflow::LineWriter err_lines(STDERR_FILENO);
  std::ostream err(&err_lines);
  sflow::Context ctx{std::cout, err, envp,
                     ::isatty(STDERR_FILENO) == 1 && term && std::string(term) != "dumb"};
  try {
    return sflow::RunCli(std::vector<std::string>(argv + 1, argv + argc), ctx);
  } catch (const std::exception& e) {
    // The one top-level catch: anything here is a bug, not an expected failure.
    std::cerr << "sogni-flow: internal error: " << e.what() << "\n";
    return sflow::kExitRunFailed;
  }
}
