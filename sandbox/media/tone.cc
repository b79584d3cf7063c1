#include "sandbox/media/tone.h"

#include <algorithm>

#include "sandbox/media/split_mix.h"

namespace sflow {

int ToneFrequencyHz(uint64_t seed) {
  SplitMix64 rng(seed ^ 0x70E5EEDull);  // not the scene's stream, so tone and picture are unrelated
  return rng.Uniform(220, 880);
}

int FixedSine(uint32_t phase) {
  // Quarter-wave symmetry, then the Taylor series of sin(z pi/2) on z in 0..1 up to z^9 (the
  // next term is below 4e-6), evaluated by Horner's rule in Q30 fixed point.
  constexpr int64_t kOne = int64_t{1} << 30;
  constexpr int64_t kCoeff[5] = {1686629713, 693598668, 85569306, 5026995, 172272};  // (pi/2)^n/n!
  const uint32_t quadrant = phase >> 30;
  int64_t z = phase & (kOne - 1);  // position within the quarter, Q30
  if (quadrant & 1) z = kOne - z;
  const int64_t z2 = z * z >> 30;
  int64_t s = kCoeff[4];
  for (int k = 3; k >= 0; --k) s = kCoeff[k] - (s * z2 >> 30);
  s = s * z >> 30;  // Q30, 0..2^30
  const int q15 = static_cast<int>(std::min<int64_t>((s + (1 << 14)) >> 15, 32767));
  return quadrant & 2 ? -q15 : q15;
}

std::vector<int16_t> RenderTone(uint64_t seed, int sample_rate, int64_t count) {
  sample_rate = std::max(sample_rate, 1);
  count = std::max<int64_t>(count, 0);
  const int hz = ToneFrequencyHz(seed);
  // Phase steps of f / rate turns, in 2^-32 turns.
  const uint64_t f = static_cast<uint64_t>(hz);
  const uint32_t step1 = static_cast<uint32_t>((f << 32) / sample_rate);
  const uint32_t step2 = static_cast<uint32_t>((f * 3 << 31) / sample_rate);
  const int64_t fade = std::max<int64_t>(1, std::min<int64_t>(sample_rate / 20, count / 4));
  std::vector<int16_t> out(static_cast<size_t>(count));
  uint32_t p1 = 0, p2 = 0;
  for (int64_t i = 0; i < count; ++i, p1 += step1, p2 += step2) {
    int64_t v = (int64_t{9000} * FixedSine(p1) + int64_t{4500} * FixedSine(p2)) >> 15;
    int64_t ramp = std::min({i, count - 1 - i, fade});
    out[static_cast<size_t>(i)] = static_cast<int16_t>(v * ramp / fade);
  }
  return out;
}

}  // namespace sflow
