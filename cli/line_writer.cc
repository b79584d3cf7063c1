#include "cli/line_writer.h"

#include <errno.h>
#include <unistd.h>

#include <map>

namespace sflow {

namespace {

// Each thread's unfinished line, per LineWriter (there may be more than one in a process).
thread_local std::map<const LineWriter*, std::string> t_pending;

}  // namespace

LineWriter::~LineWriter() {
  auto it = t_pending.find(this);
  if (it == t_pending.end()) return;
  WriteOut(it->second, it->second.size());
  t_pending.erase(it);
}

std::string& LineWriter::Pending() { return t_pending[this]; }

void LineWriter::WriteOut(std::string& text, size_t n) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    size_t done = 0;
    while (done < n) {
      ssize_t w = ::write(fd_, text.data() + done, n - done);
      if (w > 0) {
        done += static_cast<size_t>(w);
      } else if (w < 0 && errno == EINTR) {
        continue;
      } else {
        break;  // a closed or full descriptor: the text is dropped, as an unbuffered stream would
      }
    }
  }
  text.erase(0, n);
}

std::streamsize LineWriter::xsputn(const char* s, std::streamsize n) {
  std::string& line = Pending();
  line.append(s, static_cast<size_t>(n));
  size_t end = line.rfind('\n');
  if (end != std::string::npos) WriteOut(line, end + 1);
  return n;
}

LineWriter::int_type LineWriter::overflow(int_type c) {
  if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
  char ch = traits_type::to_char_type(c);
  xsputn(&ch, 1);
  return c;
}

int LineWriter::sync() {
  std::string& line = Pending();
  if (!line.empty()) WriteOut(line, line.size());
  return 0;
}

}  // namespace sflow
