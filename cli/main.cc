// sogni-flow's entry point: hands argv to the subcommand table. Deliberately thin.
#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "cli/context.h"
#include "cli/exit_codes.h"

int main(int argc, char** argv, char** envp) {
  std::ios::sync_with_stdio(false);
  const char* term = std::getenv("TERM");
  sflow::Context ctx{std::cout, std::cerr, envp,
                     ::isatty(STDERR_FILENO) == 1 && term && std::string(term) != "dumb"};
  try {
    return sflow::RunCli(std::vector<std::string>(argv + 1, argv + argc), ctx);
  } catch (const std::exception& e) {
    // The one top-level catch: anything here is a bug, not an expected failure.
    std::cerr << "sogni-flow: internal error: " << e.what() << "\n";
    return sflow::kExitRunFailed;
  }
}
