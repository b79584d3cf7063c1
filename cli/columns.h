// Plain-text tables for the terminal: columns two spaces apart, each as wide as its widest cell.
#ifndef SFLOW_CLI_COLUMNS_H_
#define SFLOW_CLI_COLUMNS_H_

#include <ostream>
#include <string>
#include <vector>

namespace sflow {

// Prints rows (the first is the header) left-aligned, right-aligned where right[i]. Cells are
// printed as given: the caller makes untrusted text safe for a terminal (TerminalText).
void PrintColumns(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& right, std::ostream& out);

}  // namespace sflow

#endif  // SFLOW_CLI_COLUMNS_H_
