// sogni-flow's entry point: hands argv to the subcommand table. Deliberately thin.
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
