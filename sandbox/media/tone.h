// Seeded tones for the sandbox's audio: a sine at a seeded frequency with a softer fifth above
// it, faded in and out. Integer arithmetic only (a phase accumulator and a fixed-point sine), so
// the samples are the same on every machine.
#ifndef SFLOW_SANDBOX_MEDIA_TONE_H_
#define SFLOW_SANDBOX_MEDIA_TONE_H_

#include <cstdint>
#include <vector>

namespace sflow {

// The fundamental of the tone of `seed`: 220..880 Hz.
int ToneFrequencyHz(uint64_t seed);

// `count` samples at `sample_rate` Hz (at least 1): the fundamental at amplitude 9000 plus its
// fifth (1.5x the frequency) at 4500, with linear 50 ms fades (a quarter of the length each when
// shorter). Peaks stay below 13500, well inside the 16-bit range.
std::vector<int16_t> RenderTone(uint64_t seed, int sample_rate, int64_t count);

// sin(2 pi phase / 2^32) in Q15: 32768 * sin rounded (within 0.6), clamped to -32767..32767.
int FixedSine(uint32_t phase);

}  // namespace sflow

#endif  // SFLOW_SANDBOX_MEDIA_TONE_H_
