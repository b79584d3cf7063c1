// WAV (RIFF WAVE) writer for mono 16-bit PCM: RIFF header, a 16-byte 'fmt ' chunk, 'data'.
#ifndef SFLOW_SANDBOX_MEDIA_WAV_WRITER_H_
#define SFLOW_SANDBOX_MEDIA_WAV_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

namespace sflow {

// Encodes `samples` (little-endian signed 16-bit in the file) at `sample_rate` Hz, one channel.
// Returns "" when sample_rate < 1 or the data would not fit the 32-bit RIFF sizes.
std::string EncodeWav(const std::vector<int16_t>& samples, int sample_rate);

}  // namespace sflow

#endif  // SFLOW_SANDBOX_MEDIA_WAV_WRITER_H_
