// LineWriter: a streambuf over a file descriptor that writes whole lines, each with one write(2).
// main() puts one under Context::err (stderr), where progress lines of many runs and threads,
// and of other processes sharing the same log, meet: a line written in pieces (every `<<` of
// an unbuffered std::cerr is a syscall) could be cut by another writer's line.
//
// Each thread fills a line of its own; a newline hands it to the descriptor, under a lock,
// whole. A flush (std::flush, std::endl) writes what the thread has so far, newline or not
// (a redraw, a prompt). What a thread leaves without a newline or a flush is written when the
// LineWriter is destroyed, if that thread is the one destroying it.
#ifndef SFLOW_CLI_LINE_WRITER_H_
#define SFLOW_CLI_LINE_WRITER_H_

#include <mutex>
#include <streambuf>
#include <string>

namespace sflow {

class LineWriter : public std::streambuf {
 public:
  explicit LineWriter(int fd) : fd_(fd) {}
  ~LineWriter() override;
  LineWriter(const LineWriter&) = delete;
  LineWriter& operator=(const LineWriter&) = delete;

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override;
  int_type overflow(int_type c) override;
  int sync() override;

 private:
  std::string& Pending();      // the calling thread's unfinished line
  void WriteOut(std::string& text, size_t n);  // its first n bytes, with one write (short writes retried)

  const int fd_;
  std::mutex mu_;  // one write at a time
};

}  // namespace sflow

#endif  // SFLOW_CLI_LINE_WRITER_H_
