#include "engine/random.h"

#include <sys/random.h>

#include <cerrno>
#include <random>

namespace sflow {

uint64_t RandomU64() {
  uint64_t v = 0;
  for (int tries = 0; tries < 8; ++tries) {
    ssize_t n = getrandom(&v, sizeof v, 0);
    if (n == static_cast<ssize_t>(sizeof v)) return v;
    if (n < 0 && errno != EINTR) break;
  }
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

}  // namespace sflow
