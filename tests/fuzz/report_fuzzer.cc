// Fuzz target: what `sogni-flow report` reads from disk and from the store (cli/report_media.h,
// cli/html_report.h). The input is read as a video file for its first frame, and as text put in
// the page. Checked: nothing crashes or hangs; a frame found is a whole JPEG taken from the input;
// escaped text holds no character that could end an element or an attribute, no control byte,
// and is valid UTF-8; a relative URL of a name holds only unreserved characters, '%' and '/'.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cli/html_report.h"
#include "cli/report_media.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using sflow::fuzz::Check;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (std::optional<std::string> frame = sflow::Mp4JpegFrame(in)) {
    Check(frame->size() >= 4 && frame->size() <= in.size(), "a frame larger than its file");
    Check(static_cast<unsigned char>((*frame)[0]) == 0xff && static_cast<unsigned char>((*frame)[1]) == 0xd8,
          "a frame that is not a JPEG");
    Check(in.find(*frame) != std::string_view::npos, "a frame that is not in its file");
  }
  const std::string text = sflow::HtmlText(std::string(in));
  for (unsigned char c : text) {
    Check(c != '<' && c != '>' && c != '"' && c != '\'', "a markup character left in escaped text");
    Check(c >= 0x20 || c == '\t' || c == '\n', "a control byte left in escaped text");
  }
  Check(sflow::fuzz::ValidUtf8(text), "escaped text that is not UTF-8");
  std::string name(in.substr(0, 256));
  for (char& c : name)
    if (c == '/' || c == '\0') c = '_';
  const std::string url = sflow::RelativeUrl("/a/b", "/a/b/" + (name.empty() ? std::string("x") : name));
  for (unsigned char c : url)
    Check((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
              c == '~' || c == '%' || c == '/',
          "a relative URL with a character that is not unreserved");
  return 0;
}
