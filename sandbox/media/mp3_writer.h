// MP3 audio through Debian's LAME (libmp3lame-dev): mono, constant 32 kbit/s, no ID3 tag and no
// Xing/LAME header, so the same samples give the same bytes with the same LAME release.
#ifndef SFLOW_SANDBOX_MEDIA_MP3_WRITER_H_
#define SFLOW_SANDBOX_MEDIA_MP3_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

namespace sflow {

// MPEG audio frames of `samples` at `sample_rate` Hz (one channel), or "" when LAME refuses the
// rate or fails.
std::string EncodeMp3(const std::vector<int16_t>& samples, int sample_rate);

}  // namespace sflow

#endif  // SFLOW_SANDBOX_MEDIA_MP3_WRITER_H_
