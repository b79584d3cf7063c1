// SplitMix64: a tiny, fully specified pseudo-random generator (Steele, Lea, Flood 2014), so the
// sandbox's media depend on the seed alone, never on the standard library's implementation.
#ifndef SFLOW_SANDBOX_MEDIA_SPLIT_MIX_H_
#define SFLOW_SANDBOX_MEDIA_SPLIT_MIX_H_

#include <cstdint>

namespace sflow {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  // A value in lo..hi inclusive (lo <= hi, small ranges: the modulo bias is negligible).
  int Uniform(int lo, int hi) {
    return lo + static_cast<int>(Next() % static_cast<uint64_t>(int64_t{hi} - lo + 1));
  }

 private:
  uint64_t state_;
};

}  // namespace sflow

#endif  // SFLOW_SANDBOX_MEDIA_SPLIT_MIX_H_
