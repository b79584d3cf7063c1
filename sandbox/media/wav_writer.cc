#include "sandbox/media/wav_writer.h"

#include "sandbox/media/bytes.h"

namespace sflow {

std::string EncodeWav(const std::vector<int16_t>& samples, int sample_rate) {
  const uint64_t data_bytes = uint64_t{samples.size()} * 2;
  if (sample_rate < 1 || data_bytes + 36 > 0xFFFFFFFFu) return "";
  std::string wav;
  wav.reserve(44 + data_bytes);
  wav.append("RIFF");
  AppendU32Le(&wav, static_cast<uint32_t>(36 + data_bytes));  // everything after this field
  wav.append("WAVE");
  wav.append("fmt ");
  AppendU32Le(&wav, 16);
  AppendU16Le(&wav, 1);  // PCM
  AppendU16Le(&wav, 1);  // channels
  AppendU32Le(&wav, sample_rate);
  AppendU32Le(&wav, static_cast<uint32_t>(sample_rate) * 2);  // bytes per second
  AppendU16Le(&wav, 2);   // bytes per sample frame
  AppendU16Le(&wav, 16);  // bits per sample
  wav.append("data");
  AppendU32Le(&wav, static_cast<uint32_t>(data_bytes));
  for (int16_t s : samples) AppendU16Le(&wav, static_cast<uint16_t>(s));
  return wav;
}

}  // namespace sflow
