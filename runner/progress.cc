#include "runner/progress.h"

#include <cstdint>
#include <cstdio>

namespace sflow {

std::string FormatElapsed(std::chrono::milliseconds ms) {
  char buf[32];
  int64_t total = ms.count();
  if (total < 60'000) {
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(total) / 1000.0);
  } else if (total < 3'600'000) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(total / 60'000),
                  static_cast<long long>(total / 1000 % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(total / 3'600'000),
                  static_cast<long long>(total / 60'000 % 60));
  }
  return buf;
}

}  // namespace sflow
