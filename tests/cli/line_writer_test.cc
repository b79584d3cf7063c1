// LineWriter (cli/line_writer.h): lines written in pieces by many threads reach the descriptor
// whole, never cut by another thread's line; a flush writes what is there.
#include "cli/line_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace sflow {
namespace {

// Everything written to a pipe until its write end closes, read on a thread of its own (a
// writer must never block on a full pipe here).
class PipeReader {
 public:
  PipeReader() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    read_ = fds[0];
    write_ = fds[1];
    thread_ = std::thread([this] {
      char buf[4096];
      for (ssize_t n; (n = ::read(read_, buf, sizeof buf)) > 0;) text_.append(buf, static_cast<size_t>(n));
    });
  }
  ~PipeReader() { Finish(); }
  int fd() const { return write_; }
  const std::string& Finish() {
    if (write_ >= 0) ::close(write_), write_ = -1;
    if (thread_.joinable()) thread_.join();
    if (read_ >= 0) ::close(read_), read_ = -1;
    return text_;
  }

 private:
  int read_ = -1, write_ = -1;
  std::string text_;
  std::thread thread_;
};

TEST(LineWriterTest, LinesWrittenInPiecesByManyThreadsArriveWhole) {
  PipeReader pipe;
  {
    LineWriter lines(pipe.fd());
    std::ostream out(&lines);
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
      threads.emplace_back([&out, t] {
        for (int i = 0; i < 300; ++i) {
          out << "thread " << t;
          std::this_thread::yield();
          out << " line " << i << " " << std::string(static_cast<size_t>(20 + i % 50), 'x');
          std::this_thread::yield();
          out << "\n";
        }
      });
    for (std::thread& t : threads) t.join();
  }
  std::istringstream in(pipe.Finish());
  std::set<std::string> seen;
  int n = 0;
  for (std::string line; std::getline(in, line); ++n) {
    int t = -1, i = -1;
    char rest[200] = {0};
    ASSERT_EQ(std::sscanf(line.c_str(), "thread %d line %d %199s", &t, &i, rest), 3) << "a cut line: " << line;
    EXPECT_EQ(std::string(rest), std::string(static_cast<size_t>(20 + i % 50), 'x')) << "a cut line: " << line;
    EXPECT_TRUE(seen.insert(line).second) << "twice: " << line;
  }
  EXPECT_EQ(n, 8 * 300);
}

TEST(LineWriterTest, AFlushWritesAnUnfinishedLineAndALongLineGoesOutWhole) {
  PipeReader pipe;
  const std::string big(200000, 'b');  // past a pipe's buffer: short writes are retried
  {
    LineWriter lines(pipe.fd());
    std::ostream out(&lines);
    out << "prompt? " << std::flush;
    out << big << "\n";
    out << "left without a newline";
  }
  EXPECT_EQ(pipe.Finish(), "prompt? " + big + "\nleft without a newline");
}

}  // namespace
}  // namespace sflow
