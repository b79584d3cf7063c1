#include "cli/columns.h"

#include <algorithm>

namespace sflow {

void PrintColumns(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& right,
                  std::ostream& out) {
  if (rows.empty()) return;
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) {
      std::string pad(width[i] - r[i].size(), ' ');
      bool last = i + 1 == r.size();
      line += i < right.size() && right[i] ? pad + r[i] : r[i] + (last ? "" : pad);
      if (!last) line += "  ";
    }
    out << line << "\n";
  }
}

}  // namespace sflow
