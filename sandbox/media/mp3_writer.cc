#include "sandbox/media/mp3_writer.h"

#include <lame/lame.h>

#include <memory>

namespace sflow {

std::string EncodeMp3(const std::vector<int16_t>& samples, int sample_rate) {
  std::unique_ptr<lame_global_flags, int (*)(lame_global_flags*)> lame(lame_init(), lame_close);
  if (!lame || sample_rate < 1) return "";
  lame_set_num_channels(lame.get(), 1);
  lame_set_in_samplerate(lame.get(), sample_rate);
  lame_set_out_samplerate(lame.get(), sample_rate);
  lame_set_mode(lame.get(), MONO);
  lame_set_VBR(lame.get(), vbr_off);
  lame_set_brate(lame.get(), 32);
  lame_set_quality(lame.get(), 5);
  lame_set_bWriteVbrTag(lame.get(), 0);
  if (lame_init_params(lame.get()) < 0) return "";
  std::string out;
  constexpr size_t kChunk = 8192;
  // LAME's bound for a chunk: 1.25 x samples + 7200 bytes.
  std::vector<unsigned char> buf(kChunk * 5 / 4 + 7200);
  for (size_t at = 0; at < samples.size(); at += kChunk) {
    const int n = static_cast<int>(std::min(kChunk, samples.size() - at));
    // Mono: LAME reads only the left buffer (the right one may be the same pointer).
    short* pcm = const_cast<short*>(reinterpret_cast<const short*>(samples.data() + at));
    int written = lame_encode_buffer(lame.get(), pcm, pcm, n, buf.data(), static_cast<int>(buf.size()));
    if (written < 0) return "";
    out.append(reinterpret_cast<const char*>(buf.data()), static_cast<size_t>(written));
  }
  int written = lame_encode_flush(lame.get(), buf.data(), static_cast<int>(buf.size()));
  if (written < 0) return "";
  out.append(reinterpret_cast<const char*>(buf.data()), static_cast<size_t>(written));
  return out;
}

}  // namespace sflow
